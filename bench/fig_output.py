"""Figure 1 — output: ``seq 1 2000000`` (about 17 MB through the PTY) with one client attached.

Measured per run: seconds from pressing Enter until the end marker (printed by the same command line after
``seq``) reaches the client; the server's CPU seconds over that time plus a 0.5 s settle (from /proc); bytes
the client received. Targets: time within 1.1x of the bare PTY floor, server CPU no more than tmux's and at most 1.25x
what Ghostty alone needs to parse the same bytes from memory (``bench/ghostty_parse.py``, run right after
each Dullahan run with the same code), wire bytes under 1% of the output's size.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

from bench.common import MARKER, MARKER_CMD, ROOT, bench_env, cpu_of
from bench.peers.base import Peer
from bench.peers.dullahan import DullahanPeer

LINES = 2_000_000
TIMEOUT = 300.0


def output_bytes(lines: int = LINES) -> int:
    """What ``seq 1 N`` puts through the PTY: the digits and a CR LF per line (the PTY maps LF to CR LF)."""
    total, width, start = 0, 1, 1
    while start <= lines:
        end = min(lines, 10 ** width - 1)
        total += (end - start + 1) * (width + 2)
        start, width = end + 1, width + 1
    return total


async def measure(peer: Peer, lines: int = LINES) -> dict[str, Any]:
    await peer.start(1)
    client = None
    try:
        client = await peer.attach()
        view = client.views[0]
        await asyncio.sleep(0.5)
        pids = peer.server_pids()
        cpu0, wire0 = cpu_of(pids), client.wire_bytes()
        marker = view.expect_marker(MARKER)
        start = time.perf_counter()
        await view.type(f"seq 1 {lines}; {MARKER_CMD}\r")
        seen = await asyncio.wait_for(marker, TIMEOUT)
        await asyncio.sleep(0.5)
        result = {"seconds": seen - start, "cpu": cpu_of(pids) - cpu0, "wire": client.wire_bytes() - wire0,
                  "output": output_bytes(lines)}
        if isinstance(peer, DullahanPeer):
            result.update(await ghostty_alone(lines, (peer.env or {}).get("PYTHONPATH") or str(ROOT / "src")))
        return result
    finally:
        if client is not None:
            await client.close()
        await peer.stop()


async def ghostty_alone(lines: int, src: str) -> dict[str, float]:
    """CPU seconds Ghostty alone (and through ``VTerm.feed``) needs for the same bytes, in a fresh process."""
    env = bench_env()
    env["PYTHONPATH"] = os.pathsep.join([src, str(ROOT)])
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bench.ghostty_parse", str(lines), env=env,
                                                cwd=str(ROOT), stdout=asyncio.subprocess.PIPE)
    out, _err = await proc.communicate()
    data = json.loads(out)
    return {"ghostty_cpu": data["ghostty_cpu"], "vterm_cpu": data["vterm_cpu"]}
