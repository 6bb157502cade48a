"""``dullahan restart``: a new server process takes everything over from the running one, shells alive.

The old server starts the new one (``serve --takeover SOCKET``, the code installed now: this is also how an
upgrade is applied) with its own environment and flags, and talks to it over ``handoff-<port>.sock``
(SOCK_SEQPACKET, 0600 in the runtime directory; the peer's pid is checked)::

    new -> old  hello     {protocol, pid, version}         once the new one has loaded its code and config
    old -> new  prestate  {size} + [state memfd]           every terminal, snapshotted while still serving
    new -> old  prepared  (or error {reason})              those terminals decoded, panes built
    old -> new  state     {size, tokens, ...} + [state memfd, pid-file fd, IPC listener, web listener(s)]
    new -> old  ready     (or error {reason})              changed terminals restored, shells' masters taken
    old -> new  commit    {inputs, size} + [input memfd]   (or abort {reason})
    new -> old  running   {pid}                            reading the PTYs, accepting on the listeners

Between ``prepared`` and ``commit`` nobody reads the PTYs: the old server stops reading, lets the terminal
thread parse everything already read (``Pane._pending``), then snapshots the terminals that changed since the
prestate (the others are marked ``same_screen``); what programs print meanwhile waits in the kernel's PTY
buffer (a program that fills it simply blocks) and is read by the new server. Input that arrives meanwhile is
queued and written by the new server. So nothing is lost and nothing is read twice, and the pause costs what
changed during the handoff, not the size of the session: the bulk (snapshots of idle panes with long
histories, decoding them, building their panes) is done while the old server still serves.

The listening sockets themselves are passed (not closed and re-bound): a browser or CLI connecting during the
handoff waits in the listen backlog and is accepted by the new server; there is no moment where the port
refuses connections. The old server stops accepting at the commit.

Until ``commit`` the old server can take everything back: a new server that fails to start, to load its
config, to decode a terminal or to take a shell from the keeper makes ``restart`` fail with its reason while
the old one carries on. After ``commit`` the old one only closes its browsers (they reconnect to the new
one) and exits without touching the shells, the pid file or the sockets.
"""

from __future__ import annotations

import asyncio
import mmap
import os
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import msgspec

from dullahan import __version__
from dullahan.config import RuntimePaths, Settings
from dullahan.log import log
from dullahan.persist import capture, fdpass, state
from dullahan.persist.continuity import Continuity
from dullahan.persist.state import BlobWriter, DecodedState
from dullahan.session.pane import Pane
from dullahan.session.session import Session
from dullahan.term.snapshot import SnapshotError
from dullahan.tokens import Tokens

PROTOCOL = 1
START_TIMEOUT = 60.0       # the new process loading Python, aiohttp, Ghostty on a busy machine
PARSE_TIMEOUT = 10.0
PREPARE_TIMEOUT = 60.0
RUNNING_TIMEOUT = 10.0
MAX_STATE = 8 << 30


class _Listening(Protocol):
    def stop_accepting(self) -> None: ...


class _Ipc(_Listening, Protocol):
    def listening_socket(self) -> socket.socket: ...


class _Web(_Listening, Protocol):
    def listening_sockets(self) -> list[socket.socket]: ...


class _Lock(Protocol):
    fd: int


class Server(Protocol):
    """What the old server's side of a restart needs of the server (``dullahan.server.Server``)."""

    settings: Settings
    session: Session
    paths: RuntimePaths
    tokens: Tokens
    continuity: Continuity

    @property
    def lock(self) -> _Lock: ...
    @property
    def ipc(self) -> _Ipc: ...
    @property
    def web(self) -> _Web: ...


class HandoffError(Exception):
    """The restart did not happen; the message says why. The old server carries on."""


def socket_path(runtime_dir: Path, port: int) -> Path:
    return runtime_dir / f"handoff-{port}.sock"


# -- memfds ------------------------------------------------------------------------------------------------
def to_memfd(data: bytes, name: str) -> int:
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BaseException:
        os.close(fd)
        raise
    return fd


def from_memfd(fd: int, size: int) -> bytes:
    actual = os.fstat(fd).st_size
    if actual != size or not 0 <= size <= MAX_STATE:
        raise HandoffError(f"the handed-over state is {actual} bytes, {size} were announced")
    if size == 0:
        return b""
    with mmap.mmap(fd, size, prot=mmap.PROT_READ) as m:
        return m[:]


