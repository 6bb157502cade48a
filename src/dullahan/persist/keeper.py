"""The keeper: a tiny process that keeps the shells alive while servers come and go.

It does four things and nothing else: it starts shells on PTYs when a server asks (so it is their parent and
reaps them), keeps a copy of every PTY master, hands a copy to a server that asks (SCM_RIGHTS), and reports
how a shell ended. It never reads or writes a PTY, so a server crash (``kill -9``, OOM, a bug) leaves the
shells running, their unread output waiting in the kernel's PTY buffer; the next server takes the masters
back. It imports only the standard library (no Ghostty, no asyncio): one ``selectors`` loop, bounded
messages (``fdpass``), every request validated (``parse_request``) and every error answered, never raised.

Its socket (``keeper-<port>.sock``, 0600 in the 0700 runtime directory) speaks protocol ``PROTOCOL``: one JSON
object per SOCK_SEQPACKET datagram, each request answered by one reply ``{"ok": true, ...}`` or
``{"ok": false, "error": "..."}``::

    {"op": "hello", "protocol": 1}          -> {"protocol", "pid", "children": [{"pid", "exit"}]}
    {"op": "spawn", "argv", "env", "cwd", "cols", "rows", "cell_px"}   -> {"pid"} + the master fd
    {"op": "fd", "pid"}                     -> {"pid", "exit"} + the master fd
    {"op": "status", "pid"}                 -> {"exit": null | {"code", "signal"}}
    {"op": "release", "pid"}                -> {}  (the keeper closes its copy and forgets the shell)
    {"op": "shutdown"}                      -> {}  then SIGHUP, SIGTERM, SIGKILL to every shell, reap, exit

It ends on ``shutdown`` (``dullahan quit``), on SIGTERM (the same), or after ``IDLE_EXIT`` seconds with no
running shell and no server. ``python -m dullahan.persist.keeper --socket S --lock L --log F`` starts one in the
background; it holds an exclusive ``flock`` on ``L`` (with its pid in it) for its whole life.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import selectors
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from dullahan.persist import fdpass
from dullahan.session.pty import SpawnError, fork_pty

PROTOCOL = 1
MAX_CLIENTS = 8
MAX_CHILDREN = 1024
MAX_ARGV = 256
MAX_ARG_CHARS = 4096
MAX_ENV = 4096
MAX_ENV_VALUE_CHARS = 32 * 1024
MAX_PATH_CHARS = 4096
MAX_CELLS = 1000
MAX_CELL_PX = 1000
IDLE_EXIT = 60.0
TICK = 1.0
GRACE = 0.6

_FIELDS: dict[str, frozenset[str]] = {
    "hello": frozenset({"protocol"}),
    "spawn": frozenset({"argv", "env", "cwd", "cols", "rows", "cell_px"}),
    "fd": frozenset({"pid"}),
    "status": frozenset({"pid"}),
    "release": frozenset({"pid"}),
    "shutdown": frozenset(),
}


# -- requests (pure) -----------------------------------------------------------------------------------------
class RequestError(Exception):
    """A request the keeper refuses; the text goes back to the client."""


@dataclass(frozen=True)
class Request:
    op: str
    pid: int = 0
    protocol: int = 0
    argv: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cwd: str = "/"
    cols: int = 80
    rows: int = 24
    cell_px: tuple[int, int] = (0, 0)


def _int(obj: dict[str, Any], name: str, lo: int, hi: int) -> int:
    value = obj.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(f"'{name}' must be an integer")
    if not lo <= value <= hi:
        raise RequestError(f"'{name}' must be within {lo}..{hi}")
    return value


def _text(value: object, what: str, limit: int, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise RequestError(f"{what} must be a string")
    if (not value and not allow_empty) or len(value) > limit or "\0" in value:
        raise RequestError(f"{what} must be 1..{limit} characters without NUL")
    return value


def parse_request(obj: dict[str, Any]) -> Request:
    """Validate one decoded message; RequestError saying what is wrong."""
    op = obj.get("op")
    if not isinstance(op, str) or op not in _FIELDS:
        raise RequestError(f"unknown op {str(op)[:40]!r}; known: {', '.join(_FIELDS)}")
    unknown = set(obj) - _FIELDS[op] - {"op"}
    if unknown:
        raise RequestError(f"unknown fields for {op}: {', '.join(sorted(unknown))[:200]}")
    missing = _FIELDS[op] - set(obj)
    if missing:
        raise RequestError(f"missing fields for {op}: {', '.join(sorted(missing))}")
    if op == "hello":
        return Request(op, protocol=_int(obj, "protocol", 1, 1 << 16))
    if op in ("fd", "status", "release"):
        return Request(op, pid=_int(obj, "pid", 1, 1 << 22))
    if op == "spawn":
        argv, env = obj["argv"], obj["env"]
        if not isinstance(argv, list) or not 1 <= len(argv) <= MAX_ARGV:
            raise RequestError(f"'argv' must be a list of 1..{MAX_ARGV} strings")
        args = tuple(_text(a, "an argument", MAX_ARG_CHARS, allow_empty=True) for a in argv)
        if not args[0]:
            raise RequestError("'argv' must start with a command")
        if not isinstance(env, dict) or len(env) > MAX_ENV:
            raise RequestError(f"'env' must be an object of at most {MAX_ENV} strings")
        for key, value in env.items():
            if "=" in _text(key, "an environment name", 256):
                raise RequestError("an environment name must not contain '='")
            _text(value, f"environment value {key[:40]!r}", MAX_ENV_VALUE_CHARS, allow_empty=True)
        cwd = _text(obj["cwd"], "'cwd'", MAX_PATH_CHARS)
        px = obj["cell_px"]
        if not (isinstance(px, list) and len(px) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_CELL_PX for v in px)):
            raise RequestError(f"'cell_px' must be [width, height] in 0..{MAX_CELL_PX} pixels")
        return Request(op, argv=args, env=dict(env), cwd=cwd, cols=_int(obj, "cols", 1, MAX_CELLS),
                       rows=_int(obj, "rows", 1, MAX_CELLS), cell_px=(px[0], px[1]))
    return Request(op)


def exit_json(status: int) -> dict[str, int | None]:
    """A wait status as the protocol's ``{"code", "signal"}``."""
    if os.WIFSIGNALED(status):
        return {"code": None, "signal": os.WTERMSIG(status)}
    return {"code": os.waitstatus_to_exitcode(status), "signal": None}


