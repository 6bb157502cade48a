"""Commands about windows and layouts: list, open, select, close, rename, switch layout, size."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from dullahan.commands.table import Args, Host, NoArgs, WindowId, command, opt
from dullahan.session.layout import MAX_CHILDREN, MAX_DEPTH
from dullahan.session.window import Window

LayoutName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Cells = Annotated[int, msgspec.Meta(ge=1, le=1000)]
WINDOW_OPTION = opt("-t", "--window", metavar="W", help="the window (default: the active one)")
WINDOW_LONG = opt("--window", metavar="W", help="the window (default: the active one)")   # where -t is a pane


def window_json(window: Window) -> dict[str, Any]:
    return {"id": window.id, "name": window.name, "layout": window.layout_name, "panes": list(window.slots),
            "hidden": list(window.hidden)}


def window_text(w: dict[str, Any]) -> str:
    text = f"window {w['id']} ({w['layout']}): panes " + " ".join(str(p) if p else "-" for p in w["panes"])
    return text + (f", hidden {' '.join(map(str, w['hidden']))}" if w.get("hidden") else "")


def _windows_text(ws: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{w['id']}{'*' if w['active'] else ' '} {w['layout']:<10} {w['cols']}x{w['rows']}"
        f"  panes {' '.join(str(p) if p else '-' for p in w['panes'])}"
        + (f"  hidden {' '.join(map(str, w['hidden']))}" if w["hidden"] else "")
        + (f"  {w['name']}" if w.get("name") else "") for w in ws)


@command("windows", "list windows", text=_windows_text, listing=True)
def windows(host: Host, args: NoArgs) -> list[dict[str, Any]]:
    session = host.session
    return [{"id": w.id, "name": w.name, "layout": w.layout_name, "active": w.id == session.active_window,
             "cols": w.cols, "rows": w.rows, "panes": w.slots, "hidden": w.hidden, "focused_pane": w.active,
             "zoomed": w.zoomed} for w in session.windows.values()]


WindowName = Annotated[str, msgspec.Meta(max_length=64)]


class NewWindowArgs(Args, kw_only=True, frozen=True):
    layout: Annotated[LayoutName | None, opt("--layout", metavar="T", help="layout template (see 'dullahan layouts')"),
                      ] = None
    name: Annotated[WindowName | None, opt("-n", "--name", help="the window's name")] = None
    cols: Annotated[Cells | None, opt("--cols", help="its area in cells (default: the active window's)")] = None
    rows: Annotated[Cells | None, opt("--rows")] = None


@command("new-window", "open a window", text=window_text, browser=True, listing=True)
def new_window(host: Host, args: NewWindowArgs) -> dict[str, Any]:
    window = host.session.new_window(args.layout, args.cols, args.rows)
    if args.name:
        host.session.rename_window(window.id, args.name)
    return window_json(window)


class WindowArg(Args, kw_only=True, frozen=True):
    window: Annotated[WindowId, opt(metavar="W", help="window id")]


@command("select-window", "make a window the active one", browser=True)
def select_window(host: Host, args: WindowArg) -> dict[str, Any]:
    return {"id": host.session.select_window(args.window).id}


@command("kill-window", "close a window and its panes", browser=True)
def kill_window(host: Host, args: WindowArg) -> None:
    host.session.kill_window(args.window)


class RenameWindowArgs(Args, kw_only=True, frozen=True):
    name: Annotated[WindowName, opt(metavar="NAME", help="the new name ('' clears it)")]
    window: Annotated[WindowId | None, WINDOW_OPTION] = None


@command("rename-window", "name a window (tabs show the name, else the active pane's title)", browser=True,
         text=lambda w: f"window {w['id']}: {w['name'] or '(no name)'}")
def rename_window(host: Host, args: RenameWindowArgs) -> dict[str, Any]:
    return window_json(host.session.rename_window(args.window, args.name))


class LayoutArgs(Args, kw_only=True, frozen=True):
    layout: Annotated[LayoutName | None, opt(metavar="T", help="layout template")] = None
    window: Annotated[WindowId | None, WINDOW_OPTION] = None
    tree: Annotated[Any, opt("--tree", metavar="JSON", help="a layout tree instead of a template")] = None

    def __post_init__(self) -> None:
        if (self.layout is None) == (self.tree is None):
            raise ValueError("give a layout template or a tree, not both")


@command("layout", "switch a window's layout (panes that no longer fit are hidden, not killed)", text=window_text,
         browser=True, listing=True)
def layout(host: Host, args: LayoutArgs) -> dict[str, Any]:
    return window_json(host.session.set_layout(args.window, args.layout, args.tree))


def _layouts_text(r: dict[str, Any]) -> str:
    lines = ["builtin: " + " ".join(r["builtin"])]
    if r["user"]:
        lines.append("user:    " + " ".join(sorted(r["user"])))
    if r.get("error"):
        lines.append(f"error:   {r['error']}")
    return "\n".join(lines)


@command("layouts", "list layout templates", text=_layouts_text, listing=True)
def layouts(host: Host, args: NoArgs) -> dict[str, Any]:
    templates = host.session.current_templates()
    return {**templates.to_json(), "error": templates.error}


class ResizeWindowArgs(Args, kw_only=True, frozen=True):
    cols: Annotated[Cells, opt(metavar="COLS")]
    rows: Annotated[Cells, opt(metavar="ROWS")]
    window: Annotated[WindowId | None, WINDOW_OPTION] = None


@command("resize-window", "set a window's area in cells (normally the master's browser does)", browser=True)
def resize_window(host: Host, args: ResizeWindowArgs) -> dict[str, Any]:
    session = host.session
    window = session.window(args.window)
    session.resize_window(window.id, args.cols, args.rows)
    return {"id": window.id, "cols": window.cols, "rows": window.rows}


Percent = Annotated[float, msgspec.Meta(gt=0, le=100)]


class SplitSizesArgs(Args, kw_only=True, frozen=True):
    path: Annotated[tuple[Annotated[int, msgspec.Meta(ge=0, lt=MAX_CHILDREN)], ...],
                    msgspec.Meta(max_length=MAX_DEPTH + 2), opt(metavar="PATH")]
    sizes: Annotated[tuple[Percent, ...], msgspec.Meta(min_length=2, max_length=MAX_CHILDREN), opt(metavar="SIZES")]
    window: Annotated[WindowId | None, WINDOW_OPTION] = None


@command("set-split-sizes", "new percentages for the split at PATH (a divider dragged in the browser)",
         browser=True, cli=False)
def set_split_sizes(host: Host, args: SplitSizesArgs) -> None:
    host.session.set_split_sizes(args.window, args.path, args.sizes)
