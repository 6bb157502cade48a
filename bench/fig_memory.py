"""Figure 4 — memory: an empty server, one pane and 20 panes holding 10,000 lines of 200-column scrollback.

Three servers per run, each with 200x40 panes and a 10,000-line history:

- *one pane*: its RSS a few seconds after start-up is the empty server's (one shell at a prompt, no client);
  the pane then prints 10,000 lines of 200 random base64 characters (incompressible, the worst case) and the
  server idles 40 s (Dullahan compresses a terminal idle for 5 s and puts it to sleep as a compressed
  snapshot after 30 s): *added* is the RSS after minus before;
- *one pane, text*: the same with 10,000 lines of 200 columns of ordinary text (the Python standard
  library's sources, whitespace squeezed, folded at 200 columns);
- *20 panes*: each prints the random lines; RSS in all after the idle time, and RSS against time from
  before the output to the end of the idle time (sampled every 0.25 s), which shows compression and sleep
  kicking in.

*Lines held* is what ``capture --scrollback`` (tmux: ``capture-pane -S -``) returns per pane. Only peers that
keep terminal state take part (tmux, Dullahan).
"""

from __future__ import annotations

import asyncio
import sysconfig
import time
from typing import Any

from bench.common import MARKER, MARKER_CMD, rss_of
from bench.peers.base import Peer

LINES = 10_000
COLS = 200
ROWS = 40
IDLE = 40.0   # past the 5 s compression and the 30 s hibernation of an idle terminal
SETTLE = 3.0
MANY = 20
SAMPLE = 0.25


def random_lines(lines: int = LINES, cols: int = COLS) -> str:
    need = lines * cols * 3 // 4 + 4096
    return f"head -c {need} /dev/urandom | base64 -w {cols} | head -n {lines}; {MARKER_CMD}"


def text_lines(lines: int = LINES, cols: int = COLS) -> str:
    stdlib = sysconfig.get_paths()["stdlib"]
    return f"cat {stdlib}/*.py | tr -s '[:space:]' ' ' | fold -w {cols} | head -n {lines}; {MARKER_CMD}"


async def one_server(make: type[Peer], panes: int, command: str, samples: list[tuple[float, int]] | None = None,
                     ) -> dict[str, Any]:
    peer = make()
    try:
        await peer.start_memory(panes, COLS, ROWS, LINES)
        await asyncio.sleep(SETTLE)
        pids = peer.server_pids()
        empty = rss_of(pids)
        t0 = time.monotonic()
        sampler = None
        if samples is not None:
            async def sample() -> None:
                while True:
                    samples.append((round(time.monotonic() - t0, 3), rss_of(pids)))
                    await asyncio.sleep(SAMPLE)
            sampler = asyncio.create_task(sample())
        try:
            await peer.run_everywhere(command)
            await peer.all_show(MARKER, 300)
            output_done = time.monotonic() - t0
            await asyncio.sleep(IDLE)
        finally:
            if sampler is not None:
                sampler.cancel()
        rss = rss_of(pids)
        held = await peer.history_lines()
        return {"rss_empty": empty, "rss": rss, "output_done": output_done, "lines_held": held}
    finally:
        await peer.stop()


async def measure(peer: Peer) -> dict[str, Any]:
    make = type(peer)      # a fresh peer per server (each figure's peers are made without arguments)
    one = await one_server(make, 1, random_lines())
    text = await one_server(make, 1, text_lines())
    samples: list[tuple[float, int]] = []
    many = await one_server(make, MANY, random_lines(), samples)
    return {"rss_empty": one["rss_empty"], "one_added": one["rss"] - one["rss_empty"],
            "text_added": text["rss"] - text["rss_empty"], "many_rss": many["rss"],
            "many_empty": many["rss_empty"], "many_added_per_pane": (many["rss"] - many["rss_empty"]) / MANY,
            "panes": MANY, "lines_held": one["lines_held"] + text["lines_held"] + many["lines_held"],
            "samples": samples, "output_done": many["output_done"]}
