"""Search a terminal's whole screen (scrollback and active area) for text; matches as cell positions.

Rows are in the screen's history coordinates, as ``Pane.history`` takes them: row 0 is the oldest row kept,
the active area is the last ``rows`` rows. Columns and lengths are in cells: a wide character counts two,
a grapheme cluster (an emoji with a skin tone, a letter with a combining accent) is one cell of its width.

How: Ghostty's formatter writes the whole screen as plain UTF-8 in one call (one line per row, about 4 ms
per 10 000 rows), Python's literal search finds the candidates in those bytes, and rows are mapped back to
cells:

- on an ASCII line every character is one cell (the formatter writes a space for every blank cell between
  characters), so a byte's offset is its column;
- any other line with a candidate is read again cell by cell (``grid_ref``) and searched on that exact
  text, which is what gives wide characters and clusters their true columns.

Matches never span rows: a soft-wrapped line is searched row by row. Case-insensitive search works in any
script (``ÉCOLE`` finds ``école``): an ASCII query is looked for in the lower-cased bytes (a fast literal
search); a query with other cased letters is looked for with a byte pattern that accepts each letter's
lower and upper case forms; the rows found are then checked on their text lower-cased (``str.lower``, or
``re.IGNORECASE`` should lower-casing change the row's length, as ``İ`` does). The result count is
bounded; the search walks from a starting position (by default the end of the screen, going up) and says
whether more matches lie beyond the last one returned, so a client can ask for the next batch.

The caller holds the terminal's lock for the whole call (``Pane.search`` does).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from dullahan.term.ghostty import CELL_CODEPOINT_SHIFT, CELL_WIDE_SHIFT, check, ffi, lib
from dullahan.term.vt import VTerm

MAX_QUERY_CHARS = 256
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
CHUNK_CHARS = 256 * 1024      # backward search scans the text in line-aligned chunks of about this size
_GRAPHEME_TAG = 1
_WIDE, _SPACER_TAIL, _SPACER_HEAD = 1, 2, 3
_MAX_CLUSTER = 32


class SearchError(ValueError):
    """A query or a search option that cannot be used, with a message for the user."""


@dataclass(frozen=True, slots=True)
class SearchMatch:
    row: int        # absolute screen row (0 = the oldest history row)
    col: int        # first cell of the match
    length: int     # cells covered

    def to_json(self) -> list[int]:
        return [self.row, self.col, self.length]


@dataclass(frozen=True, slots=True)
class SearchResult:
    matches: tuple[SearchMatch, ...]   # in search order: nearest to the start first
    more: bool                         # further matches lie beyond the last one, in the same direction
    total_rows: int                    # the screen's rows when searched (history + active)
    scrollback_rows: int

    def to_json(self) -> dict[str, object]:
        return {"matches": [m.to_json() for m in self.matches], "more": self.more,
                "total_rows": self.total_rows, "scrollback_rows": self.scrollback_rows}


def check_query(query: object) -> str:
    """A usable query, or SearchError: not empty, not too long, one line without control characters."""
    if not isinstance(query, str) or not query:
        raise SearchError("search for a non-empty text")
    if len(query) > MAX_QUERY_CHARS:
        raise SearchError(f"a search text has at most {MAX_QUERY_CHARS} characters, not {len(query)}")
    if any(unicodedata.category(c) == "Cc" for c in query):
        raise SearchError("a search text is one line without control characters")
    return query


class _Matcher:
    """A literal query, with the way to look for it in a given text (lower-cased or not)."""

    def __init__(self, query: str, case_sensitive: bool) -> None:
        self.query = query
        self.case_sensitive = case_sensitive
        self.exact = re.compile(re.escape(query))
        self.lowered = re.compile(re.escape(query.lower()))
        self.ignoring_case = re.compile(re.escape(query), re.IGNORECASE)

    def prepare(self, text: str) -> tuple[str, re.Pattern[str]]:
        """The text to match in, with the same offsets as ``text``, and the pattern to match there."""
        if self.case_sensitive:
            return text, self.exact
        lowered = text.lower()
        if len(lowered) == len(text):
            return lowered, self.lowered
        return text, self.ignoring_case

    def prepare_screen(self, data: bytes) -> tuple[bytes, re.Pattern[bytes]]:
        """(haystack, pattern) to find candidates in the whole screen's UTF-8, with the offsets of ``data``."""
        if self.case_sensitive or self.query.lower() == self.query == self.query.upper():
            return data, re.compile(re.escape(self.query.encode()))   # exact, or nothing has a case
        if self.query.isascii():
            return data.lower(), re.compile(re.escape(self.query.lower().encode()))
        return data, re.compile(b"".join(_either_case(ch) for ch in self.query))


