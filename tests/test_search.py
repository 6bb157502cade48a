"""Search over a pane's whole history on real terminals: positions in cells, case, limits, 100k lines."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from dullahan.config import Settings
from dullahan.session.pane import Pane
from dullahan.session.session import Session
from dullahan.shapes import row_cells
from dullahan.term.search import MAX_QUERY_CHARS, SearchError, SearchMatch, search
from dullahan.term.vt import VTerm
from helpers import async_wait_for, run

pytestmark = pytest.mark.usefixtures("isolated_xdg")


def with_pane(argv: list[str], body: Callable[[Session, Pane], Awaitable[None]], cols: int = 80,
              rows: int = 25) -> None:
    """Run ``body(session, pane)`` with a one-pane session running ``argv``, keeping 120 000 rows of history."""
    async def main() -> None:
        settings = Settings(shell=argv, scrollback_lines=120_000)
        session = Session(settings, asyncio.get_running_loop())
        try:
            window = session.new_window("single", cols, rows + 1)
            await body(session, session.pane(window.slots[0]))  # type: ignore[arg-type]
        finally:
            await session.shutdown()
    run(main())


def printing(path: Path, text: str) -> list[str]:
    """argv for a pane that prints ``text`` (from a file, so the PTY carries it as output) then idles."""
    path.write_text(text, encoding="utf-8")
    return ["sh", "-c", f"cat '{path}'; printf 'END-OF-TEXT'; exec sleep 60"]


async def printed(pane: Pane) -> None:
    await async_wait_for(lambda: "END-OF-TEXT" in pane.capture(), 60, message=pane.capture)


def cells_text(pane: Pane, match: SearchMatch) -> str:
    """What the match's cells show, read the way a client reads them (``Pane.history`` rows)."""
    top, rows = pane.rows_around(match.row, 5)
    row = rows[match.row - top]
    cols, _ = pane.size
    return "".join(text for text, _width in row_cells(row, cols)[match.col:match.col + match.length])


def test_matches_are_cell_positions_with_wide_characters_and_clusters(tmp_path: Path) -> None:
    lines = [
        "plain needle here",
        "宽字needle 👍🏽 NEEDLE é",                # wide characters and an emoji with a skin tone first
        "e\u0301cole Needle 👨\u200d👩\u200d👧 needle",   # a combining accent and a ZWJ family
        "nothing",
    ]

    async def body(session: Session, pane: Pane) -> None:
        await printed(pane)
        result = pane.search("needle")
        assert not result.more
        found = sorted((m.row, m.col, m.length) for m in result.matches)
        first = found[0][0]
        assert found == [(first, 6, 6), (first + 1, 4, 6), (first + 1, 14, 6), (first + 2, 6, 6),
                         (first + 2, 16, 6)]
        for match in result.matches:
            assert cells_text(pane, match).lower() == "needle"
        # The cluster itself is one match of two cells.
        family = pane.search("👨\u200d👩\u200d👧").matches
        assert [(m.row, m.col, m.length) for m in family] == [(first + 2, 13, 2)]
        accent = pane.search("e\u0301cole").matches
        assert [(m.row, m.col, m.length) for m in accent] == [(first + 2, 0, 5)]
        wide = pane.search("字n").matches
        assert [(m.row, m.col, m.length) for m in wide] == [(first + 1, 2, 3)]
    with_pane(printing(tmp_path / "text", "\r\n".join(lines) + "\r\n"), body)


def test_case_sensitivity(tmp_path: Path) -> None:
    async def body(session: Session, pane: Pane) -> None:
        await printed(pane)
        assert len(pane.search("needle").matches) == 3
        exact = pane.search("Needle", case_sensitive=True).matches
        assert len(exact) == 1 and cells_text(pane, exact[0]) == "Needle"
        assert len(pane.search("ÉCOLE").matches) == 1            # Unicode case folding
        assert [m.col for m in pane.search("éCOLE").matches] == [0]
        assert [(m.col, m.length) for m in pane.search("ÄRGER").matches] == [(16, 5)]   # after a wide character
        assert pane.search("ÉCOLE", case_sensitive=True).matches == ()
        assert len(pane.search("a.b").matches) == 1              # the query is literal, not a pattern
    with_pane(printing(tmp_path / "text", "needle Needle NEEDLE\r\nécole a.b axb 宽ärger\r\n"), body)


