"""The standard library's logging (aiohttp's loggers, asyncio, warnings) routed into Dullahan's log.

Without this, aiohttp writes a ~500-byte traceback for every malformed request to stderr (the log file of
a detached server), quoting the request line or header that failed: tokens and cookies included. Here:

- a malformed request becomes one short line, ``http: malformed request refused``, with the client address,
  the error's class and status, and never the request's text; these lines are rate-limited
  (``log.limited``) and carry the count of the ones suppressed;
- any other record becomes one line in the matching category (``http`` for aiohttp, ``ws`` for its
  WebSocket logger, ``server`` for the rest), scrubbed like every line, with a short location instead of
  a traceback; debug records only when that category is on.
"""

from __future__ import annotations

import logging
import traceback

from dullahan.log import log
from dullahan.net.proxy import parse_ip

LIBRARY_LOGGERS = ("aiohttp", "aiohttp.access", "aiohttp.client", "aiohttp.internal", "aiohttp.server",
                   "aiohttp.web", "aiohttp.websocket", "asyncio", "py.warnings")
MAX_MESSAGE_CHARS = 300


def _category(logger_name: str) -> str:
    if logger_name.startswith("aiohttp.websocket"):
        return "ws"
    if logger_name.startswith("aiohttp"):
        return "http"
    return "server"


def is_malformed_request(exc: BaseException | None) -> bool:
    """aiohttp's errors for requests it could not parse (bad request line, header, version, sizes)."""
    from aiohttp.http_exceptions import HttpProcessingError
    return isinstance(exc, HttpProcessingError)


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    return " < ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in reversed(frames))


class LogBridge(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._emit(record)
        except Exception:   # logging must never take anything down
            pass

    def _emit(self, record: logging.LogRecord) -> None:
        category = _category(record.name)
        debug = record.levelno < logging.INFO
        if debug and not log.is_on(category):
            return
        exc = record.exc_info[1] if record.exc_info else None
        if is_malformed_request(exc):
            address = record.args[0] if isinstance(record.args, tuple) and record.args else None
            ip = parse_ip(str(address)) if address is not None else None
            log.limited("debug" if debug else "warning", "http", "malformed_request", "malformed request refused",
                        address=str(ip) if ip else "?", error=type(exc).__name__, status=getattr(exc, "code", 400))
            return
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        fields: dict[str, object] = {"logger": record.name}
        if exc is not None:
            fields["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200]
            fields["at"] = _where(exc)
        level = ("debug" if debug else "info" if record.levelno < logging.WARNING
                 else "warning" if record.levelno < logging.ERROR else "error")
        log.limited(level, category, f"library:{record.name}:{level}", message[:MAX_MESSAGE_CHARS], **fields)


def install_log_bridge() -> None:
    """Route every standard-library logger through ``LogBridge`` (idempotent)."""
    bridge = LogBridge()
    root = logging.getLogger()
    root.handlers = [bridge]
    root.setLevel(logging.WARNING)
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    # aiohttp's debug records are few and cheap; the bridge drops them unless "http" debugging is on.
    logging.getLogger("aiohttp").setLevel(logging.DEBUG)
    logging.captureWarnings(True)
