"""Reading a terminal's viewport as rows of text and style runs (``shapes.Row``).

Style ids come from a ``StyleTable`` that interns styles by content, so an id means the same style for
the server's whole life (Ghostty's own style ids are local to one memory page).

Decoding reads each row's packed cells in one FFI call (``ROW_DATA_CELLS_RAW``) and unpacks them as one
Python integer per row: masks and shifts pick a field out of every 64-bit cell at once (the codepoints come
out as UTF-32 in one conversion, style changes as the lanes that differ from their neighbour), so a plain row
costs a few big-integer operations and no per-cell Python; rows with wide cells, clusters or links are walked
cell by cell. Only style lookups, grapheme clusters and hyperlinks need per-cell FFI calls.
"""

from __future__ import annotations

import codecs
import functools
from dataclasses import dataclass
from typing import Any

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

_BG_KEY = 1 << 40    # style keys above this are bg-only cells (EL/ED with a coloured background)
_WIDE, _SPACER_TAIL = 1, 2
_DIRTY_NAMES = ("clean", "partial", "full")


# A row as decoded so far: the row as one integer, its bg-only lanes, its cells, its run starts and their
# style keys, whether its text is plain
_Decoded = tuple[int, int, memoryview, list[int], list[int], bool]

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
        self._rs = self._new_render_state()
        self._generation = vt.generation
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
        # read_view's cache of what a view carries besides rows (see ``term.view``); owned by it.
        self.view_meta: tuple[Any, ...] | None = None

    @staticmethod
    def _new_render_state() -> Any:
        p = ffi.new("GhosttyRenderState*")
        check(lib.ghostty_render_state_new(ffi.NULL, p), "render state")
        return p[0]

    def forget(self) -> None:
        """Free the render state (the terminal went to sleep); the next ``update`` makes a new one."""
        if self._rs is not None:
            lib.ghostty_render_state_free(self._rs)
            self._rs = None

    def close(self) -> None:
        lib.ghostty_render_state_row_cells_free(self._cells)
        lib.ghostty_render_state_row_iterator_free(self._it)
        self.forget()

    # -- render state ------------------------------------------------------------------------------
    def update(self) -> int:
        """Pull the terminal's changes into the render state: 0 clean, 1 some rows dirty, 2 all dirty."""
        term = self.vt.term   # first: it may wake the terminal, which makes it a new one
        if self._rs is None or self._generation != self.vt.generation:
            self.forget()   # a render state that followed another terminal would trust its stale rows
            self._rs, self._generation = self._new_render_state(), self.vt.generation
        check(lib.ghostty_render_state_update(self._rs, term._t[0]), "render update")
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
        return self._decode(bufs, ys, pages, wraps)

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

    def _decode(self, bufs: list[bytes], ys: list[int], pages: list[int], wraps: list[bool],
                ) -> list[tuple[int, Row]]:
        cols = len(bufs[0]) // 8
        lanes = _lanes(cols)
        styles_of = self.styles.intern
        # First pass: each row's kind and run starts; the style lookups every row needs (one per page-local
        # style per frame), collected so that a second walk of the iterator does them all.
        frame_styles: dict[tuple[int, int], int] = {}
        lookups: dict[int, list[tuple[int, int]]] = {}
        need_cells: set[int] = set()
        decoded: list[_Decoded] = []
        for i, buf in enumerate(bufs):
            a = int.from_bytes(buf, "little")
            cells = memoryview(buf).cast("Q")
            bg = _bg_cells(a, lanes)
            clusters = _graphemes(a, lanes)
            starts = _run_starts(a, bg, cols, lanes)
            keys = ([_key(cells[x]) for x in starts] if bg else
                    [cells[x] >> CELL_STYLE_SHIFT & 0xFFFF for x in starts])
            # Plain text: every cell one codepoint, empty or bg-only (a blank).
            simple = not (a & lanes.not_text or clusters)
            decoded.append((a, bg, cells, starts, keys, simple))
            if clusters or a & lanes.link:
                need_cells.add(i)
            page = pages[i]
            for x, k in zip(starts, keys, strict=True):
                if 0 < k < _BG_KEY and (page, k) not in frame_styles:
                    frame_styles[(page, k)] = -1
                    lookups.setdefault(i, []).append((x, k))
                    need_cells.add(i)
        graphemes: dict[tuple[int, int], str] = {}
        uris: dict[int, list[str | None]] = {}
        if need_cells:
            self._cell_pass(ys, pages, need_cells, lookups, frame_styles, decoded, graphemes, uris)

        out: list[tuple[int, Row]] = []
        for i, y in enumerate(ys):
            a, bg, cells, starts, keys, simple = decoded[i]
            if simple:
                # The codepoints as UTF-32 in 64-bit lanes, in one go (bg-only cells zeroed: blanks).
                raw = (((a & ~bg if bg else a) >> CELL_CODEPOINT_SHIFT) & lanes.codepoint).to_bytes(cols * 8, "little")
                text = _utf32(raw, "replace")[0][::2].replace("\0", " ").rstrip(" ")
                text_cells: tuple[int, ...] = ()
            else:
                text, text_cells = self._complex_text(i, cells, graphemes)
            runs = self._runs(starts, keys, pages[i], frame_styles, cols, styles_of)
            links = self._links(uris.get(i)) if i in uris else ()
            out.append((y, (text, runs, text_cells, links, wraps[i])))
        return out

    def _cell_pass(self, ys: list[int], pages: list[int], rows: set[int], lookups: dict[int, list[tuple[int, int]]],
                   frame_styles: dict[tuple[int, int], int], decoded: list[_Decoded],
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
            a, _bg, raw, _starts, _keys, _simple = decoded[i]
            if _graphemes(a, _lanes(len(raw))):
                for x, v in enumerate(raw):
                    if v & 3 != 1:
                        continue
                    lib.ghostty_render_state_row_cells_select(cells, x)
                    gb.len = 0
                    r = lib.ghostty_render_state_row_cells_get(
                        cells, lib.GHOSTTY_RENDER_STATE_ROW_CELLS_DATA_GRAPHEMES_UTF8, gb)
                    if r == 0:
                        graphemes[(i, x)] = ffi.buffer(self._gbuf, gb.len)[:].decode("utf-8", "replace")
            if a & _lanes(len(raw)).link:
                uris[i] = [self._uri(x, ys[i]) if v >> CELL_HYPERLINK_SHIFT & 1 else None for x, v in enumerate(raw)]

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

    @staticmethod
    def _runs(starts: list[int], keys: list[int], page: int, frame_styles: dict[tuple[int, int], int], cols: int,
              intern: Any) -> tuple[int, ...]:
        if len(keys) == 1 and not keys[0]:
            return ()
        out: list[int] = []
        ends = [*starts[1:], cols]
        for x, end, k in zip(starts, ends, keys, strict=True):
            if k == 0:
                continue
            sid = intern(_bg_style(k)) if k >= _BG_KEY else frame_styles[page, k]
            if out and out[-1] == sid and out[-3] + out[-2] == x:
                out[-2] += end - x
            else:
                out += (x, end - x, sid)
        return tuple(out)

    @staticmethod
    def _complex_text(i: int, cells: memoryview, graphemes: dict[tuple[int, int], str]) -> tuple[str, tuple[int, ...]]:
        """A row with wide cells, grapheme clusters or bg-only cells, cell by cell."""
        parts: list[str] = []
        text_cells: list[int] = []
        for x, v in enumerate(cells):
            w = v >> CELL_WIDE_SHIFT & 3
            if w == _SPACER_TAIL:
                continue
            tag = v & 3
            if tag >= 2:
                s = " "
            else:
                c = v >> CELL_CODEPOINT_SHIFT & 0x1FFFFF
                s = graphemes.get((i, x), _char(c)) if tag == 1 else _char(c)
            if len(s) != 1 or w == _WIDE:
                text_cells += (x, len(s), 2 if w == _WIDE else 1)
            parts.append(s)
        return "".join(parts).rstrip(" "), tuple(text_cells)


def _char(c: int) -> str:
    if c == 0:
        return " "
    try:
        return chr(c) if not 0xD800 <= c <= 0xDFFF else "\ufffd"
    except ValueError:
        return "\ufffd"


def _key(v: int) -> int:
    """A cell's style key: its page-local style id, or for a bg-only cell its colour above ``_BG_KEY``."""
    tag = v & 3
    if tag >= 2:
        return _BG_KEY | tag << 32 | (v & 0xFFFFFFFF) >> 2
    return v >> CELL_STYLE_SHIFT & 0xFFFF


@dataclass(frozen=True, slots=True)
class _Lanes:
    """Masks over a row read as one integer of 64-bit cells: a field of every cell at once."""

    codepoint: int       # the 21 codepoint bits, at bit 0 of each lane (after shifting the row right by 2)
    style: int           # the 16 style bits, in place
    link: int            # the hyperlink bit
    not_text: int        # what makes a cell more than one codepoint or a blank: wide cells, links
    low: int             # bit 0 of every lane
    low32: int           # the low 32 bits of every lane


@functools.cache
def _lanes(cols: int) -> _Lanes:
    def every(bits: int) -> int:
        return int.from_bytes(bits.to_bytes(8, "little") * cols, "little")
    wide = 3 << CELL_WIDE_SHIFT
    link = 1 << CELL_HYPERLINK_SHIFT
    return _Lanes(every(0x1FFFFF), every(0xFFFF << CELL_STYLE_SHIFT), every(link), every(wide | link), every(1),
                  every(0xFFFFFFFF))


def _graphemes(a: int, lanes: _Lanes) -> int:
    """Non-zero when some cell of the row holds a grapheme cluster (tag 1: bit 0 set, bit 1 clear)."""
    return a & lanes.low & ~(a >> 1)


_utf32 = codecs.utf_32_le_decode
_NONZERO_IS_ONE = bytes([0] + [1] * 255)


def _bg_cells(a: int, lanes: _Lanes) -> int:
    """The lanes of a row's bg-only cells (tag 2 or 3) filled with ones, or 0 when there are none."""
    bg = a >> 1 & lanes.low
    return bg * 0xFFFFFFFFFFFFFFFF if bg else 0   # each lane's bit 0 times 2**64-1 fills that lane, no carries


def _run_starts(a: int, bg: int, cols: int, lanes: _Lanes) -> list[int]:
    """Columns where a row's style key may change: every change is among them, always 0 first (``_runs``
    merges neighbours that turn out to have the same style)."""
    keyed = a & lanes.style
    if bg:     # a bg-only cell's key is its colour (its low 32 bits), compared as they are
        keyed = (a & bg & lanes.low32) | (keyed & ~bg)
    if not keyed:
        return [0]
    changed = keyed ^ (keyed << 64)           # lane x: cell x against cell x - 1 (bits 0-41 only)
    # Fold each lane's bits 0-41 into its lowest byte (what moves in from the next lane lands above bit 41).
    changed |= changed >> 24
    changed |= changed >> 12
    changed |= changed >> 8
    flags = changed.to_bytes((cols + 1) * 8, "little")[:cols * 8:8].translate(_NONZERO_IS_ONE)
    out = [0]
    x = flags.find(1, 1)
    while x >= 0:
        out.append(x)
        x = flags.find(1, x + 1)
    return out


def _bg_style(k: int) -> StyleKey:
    tag = (k >> 32) & 3
    v = k & 0x3FFFFFFF
    if tag == 2:
        return (-1, v & 0xFF, 0, -1)
    r, g, b = v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF
    return (-1, RGB_FLAG | r << 16 | g << 8 | b, 0, -1)