def _expect(obj: dict[str, Any], op: str) -> dict[str, Any]:
    got = obj.get("op")
    if got == "error":
        raise HandoffError(f"the new server could not take over: {str(obj.get('reason'))[:2000]}")
    if got == "abort":
        raise HandoffError(f"the old server called the restart off: {str(obj.get('reason'))[:2000]}")
    if got != op:
        raise HandoffError(f"expected {op!r} in the handoff, got {str(got)[:40]!r}")
    return obj


def _int_field(obj: dict[str, Any], name: str) -> int:
    value = obj.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise HandoffError(f"the handoff's {obj.get('op')!r} has no valid {name!r}")
    return value


# -- the old server's side -------------------------------------------------------------------------------
async def _readable(loop: asyncio.AbstractEventLoop, sock: socket.socket, timeout: float) -> None:
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)
    loop.add_reader(sock.fileno(), wake)
    try:
        await asyncio.wait_for(ready, timeout)
    finally:
        loop.remove_reader(sock.fileno())


@dataclass
class NewServer:
    """The process the old server started to take over, and where its stderr goes."""

    proc: subprocess.Popen[bytes]
    stderr: Path

    def exited(self) -> bool:
        return self.proc.poll() is not None

    def exit_note(self) -> str:
        """`` (status N): <its stderr>`` once it has exited (waits a moment for that), else empty."""
        try:
            self.proc.wait(1.0)
        except subprocess.TimeoutExpired:
            return ""
        note = f" (status {self.proc.returncode})"
        try:
            text = self.stderr.read_text(errors="replace").strip()
        except OSError:
            text = ""
        return note + (": " + text[-1500:] if text else "")


