"""Idle terminals are compressed: Ghostty's pages shrink about tenfold and nothing a reader sees changes."""

from __future__ import annotations

import asyncio
import time

import pytest

from dullahan.config import Settings
from dullahan.session.pane import COMPRESS_AFTER_IDLE
from dullahan.session.session import Session
from dullahan.term.ghostty import scrollback_line_cap
from dullahan.term.vt import VTerm
from helpers import async_wait_for, run

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
