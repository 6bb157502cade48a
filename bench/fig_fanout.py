"""Figure 3 — fan-out: one pane floods, the master types 200 keys into ``cat`` in the other pane, first
alone, then with 20 viewers watching (5 of them reading at 100 KB/s).

Viewers run in a separate process (``bench/viewers.py``) so their work does not delay the harness loop that
times the master's echoes. Measured in both phases: the master's echo latency and the server's CPU seconds
per second; with the viewers also the server's RSS from 5 s after they joined (the warm-up) to the end, at
its highest (sampled every 0.5 s). Targets: master echo p99 with viewers <= 1.5x the master's alone, server
CPU per added viewer <= 5 % of the one-client CPU, RSS flat after the warm-up (+-5 %). Only peers where many
clients can watch the same terminals take part (WeTTY starts a shell per connection; the bare PTY has none).
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import time
from typing import Any

from bench.common import ROOT, bench_env, cpu_of, rss_of
from bench.fig_echo import FLOOD, type_keys
from bench.peers.base import Peer

VIEWERS = 20
SLOW = 5
RATE = 100 * 1024
KEYS = 200
WARMUP = 5.0        # seconds after the viewers joined before RSS and CPU are read (caches and mirrors fill)


async def start_farm(spec: dict[str, Any]) -> asyncio.subprocess.Process:
    env = bench_env()
    env["PYTHONPATH"] = str(ROOT) + ":" + str(ROOT / "src") + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bench.viewers", json.dumps(spec), env=env,
                                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=str(ROOT),
                                                start_new_session=True)
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 120)
    if line.strip() != b"ready":
        raise RuntimeError(f"viewer farm failed to start: {line!r}")
    return proc


async def stop_farm(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.close()
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        await asyncio.wait_for(proc.wait(), 10)
        return json.loads(line) if line.strip() else {}
    except (TimeoutError, ValueError):
        proc.kill()
        await proc.wait()
        return {}


async def measure(peer: Peer, viewers: int = VIEWERS, slow: int = SLOW, rate: float = RATE, keys: int = KEYS,
                  seed: int = 1) -> dict[str, Any]:
    rnd = random.Random(seed)
    await peer.start(2)
    master = farm = None
    try:
        master = await peer.attach()
        typing, flood = master.views
        await typing.type("cat\r")
        await asyncio.sleep(0.5)
        await flood.type(FLOOD + "\r")
        await asyncio.sleep(2.0)
        pids = peer.server_pids()
        # The master alone with the flood: the baseline for the latency and the CPU per viewer.
        cpu0, t0 = cpu_of(pids), time.monotonic()
        alone = await type_keys(typing, keys, rnd)
        cpu_alone = (cpu_of(pids) - cpu0) / (time.monotonic() - t0)
        farm = await start_farm({"peer": peer.viewer_spec(), "viewers": viewers, "slow": slow, "rate": rate})
        await asyncio.sleep(WARMUP)
        rss0, cpu0, t0 = rss_of(pids), cpu_of(pids), time.monotonic()
        samples = [rss0]

        async def sample() -> None:
            while True:
                await asyncio.sleep(0.5)
                samples.append(rss_of(pids))
        sampler = asyncio.create_task(sample())
        try:
            echo = await type_keys(typing, keys, rnd)
        finally:
            sampler.cancel()
        rss1, cpu1, t1 = rss_of(pids), cpu_of(pids), time.monotonic()
        await flood.type("\x03")
        farm_result = await stop_farm(farm)
        farm = None
        cpu_viewers = (cpu1 - cpu0) / (t1 - t0)
        return {"echo": echo, "echo_alone": alone, "rss_start": rss0, "rss_end": rss1, "rss_max": max(samples),
                "rss_samples": samples, "seconds": t1 - t0, "cpu_per_s": cpu_viewers, "cpu_alone_per_s": cpu_alone,
                "cpu_per_viewer": (cpu_viewers - cpu_alone) / viewers / cpu_alone if cpu_alone else float("nan"),
                "viewers": viewers, "viewer_bytes": farm_result.get("bytes", []),
                "viewers_dropped": farm_result.get("dropped")}
    finally:
        if farm is not None:
            await stop_farm(farm)
        if master is not None:
            await master.close()
        await peer.stop()
