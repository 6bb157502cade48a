"""Figure 2b — where an echo's time goes inside the server (``bench/trace_echo.py``), idle and with another
pane running ``yes``: a traced server per run, 200 keys each, the median and p99 of every step."""

from __future__ import annotations

from typing import Any

from bench.common import ROOT
from bench.peers.base import Peer
from bench.peers.dullahan import DullahanPeer
from bench.trace_echo import run

KEYS = 200


async def measure(peer: Peer, keys: int = KEYS) -> dict[str, Any]:
    if not isinstance(peer, DullahanPeer):
        raise NotImplementedError("only Dullahan can be traced")
    src = (peer.env or {}).get("PYTHONPATH") or str(ROOT / "src")
    from pathlib import Path
    idle = await run(keys, False, Path(src))
    flood = await run(keys, True, Path(src))
    return {"idle": idle, "flood": flood}