# -- the process -------------------------------------------------------------------------------------------
@dataclass
class Child:
    pid: int
    fd: int
    exit: dict[str, int | None] | None = None


class Keeper:
    def __init__(self, listener: socket.socket, out: TextIO) -> None:
        self.out = out
        self.listener = listener
        listener.setblocking(False)
        self.selector = selectors.DefaultSelector()
        self.children: dict[int, Child] = {}
        self.clients: dict[int, socket.socket] = {}
        self.stopping = False
        self.idle_since = time.monotonic()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda _sig, _frame: None)   # a handler, so the wakeup fd is written
        signal.signal(signal.SIGTERM, self._on_term)
        for sig in (signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        self.selector.register(listener, selectors.EVENT_READ, "listen")
        self.selector.register(self._wake_r, selectors.EVENT_READ, "wake")

    def log(self, message: str, **fields: object) -> None:
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
        extra = "".join(f" {k}={v}" for k, v in fields.items())
        try:
            self.out.write(f"{stamp} keeper[{os.getpid()}]: {message}{extra}\n")
            self.out.flush()
        except (OSError, ValueError):
            pass

    def _on_term(self, _sig: int, _frame: object) -> None:
        self.stopping = True

    # -- loop ----------------------------------------------------------------------------------------------
    def run(self) -> None:
        self.log("started", protocol=PROTOCOL)
        while not self.stopping:
            try:
                events = self.selector.select(TICK)
            except InterruptedError:
                events = []
            for key, _mask in events:
                try:
                    if key.data == "listen":
                        self._accept()
                    elif key.data == "wake":
                        self._drain_wakeups()
                    else:
                        self._serve(key.fileobj)   # type: ignore[arg-type]
                except Exception as e:   # nothing a client does may end the keeper
                    self.log("internal error", error=repr(e)[:300])
            self.reap()
            if self.clients or any(c.exit is None for c in self.children.values()):
                self.idle_since = time.monotonic()
            elif time.monotonic() - self.idle_since > IDLE_EXIT:
                self.log("no running shell and no server; exiting")
                break
        self.end_children()
        self.log("stopped")

    def _drain_wakeups(self) -> None:
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass

    def _accept(self) -> None:
        try:
            conn, _addr = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        if len(self.clients) >= MAX_CLIENTS:
            try:
                conn.setblocking(False)
                fdpass.send(conn, {"ok": False, "error": f"too many clients (limit {MAX_CLIENTS})"})
            except OSError:
                pass
            conn.close()
            return
        conn.setblocking(False)
        self.clients[conn.fileno()] = conn
        self.selector.register(conn, selectors.EVENT_READ, "client")
        self.log("client connected", clients=len(self.clients))

    def _drop(self, conn: socket.socket, why: str) -> None:
        if self.clients.pop(conn.fileno(), None) is not None:
            self.selector.unregister(conn)
            conn.close()
            self.log("client gone", why=why, clients=len(self.clients))

    def _serve(self, conn: socket.socket) -> None:
        try:
            obj, fds = fdpass.receive(conn)
        except (BlockingIOError, InterruptedError):
            return
        except fdpass.PeerClosed:
            self._drop(conn, "closed")
            return
        except fdpass.MessageError as e:
            self._reply(conn, {"ok": False, "error": str(e)})
            return
        except OSError as e:
            self._drop(conn, f"receive failed: {e.strerror}")
            return
        fdpass.close_all(fds)   # clients have no business sending descriptors
        shutting_down = False
        try:
            request = parse_request(obj)
            reply, out_fds = self.handle(request)
            shutting_down = request.op == "shutdown"
        except RequestError as e:
            reply, out_fds = {"ok": False, "error": str(e)}, []
        self._reply(conn, reply, out_fds)
        if shutting_down:
            self.stopping = True

    def _reply(self, conn: socket.socket, reply: dict[str, Any], fds: list[int] | None = None) -> None:
        try:
            fdpass.send(conn, reply, fds or ())
        except (BlockingIOError, OSError, fdpass.MessageError) as e:
            # A client that does not read its replies is not a server we can work for.
            self._drop(conn, f"reply failed: {e!r}"[:200])

    # -- requests ------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> tuple[dict[str, Any], list[int]]:
        if request.op == "hello":
            if request.protocol != PROTOCOL:
                raise RequestError(f"this keeper speaks protocol {PROTOCOL}, not {request.protocol}")
            self.reap()
            children = [{"pid": c.pid, "exit": c.exit} for c in self.children.values()]
            return {"ok": True, "protocol": PROTOCOL, "pid": os.getpid(), "children": children}, []
        if request.op == "spawn":
            if len(self.children) >= MAX_CHILDREN:
                raise RequestError(f"too many shells (limit {MAX_CHILDREN})")
            try:
                pid, fd = fork_pty(list(request.argv), request.env, request.cwd, request.cols, request.rows,
                                   request.cell_px)
            except (SpawnError, OSError) as e:
                raise RequestError(f"cannot start {request.argv[0]!r}: {e}") from None
            self.children[pid] = Child(pid, fd)
            self.log("shell started", pid=pid, argv=request.argv[0])
            return {"ok": True, "pid": pid}, [fd]
        if request.op == "shutdown":
            self.log("shutdown requested")
            return {"ok": True}, []
        child = self.children.get(request.pid)
        if child is None:
            raise RequestError(f"no shell with pid {request.pid} here")
        if request.op == "fd":
            self._reap_one(child)
            return {"ok": True, "pid": child.pid, "exit": child.exit}, [child.fd]
        if request.op == "status":
            self._reap_one(child)
            return {"ok": True, "exit": child.exit}, []
        # release
        del self.children[child.pid]
        os.close(child.fd)
        self.log("shell released", pid=child.pid, ended=child.exit is not None)
        return {"ok": True}, []

    # -- children ------------------------------------------------------------------------------------------
    def _reap_one(self, child: Child) -> None:
        if child.exit is not None:
            return
        try:
            pid, status = os.waitpid(child.pid, os.WNOHANG)
        except ChildProcessError:
            child.exit = {"code": None, "signal": None}
            return
        if pid == child.pid:
            self._ended(child, status)

    def _ended(self, child: Child, status: int) -> None:
        child.exit = exit_json(status)
        self.log("shell ended", pid=child.pid, code=child.exit["code"], signal=child.exit["signal"])

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            child = self.children.get(pid)
            if child is not None and child.exit is None:
                self._ended(child, status)

    def end_children(self) -> None:
        """SIGHUP every running shell's process group, then SIGTERM, then SIGKILL; reap; close the masters."""
        for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGKILL):
            running = [c for c in self.children.values() if c.exit is None]
            if not running:
                break
            for child in running:
                signal_group(child.pid, sig)
            deadline = time.monotonic() + GRACE
            while time.monotonic() < deadline and any(c.exit is None for c in self.children.values()):
                self.reap()
                time.sleep(0.02)
        for child in self.children.values():
            os.close(child.fd)
            if child.exit is None:
                self.log("shell not reaped", pid=child.pid)
        self.children.clear()


