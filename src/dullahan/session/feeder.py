"""The terminal thread: parses PTY output off the event loop.

libghostty-vt releases the GIL while it parses, so a flood in one pane is parsed here while the event loop
keeps reading other PTYs, answering keystrokes and writing frames. One thread serves every pane (the notes
measured two parsing threads as slower for scrolling output). Output is fed in bounded chunks so that the
event loop, when it needs a busy pane's terminal, waits at most one chunk.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Protocol

from dullahan.log import log

CHUNK = 32 * 1024


class Feedable(Protocol):
    def feed_step(self, limit: int) -> bool:
        """Parse up to ``limit`` pending bytes; False (and unscheduled) when nothing was pending.

        A pane submits itself once, when it goes from idle to having pending output, and stays queued
        until ``feed_step`` reports it idle again: the pane owns that flag under its own lock.
        """
        ...

    def feed_crashed(self, error: BaseException) -> None:
        """``feed_step`` raised: the pane must leave the queue in a state it can report (failed)."""
        ...


class Feeder:
    def __init__(self) -> None:
        self._queue: deque[Feedable] = deque()
        self._cv = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="dullahan-terminal", daemon=True)
        self._thread.start()

    def submit(self, pane: Feedable) -> None:
        with self._cv:
            self._queue.append(pane)
            self._cv.notify()

    def stop(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._stop:
                    self._cv.wait()
                if self._stop:
                    return
                pane = self._queue.popleft()
            try:
                more = pane.feed_step(CHUNK)
            except Exception as e:   # a broken pane must neither stop the thread nor stay half-queued
                more = False
                try:
                    pane.feed_crashed(e)
                except Exception as e2:
                    log.error("term", "a failed pane could not be marked failed", error=repr(e2)[:200])
            if more:
                with self._cv:
                    self._queue.append(pane)   # round-robin between busy panes
