"""A terminal's screen as an immutable snapshot, read incrementally through the render state."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from dullahan.shapes import (
    MODE_ALT_SCREEN,
    MODE_APP_CURSOR,
    MODE_BRACKETED_PASTE,
    MODE_FOCUS,
    MODE_MOUSE,
    PaneView,
    Row,
)
from dullahan.term.ghostty import scroll_viewport
from dullahan.term.image_reader import ImageReader
from dullahan.term.screen import ScreenReader
from dullahan.term.vt import VTerm

if TYPE_CHECKING:
    from dullahan.shapes import PaneImages


def read_view(vt: VTerm, reader: ScreenReader, prev: PaneView | None, seq: int, full: bool = False,
              images: ImageReader | None = None) -> PaneView:
    """The terminal's current screen, re-reading only the rows Ghostty marked dirty since ``prev``.

    ``full`` forces a complete read (after the viewport was moved for a history read). With ``images``,
    the view carries the kitty graphics placed on its rows. The caller holds the terminal's lock.
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
    default_bytes, default_palette, default_colors = _defaults()
    raw = vt.palette_bytes()
    if raw == default_bytes:          # the usual case: no program touched the palette (OSC 4)
        overrides: tuple[tuple[int, int], ...] = ()
    else:
        palette = [raw[i] << 16 | raw[i + 1] << 8 | raw[i + 2] for i in range(0, 768, 3)]
        overrides = tuple((i, c) for i, c in enumerate(palette) if c != default_palette[i])
    fg, bg = vt.default_colors()
    fg = -1 if fg == default_colors[0] else fg
    bg = -1 if bg == default_colors[1] else bg
    placed = images.read(lines) if images is not None else None
    return PaneView(seq, cols, rows, lines, reader.cursor(), modes, vt.scrollback_rows(), overrides, fg, bg, placed)


def read_history(vt: VTerm, reader: ScreenReader, top: int, count: int, images: ImageReader | None = None,
                 ) -> tuple[int, list[Row], PaneImages | None]:
    """Rows of the whole screen (history + active) from absolute row ``top``: (top actually used, rows, and
    with ``images`` the kitty graphics placed on those rows, read at the same viewport).

    Moves the viewport there and always back; every row is dirty afterwards, so the caller's next view
    must be read in full. The caller holds the terminal's lock.
    """
    total = vt.total_rows()
    _cols, rows = vt.size
    top = max(0, min(top, total - rows))
    try:
        scroll_viewport(vt.term, "row", top)
        reader.update()
        got = [row for _y, row in reader.read(dirty_only=False)][:count]
        placed = images.read(tuple(got)) if images is not None else None
    finally:
        scroll_viewport(vt.term, "bottom")
    return top, got, placed


@functools.cache
def _defaults() -> tuple[bytes, tuple[int, ...], tuple[int, int]]:
    """The palette and default colours of an untouched terminal, read once on first use."""
    vt = VTerm(2, 2, 100)
    try:
        return vt.palette_bytes(), tuple(vt.palette()), vt.default_colors()
    finally:
        vt.close()