def test_limit_more_and_continuing_in_both_directions(tmp_path: Path) -> None:
    text = "".join(f"row {i} hit hit\r\n" for i in range(300))

    async def body(session: Session, pane: Pane) -> None:
        await printed(pane)
        everything = pane.search("hit", limit=10_000)
        assert len(everything.matches) == 600 and not everything.more
        newest_first = list(everything.matches)
        assert newest_first == sorted(newest_first, key=lambda m: (m.row, m.col), reverse=True)
        # Batches of 7, backward from the end, then forward from the top, add up to everything.
        for backward in (True, False):
            batches: list[SearchMatch] = []
            start = None
            while True:
                batch = pane.search("hit", limit=7, start=start, backward=backward)
                batches.extend(batch.matches)
                assert len(batch.matches) == 7 or not batch.more
                if not batch.more:
                    break
                start = (batch.matches[-1].row, batch.matches[-1].col)
            assert batches == (newest_first if backward else newest_first[::-1])
        # From a position: only what lies before it (backward) or after it (forward).
        middle = newest_first[300]
        before = pane.search("hit", start=(middle.row, middle.col), limit=10_000).matches
        after = pane.search("hit", start=(middle.row, middle.col), backward=False, limit=10_000).matches
        assert len(before) + len(after) + 1 == 600
        assert all((m.row, m.col) < (middle.row, middle.col) for m in before)
        assert all((m.row, m.col) > (middle.row, middle.col) for m in after)
    with_pane(printing(tmp_path / "text", text), body)


def test_a_hundred_thousand_lines(tmp_path: Path) -> None:
    count = 100_000
    text = "".join(f"line {i:06d} {'MARKER' if i % 1000 == 999 else 'filler'} 宽 text\r\n" for i in range(count))

    async def body(session: Session, pane: Pane) -> None:
        await printed(pane)
        result = pane.search("marker", limit=1000)
        assert len(result.matches) == 100 and not result.more
        assert result.total_rows > count and result.scrollback_rows == result.total_rows - 40
        newest = result.matches[0]
        assert cells_text(pane, newest) == "MARKER"
        top, rows = pane.rows_around(newest.row, 3)
        assert rows[newest.row - top][0].startswith("line 099999 MARKER")
        oldest = result.matches[-1]
        top, rows = pane.rows_around(oldest.row, 3)
        assert rows[oldest.row - top][0].startswith("line 000999 MARKER")
        assert [m.col for m in result.matches] == [12] * 100
        assert newest.row - oldest.row == 99_000
        capped = pane.search("filler", limit=50)
        assert len(capped.matches) == 50 and capped.more
        # Rows around the first and the last row of the screen stay within it.
        top, rows = pane.rows_around(0, 5)
        assert top == 0 and len(rows) == 5 and rows[0][0].startswith("line 000000")
        top, rows = pane.rows_around(result.total_rows - 1, 5)
        assert top == result.total_rows - 5 and len(rows) == 5
    with_pane(printing(tmp_path / "text", text), body, cols=120, rows=40)


def test_bad_queries_are_refused() -> None:
    vt = VTerm(40, 5, 100)
    try:
        vt.feed(b"hello\r\n")
        for query, message in (("", "non-empty"), ("x" * (MAX_QUERY_CHARS + 1), "at most"),
                               ("a\nb", "one line"), (None, "non-empty")):
            with pytest.raises(SearchError, match=message):
                search(vt, query)  # type: ignore[arg-type]
        with pytest.raises(SearchError, match="limit"):
            search(vt, "hello", limit=0)
        with pytest.raises(SearchError, match="pair of integers"):
            search(vt, "hello", start=("1", 0))  # type: ignore[arg-type]
        assert [(m.row, m.col) for m in search(vt, "hello").matches] == [(0, 0)]
        assert search(vt, "hello", start=(0, 0)).matches == ()
    finally:
        vt.close()


def test_a_soft_wrapped_line_is_searched_row_by_row() -> None:
    vt = VTerm(10, 4, 100)
    try:
        vt.feed(b"0123456789abcdefghij\r\n")
        assert [(m.row, m.col, m.length) for m in search(vt, "cde").matches] == [(1, 2, 3)]
        assert search(vt, "89ab").matches == ()     # across the wrap: not found (matches stay in one row)
    finally:
        vt.close()
