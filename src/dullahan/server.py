"""The server process: one asyncio loop owning the session, the control socket and the web side.

Start-up takes an exclusive lock on the pid file (a crashed server's lock dies with it, so its stale socket
and pid file are recognised and cleaned up), writes the runtime files 0600 in a 0700 directory, starts the
first window and listens. Shutdown (``quit``, SIGTERM, SIGINT) closes clients with a reason, hangs up every
child (SIGHUP, then SIGTERM, then SIGKILL, all reaped within about 2 s) and removes the runtime files.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import ssl
import time
from typing import Any

from dullahan import __version__, tokens
from dullahan.commands import carry_out
from dullahan.config import RuntimePaths, Settings
from dullahan.ipc.server import IpcServer
from dullahan.log import log
from dullahan.session.session import Session
from dullahan.term.ghostty import check_cell_layout


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


def _read_pid(paths: RuntimePaths) -> int | None:
    try:
        return int(paths.pidfile.read_text().strip() or 0) or None
    except (OSError, ValueError):
        return None


class Server:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
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

    def request_stop(self, reason: str) -> None:
        if self._stop is not None and not self._stop.is_set():
            self._stop_reason = reason
            asyncio.get_running_loop().call_soon(self._stop.set)

    # -- life --------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Everything up to listening; raises on failure (after undoing what it did)."""
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(self._on_loop_error)
        self._stop = asyncio.Event()
        check_cell_layout()
        self.lock.acquire()
        try:
            self.session = Session(self.settings, loop)
            self.session.new_window(self.settings.initial_layout)
            self.ipc = IpcServer(self.paths.socket, lambda cmd, args: carry_out(self, cmd, args))
            await self.ipc.start()
            from dullahan.hub import SyncHub
            from dullahan.net.web import WebServer
            from dullahan.wire.registry import Registry
            hub = SyncHub(self.session, Registry(self.settings.master_grace))
            self.web = WebServer(self.settings, self.tokens, self.session, hub, self)
            await self.web.start()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.request_stop, signal.Signals(sig).name)
            loop.add_signal_handler(signal.SIGHUP, lambda: log.info("server", "SIGHUP ignored"))
        except BaseException:
            await self._teardown()
            raise
        log.info("server", "started", version=__version__, pid=self.pid, port=self.settings.port,
                 bind=self.settings.bind, tls=self.settings.tls_cert is not None)

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
        await self._teardown()
        log.info("server", "stopped")

    async def _teardown(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        if self.web is not None:
            await self.web.close()
        if getattr(self, "ipc", None) is not None:
            await self.ipc.close()
        if getattr(self, "session", None) is not None:
            await self.session.shutdown()
        self.lock.release()
