"""The terminal core in-process: one VTerm fed forever, read through a ScreenReader.

A parser state lost between two reads once printed a stray ``m`` for an SGR sequence split across
reads (see the lessons); these tests split a long sequence at every byte offset.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dullahan.shapes import BOLD, ITALIC, RGB_FLAG, UNDERLINE_SHIFT, StyleTable
from dullahan.term.ansi import styled_text
from dullahan.term.screen import ScreenReader
from dullahan.term.vt import VTerm
from helpers import StartServer, capture_until

SGR = b"\x1b[1;3;4;38;2;10;20;30;48;5;200m"
LINE = SGR + b"TXT\x1b[0m"
# bold + italic + single underline, fg rgb(10,20,30), bg palette 200, default underline colour
EXPECTED_STYLE = (RGB_FLAG | 0x0A141E, 200, BOLD | ITALIC | 1 << UNDERLINE_SHIFT, -1)


@pytest.fixture
def term() -> Iterator[tuple[VTerm, ScreenReader, StyleTable]]:
    vt = VTerm(20, 4, 100)
    styles = StyleTable()
    reader = ScreenReader(vt, styles)
    yield vt, reader, styles
    reader.close()
    vt.close()


def rows(reader: ScreenReader) -> list[tuple[str, tuple[int, ...], tuple[int, ...], tuple[object, ...], bool]]:
    reader.update()
    out = [row for _y, row in reader.read(dirty_only=False)]
    reader.clean()
    return out


def fresh_term() -> tuple[VTerm, ScreenReader, StyleTable]:
    vt = VTerm(20, 4, 100)
    styles = StyleTable()
    return vt, ScreenReader(vt, styles), styles


@pytest.mark.parametrize("offset", range(1, len(LINE)))
def test_sgr_split_in_two_feeds_renders_exactly(offset: int) -> None:
    vt, reader, styles = fresh_term()
    try:
        vt.feed(LINE[:offset])
        vt.feed(LINE[offset:])
        first = rows(reader)[0]
        text, runs = first[0], first[1]
        assert text == "TXT", f"split at {offset}: row text {text!r}"
        assert len(runs) == 3 and runs[:2] == (0, 3), f"split at {offset}: runs {runs}"
        assert styles.styles[runs[2]] == EXPECTED_STYLE
        assert reader.cursor() is not None and reader.cursor().x == 3
    finally:
        reader.close()
        vt.close()


def test_sgr_fed_one_byte_at_a_time(term: tuple[VTerm, ScreenReader, StyleTable]) -> None:
    vt, reader, styles = term
    for i in range(len(LINE)):
        vt.feed(LINE[i:i + 1])
    text, runs = rows(reader)[0][:2]
    assert text == "TXT"
    assert runs[:2] == (0, 3)
    assert styles.styles[runs[2]] == EXPECTED_STYLE


def test_one_terminal_many_split_lines(term: tuple[VTerm, ScreenReader, StyleTable]) -> None:
    """The same terminal parses line after line, each split at a different offset: no state leaks."""
    vt, reader, styles = term
    for offset in range(1, len(LINE)):
        data = b"\x1b[H\x1b[2J" + LINE
        cut = offset + 7
        vt.feed(data[:cut])
        vt.feed(data[cut:])
        text, runs = rows(reader)[0][:2]
        assert text == "TXT", f"offset {offset}: {text!r}"
        assert styles.styles[runs[2]] == EXPECTED_STYLE


def test_styles_interned_by_content(term: tuple[VTerm, ScreenReader, StyleTable]) -> None:
    """The same style on two rows gets the same id; the default style is id 0 and never appears in runs."""
    vt, reader, styles = term
    vt.feed(LINE + b" plain\r\n" + b"ab" + LINE)
    first, second = rows(reader)[:2]
    assert first[0] == "TXT plain"
    assert second[0] == "abTXT"
    assert first[1] == (0, 3, first[1][2])
    assert second[1] == (2, 3, first[1][2])
    assert styles.styles[0] == (-1, -1, 0, -1)


def test_da1_reply_is_an_effect(term: tuple[VTerm, ScreenReader, StyleTable]) -> None:
    vt, _reader, _styles = term
    vt.feed(b"\x1b[c")
    assert vt.take_effects().replies == [b"\x1b[?62;22c"]
    assert not vt.take_effects()


def test_cpr_reply_reports_cursor_position(term: tuple[VTerm, ScreenReader, StyleTable]) -> None:
    vt, _reader, _styles = term
    vt.feed(b"\x1b[3;7H\x1b[6n")
    assert vt.take_effects().replies == [b"\x1b[3;7R"]


def test_query_split_across_feeds_still_answered(term: tuple[VTerm, ScreenReader, StyleTable]) -> None:
    vt, _reader, _styles = term
    vt.feed(b"\x1b[")
    assert not vt.take_effects()
    vt.feed(b"6n")
    assert vt.take_effects().replies == [b"\x1b[1;1R"]


def test_capture_plain_and_ansi(term: tuple[VTerm, ScreenReader, StyleTable]) -> None:
    vt, reader, _styles = term
    vt.feed(b"one\r\n\x1b[31mred\x1b[0m")
    plain = vt.capture()
    assert plain.splitlines()[:2] == ["one", "red"]
    assert "\x1b[" not in plain
    capture_styles = StyleTable()
    ansi = styled_text(reader.screen_rows(False, capture_styles), vt.size[0], capture_styles)
    assert ansi == "one\n\x1b[0;38;5;1mred\x1b[0m"


def test_capture_scrollback_keeps_history() -> None:
    vt = VTerm(10, 3, 1000)
    try:
        vt.feed(b"\r\n".join(str(i).encode() for i in range(1, 51)))
        assert vt.capture().split() == ["48", "49", "50"]
        assert vt.capture(scrollback=True).split() == [str(i) for i in range(1, 51)]
        assert vt.scrollback_rows() == 47
    finally:
        vt.close()


# -- the same through a real PTY and a real server ----------------------------------------------------------
SPLIT_SCRIPT = r'''
import os, sys, time
line = b"\x1b[1;3;4;38;2;10;20;30;48;5;200mTXT\x1b[0m"
for i in range(1, len(line)):
    data = b"L%02d:" % i + line + b"\n"
    cut = 4 + i
    os.write(1, data[:cut])
    time.sleep(0.02)
    os.write(1, data[cut:])
os.write(1, b"SPLIT-" + b"DONE\n")
'''


def test_split_sequences_through_a_pty_leave_no_stray_characters(server: StartServer, tmp_path: Path) -> None:
    """A program writes the line in two parts with a pause between (so they arrive in separate reads),
    for every split point: each line on screen is exactly its label and TXT."""
    script = tmp_path / "split.py"
    script.write_text(SPLIT_SCRIPT)
    srv = server()
    srv.send(1, f"{sys.executable} {script}")
    text = capture_until(srv, 1, lambda t: "SPLIT-DONE" in t.splitlines(), timeout=20, scrollback=True)
    lines = [line for line in text.splitlines() if re.match(r"L\d\d:", line)]
    assert lines == [f"L{i:02d}:TXT" for i in range(1, len(LINE))]
    # and every TXT carries the full style: bold, italic, underline, fg rgb(10,20,30), bg palette 200
    ansi = srv.capture(1, scrollback=True, ansi=True)
    styled = [line for line in ansi.splitlines() if re.match(r"L\d\d:", line)]
    assert len(styled) == len(LINE) - 1
    for line in styled:
        sgr = " ".join(re.findall(r"\x1b\[([0-9;]*)m", line.split("TXT")[0]))
        for part in ("1", "3", "4", "38;2;10;20;30", "48;5;200"):
            assert re.search(rf"(^|[ ;]){re.escape(part)}($|[ ;])", sgr), (part, line)
