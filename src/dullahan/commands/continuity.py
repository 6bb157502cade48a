"""Commands about the session's continuity: restart the server with the shells alive, run again the command a
restored pane was running (persist/)."""

from __future__ import annotations

import shlex
import time
from typing import Any

from dullahan.commands.panes import PaneArg
from dullahan.commands.table import FAILED, CommandError, Host, NoArgs, command


def _restart_text(r: dict[str, Any]) -> str:
    return (f"pid {r['previous_pid']} → {r['pid']} (dullahan {r['from']} → {r['to']}); {r['panes']} panes kept, "
            f"output paused {r['paused'] * 1000:.0f} ms")


@command("restart", "replace the running server by a new process (the code installed now); shells keep running",
         text=_restart_text, listing=True)
async def restart(host: Host, args: NoArgs) -> dict[str, Any]:
    return await host.restart()


@command("rerun", "run again the command a restored pane was running before the restart (never done by itself)",
         text=lambda r: f"pane {r['pane']}: {r['command']}", browser=True)
def rerun(host: Host, args: PaneArg) -> dict[str, Any]:
    pane = host.session.pane(args.pane)
    if not pane.previous_command:
        raise CommandError(FAILED, f"pane {pane.id} has no previous command to run")
    line = shlex.join(pane.previous_command)
    pane.write(line.encode("utf-8", "surrogateescape") + b"\r")
    pane.previous_command = None
    return {"pane": pane.id, "command": line}


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _ago(seconds: float) -> str:
    s = int(max(0.0, seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def status_lines(s: dict[str, Any]) -> list[str]:
    """The continuity part of ``status`` as text: the keeper, the saved state, how this server began."""
    lines = []
    keeper = s.get("keeper") or {}
    if keeper:
        lines.append(f"keeper pid {keeper.get('pid')}" if keeper.get("connected")
                     else f"keeper: none ({keeper.get('error') or 'shells end with the server'})")
    st = s.get("state") or {}
    if st:
        size, saved = st.get("bytes"), st.get("saved_at")
        when = f"saved {_ago(time.time() - saved)} ago" if saved else "not saved yet"
        line = f"state {_size(size) if size is not None else 'none'}, {when} ({st.get('path')})"
        if st.get("dropped_rows"):
            line += f"; {st['dropped_rows']} history rows left out by the caps"
        if st.get("screens_left_out"):
            line += f"; {st['screens_left_out']} screens left out by the cap"
        lines.append(line)
        if st.get("error"):
            lines.append(f"state save error: {st['error']}")
        if st.get("load_error"):
            lines.append(f"state load error: {st['load_error']}")
    notice = s.get("restart_notice")
    if notice:
        lines.append(f"continues a previous server ({notice['kind']}, {notice.get('from') or '?'} → {notice['to']}"
                     f" at {notice['at']})")
    return lines
