"""One pane's terminal: a Ghostty terminal with its side effects captured.

Callbacks from libghostty-vt (replies to queries, bell, title, clipboard writes, notifications, progress)
fire inside ``feed`` on whichever thread feeds; they only append to ``TermEffects``, which the owner
drains with ``take_effects``. Nothing here is thread-safe: the owner serialises every call (see
``session.pane``).

A few sequences need this layer, because libghostty-vt parses them in its own way and offers no option or
callback for them (docs/TERMINAL.md, "Known differences"):

- XTWINOPS 22/23 (push and pop the title): its C API handler does nothing with them (``title_push`` and
  ``title_pop`` in src/terminal/stream_terminal.zig), so ``VTerm`` keeps the stack;
- DECSET 40 (allow DECCOLM): refused, so that DECCOLM (``CSI ? 3 h``) is ignored as in xterm by default. A
  pane's width belongs to its layout; Ghostty would resize its grid to 132 columns behind the PTY's back;
- an explicit 0 for DCH, IL, DL, SU, CBT, HPR, CHT and VPR does nothing in Ghostty (``csiDispatch`` in
  src/terminal/stream.zig passes the 0 on as a count) and means 1 in xterm: after Ghostty has done nothing
  with it, the parameterless form is fed, which does the 1;
- TBC without a parameter (``CSI g``) is dropped by Ghostty (it wants exactly one) and clears the tab stop at
  the cursor in xterm: ``CSI 0 g`` is fed after it.

``feed`` finds them in the output (``_WATCHED``), hands Ghostty the bytes up to the end of each one and
acts there, so that the title pushed is the one set before it in the same read. A sequence split across
reads is recognised from the unfinished tail kept in ``_carry``. Ghostty's parser goes to its escape state
on ESC from any state, so ``ESC [`` always starts a control sequence for it too.
"""

from __future__ import annotations

