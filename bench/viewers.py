"""A farm of viewer clients in their own process, for the fan-out figure.

    python -m bench.viewers '<json spec>'

The spec names the peer (``peer``: its viewer_spec), how many viewers, how many of them read slowly and at
what rate. The farm connects them all, prints ``ready`` on stdout, keeps them reading until its stdin closes,
then prints one JSON line (bytes per viewer, how many were dropped) and exits. Running viewers outside the
harness keeps their work off the event loop that times the master's echoes.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from bench.peers import PEERS
from bench.peers.base import Client


async def main(spec: dict[str, Any]) -> None:
    peer = PEERS[spec["peer"]["name"]].from_viewer_spec(spec["peer"])  # type: ignore[attr-defined]
    clients: list[Client] = []
    for i in range(spec["viewers"]):
        rate = spec["rate"] if i < spec["slow"] else None
        clients.append(await peer.attach(viewer=True, read_rate=rate))
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    result = {"bytes": [c.wire_bytes() for c in clients], "dropped": sum(1 for c in clients if not alive(c))}
    for c in clients:
        try:
            await asyncio.wait_for(c.close(), 5)
        except Exception:   # closing is best effort; the peer is stopped next
            pass
    print(json.dumps(result), flush=True)


def alive(client: Client) -> bool:
    check = getattr(client, "alive", None)
    return bool(check()) if callable(check) else True


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
