"""Kitty graphics in Ghostty: the process-wide PNG decoder and log hooks, and a terminal's image options.
Reading a terminal's images and placements is ``term/image_reader.py``.

Ghostty parses the protocol and keeps images and placements per screen; PNG needs a decoder from the host,
installed once for the whole process (``install_hooks``). The decoder does not know which terminal it
decodes for, so ``VTerm.feed`` names the terminal being fed on this thread (``feeding``): the decoder takes
that terminal's limits, and refusals Ghostty logs during the feed are attributed to it. Ghostty answers a
refused image with the protocol's error reply itself (``EINVAL: ...``, ``ENOMEM: ...``), as kitty does.

Nothing here is thread-safe per terminal: the caller holds the terminal's lock, as for every terminal call.
"""

from __future__ import annotations

import tempfile
import threading
from typing import Any

from dullahan.images.codec import ImageRefused, decode_png
from dullahan.images.model import (
    ImageConfig,
)
from dullahan.log import log
from dullahan.term.ghostty import Terminal, check, ffi, lib

MAX_REFUSALS_PER_FEED = 16
_REFUSED_PREFIX = "erroneous kitty graphics response: "
FORMATS = {0: "rgb", 1: "rgba", 3: "gray_alpha", 4: "gray"}


class ImageSink:
    """One terminal's side of the process-wide hooks: the decoder's limits, and the refusals of a feed."""

    def __init__(self, config: ImageConfig) -> None:
        self.config = config
        self.refusals: list[tuple[str, bool]] = []     # (reply message with our reason, over a limit)
        self.decoder_refusal: ImageRefused | None = None

    def refused(self, message: str) -> None:
        reason = self.decoder_refusal
        self.decoder_refusal = None
        over_limit = reason.limit if reason is not None else (
            message.startswith("ENOMEM") or "too large" in message)
        if reason is not None:
            message = f"{message} ({reason})"
        if len(self.refusals) < MAX_REFUSALS_PER_FEED:
            self.refusals.append((message, over_limit))


_feeding = threading.local()


def feeding(sink: ImageSink | None) -> None:
    """Name the terminal this thread is about to feed (None once the feed is over)."""
    _feeding.sink = sink


def _current() -> ImageSink | None:
    return getattr(_feeding, "sink", None)


# -- process-wide hooks ----------------------------------------------------------------------------------
_hooks: list[Any] = []      # the cffi callbacks, alive for the whole process
_hooks_lock = threading.Lock()


def install_hooks() -> None:
    """Install the PNG decoder and the log hook, once per process."""
    with _hooks_lock:
        if _hooks:
            return
        decoder = ffi.callback("GhosttySysDecodePngFn", _decode_png, onerror=_on_hook_error)
        logger = ffi.callback("GhosttySysLogFn", _on_log, onerror=_on_hook_error)
        check(lib.ghostty_sys_set(lib.GHOSTTY_SYS_OPT_DECODE_PNG, decoder), "png decoder")
        check(lib.ghostty_sys_set(lib.GHOSTTY_SYS_OPT_LOG, logger), "log hook")
        _hooks.extend((decoder, logger))


def _on_hook_error(exc: Any, val: Any, tb: Any) -> None:
    log.error("images", "libghostty hook raised", error=repr(val))


def _decode_png(userdata: Any, allocator: Any, data: Any, length: int, out: Any) -> bool:
    sink = _current()
    config = sink.config if sink is not None else ImageConfig()
    max_bytes = config.storage_per_screen
    try:
        if length > max_bytes:
            raise ImageRefused(f"{length} bytes of PNG exceed the {max_bytes}-byte limit", limit=True)
        image = decode_png(ffi.buffer(data, length)[:], max_bytes, config.max_dimension)
    except ImageRefused as e:
        if sink is not None:
            sink.decoder_refusal = e
        return False
    size = len(image.rgba)
    buf = lib.ghostty_alloc(allocator, size)
    if buf == ffi.NULL:
        return False
    ffi.memmove(buf, image.rgba, size)
    out.width, out.height, out.data, out.data_len = image.width, image.height, buf, size
    return True


def _on_log(userdata: Any, level: int, scope: Any, scope_len: int, message: Any, message_len: int) -> None:
    text = ffi.buffer(message, message_len)[:].decode("utf-8", "replace") if message_len else ""
    where = ffi.buffer(scope, scope_len)[:].decode("utf-8", "replace") if scope_len else ""
    sink = _current()
    if where == "kitty_gfx" and text.startswith(_REFUSED_PREFIX) and sink is not None:
        sink.refused(text[len(_REFUSED_PREFIX):])
    elif log.is_on("term"):
        log.debug("term", "libghostty", scope=where or "-", level=int(level), message=text)


# -- a terminal's options --------------------------------------------------------------------------------
def configure(term: Terminal, config: ImageConfig) -> None:
    """Turn the protocol on or off for a terminal and set its storage limit and transmission media.

    Off, Ghostty acts as a terminal without the protocol: queries get no answer (a program that asks and
    then sends a primary device attributes request sees only that answer), images are dropped.
    """
    if config.enabled:
        install_hooks()
    set_storage_limit(term, config.storage_per_screen if config.enabled else 0)
    t = term._t[0]
    allow = ffi.new("bool*", config.enabled and config.file_media)
    check(lib.ghostty_terminal_set(t, lib.GHOSTTY_TERMINAL_OPT_KITTY_IMAGE_MEDIUM_FILE, allow), "file medium")
    check(lib.ghostty_terminal_set(t, lib.GHOSTTY_TERMINAL_OPT_KITTY_IMAGE_MEDIUM_SHARED_MEM, allow), "shm medium")
    if config.enabled and config.file_media:
        directory = tempfile.gettempdir().encode()
        keep = ffi.new("uint8_t[]", directory)
        path = ffi.new("GhosttyString*")
        path.ptr, path.len = keep, len(directory)
        check(lib.ghostty_terminal_set(t, lib.GHOSTTY_TERMINAL_OPT_KITTY_IMAGE_MEDIUM_TEMP_FILE, path), "temp medium")
    else:
        check(lib.ghostty_terminal_set(t, lib.GHOSTTY_TERMINAL_OPT_KITTY_IMAGE_MEDIUM_TEMP_FILE, ffi.NULL),
              "temp medium")


def set_storage_limit(term: Terminal, limit: int) -> None:
    """Ghostty's storage limit for each screen (0 turns the protocol off). Lowering it evicts the oldest
    images until the rest fit."""
    check(lib.ghostty_terminal_set(term._t[0], lib.GHOSTTY_TERMINAL_OPT_KITTY_IMAGE_STORAGE_LIMIT,
                                   ffi.new("uint64_t*", limit)), "image storage limit")


def storage_limit(term: Terminal) -> int:
    out = ffi.new("uint64_t*")
    check(lib.ghostty_terminal_get(term._t[0], lib.GHOSTTY_TERMINAL_DATA_KITTY_IMAGE_STORAGE_LIMIT, out),
          "image storage limit")
    return int(out[0])


# -- reading ---------------------------------------------------------------------------------------------
