"""Terminal fidelity against xterm and tmux (issue 12): the title stack, DECCOLM, capture of styled gaps,
and the parser behaviours seen with vttest. Real Ghostty terminals; real shells on real PTYs."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import pytest

from dullahan.session.pane import Pane
from dullahan.session.session import Session
from dullahan.shapes import StyleTable
from dullahan.term.ansi import styled_text
from dullahan.term.screen import ScreenReader
from dullahan.term.vt import MAX_CARRY, TITLE_STACK_DEPTH, VTerm
from helpers import async_wait_for
from test_pane import winsize, with_pane

BASH = ["bash", "--noprofile", "--norc"]
DEADLINE = 20.0

pytestmark = pytest.mark.usefixtures("isolated_xdg")


@pytest.fixture
def vt() -> Iterator[VTerm]:
    v = VTerm(40, 6, 100)
    yield v
    v.close()


def osc_title(title: str) -> bytes:
    return b"\x1b]2;" + title.encode() + b"\x07"


# -- the title stack (XTWINOPS 22/23) -----------------------------------------------------------------------
@pytest.mark.parametrize(("push", "pop"), [
    (b"\x1b[22;0t", b"\x1b[23;0t"), (b"\x1b[22;2t", b"\x1b[23;2t"), (b"\x1b[22t", b"\x1b[23t"),
    (b"\x1b[22;0t", b"\x1b[23;2t"), (b"\x1b[22;0;7t", b"\x1b[23;0;7t"),
])
def test_pushed_title_comes_back_on_pop(vt: VTerm, push: bytes, pop: bytes) -> None:
    # One read, as xterm gets it: the title pushed is the one set just before, not the last of the read.
    vt.feed(osc_title("shell") + push + osc_title("vim") + b"x" + pop + b"y")
    assert vt.title == "shell"
    assert vt.take_effects().title_changed
    assert vt.capture().splitlines()[0] == "xy"


def test_titles_nest_and_an_empty_stack_pops_nothing(vt: VTerm) -> None:
    vt.feed(osc_title("one") + b"\x1b[22;0t" + osc_title("two") + b"\x1b[22;0t" + osc_title("three"))
    vt.feed(b"\x1b[23;0t")
    assert vt.title == "two"
    vt.feed(b"\x1b[23;0t")
    assert vt.title == "one"
    vt.take_effects()
    vt.feed(b"\x1b[23;0t")
    assert vt.title == "one"
    assert not vt.take_effects().title_changed


def test_icon_title_stack_leaves_the_window_title_alone(vt: VTerm) -> None:
    # Ps 1 is the icon title only (xterm: push 22;1, set, pop 23;1 keeps the new window title).
    vt.feed(osc_title("one") + b"\x1b[22;1t" + osc_title("two") + b"\x1b[23;1t")
    assert vt.title == "two"
    assert vt.title_stack == []


def test_title_stack_is_bounded(vt: VTerm) -> None:
    vt.feed(b"".join(osc_title(f"t{i}") + b"\x1b[22;0t" for i in range(TITLE_STACK_DEPTH + 20)))
    assert len(vt.title_stack) == TITLE_STACK_DEPTH
    vt.feed(b"\x1b[23;0t" * (TITLE_STACK_DEPTH + 20))
    assert vt.title == "t20"    # the oldest twenty were forgotten


def test_title_stack_sequences_split_at_every_point(vt: VTerm) -> None:
    stream = osc_title("shell") + b"\x1b[22;0t" + osc_title("vim") + b"\x1b[23;0;5t"
    for cut in range(1, len(stream)):
        for second in range(cut + 1, len(stream) + 1):
            v = VTerm(40, 6, 100)
            try:
                v.feed(stream[:cut])
                v.feed(stream[cut:second])
                v.feed(stream[second:])
                assert v.title == "shell", (cut, second)
                assert v.title_stack == []
            finally:
                v.close()


def test_a_sequence_longer_than_the_carry_is_not_taken_for_a_push(vt: VTerm) -> None:
    vt.feed(osc_title("one") + b"\x1b[22;" + b"0" * MAX_CARRY)
    vt.feed(b"t")
    assert vt.title_stack == []


def test_pane_title_follows_a_pop() -> None:
    async def body(session: Session, pane: Pane) -> None:
        await async_wait_for(lambda: "$" in pane.capture(), DEADLINE, message=pane.capture)
        pane.write(b"printf '\\e]2;before\\a\\e[22;0t\\e]2;during\\a'\r")
        await async_wait_for(lambda: pane.meta.title == "during", DEADLINE, message=lambda: pane.meta.title)
        pane.write(b"printf '\\e[23;0t'\r")
        await async_wait_for(lambda: pane.meta.title == "before", DEADLINE, message=lambda: pane.meta.title)
    with_pane(BASH, body)


# -- DECCOLM (CSI ? 3 h / l) --------------------------------------------------------------------------------
@pytest.mark.parametrize("stream", [
    [b"\x1b[?40h", b"\x1b[?3h"],
    [b"\x1b[?40h\x1b[?3h"],
    [b"\x1b[?1;40;1000h\x1b[?3h"],
    [b"\x1b[?40;3h"],
    [b"\x1b[?4", b"0h\x1b[?3h"],
    [b"\x1b[?0040h\x1b[?3h"],
    [b"\x1b[?" + b"0" * MAX_CARRY, b"0" * MAX_CARRY + b"40h\x1b[?3h"],
], ids=["two-reads", "one-read", "among-others", "same-decset", "split", "leading-zeros", "longer-than-carry"])
def test_deccolm_never_changes_the_width(stream: list[bytes]) -> None:
    vt = VTerm(120, 10, 100)
    try:
        for data in stream:
            vt.feed(data)
        assert vt.size == (120, 10)
        assert not vt.mode(40)
        vt.feed(b"\x1b[?3l")
        assert vt.size == (120, 10)
    finally:
        vt.close()


def test_deccolm_refused_on_a_pty_program_and_terminal_agree() -> None:
    async def body(session: Session, pane: Pane) -> None:
        assert pane.proc is not None
        await async_wait_for(lambda: "$" in pane.capture(), DEADLINE, message=pane.capture)
        pane.write(b"printf '\\e[?40h'; printf '\\e[?3h'; printf '%0132d\\n' 0 | tr 0 x; stty size\r")
        found = await async_wait_for(lambda: re.search(r"^(\d+) (\d+)$", pane.capture(), re.M), DEADLINE,
                                     message=pane.capture)
        cols, rows = winsize(pane.proc.fd)
        assert cols == 120
        assert (found.group(1), found.group(2)) == (str(rows), "120")
        assert pane.size == (120, rows)
        view = pane.view() or pane.latest_view()
        assert view.cols == 120
        # the 132 x's wrapped at the PTY's width: 120 on one row, 12 on the next
        lines = pane.capture().splitlines()
        assert "x" * 120 in lines and "x" * 12 in lines
    with_pane(BASH, body, cols=120, rows=25)


# -- capture --ansi -----------------------------------------------------------------------------------------
SGR_RE = re.compile(r"\x1b\[[0-9;:]*m")


def ansi_capture(vt: VTerm, scrollback: bool = False) -> str:
    shared = StyleTable()
    reader = ScreenReader(vt, shared)
    try:
        styles = StyleTable()
        text = styled_text(reader.screen_rows(scrollback, styles), vt.size[0], styles)
        assert len(shared) == 1      # nothing interned into the table the clients share
        return text
    finally:
        reader.close()


@pytest.mark.parametrize(("sgr", "param"), [(b"4", "4"), (b"7", "7"), (b"41", "48;5;1"), (b"1;4:3", "4:3")])
def test_capture_leaves_never_written_gaps_unstyled(vt: VTerm, sgr: bytes, param: str) -> None:
    vt.feed(b"\x1b[" + sgr + b"mU\x1b[10GX\x1b[0m")
    line = ansi_capture(vt).splitlines()[0]
    style = f"\x1b[0;{param}m" if param != "4:3" else "\x1b[0;1;4:3m"
    assert line == f"{style}U\x1b[0m        {style}X\x1b[0m"


def test_capture_keeps_styled_spaces_and_coloured_erase(vt: VTerm) -> None:
    # Spaces written in a style, and a line erased with a background colour, are styled on the page too.
    vt.feed(b"a\x1b[7m  \x1b[0mb\r\n\x1b[44m\x1b[K\x1b[0m\r\nc\x1b[10G\x1b[7m  \x1b[0m")
    lines = ansi_capture(vt).splitlines()
    assert lines[0] == "a\x1b[0;7m  \x1b[0mb"
    assert lines[1] == "\x1b[0;48;5;4m" + " " * 40 + "\x1b[0m"
    assert lines[2] == "c" + " " * 8 + "\x1b[0;7m  \x1b[0m"


def test_capture_ansi_without_styles_is_the_plain_capture(vt: VTerm) -> None:
    vt.feed("plain\r\n\x1b[1;38;2;10;20;30mbold\x1b[0m\t\x1b[4mtab 漢字 🙂\x1b[0m  \r\n\r\n\x1b[3Gx".encode())
    ansi = ansi_capture(vt)
    assert "\n".join(line.rstrip() for line in SGR_RE.sub("", ansi).split("\n")) == vt.capture()
    assert "\x1b[0;1;38;2;10;20;30mbold\x1b[0m" in ansi


def test_capture_ansi_scrollback_reads_every_row_once() -> None:
    vt = VTerm(12, 5, 1000)
    try:
        vt.feed(b"\r\n".join(b"\x1b[4mU%d\x1b[8GX\x1b[0m" % i for i in range(1, 38)))
        lines = ansi_capture(vt, scrollback=True).splitlines()
        assert lines == [f"\x1b[0;4mU{i}\x1b[0m{' ' * (7 - len(str(i)) - 1)}\x1b[0;4mX\x1b[0m" for i in range(1, 38)]
        assert vt.capture().split() == [f"U{i}" if j == 0 else "X" for i in range(33, 38) for j in (0, 1)]
    finally:
        vt.close()


def test_pane_capture_ansi_through_a_pty() -> None:
    async def body(session: Session, pane: Pane) -> None:
        await async_wait_for(lambda: "$" in pane.capture(), DEADLINE, message=pane.capture)
        pane.write(b"printf '\\e[4mU\\e[10GX\\e[0m\\n'\r")
        await async_wait_for(lambda: re.search(r"^U {8}X$", pane.capture(), re.M), DEADLINE, message=pane.capture)
        ansi = pane.capture(ansi=True)
        assert "\x1b[0;4mU\x1b[0m        \x1b[0;4mX\x1b[0m" in ansi.splitlines()
        assert pane.capture(scrollback=True, ansi=True).splitlines()[-3:] == ansi.splitlines()[-3:]
    with_pane(BASH, body)


def test_capture_ansi_text_matches_plain_capture_on_random_screens() -> None:
    rnd = random.Random(12)
    pieces = [b"word", "漢字".encode(), "🙂".encode(), "e\u0301".encode(), b"\x1b[4m", b"\x1b[7m", b"\x1b[0m",
              b"\x1b[41m", b"\x1b[38;2;1;2;3m", b"\x1b[5C", b"\x1b[30G", b"\t", b"\x1b[K", b"\r\n", b"  ", b"\x1b[2;3H"]
    for _ in range(30):
        vt = VTerm(37, 7, 100)
        try:
            vt.feed(b"".join(rnd.choice(pieces) for _ in range(60)))
            # Row by row; the plain formatter sometimes keeps one empty line for a row of written spaces.
            stripped = "\n".join(line.rstrip(" ") for line in SGR_RE.sub("", ansi_capture(vt)).split("\n"))
            assert stripped.rstrip("\n") == vt.capture().rstrip("\n")
        finally:
            vt.close()


# -- parser behaviours seen with vttest ---------------------------------------------------------------------
GRID = b"\x1b[2;1Habcdefghij\r\n0123456789\r\nABCDEFGHIJ\r\nklmnopqrst\x1b[2;5H"
# What XTerm(379) shows after GRID and each sequence (cursor x, y and the first five rows), measured under Xvfb
# through its print-screen; Ghostty 0.1.3 did nothing for the explicit 0 of these and for CSI g.
XTERM_ZERO_PARAMETER = [
    (b"x\x1b[0P", (5, 1), ["", "abcdxghij", "0123456789", "ABCDEFGHIJ", "klmnopqrst"]),       # DCH
    (b"x\x1b[0L", (0, 1), ["", "", "abcdxfghij", "0123456789", "ABCDEFGHIJ"]),               # IL
    (b"x\x1b[0M", (0, 1), ["", "0123456789", "ABCDEFGHIJ", "klmnopqrst", ""]),               # DL
    (b"x\x1b[0S", (5, 1), ["abcdxfghij", "0123456789", "ABCDEFGHIJ", "klmnopqrst", ""]),      # SU
    (b"\x1b[2;13H\x1b[0Z", (8, 1), ["", "abcdefghij", "0123456789", "ABCDEFGHIJ", "klmnopqrst"]),  # CBT
    (b"x\x1b[0a", (6, 1), ["", "abcdxfghij", "0123456789", "ABCDEFGHIJ", "klmnopqrst"]),      # HPR
    (b"x\x1b[0I", (8, 1), ["", "abcdxfghij", "0123456789", "ABCDEFGHIJ", "klmnopqrst"]),      # CHT
    (b"x\x1b[0e", (5, 2), ["", "abcdxfghij", "0123456789", "ABCDEFGHIJ", "klmnopqrst"]),      # VPR
    (b"x\x1b[000P", (5, 1), ["", "abcdxghij", "0123456789", "ABCDEFGHIJ", "klmnopqrst"]),     # leading zeros
    # Unchanged: SD 0 does nothing in xterm too, and 0 already meant 1 for these in Ghostty.
    (b"x\x1b[0T", (5, 1), ["", "abcdxfghij", "0123456789", "ABCDEFGHIJ", "klmnopqrst"]),      # SD
    (b"x\x1b[0@", (5, 1), ["", "abcdx fghij", "0123456789", "ABCDEFGHIJ", "klmnopqrst"]),     # ICH
    (b"x\x1b[0X", (5, 1), ["", "abcdx ghij", "0123456789", "ABCDEFGHIJ", "klmnopqrst"]),      # ECH
    (b"x\x1b[0C", (6, 1), ["", "abcdxfghij", "0123456789", "ABCDEFGHIJ", "klmnopqrst"]),      # CUF
    (b"x\x1b[10P", (5, 1), ["", "abcdx", "0123456789", "ABCDEFGHIJ", "klmnopqrst"]),          # not a zero
]


def cursor(vt: VTerm) -> tuple[int, int]:
    x, y = vt.term.cursor
    return int(x), int(y)


def screen_rows(vt: VTerm, n: int = 5) -> list[str]:
    return (vt.capture().split("\n") + [""] * n)[:n]


@pytest.mark.parametrize(("seq", "at", "rows"), XTERM_ZERO_PARAMETER)
def test_explicit_zero_parameter_is_xterms(seq: bytes, at: tuple[int, int], rows: list[str]) -> None:
    vt = VTerm(40, 8, 100)
    try:
        vt.feed(GRID + seq)
        assert (cursor(vt), screen_rows(vt)) == (at, rows)
    finally:
        vt.close()


def test_explicit_zero_split_at_every_point() -> None:
    stream = GRID + b"x\x1b[00Pyz"
    for cut in range(len(GRID), len(stream)):
        vt = VTerm(40, 8, 100)
        try:
            vt.feed(stream[:cut])
            vt.feed(stream[cut:])
            assert screen_rows(vt)[1] == "abcdxyzij", cut
        finally:
            vt.close()


@pytest.mark.parametrize("clear", [b"\x1b[g", b"\x1b[0g"])
def test_tab_clear_without_parameter_clears_the_stop_at_the_cursor(vt: VTerm, clear: bytes) -> None:
    vt.feed(b"\x1b[1;9H" + clear + b"\r\tX")
    assert cursor(vt) == (17, 0)
    assert vt.capture().split("\n")[0] == " " * 16 + "X"


def test_known_difference_rep_after_a_control_repeats_the_last_character(vt: VTerm) -> None:
    # xterm repeats nothing when a control came between the character and REP; Ghostty repeats the last
    # character printed whatever came after it (docs/TERMINAL.md). If this fails, update the document.
    vt.feed(b"A\x1b[1m\x1b[3b")
    assert vt.capture().split("\n")[0] == "AAAA"