def _either_case(ch: str) -> bytes:
    """A byte pattern for one character in any of its one-character case forms."""
    forms = sorted({f for f in (ch, ch.lower(), ch.upper(), ch.casefold()) if len(f) == 1})
    if len(forms) == 1:
        return re.escape(forms[0].encode())
    return b"(?:" + b"|".join(re.escape(f.encode()) for f in forms) + b")"


def screen_bytes(vt: VTerm) -> bytes:
    """The whole screen as plain UTF-8, one line per row from row 0 (trailing blank rows and blanks left out)."""
    return vt.plain_text(scrollback=True)


class _RowCells:
    """A row's text rebuilt from its cells, with each character's cell column and width."""

    def __init__(self, vt: VTerm) -> None:
        self.vt = vt
        self._cell = ffi.new("GhosttyCell*")
        self._cps = ffi.new("uint32_t[]", _MAX_CLUSTER)
        self._count = ffi.new("size_t*")

    def read(self, row: int) -> tuple[str, list[int], list[int]]:
        cols, _rows = self.vt.size
        ref: Any = self.vt.term.ref(0, row, "screen")
        chars: list[str] = []
        starts: list[int] = []
        widths: list[int] = []
        for x in range(cols):
            ref.x = x   # the same row of the same page: no new lookup per cell
            check(lib.ghostty_grid_ref_cell(ref, self._cell), "cell")
            packed = int(self._cell[0])
            wide = (packed >> CELL_WIDE_SHIFT) & 3
            if wide in (_SPACER_TAIL, _SPACER_HEAD):
                continue
            width = 2 if wide == _WIDE else 1
            if packed & 3 == _GRAPHEME_TAG:
                check(lib.ghostty_grid_ref_graphemes(ref, self._cps, _MAX_CLUSTER, self._count), "graphemes")
                text = "".join(chr(self._cps[i]) for i in range(self._count[0]))
            else:
                cp = (packed >> CELL_CODEPOINT_SHIFT) & 0x1FFFFF if packed & 3 == 0 else 0
                text = chr(cp) if cp else " "
            for ch in text:
                chars.append(ch)
                starts.append(x)
                widths.append(width)
        line = "".join(chars).rstrip(" ")
        return line, starts[:len(line)], widths[:len(line)]


class _Searcher:
    """The screen's UTF-8 text, the haystack matched in (same offsets) and the mapping of rows to cells."""

    newline = b"\n"

    def __init__(self, vt: VTerm, matcher: _Matcher, text: bytes) -> None:
        self.matcher = matcher
        self.text = text
        self.haystack, self.pattern = matcher.prepare_screen(text)
        self.all_ascii = text.isascii()
        self.cells = _RowCells(vt)

    def line_bounds(self, start: int) -> tuple[int, int]:
        """(start, end) offsets of the line that contains offset ``start``."""
        begin = self.text.rfind(self.newline, 0, start) + 1
        end = self.text.find(self.newline, start)
        return begin, len(self.text) if end < 0 else end

    def row_hits(self, row: int, begin: int, end: int) -> list[tuple[int, int]]:
        """Every match on one row as (col, cells), left to right."""
        if self.all_ascii or self.text[begin:end].isascii():
            return [(m.start() - begin, m.end() - m.start())
                    for m in self.pattern.finditer(self.haystack, begin, end)]
        exact, starts, widths = self.cells.read(row)
        haystack, pattern = self.matcher.prepare(exact)
        return [(starts[m.start()], starts[m.end() - 1] + widths[m.end() - 1] - starts[m.start()])
                for m in pattern.finditer(haystack)]


