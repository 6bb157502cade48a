"""Figure 4 — memory: an idle server with 10 panes, each holding 10,000 lines of 200-column scrollback.

Each pane (200x40, scrollback 10,000 lines) prints 10,000 lines of 200 random base64 characters (the worst
case for compression), then the server idles 15 s (Dullahan compresses terminals idle for 5 s) before its RSS
is read. Reported: RSS per pane (total / 10), what the scrollback added per pane (RSS after minus RSS of the
same server with its 10 empty panes, / 10), and the lines each pane really holds. Target: <= 5 MB per pane.
Only peers that keep terminal state on the server take part (tmux, Dullahan).
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.common import MARKER, MARKER_CMD, rss_of
from bench.peers.base import Peer

PANES = 10
LINES = 10_000
COLS = 200
ROWS = 40
IDLE = 15.0


async def measure(peer: Peer, panes: int = PANES, lines: int = LINES, cols: int = COLS) -> dict[str, Any]:
    try:
        await peer.start_memory(panes, cols, ROWS, lines)
        await asyncio.sleep(3.0)
        pids = peer.server_pids()
        empty = rss_of(pids)
        need = lines * cols * 3 // 4 + 4096
        await peer.run_everywhere(f"head -c {need} /dev/urandom | base64 -w {cols} | head -n {lines}; {MARKER_CMD}")
        await peer.all_show(MARKER, 180)
        await asyncio.sleep(IDLE)
        rss = rss_of(pids)
        held = await peer.history_lines()
        return {"rss": rss, "rss_empty": empty, "per_pane": rss / panes, "added_per_pane": (rss - empty) / panes,
                "lines_held": held}
    finally:
        await peer.stop()
