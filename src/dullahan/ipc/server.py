"""The IPC socket server: accepts local connections and dispatches requests without blocking the loop.

A connection may send several requests, one per line. A peer that sends nothing within the read timeout,
sends an over-long line or garbage gets an error reply (when it can still be written) and is dropped; the
other connections and the event loop never wait for it.

At most ``MAX_CONNECTIONS`` connections are served at once. When a new one arrives at the cap, the one that
has been waiting longest for a request line is told so and closed: a script that holds connections open
(or many of them) can never lock the owner's CLI out. Only when every connection is in the middle of a
request is the newcomer refused.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from dullahan.commands.table import CommandError
from dullahan.ipc.protocol import MAX_LINE, RequestError, decode_request, encode_reply
from dullahan.log import log

READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
MAX_CONNECTIONS = 32

Dispatch = Callable[[str, dict[str, Any]], Awaitable[Any]]


class _Peer:
    """One control connection: whether it is waiting for a request line, and since when."""

    __slots__ = ("evicted", "waiting_since", "writer")

    def __init__(self, writer: asyncio.StreamWriter, now: float) -> None:
        self.writer = writer
        self.waiting_since: float | None = now
        self.evicted = False


def pick_idle_victim(peers: list[_Peer]) -> _Peer | None:
    """The peer waiting longest for a request line, if any is waiting."""
    idle = [p for p in peers if p.waiting_since is not None and not p.evicted]
    return min(idle, key=lambda p: p.waiting_since or 0.0) if idle else None


class IpcServer:
    def __init__(self, path: Path, dispatch: Dispatch) -> None:
        self.path = path
        self.dispatch = dispatch
        self._server: asyncio.AbstractServer | None = None
        self._conns: dict[asyncio.Task[None], _Peer] = {}
        self.requests = 0
        self.errors = 0
        self.evicted = 0

    async def start(self, sock: socket.socket | None = None) -> None:
        """Listen at ``path``, or on ``sock``: the listening socket a restarted server hands over (no moment
        where the path refuses a connection)."""
        # We remove the path ourselves in ``close``; Python 3.13 would also do it on server close, which after a
        # restart would take the new server's socket away.
        extra: dict[str, Any] = {"cleanup_socket": False} if sys.version_info >= (3, 13) else {}
        if sock is not None:
            self._server = await asyncio.start_unix_server(self._serve, sock=sock, limit=MAX_LINE + 1, **extra)
            return
        if self.path.exists() or self.path.is_symlink():
            self.path.unlink()
        old = os.umask(0o177)   # the socket is created 0600: no window where others could connect
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path), limit=MAX_LINE + 1,
                                                           **extra)
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)

    def listening_socket(self) -> socket.socket:
        # asyncio.Server and uvloop's Server both have ``sockets`` (wrappers with the fileno() a handoff needs);
        # AbstractServer does not declare it.
        sockets: list[socket.socket] = list(getattr(self._server, "sockets", None) or [])
        if not sockets:
            raise RuntimeError("the control socket is not listening")
        return sockets[0]

    def stop_accepting(self) -> None:
        """Close the listening socket (after a restart handed it over); open connections carry on."""
        if self._server is not None:
            self._server.close()

    async def close(self, unlink: bool = True) -> None:
        """Stop; ``unlink=False`` after a restart, when the path is the new server's."""
        if self._server is not None:
            self._server.close()
        for task in list(self._conns):
            task.cancel()
        if self._conns:
            await asyncio.gather(*self._conns, return_exceptions=True)
        if unlink:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        if len(self._conns) >= MAX_CONNECTIONS and not self._evict_one():
            await self._reply(writer, encode_reply(error="too many control connections, all of them busy"))
            writer.close()
            return
        peer = _Peer(writer, loop.time())
        self._conns[task] = peer
        try:
            while True:
                peer.waiting_since = loop.time()
                try:
                    line = await asyncio.wait_for(reader.readuntil(b"\n"), READ_TIMEOUT)
                except TimeoutError:
                    log.debug("ipc", "peer silent; dropped")
                    await self._reply(writer, encode_reply(error=f"no request within {READ_TIMEOUT:.0f} s"))
                    return
                except asyncio.IncompleteReadError as e:
                    if e.partial.strip() and not peer.evicted:
                        await self._reply(writer, encode_reply(error="request not terminated by a newline"))
                    return
                except asyncio.LimitOverrunError:
                    self.errors += 1
                    await self._reply(writer, encode_reply(error=f"request larger than {MAX_LINE} bytes"))
                    return
                if peer.evicted:
                    return
                peer.waiting_since = None
                if not await self._reply(writer, await self._handle(line)):
                    return
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._conns.pop(task, None)
            writer.close()

    def _evict_one(self) -> bool:
        """Close the connection that has waited longest for a request, to make room; False if all are busy."""
        victim = pick_idle_victim(list(self._conns.values()))
        if victim is None:
            return False
        victim.evicted = True
        self.evicted += 1
        log.limited("info", "ipc", "ipc_evicted", "control connection closed to make room for a new one",
                    connections=len(self._conns), limit=MAX_CONNECTIONS)
        try:
            victim.writer.write(encode_reply(error="closed to make room for another control connection"))
        except (ConnectionError, RuntimeError):
            pass
        victim.writer.close()
        return True

    async def _handle(self, line: bytes) -> bytes:
        self.requests += 1
        try:
            request = decode_request(line)
        except RequestError as e:
            self.errors += 1
            return encode_reply(error=str(e), code="bad_request")
        log.debug("ipc", "request", cmd=request.cmd)
        try:
            result = await self.dispatch(request.cmd, request.args)
        except CommandError as e:
            self.errors += 1
            return encode_reply(error=e.message, code=e.code)
        except Exception as e:   # a bug in one command must not take the server down
            self.errors += 1
            log.error("ipc", "command failed", cmd=request.cmd, error=repr(e))
            return encode_reply(error=f"internal error in '{request.cmd}': {e!r}")
        return encode_reply(result)

    @staticmethod
    async def _reply(writer: asyncio.StreamWriter, data: bytes) -> bool:
        try:
            writer.write(data)
            await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT)
            return True
        except (ConnectionError, TimeoutError):
            return False
