"""The server process: one asyncio loop owning the session, the control socket and the web side.

Start-up takes an exclusive lock on the pid file (a crashed server's lock dies with it, so its stale socket
and pid file are recognised and cleaned up), writes the runtime files 0600 in a 0700 directory, listens,
then rebuilds the session from whatever survived the previous server (``persist.continuity``: the keeper's
shells, the saved state) or starts the first window. Shutdown (``quit``, SIGTERM, SIGINT) saves the state,
closes clients with a reason, hangs up every child (SIGHUP, then SIGTERM, then SIGKILL, all reaped within
about 2 s), ends the keeper and removes the runtime files.

``restart`` hands everything to a new server process instead (``persist.handoff``); this one then exits
without touching the shells. A server started with ``takeover`` is that new process.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import ssl
import sys
import time
from pathlib import Path
from typing import Any, Literal

from dullahan import __version__, looplag, tokens
from dullahan.commands import carry_out
from dullahan.config import RuntimePaths, Settings
from dullahan.ipc.server import IpcServer
from dullahan.log import SpecError, log
from dullahan.persist.continuity import ClientStateHooks, Continuity
from dullahan.session.session import Session
from dullahan.term.ghostty import check_cell_layout

StopMode = Literal["quit", "failed", "handed_off", "abandoned"]


class AlreadyRunning(Exception):
    pass


class PidLock:
    """An exclusive ``flock`` on the pid file, held for the server's life."""

    def __init__(self, paths: RuntimePaths) -> None:
        self.paths = paths
        self.fd = -1

    def acquire(self) -> None:
        fd = os.open(self.paths.pidfile, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid = _read_pid(self.paths)
            raise AlreadyRunning(f"a server is already running on port {self.paths.port}"
                                 + (f" (pid {pid})" if pid else "")) from None
        # We hold the lock: any socket left here belongs to a server that died.
        if self.paths.socket.exists():
            log.warning("server", "removed a stale socket from a crashed server", path=str(self.paths.socket))
            self.paths.socket.unlink()
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.fchmod(fd, 0o600)
        self.fd = fd

    def release(self) -> None:
        if self.fd >= 0:
            try:
                self.paths.pidfile.unlink()
            except FileNotFoundError:
                pass
            os.close(self.fd)
            self.fd = -1

    def adopt(self, fd: int) -> None:
        """Hold the lock a restarted server handed over (the same open file, so the same lock) and sign it."""
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd

    def detach(self) -> None:
        """Let go of the lock without removing the file: the server we handed over to holds it too."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _read_pid(paths: RuntimePaths) -> int | None:
    try:
        return int(paths.pidfile.read_text().strip() or 0) or None
    except (OSError, ValueError):
        return None


class Server:
    def __init__(self, settings: Settings, *, fresh: bool = False, takeover: Path | None = None,
                 serve_flags: list[str] | None = None) -> None:
        """``fresh``: do not restore anything. ``takeover``: the handoff socket of the server this one replaces.
        ``serve_flags``: the command-line flags this server was started with (a restart passes them on)."""
        self.settings = settings
        self.fresh = fresh
        self.takeover = takeover
        self.serve_flags = list(serve_flags or [])
        self.paths = RuntimePaths.for_port(settings.port)
        self.pid = os.getpid()
        self.started = time.monotonic()
        self.tokens = tokens.load_or_create(settings.port)
        log.set_secrets(self.tokens.master, self.tokens.view)
        self.lock = PidLock(self.paths)
        self.session: Session
        self.ipc: IpcServer
        self.web: Any = None
        self._stop: asyncio.Event | None = None
        self._stop_reason = ""
        self._stop_mode: StopMode = "quit"
        self._serving = False
        self._restarting = False
        self.continuity = Continuity(settings, self.paths)

    # -- what carries over a restart (the web layer plugs in here) ---------------------------------------
    @property
    def restart_notice(self) -> dict[str, Any] | None:
        """How this server came to be, when it continues an earlier one: ``{"kind": "restart" | "crash" |
        "reboot", "from": version, "to": version, "at": ISO time, "saved_at": ISO time | None}``; None after a
        fresh start."""
        return self.continuity.restart_notice

    def register_client_state(self, hooks: ClientStateHooks) -> None:
        """The web layer's ``export_clients() -> bytes`` / ``import_clients(bytes)``: exported into every
        restart handoff and saved state, imported (once, at registration or on arrival) in the next server."""
        self.continuity.register_client_state(hooks)

    def continuity_status(self) -> dict[str, Any]:
        return self.continuity.status()

    # -- queries used by commands ------------------------------------------------------------------
    def uptime(self) -> float:
        return time.monotonic() - self.started

    def urls(self) -> dict[str, str]:
        scheme = "https" if self.settings.tls_cert else "http"
        host = self.settings.bind
        if ":" in host:
            host = f"[{host}]"
        elif host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        base = f"{scheme}://{host}:{self.settings.port}{self.settings.base_path}"
        return {"base": base, "master": f"{base}?token={self.tokens.master}",
                "view": f"{base}?token={self.tokens.view}"}

    def set_tokens(self, new: tokens.Tokens) -> None:
        self.tokens = new
        log.set_secrets(new.master, new.view)
        if self.web is not None:
            self.web.tokens_rotated(new)

    def client_count(self) -> int:
        return self.web.client_count() if self.web is not None else 0

    def client_list(self) -> list[dict[str, Any]]:
        return self.web.client_list() if self.web is not None else []

    def disconnect_counts(self) -> dict[str, int]:
        return self.web.disconnect_counts() if self.web is not None else {}

    def request_stop(self, reason: str, mode: StopMode = "quit") -> None:
        if self._stop is not None and not self._stop.is_set():
            self._stop_reason = reason
            self._stop_mode = mode
            asyncio.get_running_loop().call_soon(self._stop.set)

    def serve_argv(self) -> list[str]:
        """How to start a server like this one with the code installed now (for a restart)."""
        return [sys.executable, "-m", "dullahan", "serve", "--port", str(self.settings.port), *self.serve_flags]

    async def restart(self) -> dict[str, Any]:
        """Hand everything to a new server process; this one then stops without touching the shells."""
        from dullahan.commands.table import FAILED, CommandError
        from dullahan.persist.handoff import HandoffError, hand_over
        if self._restarting or not self._serving:
            raise CommandError(FAILED, "a restart is already in progress" if self._restarting else "not serving yet")
        self._restarting = True
        try:
            result = await hand_over(self, self.serve_argv())
        except HandoffError as e:
            raise CommandError(FAILED, f"restart failed; the server (pid {self.pid}) carries on: {e}") from e
        finally:
            self._restarting = False
        self.request_stop(f"restart: handed over to pid {result['pid']}", mode="handed_off")
        return result

    # -- life --------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Everything up to listening; raises on failure (after undoing what it did)."""
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(self._on_loop_error)
        looplag.start_if_asked(loop)
        self._stop = asyncio.Event()
        check_cell_layout()
        if self.takeover is not None:
            await self._take_over(loop)
            return
        self.lock.acquire()
        try:
            self.session = Session(self.settings, loop, spawn=self.continuity.spawn)
            self.continuity.open_session(self.session, self.fresh)
            if not self.session.windows:
                self.session.new_window(self.settings.initial_layout)
            self.ipc = IpcServer(self.paths.socket, lambda cmd, args: carry_out(self, cmd, args))
            await self.ipc.start()
            from dullahan.hub import SyncHub
            from dullahan.net.web import WebServer
            from dullahan.wire.registry import Registry
            hub = SyncHub(self.session, Registry(self.settings.master_grace))
            self.register_client_state(hub)
            self.web = WebServer(self.settings, self.tokens, self.session, hub, self)
            await self.web.start()
            self._begin_serving(loop)
        except BaseException:
            await self._teardown("failed")
            raise
        log.info("server", "started", version=__version__, pid=self.pid, port=self.settings.port,
                 bind=self.settings.bind, tls=self.settings.tls_cert is not None)

    def _stderr_to_log(self) -> None:
        """Until the commit our stderr was a file the old server read our failure from (and removes); a crash
        from now on belongs in the log, as for a server started with ``serve -d``."""
        fd = os.open(self.paths.logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        os.dup2(fd, 2)
        os.close(fd)

    def _begin_serving(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.continuity.saver is None:
            self.continuity.start_saver(self.session)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop, signal.Signals(sig).name)
        loop.add_signal_handler(signal.SIGHUP, lambda: log.info("server", "SIGHUP ignored"))
        self._serving = True

    async def _take_over(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start as the replacement of a running server (``persist.handoff``): everything that can fail is
        done before saying ``ready``; the shells are read only after the old server's ``commit``."""
        from dullahan.hub import SyncHub
        from dullahan.net.web import WebServer
        from dullahan.persist.handoff import HandoffError, Takeover, warm_up
        from dullahan.wire.registry import Registry
        assert self.takeover is not None
        warm_up()
        handoff = Takeover(self.takeover)
        handoff.hello()
        incoming = None
        try:
            self.session = Session(self.settings, loop, spawn=self.continuity.spawn)
            from dullahan.persist import restore
            prebuilt = restore.prebuild(self.session, handoff.receive_prestate())
            handoff.prepared()
            incoming = handoff.receive_state()
            with contextlib.suppress(SpecError):
                log.set_spec(",".join("+" + c for c in incoming.debug))
            self.tokens = tokens.Tokens(incoming.tokens["master"], incoming.tokens["view"])
            prepared = self.continuity.prepare_takeover(self.session, incoming.decoded, incoming.from_version,
                                                        prebuilt)
            if not self.session.windows:
                raise HandoffError("the handed-over session has no windows")
            self.ipc = IpcServer(self.paths.socket, lambda cmd, args: carry_out(self, cmd, args))
            hub = SyncHub(self.session, Registry(self.settings.master_grace))
            self.register_client_state(hub)
            self.web = WebServer(self.settings, self.tokens, self.session, hub, self)
            handoff.ready()
            inputs = handoff.wait_commit()
        except BaseException as e:
            handoff.fail(f"{e.__class__.__name__}: {e}" if not isinstance(e, HandoffError) else str(e))
            handoff.close()
            if incoming is not None:
                for sock in (incoming.ipc, *incoming.web):
                    sock.close()
                os.close(incoming.pidfile_fd)
            await self._teardown("abandoned")
            raise
        # Committed: from here this server owns the shells, the sockets and the pid file.
        self.lock.adopt(incoming.pidfile_fd)
        self._stderr_to_log()
        # The panes' content as restored, before their PTYs are read: what the state file holds as it is.
        saved = {pid: where for pid, where in incoming.saved.items() if pid in self.session.panes}
        self.continuity.start_saver(self.session, saved)
        prepared.commit(inputs)
        await self.ipc.start(sock=incoming.ipc)
        await self.web.start(socks=incoming.web)
        self._begin_serving(loop)
        handoff.running()
        handoff.close()
        log.info("server", "took over", version=__version__, pid=self.pid, port=self.settings.port,
                 from_pid=incoming.from_pid, from_version=incoming.from_version, panes=len(self.session.panes))

    def _on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """Errors nobody awaited: TLS handshakes that failed before any HTTP, and bugs (always logged)."""
        exc = context.get("exception")
        message = str(context.get("message", ""))
        peer = ""
        transport = context.get("transport") or context.get("protocol")
        if transport is not None and hasattr(transport, "get_extra_info"):
            peername = transport.get_extra_info("peername")
            peer = f"{peername[0]}:{peername[1]}" if peername else ""
        if isinstance(exc, ssl.SSLError) or "SSL" in message:
            reason = getattr(exc, "reason", None) or (exc.__class__.__name__ if exc else message)
            log.warning("tls", "TLS handshake failed", reason=reason, peer=peer or "?", detail=message[:200])
            if self.web is not None:
                self.web.count("tls_handshake_failed")
            return
        if isinstance(exc, ConnectionError):
            log.info("connection", "connection error outside a client", error=repr(exc), peer=peer or "?")
            return
        log.error("server", "unhandled error in the event loop", message=message[:300], error=repr(exc))

    async def wait(self) -> None:
        assert self._stop is not None
        await self._stop.wait()
        log.info("server", "stopping", reason=self._stop_reason)
        await self._teardown(self._stop_mode)
        log.info("server", "stopped")

    async def _teardown(self, mode: StopMode) -> None:
        """``quit``: save, end every shell and the keeper. ``failed``: a start that did not complete; shells it
        reattached after a crash stay in the keeper for the next try, shells it started end. ``handed_off``: a
        restart took everything over; close our side only. ``abandoned``: a takeover that did not happen; touch
        nothing of the old server's."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        session: Session | None = getattr(self, "session", None)
        outcome = self.continuity.outcome
        keep_shells = mode in ("handed_off", "abandoned") or (
            mode == "failed" and outcome is not None and outcome.kind == "crash")
        if mode == "quit" and self._serving:
            await self.continuity.save_now()   # with the shells still running: their commands are recorded
        if self.continuity.saver is not None:
            self.continuity.saver.stop()
        if self.web is not None and mode != "abandoned":
            await self.web.close()
        if getattr(self, "ipc", None) is not None and mode != "abandoned":
            await self.ipc.close(unlink=mode in ("quit", "failed"))
        if session is not None:
            if keep_shells:
                session.feeder.stop()
            else:
                await session.shutdown()
        keeper = self.continuity.keeper
        if keep_shells or (mode == "failed" and keeper is not None and keeper.children_at_start):
            self.continuity.let_go()
        else:
            self.continuity.end_keeper()
        if mode in ("quit", "failed"):
            self.lock.release()
        else:
            self.lock.detach()
