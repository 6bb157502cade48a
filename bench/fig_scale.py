"""Figure 6 — scale: 100 panes in 20 windows, 10 of them flooding, one client typing into an idle pane.

Ten 3x3 windows and ten single-pane windows of 300x60 cells (100 shells; panes of about 100x20). Ten panes
run ``while :; do seq 1 100000; done``: two of them beside the typing pane in the active window (the
client draws them), eight in windows nobody looks at. After a warm-up the master types 200 keys into ``cat`` in
an idle pane of the active window.
Measured: that echo's latency; the event loop's lag, sampled every 10 ms by the server's own probe
(``DULLAHAN_LOOP_PROBE_MS``: a thread hands the loop a callback and notes how long it waited); the server's CPU
seconds per second; and how evenly the one terminal thread shares itself among the busy panes: the bytes each
busy pane's program got through (read and parsed) during the typing, their min/max ratio and Jain's fairness
index ((Σx)² / (n·Σx²): 1 when all are equal, 1/n when one pane takes everything). A pane whose parsing falls
behind stops being read (its PTY fills and its program blocks), so bytes read is bytes parsed, give or take the
4 MiB a pane may hold unparsed.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from bench.common import SHELL_CMD, cpu_of
from bench.fig_echo import FLOOD, type_keys
from bench.peers.base import Peer
from bench.peers.dullahan import DullahanPeer, DullahanView
from dullahan.testing.client import ScriptedClient
from dullahan.testing.server import DullahanServer

BIG_WINDOWS = 10           # 3x3
SMALL_WINDOWS = 10         # single
BUSY = 10
BUSY_VISIBLE = 2
KEYS = 200
WARMUP = 3.0
PROBE_MS = 10


def jain(values: list[float]) -> float:
    total = sum(values)
    squares = sum(v * v for v in values)
    return total * total / (len(values) * squares) if squares else float("nan")


async def measure(peer: Peer, keys: int = KEYS, seed: int = 1) -> dict[str, Any]:
    if not isinstance(peer, DullahanPeer):
        raise NotImplementedError("only Dullahan has this figure")
    rnd = random.Random(seed)
    env = {**(peer.env or {}), "DULLAHAN_LOOP_PROBE_MS": str(PROBE_MS)}
    server = peer.server = await asyncio.to_thread(DullahanServer.start_private, shell=SHELL_CMD, env=env)
    client: ScriptedClient | None = None
    try:
        first = [w["id"] for w in await server.acall("windows")]
        windows = []
        for i in range(BIG_WINDOWS + SMALL_WINDOWS):
            windows.append(await server.acall("new-window", layout="3x3" if i < BIG_WINDOWS else "single",
                                              cols=300, rows=61))
        for wid in first:
            await server.acall("kill-window", window=wid)
        panes = [p for w in windows for p in w["panes"] if p]
        active = windows[0]
        await server.acall("select-window", window=active["id"])
        visible = [p for p in active["panes"] if p]
        typing_pane = visible[0]
        busy = visible[1:1 + BUSY_VISIBLE] + [w["panes"][0] for w in windows[1:1 + BUSY - BUSY_VISIBLE]]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            texts = [(await server.acall("capture", pane=p))["text"] for p in [*busy, typing_pane]]
            if all("$" in t for t in texts):
                break
            await asyncio.sleep(0.2)
        client = ScriptedClient(server.base_url, server.tokens()["master"], name="master")
        await client.connect()
        await client.wait_layout()
        await client.wait_until(lambda: client.cursor(typing_pane) is not None, 15)
        view = DullahanView(client, typing_pane)
        await view.type("cat\r")
        for p in busy:
            await server.acall("send", pane=p, text=FLOOD, enter=True)
        await asyncio.sleep(WARMUP)
        pids = peer.server_pids()
        before = {p["id"]: p["bytes_out"] for p in await server.acall("panes")}
        cpu0, t0, mono0 = cpu_of(pids), time.perf_counter(), time.monotonic()
        echo = await type_keys(view, keys, rnd)
        cpu1, t1 = cpu_of(pids), time.perf_counter()
        after = {p["id"]: p["bytes_out"] for p in await server.acall("panes")}
        status = await server.acall("status")
        lag_info = status.get("loop_lag") or {}
        # The probe's clock is the server's monotonic clock, the same as this process's on Linux.
        lags = [lag for at, lag in lag_info.get("samples", []) if mono0 <= at <= mono0 + (t1 - t0)]
        rates = [(after[p] - before[p]) / (t1 - t0) for p in busy]
        for p in busy:
            await server.acall("send-keys", target=p, keys=["C-c"])
        return {"echo": echo, "loop_lag_ms": lags, "cpu_per_s": (cpu1 - cpu0) / (t1 - t0), "seconds": t1 - t0,
                "busy_bytes_per_s": rates, "fairness_jain": jain(rates),
                "fairness_min_max": min(rates) / max(rates) if max(rates) else float("nan"),
                "panes": len(panes), "windows": len(windows)}
    finally:
        if client is not None:
            await client.close()
        await peer.stop()
