"""Pane and window operations on a real Session: real PTYs, real shells, tmux's vocabulary."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from dullahan.config import Settings
from dullahan.formats import expand
from dullahan.session.layout import MAX_SLOTS, Leaf, Split, geometry
from dullahan.session.pane import Pane
from dullahan.session.session import Session, SessionError
from dullahan.session.window import Window
from helpers import async_wait_for, run
from test_pane import winsize

pytestmark = pytest.mark.usefixtures("isolated_xdg")

BASH = ["bash", "--noprofile", "--norc"]


class Changes:
    """A session listener that counts layout notifications."""

    def __init__(self) -> None:
        self.layouts = 0

    def pane_output(self, pane: Pane) -> None:
        pass

    def layout_changed(self) -> None:
        self.layouts += 1


def with_session(body: Callable[[Session, Window, Changes], Awaitable[None]], *, shell: list[str] | None = None,
                 layout: str = "single", cols: int = 121, rows: int = 40) -> None:
    """Run ``body(session, window, changes)`` with a fresh session of one window; always shut down."""
    async def main() -> None:
        session = Session(Settings(shell=shell or BASH), asyncio.get_running_loop())
        changes = Changes()
        session.listeners.append(changes)
        try:
            window = session.new_window(layout, cols, rows)
            await body(session, window, changes)
        finally:
            await session.shutdown()
    run(main())


def pty_size(session: Session, pane_id: int) -> tuple[int, int]:
    proc = session.panes[pane_id].proc
    assert proc is not None
    return winsize(proc.fd)


def assert_sizes_follow_layout(session: Session, window: Window) -> None:
    """Every pane in a slot has its rect's size, in the terminal and in the kernel's PTY."""
    for pane_id, rect in zip(window.slots, window.geometry().panes, strict=True):
        assert pane_id is not None
        assert session.panes[pane_id].size == (rect.cols, rect.rows), pane_id
        assert pty_size(session, pane_id) == (rect.cols, rect.rows), pane_id


async def shell_says(pane: Pane, command: str, expect: str, timeout: float = 15) -> str:
    await async_wait_for(lambda: "$" in pane.capture(), timeout, message=pane.capture)
    pane.write(command.encode() + b"\r")
    return await async_wait_for(lambda: expect in pane.capture() and pane.capture(), timeout,
                                message=pane.capture)


def layout_window(session: Session, window: Window) -> dict[str, object]:
    found = next(w for w in session.layout_json()["windows"] if w["id"] == window.id)  # type: ignore[index, union-attr]
    assert isinstance(found, dict)
    return found


# --- split ------------------------------------------------------------------------------------------


def test_split_right_then_down_grows_the_tree_and_starts_shells() -> None:
    async def body(session: Session, window: Window, changes: Changes) -> None:
        first = window.slots[0]
        assert first is not None
        before = changes.layouts
        right = session.split_pane(first, "right")
        assert changes.layouts == before + 1
        assert window.tree == Split("row", (Leaf(), Leaf()))
        assert window.slots == [first, right.id] and window.active == right.id
        below = session.split_pane(None, "down")   # the active pane: the right one
        assert window.slots == [first, right.id, below.id] and window.active == below.id
        assert window.tree == Split("row", (Leaf(), Split("column", (Leaf(), Leaf()))))
        assert window.layout_name == "custom"
        assert len({first, right.id, below.id}) == 3 and below.id > right.id > first
        assert_sizes_follow_layout(session, window)
        await shell_says(below, "echo from-$((6*7))", "from-42")
    with_session(body)


def test_split_left_and_up_put_the_new_pane_first() -> None:
    async def body(session: Session, window: Window, changes: Changes) -> None:
        first = window.slots[0]
        assert first is not None
        left = session.split_pane(first, "left")
        assert window.slots == [left.id, first]
        above = session.split_pane(first, "up")
        assert window.slots == [left.id, above.id, first]
        assert_sizes_follow_layout(session, window)
    with_session(body, shell=["cat"])


def test_split_starts_in_the_split_panes_directory(tmp_path: Path) -> None:
    place = tmp_path / "work dir"
    place.mkdir()

    async def body(session: Session, window: Window, changes: Changes) -> None:
        pane = session.active_pane()
        await shell_says(pane, f"cd '{place}' && echo moved", "moved")
        assert session.pane_current_path(pane) == str(place)
        new = session.split_pane(None, "down")
        await shell_says(new, f"[ \"$PWD\" = '{place}' ] && echo same-dir", "same-dir")
        elsewhere = session.split_pane(None, "right", cwd=str(tmp_path))
        await shell_says(elsewhere, f"[ \"$PWD\" = '{tmp_path}' ] && echo given-dir", "given-dir")
        with pytest.raises(SessionError, match="not a directory"):
            session.split_pane(None, "right", cwd=str(place / "missing"))
    with_session(body)


def test_split_refusals_change_nothing() -> None:
    async def body(session: Session, window: Window, changes: Changes) -> None:
        session.set_layout(window.id, "2x2")
        for direction in ("right", "down"):
            for pane_id in list(window.visible()):
                session.split_pane(pane_id, direction)
        assert len(window.slots) == MAX_SLOTS
        panes, tree, notified = dict(session.panes), window.tree, changes.layouts
        with pytest.raises(SessionError, match=f"at most {MAX_SLOTS} panes"):
            session.split_pane(None, "right")
        with pytest.raises(SessionError, match="direction must be one of"):
            session.split_pane(None, "diagonal")
        with pytest.raises(SessionError, match="no pane 999"):
            session.split_pane(999, "right")
        assert session.panes == panes and window.tree is tree and changes.layouts == notified
        assert_sizes_follow_layout(session, window)
    with_session(body, shell=["cat"], cols=200, rows=60)


def test_split_needs_room_in_the_window() -> None:
    async def body(session: Session, window: Window, changes: Changes) -> None:
        session.split_pane(None, "right")
        with pytest.raises(SessionError, match="no room to split"):
            session.split_pane(None, "right")   # 5 columns cannot hold three panes and two dividers
        session.split_pane(None, "down")
        assert len(window.slots) == 3
    with_session(body, shell=["cat"], cols=4, rows=10)


# --- close ------------------------------------------------------------------------------------------


def test_kill_pane_closes_the_gap_and_ids_are_not_reused() -> None:
    async def body(session: Session, window: Window, changes: Changes) -> None:
        a = window.slots[0]
        b = session.split_pane(a, "right").id
        c = session.split_pane(b, "right").id
        session.kill_pane(b)
        assert window.slots == [a, c] and isinstance(window.tree, Split) and len(window.tree.children) == 2
        assert window.active == c
        assert_sizes_follow_layout(session, window)
        session.kill_pane(c)
        assert window.slots == [a] and window.tree == Leaf()
        assert pty_size(session, a) == (121, 39)   # the whole window again, less the title row
        d = session.split_pane(a, "down").id
        assert d > c
    with_session(body, shell=["cat"])


def test_closing_the_only_shown_pane_brings_a_hidden_one() -> None:
    async def body(session: Session, window: Window, changes: Changes) -> None:
        a, b = window.slots
        session.set_layout(window.id, "single")
        assert window.slots == [a] and window.hidden == [b]
        session.kill_pane(a)
        assert window.slots == [b] and window.hidden == [] and window.active == b
        assert_sizes_follow_layout(session, window)
    with_session(body, shell=["cat"], layout="2-col")


# --- zoom -------------------------------------------------------------------------------------------


def test_zoom_gives_the_pane_the_whole_window_and_leaves_the_others_alone() -> None:
    async def body(session: Session, window: Window, changes: Changes) -> None:
        a, b, c = window.slots
        assert a is not None and b is not None and c is not None
        sizes = {p: pty_size(session, p) for p in (a, b, c)}
        assert session.zoom_pane(b) is True
        assert window.zoomed == b and window.active == b and window.shown() == [b]
        assert pty_size(session, b) == (121, 39) and session.panes[b].size == (121, 39)
        assert pty_size(session, a) == sizes[a] and pty_size(session, c) == sizes[c]
        shown = layout_window(session, window)
        assert shown["zoomed"] == b and shown["splits"] == []
        assert shown["rects"] == [None, [0, 1, 121, 39], None]
        # Still zoomed when the window is resized: only the zoomed pane follows.
        session.resize_window(window.id, 101, 30)
        assert pty_size(session, b) == (101, 29) and pty_size(session, a) == sizes[a]
        assert session.zoom_pane(b) is False
        assert window.zoomed is None
        assert_sizes_follow_layout(session, window)
        assert layout_window(session, window)["zoomed"] is None
    with_session(body, shell=["cat"], layout="main-2side")


def test_zoom_toggles_and_ends_with_any_change_to_the_layout() -> None:
    async def body(session: Session, window: Window, changes: Changes) -> None:
        a, b = window.slots
        assert session.zoom_pane(a) is True
        assert session.zoom_pane(a, zoom=True) is True      # already zoomed: no change
        notified = changes.layouts
        assert session.zoom_pane(a) is False                 # toggled back
        assert changes.layouts == notified + 1
        session.zoom_pane(a)
        new = session.split_pane(a, "down")
        assert window.zoomed is None and window.active == new.id
        assert_sizes_follow_layout(session, window)
        session.zoom_pane(new.id)
        session.focus_pane(b)                                # another pane: the zoom ends, as in tmux
        assert window.zoomed is None and window.active == b
        assert_sizes_follow_layout(session, window)
        session.zoom_pane(b)
        session.kill_pane(b)
        assert window.zoomed is None
        assert_sizes_follow_layout(session, window)
    with_session(body, shell=["cat"], layout="2-col")


def test_zoom_refuses_a_lone_or_hidden_pane() -> None:
    async def body(session: Session, window: Window, changes: Changes) -> None:
        with pytest.raises(SessionError, match="nothing to zoom"):
            session.zoom_pane(None)
        hidden = session.split_new_pane(window.id)   # the full single layout hides it
        assert window.hidden == [hidden.id]
        with pytest.raises(SessionError, match="hidden"):
            session.zoom_pane(hidden.id)
    with_session(body, shell=["cat"])


# --- swap, join, break ---------------------------------------------------------------------------


def test_swap_panes_in_one_window() -> None:
    async def body(session: Session, window: Window, changes: Changes) -> None:
        a, b, c = window.slots
        assert a is not None and c is not None
        pids = {p: session.panes[p].proc.pid for p in (a, b, c)}  # type: ignore[union-attr]
        session.focus_pane(a)
        session.swap_panes(a, c)
        assert window.slots == [c, b, a] and window.active == a
        assert {p: session.panes[p].proc.pid for p in (a, b, c)} == pids  # type: ignore[union-attr]
        assert_sizes_follow_layout(session, window)
        with pytest.raises(SessionError, match="itself"):
            session.swap_panes(a, a)
    with_session(body, shell=["cat"], layout="main-2side")


def test_swap_panes_across_windows_and_with_a_hidden_one() -> None:
    async def body(session: Session, window: Window, changes: Changes) -> None:
        a, b = window.slots
        other = session.new_window("single", 80, 24)
        x = other.slots[0]
        assert a is not None and x is not None
        session.swap_panes(a, x)
        assert window.slots == [x, b] and other.slots == [a]
        assert window.active == x and other.active == a
        assert_sizes_follow_layout(session, window)
        assert_sizes_follow_layout(session, other)
        assert session.window_of(a) is other
        # A hidden pane swaps places with a shown one.
        session.set_layout(window.id, "single")
        assert window.slots == [x] and window.hidden == [b]
        session.swap_panes(b, x)
        assert window.slots == [b] and window.hidden == [x]
        assert_sizes_follow_layout(session, window)
    with_session(body, shell=["cat"], layout="2-col")


def test_join_pane_moves_a_running_pane_next_to_another() -> None:
    async def body(session: Session, window: Window, changes: Changes) -> None:
        left, right = window.slots
        assert right is not None
        pane = session.panes[right]
        await shell_says(pane, "echo before-$((2*21))", "before-42")
        pid = pane.proc.pid  # type: ignore[union-attr]
        other = session.new_window("single", 121, 40)
        target = other.slots[0]
        assert target is not None
        dest = session.join_pane(right, target, "down")
        assert dest is other and other.slots == [target, right] and other.active == right
        assert other.tree == Split("column", (Leaf(), Leaf()))
        assert window.slots == [left] and window.tree == Leaf()
        assert session.active_window == other.id
        assert pane.proc.pid == pid and "before-42" in pane.capture()  # type: ignore[union-attr]
        assert_sizes_follow_layout(session, window)
        assert_sizes_follow_layout(session, other)
        await shell_says(pane, "echo after-$((3*3))", "after-9")
        # Moving the last pane of a window drops that window.
        session.join_pane(left, right, "left")  # type: ignore[arg-type]
        assert window.id not in session.windows
        assert other.slots == [target, left, right]
        assert_sizes_follow_layout(session, other)
    with_session(body, layout="2-col")


def test_join_pane_within_one_window_moves_it() -> None:
    async def body(session: Session, window: Window, changes: Changes) -> None:
        a, b, c = window.slots
        assert a is not None and c is not None
        session.join_pane(a, c, "right")     # main-2side: main goes below-right, beside the bottom one
        assert window.slots == [b, c, a]
        assert_sizes_follow_layout(session, window)
        with pytest.raises(SessionError, match="itself"):
            session.join_pane(a, a)
    with_session(body, shell=["cat"], layout="main-2side")


def test_break_pane_makes_a_window_of_it() -> None:
    async def body(session: Session, window: Window, changes: Changes) -> None:
        a, b = window.slots
        assert b is not None
        new = session.break_pane(b)
        assert new.id != window.id and new.slots == [b] and new.tree == Leaf() and new.active == b
        assert session.active_window == new.id
        assert window.slots == [a] and window.tree == Leaf()
        assert_sizes_follow_layout(session, window)
        assert_sizes_follow_layout(session, new)
        with pytest.raises(SessionError, match="only pane"):
            session.break_pane(b)
        quiet = session.break_pane(session.split_pane(a, "right").id, select=False)
        assert session.active_window == new.id and quiet.id > new.id
    with_session(body, shell=["cat"], layout="2-col")


# --- names and titles --------------------------------------------------------------------------------


def test_rename_window_and_the_tab_title() -> None:
    async def body(session: Session, window: Window, changes: Changes) -> None:
        pane = session.active_pane()
        assert layout_window(session, window)["title"] == "bash"     # no title yet: the command
        notified = changes.layouts
        pane.write(b"printf '\\033]2;editing notes\\007'\r")
        await async_wait_for(lambda: layout_window(session, window)["title"] == "editing notes", 15,
                             message=lambda: repr(layout_window(session, window)))
        assert changes.layouts > notified      # a title change of the active pane is a layout change
        session.rename_window(window.id, "  build  ")
        shown = layout_window(session, window)
        assert (shown["name"], shown["title"], shown["layout"]) == ("build", "build", "single")
        session.rename_window(None, "")
        assert layout_window(session, window)["title"] == "editing notes"
        with pytest.raises(SessionError, match="control characters"):
            session.rename_window(None, "a\x1b[31mb")
        with pytest.raises(SessionError, match="at most 64"):
            session.rename_window(None, "x" * 65)
        assert window.name == ""
    with_session(body)


# --- selecting ---------------------------------------------------------------------------------------


def test_select_pane_by_direction_wraps_and_prefers_the_last_used() -> None:
    async def body(session: Session, window: Window, changes: Changes) -> None:
        main, top, bottom = window.slots
        session.focus_pane(main)  # type: ignore[arg-type]
        assert session.select_pane_direction("right").id == top
        assert session.select_pane_direction("down").id == bottom
        assert session.select_pane_direction("left").id == main
        assert session.select_pane_direction("right").id == bottom      # the one used last
        assert session.select_pane_direction("right").id == main        # wraps around the edge
        with pytest.raises(SessionError, match=f"no pane up of pane {main}"):
            session.select_pane_direction("up")                          # main spans the whole height
        assert session.select_pane_direction("left").id == bottom       # wraps the other way
        with pytest.raises(SessionError, match=f"no pane right of pane {bottom}"):
            session.select_pane_direction("right", wrap=False)
        assert window.active == bottom
    with_session(body, shell=["cat"], layout="main-2side")


def test_select_pane_by_index_and_zoom() -> None:
    async def body(session: Session, window: Window, changes: Changes) -> None:
        a, b, c, d = window.slots
        assert session.select_pane_index(3).id == d and window.active == d
        session.zoom_pane(d)
        assert session.select_pane_index(0, keep_zoom=True).id == a and window.zoomed == a
        assert pty_size(session, a) == (121, 39)
        assert session.select_pane_direction("right", keep_zoom=True).id == b and window.zoomed == b
        assert session.select_pane_direction("down").id == d and window.zoomed is None
        assert_sizes_follow_layout(session, window)
        with pytest.raises(SessionError, match=r"panes 0\.\.3, not 4"):
            session.select_pane_index(4)
        assert c is not None
    with_session(body, shell=["cat"], layout="2x2")


# --- resizing by keyboard --------------------------------------------------------------------------


def test_resize_pane_moves_its_border_by_cells() -> None:
    async def body(session: Session, window: Window, changes: Changes) -> None:
        a, b = window.slots
        assert a is not None and b is not None
        assert pty_size(session, a) == (60, 39)
        assert session.resize_pane(a, "right", 5) is True
        assert pty_size(session, a) == (65, 39) and pty_size(session, b) == (55, 39)
        assert session.resize_pane(b, "right", 10) is True    # the last pane: its left border moves right
        assert pty_size(session, a) == (75, 39) and pty_size(session, b) == (45, 39)
        assert session.resize_pane(a, "right", 1000) is True
        assert session.resize_pane(a, "right", 1) is False     # the other pane is at its minimum
        assert pty_size(session, b)[0] == 6
        assert_sizes_follow_layout(session, window)
        with pytest.raises(SessionError, match="no neighbour above or below"):
            session.resize_pane(a, "up", 1)
        with pytest.raises(SessionError, match=r"resize by 1\.\.1000 cells"):
            session.resize_pane(a, "left", 0)
        session.zoom_pane(a)
        assert session.resize_pane(a, "left", 3) is True and window.zoomed is None
        assert_sizes_follow_layout(session, window)
    with_session(body, shell=["cat"], layout="2-col")


# --- display-message formats -----------------------------------------------------------------------


def test_display_message_values_for_a_real_pane(tmp_path: Path) -> None:
    async def body(session: Session, window: Window, changes: Changes) -> None:
        pane = session.active_pane()
        await shell_says(pane, f"cd {tmp_path} && printf '\\033]2;t1\\007' && echo ok", "ok")
        await async_wait_for(lambda: pane.meta.title == "t1", 10)
        session.rename_window(None, "w")
        fmt = ("#{session_name}|#{window_id}|#{window_name}|#{pane_id}|#{pane_title}|#{pane_current_path}|"
               "#{pane_width}x#{pane_height}|#{window_panes}|#{pane_index}|#{pane_pid}|#{no_such_var}|"
               "#{pane_current_command}")
        text = expand(fmt, session.format_values())
        proc = pane.proc
        assert proc is not None
        assert text == (f"dullahan-{session.settings.port}|@{window.id}|w|%{pane.id}|t1|{tmp_path}|"
                        f"121x39|1|0|{proc.pid}||bash")
        pane.write(b"exec sleep 30\r")
        await async_wait_for(lambda: expand("#{pane_current_command}", session.format_values()) == "sleep", 10)
        assert os.path.isdir(expand("#{pane_current_path}", session.format_values()))
    with_session(body)


def test_pane_rects_cover_the_window_like_the_tree() -> None:
    async def body(session: Session, window: Window, changes: Changes) -> None:
        assert window.pane_rects() == geometry(window.tree, window.cols, window.rows).panes
    with_session(body, shell=["cat"], layout="3x2")
