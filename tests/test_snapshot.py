"""Ghostty's snapshot round trip as Dullahan uses it: exact terminals, escapes cut in the middle, history caps."""

from __future__ import annotations

import zlib

import pytest

from dullahan.persist.saver import SavedScreen, fit
from dullahan.shapes import StyleTable
from dullahan.term import snapshot
from dullahan.term.ansi import styled_text
from dullahan.term.screen import ScreenReader
from dullahan.term.snapshot import SnapshotError
from dullahan.term.vt import VTerm


def styled(vt: VTerm, scrollback: bool = False) -> str:
    """The screen (and history) as text with SGR, as ``capture --ansi`` renders it."""
    styles = StyleTable()
    reader = ScreenReader(vt, styles)
    try:
        return styled_text(reader.screen_rows(scrollback, styles), vt.size[0], styles)
    finally:
        reader.close()


def busy_terminal(lines: int = 3000, cols: int = 100) -> VTerm:
    vt = VTerm(cols, 30, 10_000)
    vt.feed("".join(f"\x1b[3{i % 8}mline {i:05d}\x1b[0m \x1b[48;5;{i % 256}m{'x' * (i % 70)}\x1b[0m\r\n"
                    for i in range(lines)).encode())
    vt.feed(b"\x1b]0;the title\x07\x1b]7;file://host/srv/work\x07\x1b[?2004h\x1b[?1h\x1b[5 q\x1b[>1u"
            b"\x1b]4;1;rgb:12/34/56\x07\x1b[3;20r\x1b[10;15H\x1b[4munderlined")
    return vt


def state_of(vt: VTerm) -> dict[str, object]:
    return {"screen": styled(vt), "history": styled(vt, scrollback=True), "cursor": vt.term.cursor,
            "title": vt.title, "pwd": vt.pwd, "modes": (vt.mode(2004), vt.mode(1), vt.mode(2027)),
            "palette": vt.palette_bytes(), "rows": vt.scrollback_rows(), "size": vt.size}


def test_round_trip_is_exact_and_continues_identically() -> None:
    vt = busy_terminal()
    restored = VTerm.from_snapshot(vt.snapshot(), 10_000)
    assert state_of(restored) == state_of(vt)
    more = b"\x1b[1;1Hafter\x1b[31m red\r\n" * 40   # scrolls inside the restored scroll region
    vt.feed(more)
    restored.feed(more)
    assert state_of(restored) == state_of(vt)


def test_alternate_screen_and_primary_both_come_back() -> None:
    vt = VTerm(40, 10, 1000)
    vt.feed(b"primary text\r\n\x1b[?1049h\x1b[2J\x1b[3;3Hfull screen app")
    restored = VTerm.from_snapshot(vt.snapshot(), 1000)
    assert restored.alt_screen() and "full screen app" in restored.capture()
    restored.feed(b"\x1b[?1049l")
    vt.feed(b"\x1b[?1049l")
    assert restored.capture() == vt.capture() and "primary text" in restored.capture()


@pytest.mark.parametrize(("head", "tail"), [
    (b"abc\x1b[3", b"1mRED\x1b[0m"),                 # CSI cut after a parameter digit
    (b"abc\x1b", b"[1mBOLD"),                         # right after ESC
    (b"abc\x1b]0;half a ti", b"tle\x07done"),         # OSC title
    (b"abc\xe2\x82", b"\xac euro"),                   # UTF-8 cut inside a character
], ids=["csi", "esc", "osc", "utf8"])
def test_a_snapshot_taken_mid_escape_resumes(head: bytes, tail: bytes) -> None:
    vt = VTerm(40, 5, 100)
    vt.feed(head)
    restored = VTerm.from_snapshot(vt.snapshot(), 100)
    vt.feed(tail)
    restored.feed(tail)
    assert styled(restored) == styled(vt)
    assert restored.title == vt.title
    # A restored terminal keeps tracking: it can be snapshotted mid-escape again (the next restart).
    restored.feed(head)
    again = VTerm.from_snapshot(restored.snapshot(), 100)
    again.feed(tail)
    restored.feed(tail)
    assert styled(again) == styled(restored)


def test_garbage_is_refused_not_crashed_on() -> None:
    good = busy_terminal(50).snapshot()
    for bad in (b"", b"GHOSTSNP", good[:len(good) // 2], good[:12] + bytes(200) + good[212:], b"x" * 1000):
        with pytest.raises(SnapshotError):
            VTerm.from_snapshot(bad, 100)


def test_trim_keeps_the_newest_history_in_whole_pages() -> None:
    vt = busy_terminal(5000)
    total = vt.scrollback_rows()
    trimmed, kept = snapshot.trim(vt.snapshot(), 1000)
    assert 1000 <= kept < total
    restored = VTerm.from_snapshot(trimmed, 10_000)
    assert restored.scrollback_rows() == kept
    assert restored.capture() == vt.capture()                            # the screen is untouched
    assert restored.capture(scrollback=True).splitlines()[-40:] == vt.capture(scrollback=True).splitlines()[-40:]
    assert "line 00000" not in restored.capture(scrollback=True)         # the oldest rows went


def test_fit_cuts_history_until_the_budget_holds() -> None:
    screens = {}
    for pane_id in (1, 2):
        vt = busy_terminal(4000)
        raw = vt.snapshot()
        screens[pane_id] = SavedScreen(1, zlib.compress(raw, 1), vt.scrollback_rows(), 0)
    total = sum(len(s.data) for s in screens.values())
    fitted, left_out = fit(screens, total // 3)
    assert not left_out
    assert sum(len(s.data) for s in fitted.values()) <= total // 3
    for pane_id, screen in fitted.items():
        assert screen.history_rows < screens[pane_id].history_rows
        assert screen.dropped_rows == screens[pane_id].history_rows - screen.history_rows
        assert VTerm.from_snapshot(zlib.decompress(screen.data), 10_000).scrollback_rows() == screen.history_rows
    # A budget below even the screens: whole screens are left out, largest first.
    fitted, left_out = fit(screens, 10)
    assert left_out == {1, 2} and not fitted
