"""One pane's terminal: a Ghostty terminal with its side effects captured.

Callbacks from libghostty-vt (replies to queries, bell, title, clipboard writes, notifications, progress)
fire inside ``feed`` on whichever thread feeds; they only append to ``TermEffects``, which the owner
drains with ``take_effects``. Nothing here is thread-safe: the owner serialises every call (see
``session.pane``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from dullahan.term import snapshot
from dullahan.term.ghostty import (
    Terminal,
    check,
    ffi,
    get,
    get_string,
    init_sized,
    lib,
    new_terminal,
    set_defaults,
    set_scrollback,
)

DEFAULT_FG = (0xD8, 0xD8, 0xD8)
DEFAULT_BG = (0x12, 0x12, 0x14)
CLIPBOARD_MAX_BYTES = 1 << 20
MAX_NOTIFICATION_CHARS = 1024
MAX_PENDING_EFFECTS = 64

_LOCATIONS = {0: "c", 1: "s", 2: "p"}


@dataclass
class TermEffects:
    """What a feed produced besides screen changes, in order of arrival."""

    replies: list[bytes] = field(default_factory=list)
    bells: int = 0
    title_changed: bool = False
    pwd_changed: bool = False
    clipboard: list[tuple[str, str]] = field(default_factory=list)       # (location c/s/p, text)
    notifications: list[tuple[str, str]] = field(default_factory=list)   # (title, body)
    progress: tuple[int, int] | None = None                               # (state, percent), last one wins
    render_hold: bool | None = None

    def __bool__(self) -> bool:
        return bool(self.replies or self.bells or self.title_changed or self.pwd_changed or self.clipboard
                    or self.notifications or self.progress is not None or self.render_hold is not None)


class VTerm:
    """A terminal for one pane. ``feed`` bytes from the PTY; read state; replies go to ``effects``."""

    def __init__(self, cols: int, rows: int, scrollback_lines: int, term: Terminal | None = None) -> None:
        """A new terminal, or ``term`` (decoded from a snapshot) with this server's options and callbacks."""
        self.scrollback_lines = scrollback_lines
        if term is None:
            term = new_terminal(cols, rows, scrollback_lines, DEFAULT_FG, DEFAULT_BG)
        else:
            set_scrollback(term, scrollback_lines, term.size[0])
            set_defaults(term)
        self.term: Terminal = term
        self.effects = TermEffects()
        self.cell_px = (8, 16)
        self._callbacks: list[Any] = []   # cffi callbacks must outlive the terminal's use of them
        self._palette_buf = ffi.new("GhosttyColorRgb[256]")
        t = self.term._t[0]
        self.term.on_reply(self._on_reply)
        self._set(t, "BELL", "GhosttyTerminalBellFn", self._on_bell)
        self._set(t, "TITLE_CHANGED", "GhosttyTerminalTitleChangedFn", self._on_title)
        self._set(t, "PWD_CHANGED", "GhosttyTerminalPwdChangedFn", self._on_pwd)
        self._set(t, "CLIPBOARD_WRITE", "GhosttyTerminalClipboardWriteFn", self._on_clipboard_write)
        self._set(t, "CLIPBOARD_READ", "GhosttyTerminalClipboardReadFn", self._on_clipboard_read)
        self._set(t, "DESKTOP_NOTIFICATION", "GhosttyTerminalDesktopNotificationFn", self._on_notification)
        self._set(t, "PROGRESS_REPORT", "GhosttyTerminalProgressReportFn", self._on_progress)
        self._set(t, "RENDER_HOLD", "GhosttyTerminalRenderHoldFn", self._on_render_hold)
        self._set(t, "SIZE", "GhosttyTerminalSizeFn", self._on_size)
        self._set(t, "COLOR_SCHEME", "GhosttyTerminalColorSchemeFn", self._on_color_scheme)
        check(lib.ghostty_terminal_set(t, lib.GHOSTTY_TERMINAL_OPT_CLIPBOARD_WRITE_MAX_BYTES,
                                       ffi.new("size_t*", CLIPBOARD_MAX_BYTES)), "clipboard max")

    def _set(self, t: Any, opt: str, ctype: str, fn: Any) -> None:
        cb = ffi.callback(ctype, fn, onerror=self._on_callback_error)
        self._callbacks.append(cb)
        check(lib.ghostty_terminal_set(t, getattr(lib, "GHOSTTY_TERMINAL_OPT_" + opt), cb), opt)

    @staticmethod
    def _on_callback_error(exc: Any, val: Any, tb: Any) -> None:
        from dullahan.log import log
        log.error("term", "terminal callback raised", error=repr(val))

    # -- callbacks (run inside feed) -------------------------------------------------------------
    def _on_reply(self, data: bytes) -> None:
        self.effects.replies.append(data)

    def _on_bell(self, term: Any, ud: Any) -> None:
        self.effects.bells += 1

    def _on_title(self, term: Any, ud: Any) -> None:
        self.effects.title_changed = True

    def _on_pwd(self, term: Any, ud: Any) -> None:
        self.effects.pwd_changed = True

    def _on_clipboard_write(self, term: Any, ud: Any, w: Any) -> None:
        result = lib.GHOSTTY_CLIPBOARD_WRITE_RESULT_SUCCESS
        for i in range(w.contents_len):
            item = w.contents[i]
            mime = ffi.buffer(item.mime.ptr, item.mime.len)[:] if item.mime.len else b""
            if mime not in (b"text/plain", b""):
                continue
            data = ffi.buffer(item.data.ptr, item.data.len)[:] if item.data.len else b""
            if len(self.effects.clipboard) < MAX_PENDING_EFFECTS:
                self.effects.clipboard.append((_LOCATIONS.get(w.location, "c"), data.decode("utf-8", "replace")))
            break
        reply = init_sized("GhosttyClipboardWriteReply")
        reply.result = result
        if w.reply != ffi.NULL:
            w.reply(w, reply)

    def _on_clipboard_read(self, term: Any, ud: Any, r: Any) -> None:
        # Letting a program read the browser's clipboard is a data leak waiting to happen; deny at once
        # (an unanswered read would also hang the program).
        reply = init_sized("GhosttyClipboardReadReply")
        reply.result = lib.GHOSTTY_CLIPBOARD_READ_RESULT_DENIED
        if r.reply != ffi.NULL:
            r.reply(r, reply)

    def _on_notification(self, term: Any, ud: Any, n: Any) -> None:
        title = ffi.buffer(n.title.ptr, n.title.len)[:].decode("utf-8", "replace") if n.title.len else ""
        body = ffi.buffer(n.body.ptr, n.body.len)[:].decode("utf-8", "replace") if n.body.len else ""
        if len(self.effects.notifications) < MAX_PENDING_EFFECTS:
            self.effects.notifications.append((title[:MAX_NOTIFICATION_CHARS], body[:MAX_NOTIFICATION_CHARS]))

    def _on_progress(self, term: Any, ud: Any, p: Any) -> None:
        self.effects.progress = (int(p.state), int(p.progress))

    def _on_render_hold(self, term: Any, ud: Any, held: bool) -> None:
        self.effects.render_hold = bool(held)

    def _on_size(self, term: Any, ud: Any, out: Any) -> bool:
        cols, rows = self.term.size
        out.rows, out.columns = rows, cols
        out.cell_width, out.cell_height = self.cell_px
        return True

    def _on_color_scheme(self, term: Any, ud: Any, out: Any) -> bool:
        out[0] = lib.GHOSTTY_COLOR_SCHEME_DARK
        return True

    @classmethod
    def from_snapshot(cls, blob: bytes, scrollback_lines: int) -> VTerm:
        """The terminal a snapshot describes, exactly (SnapshotError when the bytes are not one)."""
        term = snapshot.decode(blob)
        cols, rows = term.size
        return cls(cols, rows, scrollback_lines, term)

    # -- operations --------------------------------------------------------------------------------
    def snapshot(self) -> bytes:
        """The terminal's exact state (``term.snapshot``); SnapshotError while an over-long escape sequence is
        unfinished."""
        return snapshot.encode(self.term)

    def feed(self, data: bytes) -> None:
        lib.ghostty_terminal_vt_write(self.term._t[0], data, len(data))
        self.term._raise_cb_err()

    def take_effects(self) -> TermEffects:
        effects, self.effects = self.effects, TermEffects()
        return effects

    def resize(self, cols: int, rows: int) -> None:
        self.term.resize(cols, rows, *self.cell_px)
        set_scrollback(self.term, self.scrollback_lines, cols)

    @property
    def size(self) -> tuple[int, int]:
        return self.term.size

    @property
    def title(self) -> str:
        return get_string(self.term, "TITLE")

    @property
    def pwd(self) -> str:
        return get_string(self.term, "PWD")

    def mode(self, n: int) -> bool:
        return self.term.mode(n)

    def alt_screen(self) -> bool:
        return int(get(self.term, "ACTIVE_SCREEN", "GhosttyTerminalScreen")) != 0

    def mouse_tracking(self) -> bool:
        return bool(get(self.term, "MOUSE_TRACKING", "bool"))

    def scrollback_rows(self) -> int:
        return int(get(self.term, "SCROLLBACK_ROWS", "size_t"))

    def total_rows(self) -> int:
        return int(get(self.term, "TOTAL_ROWS", "size_t"))

    def palette_bytes(self) -> bytes:
        """The 256-colour palette (reflects OSC 4) as 768 bytes of R, G, B: one call, cheap to compare."""
        pal = self._palette_buf
        check(lib.ghostty_terminal_get(self.term._t[0], lib.GHOSTTY_TERMINAL_DATA_COLOR_PALETTE, pal), "palette")
        return ffi.buffer(pal)[:]

    def palette(self) -> list[int]:
        """The 256-colour palette as 0xRRGGBB ints."""
        raw = self.palette_bytes()
        return [raw[i] << 16 | raw[i + 1] << 8 | raw[i + 2] for i in range(0, 768, 3)]

    def default_colors(self) -> tuple[int, int]:
        """Current default foreground and background as 0xRRGGBB (reflects OSC 10/11)."""
        out = []
        for key in ("COLOR_FOREGROUND", "COLOR_BACKGROUND"):
            c = ffi.new("GhosttyColorRgb*")
            r = lib.ghostty_terminal_get(self.term._t[0], getattr(lib, "GHOSTTY_TERMINAL_DATA_" + key), c)
            out.append(c.r << 16 | c.g << 8 | c.b if r == 0 else -1)
        return out[0], out[1]

    def capture(self, scrollback: bool = False, ansi: bool = False) -> str:
        """The screen as text like ``tmux capture-pane -p``: visible rows, or history too; SGR kept with ansi."""
        cols, rows = self.term.size
        sel = init_sized("GhosttySelection")
        if scrollback:
            total = self.total_rows()
            sel.start = self.term.ref(0, 0, "screen")[0]
            sel.end = self.term.ref(cols - 1, total - 1, "screen")[0]
        else:
            sel.start = self.term.ref(0, 0)[0]
            sel.end = self.term.ref(cols - 1, rows - 1)[0]
        opts = init_sized("GhosttyFormatterTerminalOptions")
        opts.emit = lib.GHOSTTY_FORMATTER_FORMAT_VT if ansi else lib.GHOSTTY_FORMATTER_FORMAT_PLAIN
        opts.unwrap, opts.trim, opts.selection = False, True, sel
        fmt = ffi.new("GhosttyFormatter*")
        check(lib.ghostty_formatter_terminal_new(ffi.NULL, fmt, self.term._t[0], opts[0]), "formatter")
        try:
            n = ffi.new("size_t*")
            lib.ghostty_formatter_format_buf(fmt[0], ffi.NULL, 0, n)
            buf = ffi.new("uint8_t[]", max(n[0], 1))
            check(lib.ghostty_formatter_format_buf(fmt[0], buf, len(buf), n), "format")
            text = ffi.buffer(buf, n[0])[:].decode("utf-8", "replace")
        finally:
            lib.ghostty_formatter_free(fmt[0])
        if ansi:
            text = text.replace("\r\n", "\n")
            if not text.endswith("\x1b[0m"):
                text += "\x1b[0m"
        return text

    def compression_activity(self) -> int:
        """A counter that moves whenever the terminal's memory changes shape (new rows, scrolling)."""
        out = ffi.new("uint64_t*")
        check(lib.ghostty_terminal_compression_activity(self.term._t[0], out), "compression activity")
        return int(out[0])

    def compress(self) -> bool:
        """Compress the terminal's pages (transparent to every reader; ~12x less memory for a full
        scrollback). True when it completed."""
        out = ffi.new("GhosttyTerminalCompressionResult*")
        check(lib.ghostty_terminal_compress(self.term._t[0], lib.GHOSTTY_TERMINAL_COMPRESSION_MODE_FULL, out),
              "compress")
        return int(out[0]) == lib.GHOSTTY_TERMINAL_COMPRESSION_RESULT_COMPLETE

    def close(self) -> None:
        self.term.close()


def decode_osc52(data: str) -> str:
    """Base64 text of an OSC 52 payload as UTF-8 (never Latin-1)."""
    return base64.b64decode(data, validate=False).decode("utf-8", "replace")