def search(vt: VTerm, query: str, *, case_sensitive: bool = False, limit: int = DEFAULT_LIMIT,
           start: tuple[int, int] | None = None, backward: bool = True) -> SearchResult:
    """Find ``query`` on the screen, at most ``limit`` matches, walking from ``start``.

    ``start`` is a (row, col) position; matches are those beginning strictly before it (``backward``, the
    default, towards older rows) or strictly after it. Without ``start`` a backward search begins at the
    end of the screen and a forward one at its top. To continue, pass the last match's (row, col).
    """
    matcher = _Matcher(check_query(query), case_sensitive)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise SearchError(f"the result limit is 1..{MAX_LIMIT}, not {limit!r}")
    total, scrollback = vt.total_rows(), vt.scrollback_rows()
    text = screen_bytes(vt)
    searcher = _Searcher(vt, matcher, text)
    lines = text.count(searcher.newline) + 1
    if start is None:
        start = (lines, 0) if backward else (-1, 0)
    row, col = start
    if isinstance(row, bool) or not isinstance(row, int) or isinstance(col, bool) or not isinstance(col, int):
        raise SearchError(f"a search start is a (row, column) pair of integers, not {start!r}")
    walk = _backward if backward else _forward
    found, more = walk(searcher, row, col, lines, limit)
    return SearchResult(tuple(found), more, total, scrollback)


def _line_start(text: bytes, newline: bytes, row: int, lines: int) -> int:
    """The offset where line ``row`` begins (0 <= row < lines), counted from the nearer end of the text."""
    if row <= lines // 2:
        offset = 0
        for _ in range(row):
            offset = text.index(newline, offset) + 1
        return offset
    offset = len(text)
    for _ in range(lines - row):
        offset = text.rindex(newline, 0, offset)
    return offset + 1 if row else 0


def _forward(searcher: _Searcher, row: int, col: int, lines: int, limit: int) -> tuple[list[SearchMatch], bool]:
    text, newline = searcher.text, searcher.newline
    found: list[SearchMatch] = []
    if row >= lines:
        return found, False
    current_row = max(row, 0)
    current_begin = _line_start(text, newline, current_row, lines)
    done_row = -1
    for m in searcher.pattern.finditer(searcher.haystack, current_begin):
        current_row += text.count(newline, current_begin, m.start())
        begin, end = searcher.line_bounds(m.start())
        current_begin = begin
        if current_row == done_row:
            continue
        done_row = current_row
        for hit_col, cells in searcher.row_hits(current_row, begin, end):
            if current_row == row and hit_col <= col:
                continue
            if len(found) == limit:
                return found, True
            found.append(SearchMatch(current_row, hit_col, cells))
    return found, False


def _backward(searcher: _Searcher, row: int, col: int, lines: int, limit: int) -> tuple[list[SearchMatch], bool]:
    text, newline = searcher.text, searcher.newline
    found: list[SearchMatch] = []
    if row < 0:
        return found, False
    end_row = min(row, lines - 1)          # the row that ends the chunk
    chunk_end = searcher.line_bounds(_line_start(text, newline, end_row, lines))[1]
    while True:
        chunk_begin = text.rfind(newline, 0, max(0, chunk_end - CHUNK_CHARS)) + 1
        begin_row = end_row - text.count(newline, chunk_begin, chunk_end)
        rows_seen: list[tuple[int, int]] = []     # (row, offset of its line) with a candidate, top down
        current_row, current_pos = begin_row, chunk_begin
        for m in searcher.pattern.finditer(searcher.haystack, chunk_begin, chunk_end):
            current_row += text.count(newline, current_pos, m.start())
            current_pos = m.start()
            if not rows_seen or rows_seen[-1][0] != current_row:
                rows_seen.append((current_row, max(text.rfind(newline, chunk_begin, m.start()) + 1, chunk_begin)))
        for hit_row, line_begin in reversed(rows_seen):
            begin, end = searcher.line_bounds(line_begin)
            for hit_col, cells in reversed(searcher.row_hits(hit_row, begin, end)):
                if hit_row == row and hit_col >= col:
                    continue
                if len(found) == limit:
                    return found, True
                found.append(SearchMatch(hit_row, hit_col, cells))
        if chunk_begin == 0:
            return found, False
        chunk_end = chunk_begin - 1            # the newline that ends the line before the chunk
        end_row = begin_row - 1