async def _receive(loop: asyncio.AbstractEventLoop, sock: socket.socket, child: NewServer,
                   timeout: float, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            obj, fds = fdpass.receive(sock)
            fdpass.close_all(fds)
            return obj
        except BlockingIOError:
            pass
        except fdpass.PeerClosed:
            raise HandoffError(f"the new server went away while {what}{child.exit_note()}") from None
        except fdpass.MessageError as e:
            raise HandoffError(f"the new server sent a bad message while {what}: {e}") from None
        left = deadline - time.monotonic()
        if left <= 0:
            raise HandoffError(f"the new server did not answer within {timeout:.0f} s while {what}")
        try:
            await _readable(loop, sock, min(left, 0.5))
        except TimeoutError:
            if child.exited():
                raise HandoffError(f"the new server exited while {what}{child.exit_note()}") from None


async def _accept(loop: asyncio.AbstractEventLoop, listener: socket.socket, child: NewServer,
                  timeout: float) -> socket.socket:
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn, _ = listener.accept()
            conn.setblocking(False)
            return conn
        except BlockingIOError:
            pass
        left = deadline - time.monotonic()
        if left <= 0:
            raise HandoffError(f"the new server did not connect within {timeout:.0f} s")
        try:
            await _readable(loop, listener, min(left, 0.5))
        except TimeoutError:
            if child.exited():
                raise HandoffError(f"the new server exited during start-up{child.exit_note()}") from None


async def _end(child: NewServer, grace: float = 5.0) -> None:
    """A new server that will not take over: it exits on ``abort``; after ``grace`` seconds it is killed."""
    deadline = time.monotonic() + grace
    while not child.exited() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    if not child.exited():
        child.proc.kill()
        while not child.exited():
            await asyncio.sleep(0.02)


async def _wait_parsed(server: Server, timeout: float) -> None:
    """Every pane's output that was read is parsed, and its effects (replies to queries) applied."""
    deadline = time.monotonic() + timeout
    panes = list(server.session.panes.values())
    while any(p.parse_pending() for p in panes):
        if time.monotonic() > deadline:
            raise HandoffError(f"the terminals did not finish parsing within {timeout:.0f} s")
        await asyncio.sleep(0.002)
    for pane in panes:
        pane.apply_effects()


Presnapshots = dict[int, tuple[bytes, int, int]]   # pane id -> (snapshot, content_seq, history rows)


def presnapshots(panes: Sequence[Pane]) -> Presnapshots:
    """Every terminal's snapshot, taken from a worker thread while the session goes on."""
    out: Presnapshots = {}
    for pane in panes:
        try:
            taken = pane.snapshot_from_thread()
        except SnapshotError:
            continue   # mid-way through an over-long escape sequence: taken after the freeze instead
        if taken is not None:
            out[pane.id] = taken
    return out


def handoff_state(server: Server, pre: Presnapshots, final: bool) -> bytes:
    """The session with the terminals' exact snapshots (raw: it only crosses a memfd). Not ``final``: the
    prestate, from ``pre`` alone. ``final`` (after the freeze): only terminals that changed since ``pre``
    are snapshotted again; the others are marked ``same_screen``."""
    session = server.session
    blobs = BlobWriter()
    records = []
    for pane in capture.live_panes(session).values():
        taken = pre.get(pane.id)
        if not final:
            ref = blobs.add(taken[0], compressed=False) if taken else None
            records.append(capture.pane_record(pane, ref, taken[2] if taken else 0))
            continue
        # After the freeze nothing feeds the terminal: what VTerm keeps besides Ghostty's state is current.
        title_stack, carry = pane.vt.carried()
        if taken is not None and taken[1] == pane.content_seq:
            record = msgspec.structs.replace(capture.pane_record(pane, None, taken[2]), same_screen=True)
        else:
            try:
                raw = pane.snapshot()
            except SnapshotError as e:
                raise HandoffError(f"pane {pane.id} cannot be snapshotted right now ({e}); try again") from e
            record = capture.pane_record(pane, blobs.add(raw, compressed=False), pane.vt.scrollback_rows())
        records.append(msgspec.structs.replace(record, title_stack=title_stack, carry=carry))
    exported = server.continuity.export_clients() if final else None
    clients = blobs.add(exported, compressed=False) if exported else None
    return state.encode(capture.header(session, "handoff", records, clients), blobs.join())


def _send_memfd(conn: socket.socket, message: dict[str, Any], data: bytes, name: str,
                more_fds: Sequence[int] = ()) -> None:
    memfd = to_memfd(data, name)
    try:
        fdpass.send(conn, {**message, "size": len(data)}, [memfd, *more_fds])
    finally:
        os.close(memfd)


async def hand_over(server: Server, argv: Sequence[str]) -> dict[str, Any]:
    """Run the restart from the old server's side; the result for the CLI, or HandoffError."""
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    directory = server.paths.directory
    path = socket_path(directory, server.settings.port)
    err_path = directory / f"handoff-{server.settings.port}.stderr"
    listener = fdpass.listen(path, backlog=1)
    listener.setblocking(False)
    child: NewServer | None = None
    conn: socket.socket | None = None
    frozen = committed = False
    saver = server.continuity.saver
    saving: asyncio.Future[None] | None = None
    snapping: asyncio.Future[Presnapshots] | None = None
    try:
        err_fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            child = NewServer(subprocess.Popen([*argv, "--takeover", str(path)], stdin=subprocess.DEVNULL,
                                               stdout=subprocess.DEVNULL, stderr=err_fd, start_new_session=True,
                                               close_fds=True), err_path)
        finally:
            os.close(err_fd)
        proc = child.proc
        log.info("server", "restart: new server started", pid=proc.pid)
        # While the new process loads: save the state (what a crash of the new server right after the commit
        # falls back to) and snapshot every terminal for the prestate.
        saving = asyncio.ensure_future(server.continuity.save_now())
        snapping = asyncio.ensure_future(asyncio.to_thread(presnapshots, list(server.session.panes.values())))
        conn = await _accept(loop, listener, child, START_TIMEOUT)
        if fdpass.peer_pid(conn) != proc.pid:
            raise HandoffError(f"pid {fdpass.peer_pid(conn)} connected to the handoff socket, not {proc.pid}")
        hello = _expect(await _receive(loop, conn, child, START_TIMEOUT, "starting"), "hello")
        if hello.get("protocol") != PROTOCOL:
            raise HandoffError(f"the new server speaks handoff protocol {hello.get('protocol')!r}, not {PROTOCOL}")
        new_version = str(hello.get("version", "?"))[:40]
        log.debug("server", "restart: new server loaded", s=round(time.monotonic() - started, 3))
        pre = await snapping
        _send_memfd(conn, {"op": "prestate"}, handoff_state(server, pre, final=False), "dullahan-prestate")
        _expect(await _receive(loop, conn, child, PREPARE_TIMEOUT, "restoring the terminals"), "prepared")
        log.debug("server", "restart: prestate restored", s=round(time.monotonic() - started, 3))
        await saving   # before the freeze: the saver must be done with the file before the new server owns it
        log.debug("server", "restart: state saved", s=round(time.monotonic() - started, 3))

        # From here until the commit, no server reads the PTYs.
        paused = time.monotonic()
        if saver is not None:
            saver.stop()
        frozen = True
        for pane in server.session.panes.values():
            pane.freeze()
        await _wait_parsed(server, PARSE_TIMEOUT)
        log.debug("server", "restart: terminals parsed", ms=round((time.monotonic() - paused) * 1e3, 1))
        blob = handoff_state(server, pre, final=True)
        log.debug("server", "restart: state built", bytes=len(blob), ms=round((time.monotonic() - paused) * 1e3, 1))
        listeners = [server.ipc.listening_socket().fileno(),
                     *(s.fileno() for s in server.web.listening_sockets())]
        if 2 + len(listeners) > fdpass.MAX_FDS:
            raise HandoffError(f"{len(listeners)} listening sockets are more than a handoff carries")
        saved = saver.unchanged_screens() if saver is not None else {}
        _send_memfd(conn, {"op": "state", "from_pid": os.getpid(), "from_version": __version__,
                           "tokens": {"master": server.tokens.master, "view": server.tokens.view},
                           "debug": sorted(log.enabled), "web_listeners": len(listeners) - 1,
                           "saved": [[pid, *where] for pid, where in saved.items()]},
                    blob, "dullahan-state", [server.lock.fd, *listeners])
        _expect(await _receive(loop, conn, child, PREPARE_TIMEOUT, "taking the shells"), "ready")
        log.debug("server", "restart: new server ready", ms=round((time.monotonic() - paused) * 1e3, 1))

        inputs = BlobWriter()
        refs: list[list[int]] = []
        for pane in server.session.panes.values():
            data = pane.hand_over_input()
            if data:
                ref = inputs.add(data, compressed=False)
                refs.append([pane.id, ref.offset, ref.length])
        _send_memfd(conn, {"op": "commit", "inputs": refs}, inputs.join(), "dullahan-input")
        committed = True
        # The new server accepts from now on; a connection that reached us now would be refused or misled.
        server.web.stop_accepting()
        server.ipc.stop_accepting()
        log.info("server", "restart: handed over", to_pid=proc.pid, paused_ms=round((time.monotonic() - paused) * 1e3))
        try:
            _expect(await _receive(loop, conn, child, RUNNING_TIMEOUT, "taking over"), "running")
            running = True
        except HandoffError as e:
            log.error("server", "restart: the new server did not confirm it runs; the keeper holds the shells",
                      error=str(e))
            running = False
        return {"pid": proc.pid, "previous_pid": os.getpid(), "from": __version__, "to": new_version,
                "state_bytes": len(blob),
                "seconds": round(time.monotonic() - started, 3), "paused": round(time.monotonic() - paused, 3),
                "panes": len(server.session.panes), "confirmed": running}
    except BaseException as e:
        if not committed:
            reason = str(e) if isinstance(e, HandoffError) else f"{e.__class__.__name__}: {e}"
            log.error("server", "restart failed; this server carries on", error=reason[:1000])
            if conn is not None:
                try:
                    fdpass.send(conn, {"op": "abort", "reason": reason[:2000]})
                except (OSError, fdpass.MessageError):
                    pass
            if frozen:
                for pane in server.session.panes.values():
                    pane.thaw()
            if saver is not None:
                saver.start()
            if child is not None:
                await _end(child)
        raise
    finally:
        for pending in (saving, snapping):
            if pending is not None and not pending.done():
                await asyncio.wait([pending])
        if conn is not None:
            conn.close()
        listener.close()
        for leftover in (path, err_path):
            try:
                leftover.unlink()
            except OSError:
                pass


# -- the new server's side -------------------------------------------------------------------------------
def warm_up() -> None:
    """Make the first terminal, screen reader, encoders and snapshot round trip happen now: cffi builds its
    types and callbacks lazily (about 0.6 s here), and the PTYs wait while the handed-over terminals are
    restored, so that must not be the first time."""
    from dullahan.shapes import StyleTable
    from dullahan.term.encode import InputEncoder
    from dullahan.term.image_reader import ImageReader
    from dullahan.term.screen import ScreenReader
    from dullahan.term.view import read_view
    from dullahan.term.vt import VTerm
    vt = VTerm.from_snapshot(VTerm(4, 2, 100).snapshot(), 100)
    styles = StyleTable()
    reader, encoder, images = ScreenReader(vt, styles), InputEncoder(vt), ImageReader(vt, styles)
    read_view(vt, reader, None, 0, images=images)
    for done in (images, encoder, reader, vt):
        done.close()


@dataclass
class Incoming:
    """What the old server handed over (descriptors owned by the new server from here on)."""

    decoded: DecodedState
    pidfile_fd: int
    ipc: socket.socket
    web: list[socket.socket]
    tokens: dict[str, str]
    from_pid: int
    from_version: str
    debug: list[str]
    saved: dict[int, tuple[int, int, int, int]]   # panes the state file holds as they are: offset, length, rows


class Takeover:
    """The new server's end of the handoff: blocking, with timeouts (nothing else runs while it starts)."""

    def __init__(self, path: Path) -> None:
        self.sock = fdpass.connect(path, PREPARE_TIMEOUT)

    def hello(self) -> None:
        fdpass.send(self.sock, {"op": "hello", "protocol": PROTOCOL, "pid": os.getpid(), "version": __version__})

    def _receive(self) -> tuple[dict[str, Any], list[int]]:
        try:
            return fdpass.receive(self.sock)
        except (fdpass.PeerClosed, fdpass.MessageError, OSError) as e:
            raise HandoffError(f"the old server's handoff broke off: {e}") from e

    def receive_prestate(self) -> DecodedState:
        obj, fds = self._receive()
        try:
            _expect(obj, "prestate")
            if len(fds) != 1:
                raise HandoffError("the prestate carries no state")
            return state.decode(from_memfd(fds[0], _int_field(obj, "size")))
        finally:
            fdpass.close_all(fds)

    def prepared(self) -> None:
        fdpass.send(self.sock, {"op": "prepared"})

    def receive_state(self) -> Incoming:
        obj, fds = self._receive()
        try:
            _expect(obj, "state")
            size, web_count = _int_field(obj, "size"), _int_field(obj, "web_listeners")
            tokens = obj.get("tokens")
            if len(fds) != 3 + web_count:
                raise HandoffError(f"the handoff carried {len(fds)} descriptors, {3 + web_count} were announced")
            if not (isinstance(tokens, dict) and all(isinstance(tokens.get(k), str) for k in ("master", "view"))):
                raise HandoffError("the handoff carries no valid tokens")
            blob = from_memfd(fds[0], size)
            decoded = state.decode(blob)
        except BaseException:
            fdpass.close_all(fds)
            raise
        os.close(fds[0])
        debug = obj.get("debug")
        saved: dict[int, tuple[int, int, int, int]] = {}
        for item in obj.get("saved") or []:
            if isinstance(item, list) and len(item) == 5 and all(
                    isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in item):
                saved[item[0]] = (item[1], item[2], item[3], item[4])
        return Incoming(decoded, fds[1], socket.socket(fileno=fds[2]), [socket.socket(fileno=fd) for fd in fds[3:]],
                        {"master": tokens["master"], "view": tokens["view"]}, _int_field(obj, "from_pid"),
                        str(obj.get("from_version", "?"))[:40],
                        [c for c in debug if isinstance(c, str)] if isinstance(debug, list) else [], saved)

    def ready(self) -> None:
        fdpass.send(self.sock, {"op": "ready"})

    def wait_commit(self) -> dict[int, bytes]:
        """The input to write per pane; HandoffError when the old server called the restart off."""
        obj, fds = self._receive()
        try:
            _expect(obj, "commit")
            if len(fds) != 1:
                raise HandoffError("the commit carries no input")
            data = from_memfd(fds[0], _int_field(obj, "size"))
        finally:
            fdpass.close_all(fds)
        inputs: dict[int, bytes] = {}
        refs = obj.get("inputs")
        if not isinstance(refs, list):
            raise HandoffError("the commit's inputs are malformed")
        for item in refs:
            if not (isinstance(item, list) and len(item) == 3 and all(isinstance(v, int) for v in item)):
                raise HandoffError("the commit's inputs are malformed")
            pane_id, offset, length = item
            if offset < 0 or length < 0 or offset + length > len(data):
                raise HandoffError("the commit's inputs point outside the data")
            inputs[pane_id] = data[offset:offset + length]
        return inputs

    def running(self) -> None:
        try:
            fdpass.send(self.sock, {"op": "running", "pid": os.getpid()})
        except OSError:
            pass   # the old server is allowed to be gone by now

    def fail(self, reason: str) -> None:
        try:
            fdpass.send(self.sock, {"op": "error", "reason": reason[:4000]})
        except (OSError, fdpass.MessageError):
            pass

    def close(self) -> None:
        self.sock.close()
