"""Reading a terminal's viewport as rows of text and style runs (``shapes.Row``).

Style ids come from a ``StyleTable`` that interns styles by content, so an id means the same style for
the server's whole life (Ghostty's own style ids are local to one memory page).

Decoding reads each row's packed cells in one FFI call (``ROW_DATA_CELLS_RAW``) and unpacks them with
numpy; only style lookups, grapheme clusters and hyperlinks need per-cell calls.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dullahan.shapes import (
    BLINK,
    BOLD,
    FAINT,
    INVERSE,
    INVISIBLE,
    ITALIC,
    OVERLINE,
    RGB_FLAG,
    STRIKE,
    UNDERLINE_SHIFT,
    Cursor,
    Row,
    StyleKey,
    StyleTable,
)
from dullahan.term.ghostty import (
    CELL_CODEPOINT_SHIFT,
    CELL_HYPERLINK_SHIFT,
    CELL_STYLE_SHIFT,
    CELL_WIDE_SHIFT,
    check,
    ffi,
    init_sized,
    lib,
    scroll_viewport,
)
from dullahan.term.vt import VTerm

MAX_URI_BYTES = 2048

_U = np.uint64
_BG_KEY = 1 << 40    # style keys above this are bg-only cells (EL/ED with a coloured background)
_WIDE, _SPACER_TAIL = 1, 2
_DIRTY_NAMES = ("clean", "partial", "full")


_SHAPES = {0: "bar", 1: "block", 2: "underline", 3: "hollow"}


def _color(c: Any) -> int:
    if c.tag == lib.GHOSTTY_STYLE_COLOR_PALETTE:
        return int(c.value.palette)
    if c.tag == lib.GHOSTTY_STYLE_COLOR_RGB:
        rgb = c.value.rgb
        return RGB_FLAG | rgb.r << 16 | rgb.g << 8 | rgb.b
    return -1


class ScreenReader:
    """The one render state of a terminal, and the decoder of its rows.

    Ghostty allows one render state per terminal: ``update`` consumes the terminal's dirty flags. The
    caller must hold the terminal's lock for every method here.
    """

    def __init__(self, vt: VTerm, styles: StyleTable) -> None:
        self.vt = vt
        self.styles = styles
        p = ffi.new("GhosttyRenderState*")
        check(lib.ghostty_render_state_new(ffi.NULL, p), "render state")
        self._rs = p[0]
        p = ffi.new("GhosttyRenderStateRowIterator*")
        check(lib.ghostty_render_state_row_iterator_new(ffi.NULL, p), "row iterator")
        self._it_p = p
        self._it = p[0]
        p = ffi.new("GhosttyRenderStateRowCells*")
        check(lib.ghostty_render_state_row_cells_new(ffi.NULL, p), "row cells")
        self._cells_p = p
        self._cells = p[0]
        self._view = ffi.new("GhosttyCellsView*")
        self._rowid = ffi.new("GhosttyRenderStateRowId*")
        self._raw_row = ffi.new("GhosttyRow*")
        self._wrap = ffi.new("bool*")
        self._y = ffi.new("uint16_t*")
        self._dirty = ffi.new("GhosttyRenderStateDirty*")
        self._style = init_sized("GhosttyStyle")
        self._gbuf = ffi.new("uint8_t[1024]")
        self._gb = ffi.new("GhosttyBuffer*")
        self._gb.ptr, self._gb.cap = self._gbuf, len(self._gbuf)
        self._keys = ffi.new("GhosttyRenderStateRowData[3]", [
            lib.GHOSTTY_RENDER_STATE_ROW_DATA_CELLS_RAW, lib.GHOSTTY_RENDER_STATE_ROW_DATA_ID,
            lib.GHOSTTY_RENDER_STATE_ROW_DATA_RAW])
        self._vals = ffi.new("void*[3]", [ffi.cast("void*", self._view), ffi.cast("void*", self._rowid),
                                          ffi.cast("void*", self._raw_row)])
        self._cursor = init_sized("GhosttyRenderStateCursor")

    def close(self) -> None:
        lib.ghostty_render_state_row_cells_free(self._cells)
        lib.ghostty_render_state_row_iterator_free(self._it)
        lib.ghostty_render_state_free(self._rs)

    # -- render state ------------------------------------------------------------------------------
    def update(self) -> int:
        """Pull the terminal's changes into the render state: 0 clean, 1 some rows dirty, 2 all dirty."""
        check(lib.ghostty_render_state_update(self._rs, self.vt.term._t[0]), "render update")
        check(lib.ghostty_render_state_get(self._rs, lib.GHOSTTY_RENDER_STATE_DATA_DIRTY, self._dirty), "dirty")
        return int(self._dirty[0])

    def clean(self) -> None:
        check(lib.ghostty_render_state_clean(self._rs), "render clean")

    def cursor(self) -> Cursor | None:
        c = self._cursor
        check(lib.ghostty_render_state_get(self._rs, lib.GHOSTTY_RENDER_STATE_DATA_CURSOR, c), "cursor")
        if not c.viewport_has_value:
            return None
        return Cursor(int(c.viewport_x), int(c.viewport_y), bool(c.visible), bool(c.blinking),
                      _SHAPES.get(int(c.visual_style), "block"), bool(c.wide_tail))

    # -- rows --------------------------------------------------------------------------------------
    def read(self, dirty_only: bool) -> list[tuple[int, Row]]:
        """Decode the viewport's rows (all, or only those dirty since the last ``clean``)."""
        check(lib.ghostty_render_state_get(self._rs, lib.GHOSTTY_RENDER_STATE_DATA_ROW_ITERATOR, self._it_p),
              "row iterator")
        it, view, rowid, keys, vals = self._it, self._view, self._rowid, self._keys, self._vals
        ys: list[int] = []
        pages: list[int] = []
        wraps: list[bool] = []
        bufs: list[bytes] = []
        y = 0
        while True:
            if dirty_only:
                if not lib.ghostty_render_state_row_iterator_next_dirty(it, self._y):
                    break
                y = self._y[0]
            elif not lib.ghostty_render_state_row_iterator_next(it):
                break
            lib.ghostty_render_state_row_get_multi(it, 3, keys, vals, ffi.NULL)
            lib.ghostty_row_get(self._raw_row[0], lib.GHOSTTY_ROW_DATA_WRAP, self._wrap)
            ys.append(y)
            pages.append(int(rowid.bits[0]))
            wraps.append(bool(self._wrap[0]))
            bufs.append(ffi.buffer(view.ptr, view.len * 8)[:])
            if not dirty_only:
                y += 1
        if not ys:
            return []
        cols = len(bufs[0]) // 8
        a = np.frombuffer(b"".join(bufs), dtype=_U).reshape(len(ys), cols)
        return self._decode(a, ys, pages, wraps)

    def screen_rows(self, scrollback: bool, styles: StyleTable) -> list[Row]:
        """The viewport's rows, or with ``scrollback`` every row of the screen, oldest first, decoded into
        ``styles`` (a capture must not grow the table the clients share).

        Reading history moves the viewport a page at a time and back to the bottom; either way the render
        state's dirty marks are consumed, so the owner must read its next view in full.
        """
        if scrollback:
            return self.history_rows(0, self.vt.total_rows(), styles)
        shared, self.styles = self.styles, styles
        try:
            self.update()
            return [row for _y, row in self.read(dirty_only=False)]
        finally:
            self.styles = shared

    def history_rows(self, top: int, count: int, styles: StyleTable) -> list[Row]:
        """Up to ``count`` rows of the whole screen (history + active) from absolute row ``top`` (0 = the oldest
        history row), decoded into ``styles``; as ``screen_rows`` does, it moves the viewport a page at a time
        and back to the bottom, so the owner must read its next view in full."""
        shared, self.styles = self.styles, styles
        total = self.vt.total_rows()
        _cols, page_rows = self.vt.size
        start = max(0, min(top, total))
        end = min(total, start + max(0, count))
        out: list[Row] = []
        try:
            while start + len(out) < end:
                want = start + len(out)
                page_top = max(0, min(want, total - page_rows))   # the last page ends at the bottom
                scroll_viewport(self.vt.term, "row", page_top)
                self.update()
                fresh = [row for _y, row in self.read(dirty_only=False)][want - page_top:]
                if not fresh:
                    break
                out += fresh[:end - want]
            return out
        finally:
            scroll_viewport(self.vt.term, "bottom")
            self.styles = shared

    def _decode(self, a: np.ndarray, ys: list[int], pages: list[int], wraps: list[bool]) -> list[tuple[int, Row]]:
        tag = (a & _U(3)).astype(np.uint8)
        cp = ((a >> _U(CELL_CODEPOINT_SHIFT)) & _U(0x1FFFFF)).astype(np.uint32)
        wide = ((a >> _U(CELL_WIDE_SHIFT)) & _U(3)).astype(np.uint8)
        link = ((a >> _U(CELL_HYPERLINK_SHIFT)) & _U(1)).astype(bool)
        sid = ((a >> _U(CELL_STYLE_SHIFT)) & _U(0xFFFF)).astype(np.int64)
        bg_only = tag >= 2
        cp[(cp == 0) | bg_only] = 32
        key = np.where(bg_only, _BG_KEY | (tag.astype(np.int64) << 32) | (a & _U(0xFFFFFFFF)).astype(np.int64) >> 2,
                       sid)
        grapheme_rows = (tag == 1).any(axis=1)
        wide_rows = (wide == _WIDE).any(axis=1)
        link_rows = link.any(axis=1)

        # Where each row's style key changes: the starts of its runs.
        change = np.ones(a.shape, dtype=bool)
        change[:, 1:] = key[:, 1:] != key[:, :-1]

        # Style lookups need the row's cells; collect which (row, x) must be looked up in a second pass.
        frame_styles: dict[tuple[int, int], int] = {}
        lookups: dict[int, list[tuple[int, int]]] = {}
        run_starts: list[list[int]] = []
        for i in range(len(ys)):
            starts = np.flatnonzero(change[i]).tolist()
            run_starts.append(starts)
            row_keys = key[i]
            for x in starts:
                k = int(row_keys[x])
                if 0 < k < _BG_KEY and (pages[i], k) not in frame_styles:
                    frame_styles[(pages[i], k)] = -1
                    lookups.setdefault(i, []).append((x, k))
        need_cells = set(lookups) | set(np.flatnonzero(grapheme_rows | link_rows).tolist())
        graphemes: dict[tuple[int, int], str] = {}
        uris: dict[int, list[str | None]] = {}
        if need_cells:
            self._cell_pass(ys, pages, need_cells, lookups, frame_styles, tag, link, graphemes, uris)

        out: list[tuple[int, Row]] = []
        cols = a.shape[1]
        for i, y in enumerate(ys):
            if grapheme_rows[i] or wide_rows[i]:
                text, cells = self._complex_text(i, cp[i], tag[i], wide[i], graphemes)
            else:
                text = cp[i].tobytes().decode("utf-32-le", "replace").rstrip(" ")
                cells = ()
            runs = self._runs(run_starts[i], key[i], pages[i], frame_styles, cols)
            links = self._links(uris.get(i)) if i in uris else ()
            out.append((y, (text, runs, cells, links, wraps[i])))
        return out

    def _cell_pass(self, ys: list[int], pages: list[int], rows: set[int], lookups: dict[int, list[tuple[int, int]]],
                   frame_styles: dict[tuple[int, int], int], tag: np.ndarray, link: np.ndarray,
                   graphemes: dict[tuple[int, int], str], uris: dict[int, list[str | None]]) -> None:
        """Walk the iterator again and do the per-cell calls for the rows that need them."""
        check(lib.ghostty_render_state_get(self._rs, lib.GHOSTTY_RENDER_STATE_DATA_ROW_ITERATOR, self._it_p),
              "row iterator")
        index_of_y = {y: i for i, y in enumerate(ys)}
        it, cells, gb = self._it, self._cells, self._gb
        remaining = set(rows)
        y = 0
        while remaining and lib.ghostty_render_state_row_iterator_next(it):
            i = index_of_y.get(y)
            y += 1
            if i is None or i not in remaining:
                continue
            remaining.discard(i)
            check(lib.ghostty_render_state_row_get(it, lib.GHOSTTY_RENDER_STATE_ROW_DATA_CELLS, self._cells_p),
                  "row cells")
            for x, k in lookups.get(i, ()):
                lib.ghostty_render_state_row_cells_select(cells, x)
                check(lib.ghostty_render_state_row_cells_get(
                    cells, lib.GHOSTTY_RENDER_STATE_ROW_CELLS_DATA_STYLE, self._style), "cell style")
                frame_styles[(pages[i], k)] = self.styles.intern(self._style_key())
            for x in np.flatnonzero(tag[i] == 1).tolist():
                lib.ghostty_render_state_row_cells_select(cells, x)
                gb.len = 0
                r = lib.ghostty_render_state_row_cells_get(
                    cells, lib.GHOSTTY_RENDER_STATE_ROW_CELLS_DATA_GRAPHEMES_UTF8, gb)
                if r == 0:
                    graphemes[(i, x)] = ffi.buffer(self._gbuf, gb.len)[:].decode("utf-8", "replace")
            if link[i].any():
                uris[i] = [self._uri(x, ys[i]) if link[i][x] else None for x in range(link.shape[1])]

    def _style_key(self) -> StyleKey:
        s = self._style
        flags = (s.bold * BOLD | s.italic * ITALIC | s.faint * FAINT | s.blink * BLINK | s.inverse * INVERSE
                 | s.invisible * INVISIBLE | s.strikethrough * STRIKE | s.overline * OVERLINE
                 | (int(s.underline) & 7) << UNDERLINE_SHIFT)
        return (_color(s.fg_color), _color(s.bg_color), flags, _color(s.underline_color))

    def _uri(self, x: int, y: int) -> str | None:
        ref = self.vt.term.ref(x, y, "viewport")
        n = ffi.new("size_t*")
        lib.ghostty_grid_ref_hyperlink_uri(ref, ffi.NULL, 0, n)
        if not 0 < n[0] <= MAX_URI_BYTES:
            return None
        buf = ffi.new("uint8_t[]", n[0])
        if lib.ghostty_grid_ref_hyperlink_uri(ref, buf, n[0], n) != 0:
            return None
        return ffi.buffer(buf, n[0])[:].decode("utf-8", "replace")

    @staticmethod
    def _links(uris: list[str | None] | None) -> tuple[tuple[int, int, str], ...]:
        out: list[tuple[int, int, str]] = []
        if not uris:
            return ()
        start, cur = 0, None
        for x, uri in enumerate([*uris, None]):
            if uri != cur:
                if cur is not None:
                    out.append((start, x - start, cur))
                start, cur = x, uri
        return tuple(out)

    def _runs(self, starts: list[int], keys: np.ndarray, page: int, frame_styles: dict[tuple[int, int], int],
              cols: int) -> tuple[int, ...]:
        out: list[int] = []
        ends = [*starts[1:], cols]
        for x, end in zip(starts, ends, strict=True):
            k = int(keys[x])
            if k == 0:
                continue
            sid = self.styles.intern(_bg_style(k)) if k >= _BG_KEY else frame_styles[page, k]
            if out and out[-1] == sid and out[-3] + out[-2] == x:
                out[-2] += end - x
            else:
                out += (x, end - x, sid)
        return tuple(out)

    @staticmethod
    def _complex_text(i: int, cps: np.ndarray, tags: np.ndarray, wides: np.ndarray,
                      graphemes: dict[tuple[int, int], str]) -> tuple[str, tuple[int, ...]]:
        parts: list[str] = []
        cells: list[int] = []
        for x, (c, t, w) in enumerate(zip(cps.tolist(), tags.tolist(), wides.tolist(), strict=True)):
            if w == _SPACER_TAIL:
                continue
            s = graphemes.get((i, x), chr(c)) if t == 1 else chr(c)
            if len(s) != 1 or w == _WIDE:
                cells += (x, len(s), 2 if w == _WIDE else 1)
            parts.append(s)
        text = "".join(parts)
        stripped = text.rstrip(" ")
        return stripped, tuple(cells)


def _bg_style(k: int) -> StyleKey:
    tag = (k >> 32) & 3
    v = k & 0x3FFFFFFF
    if tag == 2:
        return (-1, v & 0xFF, 0, -1)
    r, g, b = v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF
    return (-1, RGB_FLAG | r << 16 | g << 8 | b, 0, -1)
