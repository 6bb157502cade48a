"""Commands about panes: list, split, close, select, zoom and resize, swap, move between windows, respawn."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from dullahan.commands.table import Args, Host, PaneId, WindowId, command, opt
from dullahan.commands.windows import WINDOW_LONG, WINDOW_OPTION, window_json, window_text

Direction = Literal["left", "right", "up", "down"]
DIRECTION_FLAGS = {"-L": "left", "-R": "right", "-U": "up", "-D": "down"}
TARGET = opt("-t", "--target", metavar="PANE", help="the pane (default: the active pane)")


def pane_line(p: dict[str, Any]) -> str:
    state = "running" if p["running"] else (p["exit"]["text"] if p.get("exit") else "starting")
    where = f"window {p['window']} slot {p['slot']}" if p["visible"] else f"window {p['window']} hidden"
    title = f"  {p['title']}" if p.get("title") else ""
    return f"{p['id']}  {where}  {p['cols']}x{p['rows']}  pid {p['pid']}  {state}{title}"


class PanesArgs(Args, kw_only=True, frozen=True):
    window: Annotated[WindowId | None, opt("--window", metavar="W", help="only the panes of this window")] = None


@command("panes", "list panes, one per line, starting with the pane id",
         text=lambda ps: "\n".join(pane_line(p) for p in ps), listing=True)
def panes(host: Host, args: PanesArgs) -> list[dict[str, Any]]:
    session = host.session
    wanted = set(session.window(args.window).pane_ids()) if args.window is not None else None
    return [session.pane_info(p) for p in session.panes.values() if wanted is None or p.id in wanted]


class SplitArgs(Args, kw_only=True, frozen=True):
    direction: Annotated[Direction, opt(consts={"-h": "right", "-v": "down"},
                                        help="-h: side by side, the new pane on the right; -v: stacked, below "
                                             "(the default)")] = "down"
    target: Annotated[PaneId | None, TARGET] = None
    cwd: Annotated[Annotated[str, msgspec.Meta(max_length=4096)] | None,
                   opt("-c", "--cwd", metavar="DIR", help="start the shell here (default: the pane's directory)"),
                   ] = None


@command("split-window", "split a pane in two: a new shell beside it", browser=True, listing=True,
         text=lambda p: pane_line(p))
def split_window(host: Host, args: SplitArgs) -> dict[str, Any]:
    session = host.session
    return session.pane_info(session.split_pane(args.target, args.direction, cwd=args.cwd))


class PaneArg(Args, kw_only=True, frozen=True):
    pane: Annotated[PaneId, opt(metavar="PANE", help="pane id")]


@command("kill-pane", "close a pane (its process gets SIGHUP); the layout closes the gap", browser=True)
def kill_pane(host: Host, args: PaneArg) -> None:
    host.session.kill_pane(args.pane)


@command("respawn", "restart the shell of a pane whose process has exited", browser=True, listing=True,
         text=pane_line)
def respawn(host: Host, args: PaneArg) -> dict[str, Any]:
    session = host.session
    return session.pane_info(session.respawn(args.pane))


class SelectPaneArgs(Args, kw_only=True, frozen=True):
    target: Annotated[PaneId | None, TARGET] = None
    direction: Annotated[Direction | None, opt(consts=DIRECTION_FLAGS,
                                               help="-L/-R/-U/-D: the pane to the left, right, above, below")] = None
    index: Annotated[Annotated[int, msgspec.Meta(ge=0, le=64)] | None,
                     opt("-n", "--index", metavar="N", help="the window's pane number N (0 is the first)")] = None
    window: Annotated[WindowId | None, WINDOW_LONG] = None

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.target, self.direction, self.index)) != 1:
            raise ValueError("give one of a pane (-t), a direction (-L/-R/-U/-D) or a number (-n)")


@command("select-pane", "make a pane the active one: by id, by direction or by number", browser=True,
         text=lambda r: f"pane {r['pane']}")
def select_pane(host: Host, args: SelectPaneArgs) -> dict[str, Any]:
    session = host.session
    if args.target is not None:
        session.focus_pane(args.target)
        return {"pane": args.target}
    if args.direction is not None:
        return {"pane": session.select_pane_direction(args.direction, args.window).id}
    assert args.index is not None
    return {"pane": session.select_pane_index(args.index, args.window).id}


class ResizePaneArgs(Args, kw_only=True, frozen=True):
    target: Annotated[PaneId | None, TARGET] = None
    zoom: Annotated[bool, opt("-Z", "--zoom", help="zoom the pane to the whole window, or back")] = False
    direction: Annotated[Direction | None, opt(consts=DIRECTION_FLAGS,
                                               help="-L/-R/-U/-D: move the pane's border that way")] = None
    cells: Annotated[Annotated[int, msgspec.Meta(ge=1, le=1000)], opt(metavar="N", help="by N cells (default 1)")] = 1

    def __post_init__(self) -> None:
        if self.zoom == (self.direction is not None):
            raise ValueError("give -Z (zoom) or a direction (-L/-R/-U/-D)")


@command("resize-pane", "zoom a pane (-Z) or move its border by N cells (-L/-R/-U/-D N)", browser=True,
         text=lambda r: ("zoomed" if r.get("zoomed") else "unzoomed") if "zoomed" in r
         else ("resized" if r["resized"] else "nothing to move"))
def resize_pane(host: Host, args: ResizePaneArgs) -> dict[str, Any]:
    session = host.session
    if args.zoom:
        return {"zoomed": session.zoom_pane(args.target)}
    assert args.direction is not None
    return {"resized": session.resize_pane(args.target, args.direction, args.cells)}


class SwapPaneArgs(Args, kw_only=True, frozen=True):
    source: Annotated[PaneId | None, opt("-s", "--source", metavar="PANE", help="default: the active pane")] = None
    target: Annotated[PaneId, opt("-t", "--target", metavar="PANE", help="the pane to swap with")]


@command("swap-pane", "exchange two panes' places (also across windows)", browser=True)
def swap_pane(host: Host, args: SwapPaneArgs) -> None:
    session = host.session
    source = args.source if args.source is not None else session.active_pane().id
    session.swap_panes(source, args.target)


class BreakPaneArgs(Args, kw_only=True, frozen=True):
    target: Annotated[PaneId | None, TARGET] = None
    detached: Annotated[bool, opt("-d", help="do not make the new window the active one")] = False


@command("break-pane", "move a pane out into a new window of its own", browser=True, listing=True,
         text=window_text)
def break_pane(host: Host, args: BreakPaneArgs) -> dict[str, Any]:
    return window_json(host.session.break_pane(args.target, select=not args.detached))


class JoinPaneArgs(Args, kw_only=True, frozen=True):
    source: Annotated[PaneId | None, opt("-s", "--source", metavar="PANE", help="default: the active pane")] = None
    target: Annotated[PaneId, opt("-t", "--target", metavar="PANE", help="the pane to join it to")]
    direction: Annotated[Direction, opt(consts={"-h": "right", "-v": "down"},
                                        help="-h: beside the target; -v: below it (the default)")] = "down"


@command("join-pane", "move a pane next to another one, in its window", browser=True, listing=True,
         text=window_text)
def join_pane(host: Host, args: JoinPaneArgs) -> dict[str, Any]:
    session = host.session
    source = args.source if args.source is not None else session.active_pane().id
    return window_json(session.join_pane(source, args.target, args.direction))


class ShowPaneArgs(Args, kw_only=True, frozen=True):
    pane: Annotated[PaneId, opt(metavar="PANE", help="a pane of the window (hidden or shown)")]
    slot: Annotated[Annotated[int, msgspec.Meta(ge=0, le=15)], opt(metavar="SLOT", help="the slot to put it in")]
    window: Annotated[WindowId | None, WINDOW_OPTION] = None


@command("show-pane", "put a (hidden) pane into a slot; the pane there is hidden or swapped", browser=True,
         listing=True, text=window_text)
def show_pane(host: Host, args: ShowPaneArgs) -> dict[str, Any]:
    return window_json(host.session.show_pane(args.pane, args.slot, args.window))


class NewPaneArgs(Args, kw_only=True, frozen=True):
    window: Annotated[WindowId | None, WINDOW_OPTION] = None


@command("new-pane", "a new shell in the window's first empty slot (hidden if there is none)", browser=True,
         listing=True, text=pane_line)
def new_pane(host: Host, args: NewPaneArgs) -> dict[str, Any]:
    session = host.session
    return session.pane_info(session.split_new_pane(args.window))
