"""The event loop's lag, measured directly (for benchmarks; off unless ``DULLAHAN_LOOP_PROBE_MS`` is set).

A probe thread hands the loop a callback every interval (``call_soon_threadsafe``) and notes how long the
loop took to run it: that is how long anything that became ready then (a keystroke, a PTY read) waited
behind whatever the loop was doing. ``status`` shows the recent samples while the probe runs.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import deque
from typing import Any

ENV = "DULLAHAN_LOOP_PROBE_MS"
KEEP = 20_000

_probe: LoopLagProbe | None = None


class LoopLagProbe:
    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        self.loop = loop
        self.interval = interval
        self.samples: deque[tuple[float, float]] = deque(maxlen=KEEP)   # (monotonic time, lag in seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dullahan-loop-probe", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            sent = time.perf_counter()
            try:
                self.loop.call_soon_threadsafe(self._ran, sent)
            except RuntimeError:      # the loop closed
                return

    def _ran(self, sent: float) -> None:
        self.samples.append((time.monotonic(), time.perf_counter() - sent))

    def stop(self) -> None:
        self._stop.set()

    def stats(self) -> dict[str, Any]:
        return {"interval_ms": self.interval * 1000,
                "samples": [[round(t, 4), round(lag * 1000, 4)] for t, lag in self.samples]}


def start_if_asked(loop: asyncio.AbstractEventLoop) -> None:
    """Start the probe when ``DULLAHAN_LOOP_PROBE_MS`` asks for one (its value: the interval)."""
    global _probe
    raw = os.environ.get(ENV)
    if not raw or _probe is not None:
        return
    try:
        interval = max(1.0, float(raw)) / 1000
    except ValueError:
        return
    _probe = LoopLagProbe(loop, interval)


def stats() -> dict[str, Any] | None:
    """The probe's samples (time, lag in ms), or None when no probe runs."""
    return _probe.stats() if _probe is not None else None
