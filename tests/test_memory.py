"""Idle terminals are compressed: Ghostty's pages shrink about tenfold and nothing a reader sees changes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from dullahan.config import Settings
from dullahan.session.pane import COMPRESS_AFTER_IDLE
from dullahan.session.session import Session
from dullahan.shapes import PaneView, StyleTable
from dullahan.term.ghostty import scrollback_line_cap
from dullahan.term.screen import ScreenReader
from dullahan.term.snapshot import SnapshotError
from dullahan.term.view import read_view
from dullahan.term.vt import VTerm
from helpers import async_wait_for, run
from web_support import client, first_pane, start_web

pytestmark = pytest.mark.usefixtures("isolated_xdg")


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0])


def fill(vt: VTerm, lines: int = 10_000, cols: int = 200) -> None:
    vt.feed("".join(f"\x1b[3{i % 8}mline {i:06d}\x1b[0m " + "x" * (i % (cols - 20)) + "\r\n"
                    for i in range(lines)).encode())


def test_compressing_full_scrollbacks_frees_most_of_their_memory() -> None:
    terms = [VTerm(200, 50, 10_000) for _ in range(4)]
    base = rss_kib()
    for vt in terms:
        fill(vt)
    full = rss_kib() - base
    before = [vt.capture(scrollback=True) for vt in terms]
    assert all(vt.compress() for vt in terms)
    compressed = rss_kib() - base
    assert full > 40_000                      # four 10k-line, 200-column scrollbacks: tens of MiB
    assert compressed < full / 3              # measured about 15x smaller
    assert [vt.capture(scrollback=True) for vt in terms] == before
    for vt in terms:
        vt.close()


def test_session_compresses_a_pane_once_it_is_idle() -> None:
    async def main() -> None:
        session = Session(Settings(shell=["bash", "--noprofile", "--norc"]), asyncio.get_running_loop())
        try:
            window = session.new_window("single", 120, 41)
            pane = session.pane(window.slots[0])
            pane.write(b"seq 1 3000; echo SEQ-DONE\r")
            await async_wait_for(lambda: "\nSEQ-DONE" in pane.capture(), 20)
            text = pane.capture(scrollback=True)
            t0 = time.monotonic()
            assert pane.compress_if_idle(t0) is False                 # activity just moved: not idle yet
            assert pane.compress_if_idle(t0 + 1) is False
            assert pane.compress_if_idle(t0 + COMPRESS_AFTER_IDLE + 1) is True
            assert pane.compress_if_idle(t0 + COMPRESS_AFTER_IDLE + 2) is False   # already compressed
            assert pane.capture(scrollback=True) == text
            pane.write(b"echo after-compression\r")
            await async_wait_for(lambda: "\nafter-compression" in pane.capture(), 10)
            t1 = time.monotonic()
            pane.compress_if_idle(t1)
            assert pane.compress_if_idle(t1 + COMPRESS_AFTER_IDLE + 1) is True   # new activity, compressed again
        finally:
            await session.shutdown()
    run(main())


@pytest.mark.parametrize("cols", [80, 200])
def test_scrollback_keeps_at_least_the_configured_lines_at_any_width(cols: int) -> None:
    """The line limit is applied as a byte cap (much faster to prune); it must still keep every line asked for,
    and not grow without bound, before and after a resize."""
    vt = VTerm(cols, 24, 2000)
    vt.feed(b"".join(b"%d\r\n" % i for i in range(30_000)))
    assert 2000 <= vt.scrollback_rows() <= scrollback_line_cap(2000, cols)
    vt.resize(cols // 2, 24)
    vt.feed(b"".join(b"%d\r\n" % i for i in range(30_000)))
    assert 2000 <= vt.scrollback_rows() <= scrollback_line_cap(2000, cols // 2)
    assert vt.capture(scrollback=True).splitlines()[-1] == "29999"
    vt.close()


# -- hibernation: an idle terminal sleeps as a compressed snapshot ------------------------------------------
def view_of(vt: VTerm, reader: ScreenReader, prev: PaneView | None = None) -> PaneView:
    return read_view(vt, reader, prev, 0, True)


def test_a_sleeping_terminal_wakes_exactly_as_it_was() -> None:
    vt = VTerm(120, 30, 5000)
    fill(vt, 4000, 120)
    vt.feed(b"\x1b]0;before\x07\x1b[22;0t\x1b]0;the title\x07"       # a title pushed, then another set
            b"\x1b]4;1;rgb:12/34/56\x07\x1b]10;rgb:aa/bb/cc\x07"    # a palette entry, the default foreground
            b"\x1b[?2004h\x1b[?1h\x1b[5;20r\x1b[3;7H\x1b[1;4;38;5;200mstyled")
    reader = ScreenReader(vt, StyleTable())
    awake = view_of(vt, reader)
    history = vt.capture(scrollback=True)
    snap = vt.snapshot()
    state = (vt.title, vt.pwd, vt.palette_bytes(), vt.default_colors(), vt.mode(2004), vt.mode(1), vt.size,
             vt.scrollback_rows(), vt.carried())

    kept = vt.hibernate()
    reader.forget()
    assert vt.hibernated and 0 < kept < len(snap)
    assert vt.snapshot() == snap and vt.hibernated         # a sleeping terminal's snapshot does not wake it
    assert (vt.title, vt.pwd, vt.size, vt.scrollback_rows()) == (state[0], state[1], state[6], state[7])
    assert vt.hibernated                                     # nor what listings and a restart ask of it

    asleep = view_of(vt, reader, awake)                      # reading wakes it
    assert not vt.hibernated and vt.generation == 1
    assert (asleep.lines, asleep.cursor, asleep.modes, asleep.palette, asleep.fg, asleep.bg) == \
        (awake.lines, awake.cursor, awake.modes, awake.palette, awake.fg, awake.bg)
    assert vt.capture(scrollback=True) == history
    assert (vt.title, vt.pwd, vt.palette_bytes(), vt.default_colors(), vt.mode(2004), vt.mode(1), vt.size,
            vt.scrollback_rows(), vt.carried()) == state
    vt.feed(b"\x1b[23t")                                     # the title stack lives on: the pushed title is back
    assert vt.title == "before"
    vt.feed(b"\x07")                                         # and the callbacks were set on the new terminal
    assert vt.take_effects().bells == 1
    vt.close()


@pytest.mark.parametrize("reads", [[b"\x1b_Ga=q,i=1;AAAA\x1b\\"], [b"x\x1b", b"_Ga=q,i=1;AAAA\x1b\\"],
                                   [b"x\x1b_", b"Ga=q,i=1;AAAA\x1b\\"]])
def test_a_terminal_that_may_hold_images_stays_awake(reads: list[bytes]) -> None:
    vt = VTerm(80, 24, 1000)
    vt.feed(b"print(_GLOBAL_NAMES)\r\n")       # text that only looks like the command's letters is no image
    assert not vt.images_possible
    for data in reads:
        vt.feed(data)
    with pytest.raises(SnapshotError):
        vt.hibernate()
    assert not vt.hibernated
    vt.close()


def test_an_idle_pane_sleeps_and_wakes_with_its_history_and_shell(isolated_xdg: dict[str, str]) -> None:
    async def main() -> None:
        settings = Settings(shell=["bash", "--noprofile", "--norc"], hibernate_after=1.0)
        session = Session(settings, asyncio.get_running_loop())
        try:
            pane = session.pane(session.new_window("single", 120, 41).slots[0])
            pane.write(b"seq 1 3000; echo SEQ-DONE\r")
            await async_wait_for(lambda: "\nSEQ-DONE" in pane.capture(), 20)
            text = pane.capture(scrollback=True)
            await async_wait_for(lambda: pane.vt.hibernated, 60)     # the session's housekeeping did it
            assert pane.latest_view().lines                          # listings need no terminal
            assert pane.vt.hibernated
            assert pane.capture(scrollback=True) == text             # reading wakes it with all its history
            assert not pane.vt.hibernated
            await async_wait_for(lambda: pane.vt.hibernated, 60)
            pane.write(b"echo woke-$((6*7))\r")                      # typing into a sleeping pane just works
            await async_wait_for(lambda: "\nwoke-42" in pane.capture(), 20)
            assert pane.capture(scrollback=True).startswith(text.rstrip("\n").rsplit("\n", 1)[0])
        finally:
            await session.shutdown()
    run(main())


def test_a_client_sees_a_pane_that_slept_as_it_is(server: Any, tmp_path: Path) -> None:
    web = start_web(server, tmp_path, tls=False, config={"hibernate_after": 1.0,
                                                          "shell": ["bash", "--noprofile", "--norc"]})

    async def scenario() -> None:
        async with client(web) as c:
            pane = await first_pane(c)
            await c.type(pane, "seq 1 500; echo SEQ-DONE")
            await c.wait_text(pane, "\nSEQ-DONE", 20)
            await async_wait_for(lambda: web.status()["panes_asleep"] == 1, 60)
            await c.type(pane, "echo woke-$((6*7))")
            await c.wait_text(pane, "\nwoke-42", 20)
            server_screen = web.proc.capture(pane)
            await async_wait_for(lambda: c.text(pane).rstrip() == server_screen.rstrip(), 20)
    run(scenario())
