"""A terminal's screen as an immutable snapshot, read incrementally through the render state."""

from __future__ import annotations

from dataclasses import dataclass

from dullahan.term.screen import Cursor, Row, ScreenReader
from dullahan.term.vt import VTerm

# Modes a client needs to know about, as bits of PaneView.modes.
MODE_MOUSE, MODE_ALT_SCREEN, MODE_BRACKETED_PASTE, MODE_FOCUS, MODE_APP_CURSOR = 1, 2, 4, 8, 16


@dataclass(frozen=True, slots=True)
class PaneView:
    """What a pane's screen shows at one moment. Rows are shared with earlier views when unchanged."""

    seq: int
    cols: int
    rows: int
    lines: tuple[Row, ...]
    cursor: Cursor | None
    modes: int
    scrollback: int
    palette: tuple[tuple[int, int], ...]   # (index, 0xRRGGBB) entries that differ from the default palette
    fg: int                                # default colours as 0xRRGGBB, -1 while nobody changed them (OSC 10/11)
    bg: int


def read_view(vt: VTerm, reader: ScreenReader, prev: PaneView | None, seq: int, full: bool = False) -> PaneView:
    """The terminal's current screen, re-reading only the rows Ghostty marked dirty since ``prev``.

    ``full`` forces a complete read (after the viewport was moved for a history read). The caller holds
    the terminal's lock.
    """
    level = reader.update()
    cols, rows = vt.size
    if prev is None or full or level == 2 or prev.rows != rows or prev.cols != cols:
        lines = tuple(row for _y, row in reader.read(dirty_only=False))
    elif level == 1:
        updated = list(prev.lines)
        for y, row in reader.read(dirty_only=True):
            if y < rows:
                updated[y] = row
        lines = tuple(updated)
    else:
        lines = prev.lines
    reader.clean()
    modes = ((MODE_MOUSE if vt.mouse_tracking() else 0) | (MODE_ALT_SCREEN if vt.alt_screen() else 0)
             | (MODE_BRACKETED_PASTE if vt.mode(2004) else 0) | (MODE_FOCUS if vt.mode(1004) else 0)
             | (MODE_APP_CURSOR if vt.mode(1) else 0))
    raw = vt.palette_bytes()
    if raw == DEFAULT_PALETTE_BYTES:          # the usual case: no program touched the palette (OSC 4)
        overrides: tuple[tuple[int, int], ...] = ()
    else:
        palette = [raw[i] << 16 | raw[i + 1] << 8 | raw[i + 2] for i in range(0, 768, 3)]
        overrides = tuple((i, c) for i, c in enumerate(palette) if c != DEFAULT_PALETTE[i])
    fg, bg = vt.default_colors()
    fg = -1 if fg == DEFAULT_COLORS[0] else fg
    bg = -1 if bg == DEFAULT_COLORS[1] else bg
    return PaneView(seq, cols, rows, lines, reader.cursor(), modes, vt.scrollback_rows(), overrides, fg, bg)


def _defaults() -> tuple[bytes, tuple[int, ...], tuple[int, int]]:
    vt = VTerm(2, 2, 100)
    try:
        return vt.palette_bytes(), tuple(vt.palette()), vt.default_colors()
    finally:
        vt.close()


DEFAULT_PALETTE_BYTES, DEFAULT_PALETTE, DEFAULT_COLORS = _defaults()
