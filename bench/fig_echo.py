"""Figure 2 — echo latency: 200 keystrokes into ``cat`` at an idle prompt, then 200 more while another pane
(visible to the same client) floods output (``yes``).

A keystroke's latency is the time from writing the key to the client receiving the frame or bytes that show
its echo, measured in the harness the same way for every peer. Keys are paced like a fast typist: after each
echo the next key follows 20-30 ms later (never back to back). Enter every 50 keys keeps the line short.
Targets: p50 <= 2.0x and p99 <= 2.5x the bare PTY floor's, idle and during the flood, and no worse than
terminado's.
"""

from __future__ import annotations

import asyncio
import random
import string
from typing import Any

from bench.peers.base import Peer, View

KEYS = 200
PACE = (0.020, 0.030)
FLOOD = "while :; do seq 1 100000; done"   # the other figures' flood
ECHO_FLOOD = "yes"
ECHO_TIMEOUT = 10.0


async def type_keys(view: View, keys: int, rnd: random.Random) -> list[float]:
    out: list[float] = []
    for i in range(keys):
        if i and i % 50 == 0:
            await view.type("\r")
            await asyncio.sleep(0.15)
        out.append(await view.echo(rnd.choice(string.ascii_lowercase), ECHO_TIMEOUT))
        await asyncio.sleep(rnd.uniform(*PACE))
    await view.type("\r")
    await asyncio.sleep(0.15)
    return out


async def measure(peer: Peer, keys: int = KEYS, seed: int = 1) -> dict[str, Any]:
    rnd = random.Random(seed)
    await peer.start(2)
    client = None
    try:
        client = await peer.attach()
        typing, other = client.views
        await typing.type("cat\r")
        await asyncio.sleep(0.5)
        idle = await type_keys(typing, keys, rnd)
        await other.type(ECHO_FLOOD + "\r")
        await asyncio.sleep(1.0)
        flood = await type_keys(typing, keys, rnd)
        await other.type("\x03")
        return {"idle": idle, "flood": flood}
    finally:
        if client is not None:
            await client.close()
        await peer.stop()
