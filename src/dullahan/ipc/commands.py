"""The commands the control socket understands, each a small function over the server.

The CLI (``dullahan panes``, ``dullahan send`` ...) sends these; results are plain JSON data that the CLI
prints as text or, with ``--json``, as it is.
"""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from dullahan import __version__, tokens
from dullahan.config import RuntimePaths, Settings
from dullahan.ipc.protocol import MAX_TEXT, Args, RequestError
from dullahan.log import SpecError, log
from dullahan.session.pane import InputFull, PaneDead
from dullahan.session.session import Session, SessionError


class Server(Protocol):
    """What the commands need of the server process (``dullahan.server.Server`` provides it)."""

    settings: Settings
    session: Session
    paths: RuntimePaths
    pid: int

    def uptime(self) -> float: ...
    def urls(self) -> dict[str, str]: ...
    def set_tokens(self, new: tokens.Tokens) -> None: ...
    def client_count(self) -> int: ...
    def client_list(self) -> list[dict[str, Any]]: ...
    def disconnect_counts(self) -> dict[str, int]: ...
    def request_stop(self, reason: str) -> None: ...
    def continuity_status(self) -> dict[str, Any]: ...
    async def restart(self) -> dict[str, Any]: ...


Handler = Callable[[Server, Args], Any]
MAX_ID = 2**31

COMMANDS: dict[str, tuple[set[str], Handler]] = {}