import base64
import re
import zlib
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from dullahan.images.model import ImageConfig, strip_placeholders
from dullahan.term import images, snapshot
from dullahan.term.ghostty import (
    Terminal,
    check,
    ffi,
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

TITLE_STACK_DEPTH = 32      # xterm keeps at least 200; enough for nested programs, bounded for untrusted output
MAX_STACKED_TITLE_CHARS = 2048
MODE_ALLOW_DECCOLM = 40

_LOCATIONS = {0: "c", 1: "s", 2: "p"}
# XTWINOPS 22/23 (Ps: 0 icon and window title, the default; 1 icon only; 2 window title; a third parameter, an
# index in some terminals, is ignored as xterm does); a DECSET that sets 40; DCH, IL, DL, SU, CBT, HPR, CHT and
# VPR with an explicit 0; TBC without a parameter. Found by ``_watched``.
_WATCHED = re.compile(rb"\x1b\[(?:2([23])(?:;([0-9]*)(?:;[0-9]*)?)?t|(\?)(?:[0-9]*;)*0*40(?:;[0-9]*)*h"
                      rb"|0+([PLMSZaIe])|(g))")
_CANDIDATE = re.compile(rb"\x1b\[(?:2[23]|\?|g|0[^m;])")
_WATCHED_UNFINISHED = re.compile(rb"\x1b(?:\[(?:2(?:[23](?:;[0-9]*(?:;[0-9]*)?)?)?|\?[0-9;]*|0+)?)?")
MAX_CARRY = 64


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
    image_refusals: list[tuple[str, bool]] = field(default_factory=list)  # (reply message, over a limit)

    def __bool__(self) -> bool:
        return bool(self.replies or self.bells or self.title_changed or self.pwd_changed or self.clipboard
                    or self.notifications or self.progress is not None or self.render_hold is not None
                    or self.image_refusals)


class Asleep(NamedTuple):
    """What a sleeping terminal still answers without being woken (listings, saves, a restart ask these)."""

    size: tuple[int, int]
    history_rows: int
    title: str
    pwd: str


class VTerm:
    """A terminal for one pane. ``feed`` bytes from the PTY; read state; replies go to ``effects``."""

    def __init__(self, cols: int, rows: int, scrollback_lines: int, image_config: ImageConfig | None = None,
                 term: Terminal | None = None) -> None:
        """A new terminal, or ``term`` (decoded from a snapshot) with this server's options and callbacks."""
        self.scrollback_lines = scrollback_lines
        self.effects = TermEffects()
        # The cell size programs are told (CSI 14/16 t) and images are laid out with: close to the
        # browser's default cell (DejaVu Sans Mono 14 px at line height 1.2 is about 8.4 x 17 px).
        self.cell_px = (8, 16)
        self.image_config = image_config or ImageConfig()
        self._image_sink = images.ImageSink(self.image_config)
        self.title_stack: list[str] = []
        self._grid_size = (cols, rows)   # what the owner sized it to; DECCOLM may not change it
        self._carry = b""            # an unfinished watched sequence at the end of the last feed
        # Bumped by every feed that may have changed more than the grid's text (it held ESC or a byte above
        # ASCII: modes, colours, the palette, images) and by a resize: a view read can skip re-reading those
        # while it has not moved (an echo).
        self.controls = 0
        # Bumped each time the Ghostty terminal is replaced (woken from hibernation): what was read from the
        # old one (a render state) must be read again.
        self.generation = 0
        self.images_possible = False     # output that may have held a kitty graphics command (not in snapshots)
        self._tail = b""                 # the last bytes fed when they hold an ESC: a command split across reads
        self._hibernated: bytes | None = None   # the terminal as a zlib'd snapshot, while it sleeps
        self._asleep = Asleep((cols, rows), 0, "", "")
        self._callbacks: dict[str, Any] = {}    # cffi callbacks must outlive the terminal's use of them
        self._palette_buf = ffi.new("GhosttyColorRgb[256]")
        # Reused out-parameters: the getters run on every view read (an echo), where ffi.new would dominate.
        self._mode_cfg = ffi.new("GhosttyTerminalModeConfig*")
        self._rgb = ffi.new("GhosttyColorRgb*")
        self._out: dict[str, Any] = {}
        if term is None:
            term = new_terminal(cols, rows, scrollback_lines, DEFAULT_FG, DEFAULT_BG)
        else:
            set_scrollback(term, scrollback_lines, term.size[0])
            set_defaults(term)
        self._attach(term, cols, rows)

    def _attach(self, term: Terminal, cols: int, rows: int) -> None:
        """Make ``term`` this pane's terminal: its size, image options and our callbacks."""
        self._term: Terminal | None = term
        term.resize(cols, rows, *self.cell_px)
        images.configure(term, self.image_config)
        t = term._t[0]
        term.on_reply(self._on_reply)
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

    @property
    def term(self) -> Terminal:
        """The Ghostty terminal, woken first if it sleeps (callers hold the pane's lock, as for any call)."""
        term = self._term
        if term is None:
            term = self._wake()
        return term

    # -- hibernation ----------------------------------------------------------------------------------
    @property
    def hibernated(self) -> bool:
        return self._term is None

    def hibernate(self) -> int:
        """Put the terminal to sleep as a zlib'd snapshot and free it (an idle pane's history then costs a
        fraction of Ghostty's compressed pages); any later use wakes it as it was. Returns the bytes kept.
        Raises SnapshotError (the terminal stays awake) mid-escape; refuses a terminal that may hold images.
        Asleep, it still answers ``size``, ``title``, ``pwd``, ``scrollback_rows`` and ``snapshot``."""
        if self._term is None:
            return len(self._hibernated or b"")
        if self.images_possible:
            raise snapshot.SnapshotError("a terminal that may hold images is not put to sleep")
        blob = zlib.compress(snapshot.encode(self._term), 1)
        self._asleep = Asleep(self.size, self.scrollback_rows(), self.title, self.pwd)
        self._term.close()
        self._term, self._hibernated = None, blob
        return len(blob)

    def _wake(self) -> Terminal:
        assert self._hibernated is not None
        term = snapshot.decode(zlib.decompress(self._hibernated))
        set_scrollback(term, self.scrollback_lines, term.size[0])
        set_defaults(term)
        cols, rows = term.size
        self._attach(term, cols, rows)
        self._hibernated = None
        self.generation += 1
        self.controls += 1
        return term

    def _set(self, t: Any, opt: str, ctype: str, fn: Any) -> None:
        cb = self._callbacks.get(opt)
        if cb is None:
            cb = self._callbacks[opt] = ffi.callback(ctype, fn, onerror=self._on_callback_error)
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
    def from_snapshot(cls, blob: bytes, scrollback_lines: int, image_config: ImageConfig | None = None) -> VTerm:
        """The terminal a snapshot describes, exactly (SnapshotError when the bytes are not one)."""
        term = snapshot.decode(blob)
        cols, rows = term.size
        return cls(cols, rows, scrollback_lines, image_config, term)

    # -- operations --------------------------------------------------------------------------------
    def snapshot(self) -> bytes:
        """The terminal's exact state (``term.snapshot``); SnapshotError while an over-long escape sequence is
        unfinished. What this layer keeps besides (``carried``) is not in it. A sleeping terminal is not woken."""
        if self._hibernated is not None:
            return zlib.decompress(self._hibernated)
        return snapshot.encode(self.term)

    def carried(self) -> tuple[list[str], bytes]:
        """What this layer keeps outside Ghostty's terminal, for a restart: the title stack and the unfinished
        watched sequence at the end of the last feed."""
        return list(self.title_stack), self._carry

    def carry_on(self, title_stack: list[str], carry: bytes) -> None:
        """Take over ``carried`` from the terminal this one was restored from."""
        self.title_stack = [t[:MAX_STACKED_TITLE_CHARS] for t in title_stack[-TITLE_STACK_DEPTH:]]
        self._carry = carry[:MAX_CARRY] if _WATCHED_UNFINISHED.fullmatch(carry[:MAX_CARRY]) else b""

    def feed(self, data: bytes) -> None:
        escapes = b"\x1b" in data
        if escapes or not data.isascii():
            self.controls += 1
        if not self.images_possible and (escapes or self._tail):
            # A kitty graphics command (ESC _ G), maybe split across two reads; output without ESC costs nothing.
            if b"\x1b_G" in data or b"\x1b_G" in self._tail + data[:2]:
                self.images_possible = True
            self._tail = data[-2:] if b"\x1b" in data[-2:] else b""
        sink = self._image_sink
        images.feeding(sink)
        try:
            self._feed_watched(data)
        finally:
            images.feeding(None)
            sink.decoder_refusal = None   # a decoder refusal belongs to the feed that caused it
        if sink.refusals:
            self.effects.image_refusals += sink.refusals
            sink.refusals = []

    def _feed_watched(self, data: bytes) -> None:
        """Hand Ghostty the bytes, acting on the sequences we watch at the point they end."""
        carry = self._carry
        scan = carry + data if carry else data
        done = 0
        for match in _watched(scan):
            end = match.end() - len(carry)   # > 0: the carry alone is never a whole sequence
            self._write(data[done:end])
            done = end
            self._act_on(match)
        if done < len(data):
            self._write(data[done:])
        tail = scan.rfind(b"\x1b", max(0, len(scan) - MAX_CARRY))
        self._carry = scan[tail:] if tail >= 0 and _WATCHED_UNFINISHED.fullmatch(scan, tail) else b""

    def _write(self, data: bytes) -> None:
        lib.ghostty_terminal_vt_write(self.term._t[0], data, len(data))
        self.term._raise_cb_err()
        if self.mode(MODE_ALLOW_DECCOLM):
            self._refuse_deccolm()
            if self.term.size != self._grid_size:
                # DECCOLM came in the same DECSET as 40 (``CSI ? 40 ; 3 h``), or after one split across more
                # than MAX_CARRY bytes of reads: give the grid its size back.
                self.resize(*self._grid_size)

    def _act_on(self, match: re.Match[bytes]) -> None:
        push_pop, which, allow_deccolm, zero_count, tab_clear = match.group(1, 2, 3, 4, 5)
        if allow_deccolm:
            return   # _write refused it, right after the sequence
        if zero_count:
            self._write(b"\x1b[" + zero_count)   # Ghostty did nothing with the 0; this does xterm's 1
        elif tab_clear:
            self._write(b"\x1b[0g")
        elif which in (None, b"", b"0", b"2"):   # 1 is the icon's title, which a pane does not have
            if push_pop == b"2":
                self.push_title()
            else:
                self.pop_title()

    def _refuse_deccolm(self) -> None:
        mode = ffi.new("GhosttyTerminalModeConfig*")
        mode.mode, mode.value = MODE_ALLOW_DECCOLM, False
        check(lib.ghostty_terminal_set(self.term._t[0], lib.GHOSTTY_TERMINAL_OPT_MODE, mode), "mode 40")

    def push_title(self) -> None:
        """XTWINOPS 22: save the title; beyond ``TITLE_STACK_DEPTH`` titles the oldest is forgotten."""
        self.title_stack.append(self.title[:MAX_STACKED_TITLE_CHARS])
        del self.title_stack[:-TITLE_STACK_DEPTH]

    def pop_title(self) -> None:
        """XTWINOPS 23: restore the last title saved; nothing happens when none is."""
        if not self.title_stack:
            return
        raw = self.title_stack.pop().encode("utf-8")
        buf = ffi.new("uint8_t[]", raw) if raw else ffi.NULL
        value = ffi.new("GhosttyString*")
        value.ptr, value.len = buf, len(raw)
        check(lib.ghostty_terminal_set(self.term._t[0], lib.GHOSTTY_TERMINAL_OPT_TITLE, value), "title")
        self.effects.title_changed = True

    def set_image_storage(self, per_screen: int) -> None:
        """A new storage limit for each screen's images (lowering it evicts the oldest)."""
        if not self.image_config.enabled or per_screen == self.image_config.storage_per_screen:
            return
        self.image_config = replace(self.image_config, storage_per_screen=per_screen)
        self._image_sink.config = self.image_config
        images.set_storage_limit(self.term, per_screen)

    def take_effects(self) -> TermEffects:
        effects, self.effects = self.effects, TermEffects()
        return effects

    def resize(self, cols: int, rows: int) -> None:
        self.controls += 1
        self._grid_size = (cols, rows)
        self.term.resize(cols, rows, *self.cell_px)
        set_scrollback(self.term, self.scrollback_lines, cols)

    @property
    def size(self) -> tuple[int, int]:
        if self._term is None:
            return self._asleep.size
        return (int(self._get(lib.GHOSTTY_TERMINAL_DATA_COLS, "uint16_t")),
                int(self._get(lib.GHOSTTY_TERMINAL_DATA_ROWS, "uint16_t")))

    @property
    def title(self) -> str:
        return self._asleep.title if self._term is None else get_string(self._term, "TITLE")

    @property
    def pwd(self) -> str:
        return self._asleep.pwd if self._term is None else get_string(self._term, "PWD")

    def mode(self, n: int) -> bool:
        """Whether DEC private mode ``n`` is set (as pyghostty's ``Terminal.mode``, without allocating)."""
        c = self._mode_cfg
        c.mode = n & 0x7FFF
        check(lib.ghostty_terminal_get(self.term._t[0], lib.GHOSTTY_TERMINAL_DATA_MODE, c), "mode")
        return bool(c.value)

    def _get(self, key: int, ctype: str) -> Any:
        """One ``ghostty_terminal_get`` value into this terminal's reused out-parameter of ``ctype``."""
        out = self._out.get(ctype)
        if out is None:
            out = self._out[ctype] = ffi.new(ctype + "*")
        check(lib.ghostty_terminal_get(self.term._t[0], key, out), "terminal get")
        return out[0]

    def alt_screen(self) -> bool:
        return int(self._get(lib.GHOSTTY_TERMINAL_DATA_ACTIVE_SCREEN, "GhosttyTerminalScreen")) != 0

    def mouse_tracking(self) -> bool:
        return bool(self._get(lib.GHOSTTY_TERMINAL_DATA_MOUSE_TRACKING, "bool"))

    def scrollback_rows(self) -> int:
        if self._term is None:
            return self._asleep.history_rows
        return int(self._get(lib.GHOSTTY_TERMINAL_DATA_SCROLLBACK_ROWS, "size_t"))

    def total_rows(self) -> int:
        return int(self._get(lib.GHOSTTY_TERMINAL_DATA_TOTAL_ROWS, "size_t"))

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
        t, c = self.term._t[0], self._rgb
        r = lib.ghostty_terminal_get(t, lib.GHOSTTY_TERMINAL_DATA_COLOR_FOREGROUND, c)
        fg = c.r << 16 | c.g << 8 | c.b if r == 0 else -1
        r = lib.ghostty_terminal_get(t, lib.GHOSTTY_TERMINAL_DATA_COLOR_BACKGROUND, c)
        return fg, c.r << 16 | c.g << 8 | c.b if r == 0 else -1

    def capture(self, scrollback: bool = False) -> str:
        """The screen as plain text like ``tmux capture-pane -p``: visible rows, or history too.

        (With SGR, see ``term.ansi``: Ghostty's VT formatter styles never-written cells.)
        """
        return strip_placeholders(self.plain_text(scrollback).decode("utf-8", "replace"))

    def plain_text(self, scrollback: bool = False) -> bytes:
        """Ghostty's plain formatter over the visible rows (or the whole screen, history included): one line
        per row from the first, as UTF-8, trailing blanks and blank rows at the end left out."""
        cols, rows = self.term.size
        sel = init_sized("GhosttySelection")
        if scrollback:
            sel.start = self.term.ref(0, 0, "screen")[0]
            sel.end = self.term.ref(cols - 1, self.total_rows() - 1, "screen")[0]
        else:
            sel.start = self.term.ref(0, 0)[0]
            sel.end = self.term.ref(cols - 1, rows - 1)[0]
        opts = init_sized("GhosttyFormatterTerminalOptions")
        opts.emit = lib.GHOSTTY_FORMATTER_FORMAT_PLAIN
        opts.unwrap, opts.trim, opts.selection = False, True, sel
        fmt = ffi.new("GhosttyFormatter*")
        check(lib.ghostty_formatter_terminal_new(ffi.NULL, fmt, self.term._t[0], opts[0]), "formatter")
        try:
            # One pass (format_buf would need a second one just to learn the size).
            out, size = ffi.new("uint8_t**"), ffi.new("size_t*")
            check(lib.ghostty_formatter_format_alloc(fmt[0], ffi.NULL, out, size), "format")
            try:
                return ffi.buffer(out[0], size[0])[:]
            finally:
                lib.ghostty_free(ffi.NULL, out[0], size[0])
        finally:
            lib.ghostty_formatter_free(fmt[0])

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
        if self._term is not None:
            self._term.close()
        self._hibernated = None


def _watched(data: bytes) -> list[re.Match[bytes]]:
    """The ``_WATCHED`` sequences in ``data``, in order.

    Output without ESC costs one ``memchr``. Otherwise ``_CANDIDATE`` picks the ESC [ that could start one
    (by the bytes after them: ``2`` then ``2`` or ``3``, ``?``, ``g``, or ``0`` then anything but ``m`` and
    ``;``), and only those are matched: on output dense with SGR this is about five times faster than the
    full pattern's own search, which tries every ESC.
    """
    if b"\x1b" not in data:
        return []
    match = _WATCHED.match
    return [m for c in _CANDIDATE.finditer(data) if (m := match(data, c.start()))]


def decode_osc52(data: str) -> str:
    """Base64 text of an OSC 52 payload as UTF-8 (never Latin-1)."""
    return base64.b64decode(data, validate=False).decode("utf-8", "replace")