def signal_group(pid: int, sig: int) -> None:
    """Signal a shell's process group (it leads its own session), then the shell itself."""
    for send in (os.killpg, os.kill):
        try:
            send(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


# -- start-up ----------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dullahan.persist.keeper", description=__doc__.split("\n")[0])
    parser.add_argument("--socket", required=True, type=Path)
    parser.add_argument("--lock", required=True, type=Path)
    parser.add_argument("--log", type=Path, help="append the keeper's log here (default: stderr)")
    parser.add_argument("--foreground", action="store_true", help="do not go to the background")
    args = parser.parse_args(argv)
    lock_fd = os.open(args.lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"a keeper already holds {args.lock}", file=sys.stderr)
        return 3
    listener = fdpass.listen(args.socket)
    if not args.foreground and os.fork() != 0:
        # The parent returns at once: the socket is already listening, so whoever started us can connect now.
        os._exit(0)
    if not args.foreground:
        os.setsid()
        os.chdir("/")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    if args.log is not None:
        log_fd = os.open(args.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(log_fd)
    elif not args.foreground:   # nothing of the starter's may stay open: it waits for our output to end
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
    os.close(devnull)
    os.ftruncate(lock_fd, 0)
    os.pwrite(lock_fd, f"{os.getpid()}\n".encode(), 0)
    out = sys.stderr
    keeper = Keeper(listener, out)
    try:
        keeper.run()
    finally:
        # Still holding the lock: no other keeper can have bound this path since we did.
        try:
            args.socket.unlink()
        except OSError:
            pass
        listener.close()
        try:
            args.lock.unlink()
        except OSError:
            pass
        os.close(lock_fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
