"""Low-level access to libghostty-vt through pyghostty's raw ``ffi``/``lib``.

pyghostty's ``Terminal`` wraps only feed/text/style/mode; the rest of the API is reached here. The packed
cell layout we decode is not ABI-protected, so ``check_cell_layout`` verifies it against the library's own
type description at start-up.
"""

from __future__ import annotations

import json
from typing import Any

import pyghostty
from pyghostty import Terminal, ffi, lib
from pyghostty._ffi import check
from pyghostty.core import init_sized

__all__ = [
    "CONTINUATION_MAX_BYTES", "PYGHOSTTY_VERSION", "Terminal", "check", "check_cell_layout", "ffi", "get",
    "get_string", "init_sized", "lib", "new_terminal", "scroll_viewport", "set_defaults", "set_scrollback",
]

PYGHOSTTY_VERSION = "0.1.3"
# An escape sequence still unfinished when a snapshot is taken is carried in it up to this size (a kitty image
# upload can be megabytes); a longer one makes the snapshot fail.
CONTINUATION_MAX_BYTES = 16 << 20

# Bit positions inside one packed GhosttyCell (u64).
CELL_TAG_BITS = 0          # 2 bits: 0 codepoint, 1 grapheme, 2 bg palette only, 3 bg rgb only
CELL_CODEPOINT_SHIFT = 2   # 21 bits
CELL_STYLE_SHIFT = 26      # 16 bits, page-local style id
CELL_WIDE_SHIFT = 42       # 2 bits: 0 narrow, 1 wide, 2 spacer tail, 3 spacer head
CELL_HYPERLINK_SHIFT = 45  # 1 bit


class LayoutMismatch(RuntimeError):
    pass


def check_cell_layout() -> None:
    """Fail loudly if this libghostty-vt packs cells differently from what the decoder assumes."""
    if pyghostty.__version__ != PYGHOSTTY_VERSION:
        raise LayoutMismatch(f"pyghostty {pyghostty.__version__} installed, {PYGHOSTTY_VERSION} required")
    bits = json.loads(ffi.string(lib.ghostty_type_json()))["types"]["GhosttyCell"]["bits"]
    found = (bits["content_tag"]["lsb"], bits["content"]["lsb"], bits["style_id"]["lsb"],
             bits["wide"]["lsb"], bits["hyperlink"]["lsb"])
    expected = (CELL_TAG_BITS, CELL_CODEPOINT_SHIFT, CELL_STYLE_SHIFT, CELL_WIDE_SHIFT, CELL_HYPERLINK_SHIFT)
    if found != expected:
        raise LayoutMismatch(f"GhosttyCell layout {found} differs from the decoder's {expected}")


def new_terminal(cols: int, rows: int, scrollback_lines: int, fg: tuple[int, int, int],
                 bg: tuple[int, int, int]) -> Terminal:
    """A terminal with a real scrollback and grapheme clustering on by default.

    Mode 2027 (grapheme clustering) is made the default so that it survives a full reset. The scrollback
    is sized by ``set_scrollback``.
    """
    term = Terminal(cols, rows, scrollback=scrollback_lines, fg=fg, bg=bg)
    set_scrollback(term, scrollback_lines, cols)
    set_defaults(term)
    term.feed(b"\x1b[?2027h")
    return term


def set_defaults(term: Terminal) -> None:
    """Options every terminal needs, also one restored from a snapshot (which carries modes, not options):
    grapheme clustering as the default of mode 2027, and continuation tracking, without which a snapshot
    taken in the middle of an escape sequence fails."""
    mode = ffi.new("GhosttyTerminalModeConfig*")
    mode.mode, mode.value = 2027, True
    check(lib.ghostty_terminal_set(term._t[0], lib.GHOSTTY_TERMINAL_OPT_MODE_DEFAULT, mode), "mode default 2027")
    check(lib.ghostty_terminal_set(term._t[0], lib.GHOSTTY_TERMINAL_OPT_CONTINUATION_MAX_BYTES,
                                   ffi.new("size_t*", CONTINUATION_MAX_BYTES)), "continuation max bytes")


PAGE_SLACK = 2 << 20


def scrollback_bytes(lines: int, cols: int) -> int:
    """A byte cap under which Ghostty keeps at least ``lines`` rows of ``cols`` columns.

    Measured on this libghostty-vt: a row costs about 8.8 bytes per column plus ~45 whatever it shows,
    and history is pruned a whole page at a time, hence the slack.
    """
    return lines * (9 * cols + 64) + PAGE_SLACK


def scrollback_line_cap(lines: int, cols: int) -> int:
    """A line cap comfortably above what ``scrollback_bytes`` holds, so that the byte cap is what binds."""
    return lines + lines // 4 + 2 * PAGE_SLACK // (8 * max(cols, 1))


def set_scrollback(term: Terminal, lines: int, cols: int) -> None:
    """Keep at least ``lines`` rows of history (a little more, never unbounded), limited by bytes.

    libghostty-vt defaults to a 10 000-byte cap (about one page), so it must be set. And pruning by line
    count is about ten times slower than pruning by bytes on scrolling output (``seq 1 2000000``: 1.38 s
    against 0.12 s of parsing), so the byte cap binds and the line cap is only a safety net. Call again
    after a resize: rows get wider or narrower.
    """
    t = term._t[0]
    check(lib.ghostty_terminal_set(t, lib.GHOSTTY_TERMINAL_OPT_SCROLLBACK_MAX_LINES,
                                   ffi.new("size_t*", scrollback_line_cap(lines, cols))), "max lines")
    check(lib.ghostty_terminal_set(t, lib.GHOSTTY_TERMINAL_OPT_SCROLLBACK_MAX_BYTES,
                                   ffi.new("size_t*", scrollback_bytes(lines, cols))), "max bytes")


def get(term: Terminal, key: str, ctype: str) -> Any:
    out = ffi.new(ctype + "*")
    check(lib.ghostty_terminal_get(term._t[0], getattr(lib, "GHOSTTY_TERMINAL_DATA_" + key), out), key)
    return out[0]


def get_string(term: Terminal, key: str) -> str:
    s = ffi.new("GhosttyString*")
    r = lib.ghostty_terminal_get(term._t[0], getattr(lib, "GHOSTTY_TERMINAL_DATA_" + key), s)
    if r != 0 or not s.len:
        return ""
    return ffi.buffer(s.ptr, s.len)[:].decode("utf-8", "replace")


# libffi cannot pass a union by value: call scroll_viewport through a layout-identical struct twin.
ffi.cdef("""
typedef struct { int64_t delta; uint64_t _pad; } DullahanScrollValue;
typedef struct { GhosttyTerminalScrollViewportTag tag; DullahanScrollValue value; } DullahanScroll;
""")
assert ffi.sizeof("DullahanScroll") == ffi.sizeof("GhosttyTerminalScrollViewport")
_scroll_fn = ffi.cast("void(*)(GhosttyTerminal, DullahanScroll)",
                      ffi.addressof(lib, "ghostty_terminal_scroll_viewport"))


def scroll_viewport(term: Terminal, how: str, n: int = 0) -> None:
    """how: 'top', 'bottom', 'delta' (n rows, negative is up) or 'row' (absolute row n of the screen)."""
    arg = ffi.new("DullahanScroll*")
    arg.tag = getattr(lib, "GHOSTTY_SCROLL_VIEWPORT_" + how.upper())
    arg.value.delta = n
    _scroll_fn(term._t[0], arg[0])
