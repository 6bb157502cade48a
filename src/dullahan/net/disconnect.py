"""Why a connection ended: every disconnect gets exactly one classified reason (SPEC §7).

The original implementation logged only "poll error/hangup". Here the reader's last message, the exception
the transport reported, or the server's own decision is turned into a reason from a fixed list, with the
details that explain it (the close code, the OpenSSL reason string, the errno).
"""

from __future__ import annotations

import asyncio
import errno
import ssl
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType
from aiohttp.http_websocket import WebSocketError

CLIENT_CLOSE = "client_close"
EOF_WITHOUT_CLOSE = "eof_without_close"
PEER_RESET = "peer_reset"
TLS_ERROR = "tls_error"
PING_TIMEOUT = "ping_timeout"
HELLO_TIMEOUT = "hello_timeout"
AUTH_FAILED = "auth_failed"
ORIGIN_REJECTED = "origin_rejected"
HOST_REJECTED = "host_rejected"
PROTOCOL_VIOLATION = "protocol_violation"
SIZE_VIOLATION = "size_violation"
RATE_LIMITED = "rate_limited"
ABUSE = "abuse"                      # far more messages, refusals or unread replies than any browser makes
TOO_MANY_CONNECTIONS = "too_many_connections"
SUPERSEDED = "superseded"            # the same page reconnected (resume); this older connection is closed
SERVER_SHUTDOWN = "server_shutdown"
SIGNED_OUT = "signed_out"
SERVER_ERROR = "server_error"        # a bug in one of the connection's own loops (logged as an error)
UNKNOWN = "unknown"

REASONS = (CLIENT_CLOSE, EOF_WITHOUT_CLOSE, PEER_RESET, TLS_ERROR, PING_TIMEOUT, HELLO_TIMEOUT, AUTH_FAILED,
           ORIGIN_REJECTED, HOST_REJECTED, PROTOCOL_VIOLATION, SIZE_VIOLATION, RATE_LIMITED, ABUSE,
           TOO_MANY_CONNECTIONS, SUPERSEDED, SERVER_SHUTDOWN, SIGNED_OUT, SERVER_ERROR, UNKNOWN)


@dataclass(frozen=True)
class Disconnect:
    reason: str
    detail: str = ""
    close_code: int | None = None


def from_exception(exc: BaseException | None) -> Disconnect:
    """Classify what the transport reported when it failed."""
    if exc is None:
        return Disconnect(EOF_WITHOUT_CLOSE, "connection closed without a close frame")
    if isinstance(exc, WebSocketError):
        code = int(exc.code)
        reason = SIZE_VIOLATION if code == 1009 else PROTOCOL_VIOLATION
        return Disconnect(reason, str(exc)[:200], code)
    if isinstance(exc, ssl.SSLError):
        detail = exc.reason or exc.__class__.__name__
        if exc.library:
            detail = f"{exc.library}: {detail}"
        if exc.reason in ("UNEXPECTED_EOF_WHILE_READING",) or isinstance(exc, ssl.SSLEOFError):
            return Disconnect(EOF_WITHOUT_CLOSE, f"TLS stream ended without close_notify ({detail})")
        return Disconnect(TLS_ERROR, detail)
    if isinstance(exc, ConnectionResetError) or getattr(exc, "errno", None) == errno.ECONNRESET:
        return Disconnect(PEER_RESET, "connection reset by peer")
    if isinstance(exc, BrokenPipeError) or getattr(exc, "errno", None) == errno.EPIPE:
        return Disconnect(PEER_RESET, "broken pipe")
    if isinstance(exc, TimeoutError | ConnectionAbortedError):
        return Disconnect(PEER_RESET, f"{exc.__class__.__name__}: {exc}"[:200])
    if isinstance(exc, OSError) and exc.errno is not None:
        name = errno.errorcode.get(exc.errno, str(exc.errno))
        return Disconnect(PEER_RESET, f"{name}: {exc.strerror}")
    return Disconnect(UNKNOWN, f"{exc.__class__.__module__}.{exc.__class__.__name__}: {exc!r}"[:300])


def from_message(msg_type: WSMsgType, data: object, extra: object) -> Disconnect | None:
    """Classify the reader's last message, or None if it does not end the connection."""
    if msg_type == WSMsgType.CLOSE:
        code = int(data) if isinstance(data, int) else None
        return Disconnect(CLIENT_CLOSE, str(extra or "")[:123], code)
    if msg_type == WSMsgType.CLOSED:
        return Disconnect(EOF_WITHOUT_CLOSE, "connection closed without a close frame")
    if msg_type == WSMsgType.ERROR:
        return from_exception(data if isinstance(data, BaseException) else None)
    return None


class LossRecorder(asyncio.Protocol):
    """Sits between a transport and aiohttp's protocol to keep the exception the connection ended with.

    aiohttp reports every loss of a WebSocket connection to the reader as a plain end of stream, which would
    turn a reset or a TLS failure into "EOF": the very blind spot this module exists to close.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.lost = False
        self.exc: BaseException | None = None

    @classmethod
    def install(cls, transport: asyncio.BaseTransport | None) -> LossRecorder | None:
        if transport is None:
            return None
        recorder = cls(transport.get_protocol())
        transport.set_protocol(recorder)
        return recorder

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost, self.exc = True, exc
        self.inner.connection_lost(exc)
