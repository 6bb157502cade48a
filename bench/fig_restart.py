"""Figure 6 — restart: ``dullahan restart`` with 10 panes of 10,000 lines each while one pane counts.

Ten 200x40 panes each print 10,000 lines of 200 random base64 characters (as in figure 4: the largest
snapshots), then one of them runs a counter printing a number every millisecond. A scripted client (the
master) is connected. Measured from the moment ``dullahan restart`` is run:

- *answering*: the new server answers ``status`` on the control socket (what the command waits for);
- *command*: the command returns (it prints the new pid and the time it took);
- *reconnected*: a client that reconnects after the old server closed it holds the layout and the current
  screen of the visible pane;
- *paused*: how long no server read the PTYs (reported by the old server: freeze to commit);
- *lost / repeated*: numbers missing or doubled in the counter pane's scrollback once the counter is stopped
  (bytes lost counts the missing lines' bytes), and whether the nine other panes' screens with scrollback are
  equal before and after.
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import MARKER, MARKER_CMD
from bench.peers.base import Peer
from dullahan.testing.client import ScriptedClient
from dullahan.testing.server import server_env

PANES = 10
LINES = 10_000
COLS = 200
ROWS = 40


def counter_command(stop: Path) -> str:
    return ("python3 -u -c \"import itertools, os, time; [print(i) or time.sleep(0.001) for i in "
            f"itertools.takewhile(lambda i: not os.path.exists('{stop}'), itertools.count(1))]\"; "
            "echo COUNTED-$((2+2))")


def numbers_in(text: str) -> list[int]:
    return [int(line) for line in text.splitlines() if line.strip().isdigit()]


async def measure(peer: Peer, panes: int = PANES, lines: int = LINES, cols: int = COLS) -> dict[str, Any]:
    from bench.peers.dullahan import DullahanPeer
    assert isinstance(peer, DullahanPeer), "only Dullahan restarts with its shells alive"
    stop = Path(tempfile.mkdtemp(prefix="dullahan-bench-")) / "stop"
    try:
        await peer.start_memory(panes, cols, ROWS, lines)
        server = peer.server
        assert server is not None and server.tmp is not None
        need = lines * cols * 3 // 4 + 4096
        await peer.run_everywhere(f"head -c {need} /dev/urandom | base64 -w {cols} | head -n {lines}; {MARKER_CMD}")
        await peer.all_show(MARKER, 300)
        counting, others, visible = peer.panes[0], peer.panes[1:], peer.panes[-1]
        await server.acall("send", pane=counting, text=counter_command(stop), enter=True)
        while len(numbers_in((await server.acall("capture", pane=counting))["text"])) < 20:
            await asyncio.sleep(0.05)
        before = {p: (await server.acall("capture", pane=p, scrollback=True))["text"] for p in others}
        old_pid = server.call("status")["pid"]
        client = ScriptedClient(server.base_url, server.tokens()["master"], name="master")
        await client.connect()
        await client.wait_layout()

        env = server_env(server.tmp / "run", server.tmp / "cfg")
        started = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "dullahan", "restart", "--port",
                                                    str(server.port), env=env, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
        answering = asyncio.ensure_future(_answering(server, old_pid, started))
        reconnected = asyncio.ensure_future(_reconnected(server, client, visible, started))
        out, err = await proc.communicate()
        command = time.perf_counter() - started
        if proc.returncode != 0:
            raise RuntimeError(f"restart failed ({proc.returncode}): {err.decode(errors='replace')[-500:]}")
        answer_s, (reconnect_s, new_client) = await asyncio.wait_for(asyncio.gather(answering, reconnected), 120)
        await new_client.close()
        report = out.decode()
        paused = re.search(r"output paused (\d+) ms", report)
        server.pid = int(server.call("status")["pid"])   # stop() quits the new server and its keeper

        # Let the counter run on for a while after the restart, then check every number is there once.
        at_restart = numbers_in((await server.acall("capture", pane=counting))["text"])[-1]
        while numbers_in((await server.acall("capture", pane=counting))["text"])[-1] < at_restart + 500:
            await asyncio.sleep(0.05)
        stop.touch()
        while True:
            text = (await server.acall("capture", pane=counting, scrollback=True))["text"]
            if "COUNTED-4" in text:
                break
            await asyncio.sleep(0.05)
        numbers = numbers_in(text)
        first, last = numbers[0], numbers[-1]
        seen = set(numbers)
        missing = [n for n in range(first, last + 1) if n not in seen]
        after = {p: (await server.acall("capture", pane=p, scrollback=True))["text"] for p in others}
        return {"command": command, "answering": answer_s, "reconnected": reconnect_s,
                "paused": int(paused.group(1)) / 1000 if paused else float("nan"),
                "counted": len(numbers), "lost_lines": len(missing), "repeated_lines": len(numbers) - len(seen),
                "bytes_lost": sum(len(str(n)) + 2 for n in missing),
                "screens_equal": sum(before[p] == after[p] for p in others), "screens": len(others),
                "history_lines": min(len(before[p].splitlines()) for p in others), "output": report.strip()}
    finally:
        stop.touch()
        await peer.stop()


async def _answering(server: Any, old_pid: int, started: float) -> float:
    while True:
        try:
            if (await server.acall("status", timeout=5))["pid"] != old_pid:
                return time.perf_counter() - started
        except Exception:   # the socket changes hands: a refused or dropped request is retried
            pass
        await asyncio.sleep(0.005)


async def _reconnected(server: Any, old: ScriptedClient, pane: int, started: float) -> tuple[float, ScriptedClient]:
    """The old server closes its clients once it has handed over; a client then reconnects (as the page does)
    and is timed until it holds the layout and the visible pane's current screen."""
    while old.connected:
        await asyncio.sleep(0.002)
    await old.close()
    while True:
        client = ScriptedClient(server.base_url, server.tokens()["master"], name="master-again")
        try:
            await client.connect(timeout=5)
            await client.wait_layout(30)
            want = (await server.acall("capture", pane=pane))["text"].rstrip("\n").split("\n")
            await client.wait_until(lambda c=client, w=want: _shows(c, pane, w), 30)
            return time.perf_counter() - started, client
        except Exception:
            await client.close()
            await asyncio.sleep(0.01)


def _shows(client: ScriptedClient, pane: int, lines: list[str]) -> bool:
    return [row.rstrip() for row in client.screen(pane)][:len(lines)] == lines
