"""Where an echo's time goes inside the server: a traced server, keys typed into ``cat``, a timeline per key.

    python -m bench.trace_echo [--keys 200] [--flood] [--src PATH] [--json OUT]

The server runs with ``bench/trace/sitecustomize.py`` first on its path, which timestamps each step of the
echo path (nothing else changes). For every key: the key message's decoding and handling, the key encoder,
the PTY write, the wake-up when the echo comes back (kernel, ``cat``, the loop), the parse, telling the hub,
the hop to the client's send pump, the view read, the shared pane state, the frame build, JSON, and
aiohttp's send. ``--src`` traces another checkout (its ``src`` directory), for before/after comparisons.
With ``--flood`` the other pane runs ``yes`` meanwhile (the per-step numbers then include waiting behind it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import ROOT, percentile
from bench.fig_echo import ECHO_FLOOD, type_keys

TRACE_DIR = ROOT / "bench" / "trace"

# (label, how it is computed) in the order of the data path.
STEPS = [
    ("key message: decode and checks (Peer.receive)", "receive"),
    ("  of which JSON decode + validation (msgspec)", "parse"),
    ("key encoder (Ghostty, under the pane lock)", "encode"),
    ("PTY write (os.write)", "pty_write"),
    ("echo back: PTY -> cat -> PTY -> loop wake-up", "wake"),
    ("parse the echo (Ghostty, inline)", "feed"),
    ("effects, hub told, senders woken", "after_feed"),
    ("hop to the send pump (asyncio)", "hop"),
    ("frame: read_view (dirty rows)", "read_view"),
    ("frame: pane_state (row ids)", "pane_state"),
    ("frame: FrameBuilder.build (diff)", "build"),
    ("frame: JSON (orjson)", "dumps"),
    ("frame: the rest of next_frame", "next_frame_rest"),
    ("aiohttp send_frame", "send"),
    ("server total: key message in -> frame written", "total"),
]


def timelines(events: list[tuple[str, int, int]]) -> list[dict[str, float]]:
    """One dict of step -> microseconds per key message, from the raw (name, start, end) events."""
    events = sorted(events, key=lambda e: e[1])
    out: list[dict[str, float]] = []
    n = len(events)
    i = 0

    def find(name: str, start: int, after: int) -> tuple[int, tuple[str, int, int]] | None:
        """The first event called ``name`` (or ``name:<pane>``) starting at or after ``after``."""
        for j in range(start, n):
            if events[j][1] >= after and (events[j][0] == name or events[j][0].startswith(name + ":")):
                return j, events[j]
        return None

    def inside(name: str, t0: int, t1: int) -> float:
        return sum(e[2] - e[1] for e in events if e[0] == name and t0 <= e[1] and e[2] <= t1) / 1000

    while i < n:
        name, t0, t1 = events[i]
        if name != "receive:Key":
            i += 1
            continue
        step: dict[str, float] = {"receive": (t1 - t0) / 1000, "parse": inside("parse", t0, t1)}
        w = find("pty_write", i, t0)
        pane = w[1][0].partition(":")[2] if w else ""
        r = find(f"on_readable:{pane}", i, w[1][2]) if w else None
        a = find(f"after_feed:{pane}", r[0], r[1][1]) if r else None
        f = find("next_frame", a[0], a[1][2]) if a else None
        s = find("send", f[0], f[1][2]) if f else None
        if not (w and r and a and f and s):
            i += 1
            continue
        step["encode"] = inside("encode", t0, w[1][2])
        step["pty_write"] = (w[1][2] - w[1][1]) / 1000
        step["wake"] = (r[1][1] - w[1][2]) / 1000
        step["feed"] = inside(f"feed:{pane}", r[1][1], r[1][2])
        step["after_feed"] = (a[1][2] - a[1][1]) / 1000
        step["hop"] = (f[1][1] - a[1][2]) / 1000
        f0, f1 = f[1][1], f[1][2]
        for part in ("read_view", "pane_state", "build", "dumps"):
            step[part] = inside(part, f0, f1)
        step["next_frame_rest"] = (f1 - f0) / 1000 - sum(step[p] for p in ("read_view", "pane_state", "build",
                                                                           "dumps"))
        step["send"] = (s[1][2] - s[1][1]) / 1000
        step["total"] = (s[1][2] - t0) / 1000
        out.append(step)
        i = s[0]
    return out


async def run(keys: int, flood: bool, src: Path | None) -> dict[str, Any]:
    from bench.peers.dullahan import DullahanPeer
    trace = Path(tempfile.mkstemp(prefix="dullahan-trace-", suffix=".json")[1])
    env = {"DULLAHAN_TRACE": str(trace),
           "PYTHONPATH": os.pathsep.join([str(TRACE_DIR), str(src or ROOT / "src")])}
    peer = DullahanPeer(env=env)
    await peer.start(2)
    client = await peer.attach()
    try:
        typing, other = client.views
        await typing.type("cat\r")
        await asyncio.sleep(0.5)
        if flood:
            await other.type(ECHO_FLOOD + "\r")
            await asyncio.sleep(1.0)
        latencies = await type_keys(typing, keys, random.Random(1))
        if flood:
            await other.type("\x03")
    finally:
        await client.close()
        await peer.stop()
    events = json.loads(trace.read_text())
    trace.unlink()
    lines = timelines([tuple(e) for e in events])   # type: ignore[misc]
    # Rounded: the raw results are kept in docs/bench/results.json, and 0.1 µs is well below the noise.
    return {"client_ms": [round(x * 1e3, 4) for x in latencies],
            "steps": [{k: round(v, 1) for k, v in step.items()} for step in lines]}


def summary(result: dict[str, Any]) -> list[tuple[str, float, float]]:
    steps = result["steps"]
    rows = []
    for label, key in STEPS:
        vals = [s[key] for s in steps]
        rows.append((label, statistics.median(vals) if vals else float("nan"), percentile(vals, 0.99)))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench.trace_echo", description=__doc__.split("\n")[0])
    ap.add_argument("--keys", type=int, default=200)
    ap.add_argument("--flood", action="store_true")
    ap.add_argument("--src", type=Path, help="the src directory of another checkout to trace")
    ap.add_argument("--json", type=Path, help="write the raw timelines here")
    args = ap.parse_args(argv)
    result = asyncio.run(run(args.keys, args.flood, args.src))
    if args.json:
        args.json.write_text(json.dumps(result))
    client = result["client_ms"]
    print(f"{len(result['steps'])} keys traced; client-observed echo p50 {percentile(client, 0.5):.3f} ms, "
          f"p99 {percentile(client, 0.99):.3f} ms")
    print(f"{'step':52s} {'p50 µs':>8s} {'p99 µs':>8s}")
    for label, p50, p99 in summary(result):
        print(f"{label:52s} {p50:8.1f} {p99:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