def command(name: str, *allowed: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = (set(allowed), fn)
        return fn
    return register


async def dispatch(server: Server, cmd: str, raw_args: dict[str, Any]) -> Any:
    entry = COMMANDS.get(cmd)
    if entry is None:
        raise RequestError(f"unknown command {cmd!r}; known: {', '.join(sorted(COMMANDS))}")
    allowed, handler = entry
    args = Args(raw_args, allowed)
    try:
        result = handler(server, args)
        if isinstance(result, Awaitable):
            result = await result
        return result
    except (SessionError, InputFull, PaneDead, SpecError) as e:
        raise RequestError(str(e)) from e


@command("status")
def status(server: Server, args: Args) -> dict[str, Any]:
    session = server.session
    return {
        "version": __version__,
        "pid": server.pid,
        "port": server.settings.port,
        "bind": server.settings.bind,
        "tls": server.settings.tls_cert is not None,
        "uptime": round(server.uptime(), 3),
        "windows": len(session.windows),
        "panes": len(session.panes),
        "clients": server.client_count(),
        "log": str(server.paths.logfile),
        "socket": str(server.paths.socket),
        "debug": sorted(log.enabled),
        "errors_logged": log.errors,
        "templates": str(session.templates_path),
        "templates_error": session.current_templates().error,
        "disconnects": server.disconnect_counts(),
        "urls": server.urls(),
        **server.continuity_status(),
    }


@command("windows")
def windows(server: Server, args: Args) -> list[dict[str, Any]]:
    session = server.session
    out = []
    for window in session.windows.values():
        out.append({"id": window.id, "layout": window.layout_name, "active": window.id == session.active_window,
                    "cols": window.cols, "rows": window.rows, "panes": window.slots, "hidden": window.hidden,
                    "focused_pane": window.active})
    return out


@command("panes", "window")
def panes(server: Server, args: Args) -> list[dict[str, Any]]:
    session = server.session
    window = args.opt_int("window", 1, MAX_ID)
    wanted = set(session.window(window).pane_ids()) if window is not None else None
    return [session.pane_info(p) for p in session.panes.values() if wanted is None or p.id in wanted]


@command("new-window", "layout", "cols", "rows")
def new_window(server: Server, args: Args) -> dict[str, Any]:
    cols, rows = args.opt_int("cols", 1, 1000), args.opt_int("rows", 1, 1000)
    window = server.session.new_window(args.opt_str("layout", 64), cols, rows)
    return {"id": window.id, "layout": window.layout_name, "panes": window.slots}


@command("layout", "window", "layout")
def set_layout(server: Server, args: Args) -> dict[str, Any]:
    window = server.session.set_layout(args.opt_int("window", 1, MAX_ID), args.str("layout", 64))
    return {"id": window.id, "layout": window.layout_name, "panes": window.slots, "hidden": window.hidden}


@command("layouts")
def layouts(server: Server, args: Args) -> dict[str, Any]:
    templates = server.session.current_templates()
    return {**templates.to_json(), "error": templates.error}


@command("select-window", "window")
def select_window(server: Server, args: Args) -> dict[str, Any]:
    window = server.session.select_window(args.int("window", 1, MAX_ID))
    return {"id": window.id}


@command("kill-window", "window")
def kill_window(server: Server, args: Args) -> None:
    server.session.kill_window(args.int("window", 1, MAX_ID))


@command("kill-pane", "pane")
def kill_pane(server: Server, args: Args) -> None:
    server.session.kill_pane(args.int("pane", 1, MAX_ID))


@command("respawn", "pane", "kill")
def respawn(server: Server, args: Args) -> dict[str, Any]:
    session = server.session
    pane = session.pane(args.int("pane", 1, MAX_ID))
    if args.bool("kill") and pane.alive:
        raise RequestError("--kill is not supported while the pane runs; use kill-pane then new-window")
    session.respawn(pane.id)
    return session.pane_info(pane)


@command("resize-window", "window", "cols", "rows")
def resize_window(server: Server, args: Args) -> dict[str, Any]:
    session = server.session
    window = session.window(args.opt_int("window", 1, MAX_ID))
    session.resize_window(window.id, args.int("cols", 1, 1000), args.int("rows", 1, 1000))
    return {"id": window.id, "cols": window.cols, "rows": window.rows}


@command("send", "pane", "text", "enter")
def send(server: Server, args: Args) -> dict[str, Any]:
    pane = server.session.pane(args.int("pane", 1, MAX_ID))
    text = args.str("text", MAX_TEXT)
    data = text.encode("utf-8", "surrogateescape") + (b"\r" if args.bool("enter") else b"")
    return {"bytes": pane.write(data)}


@command("capture", "pane", "scrollback", "ansi")
def capture(server: Server, args: Args) -> dict[str, Any]:
    pane = server.session.pane(args.int("pane", 1, MAX_ID))
    return {"text": pane.capture(scrollback=args.bool("scrollback"), ansi=args.bool("ansi"))}


@command("debug-log", "spec")
def debug_log(server: Server, args: Args) -> dict[str, Any]:
    enabled = log.set_spec(args.str("spec", 512))
    log.info("server", "debug categories changed", enabled=",".join(sorted(enabled)) or "none")
    return {"enabled": sorted(enabled)}


@command("url")
def url(server: Server, args: Args) -> dict[str, str]:
    return server.urls()


@command("token", "rotate")
def token(server: Server, args: Args) -> dict[str, str]:
    if args.bool("rotate"):
        server.set_tokens(tokens.rotate(server.settings.port))
        log.info("auth", "tokens rotated; existing browser sessions are signed out")
    return server.urls()


@command("clients")
def clients(server: Server, args: Args) -> list[dict[str, Any]]:
    return server.client_list()


@command("restart")
async def restart(server: Server, args: Args) -> dict[str, Any]:
    return await server.restart()


@command("rerun", "pane")
def rerun(server: Server, args: Args) -> dict[str, Any]:
    """Type the command that ran in a pane before it was restored (and press Enter): only when asked."""
    pane = server.session.pane(args.int("pane", 1, MAX_ID))
    if not pane.previous_command:
        raise RequestError(f"pane {pane.id} has no previous command to run")
    line = shlex.join(pane.previous_command)
    pane.write(line.encode("utf-8", "surrogateescape") + b"\r")
    pane.previous_command = None
    return {"pane": pane.id, "command": line}


@command("quit")
def quit_(server: Server, args: Args) -> dict[str, Any]:
    server.request_stop("quit command")
    return {"stopping": True}
