"""When to ping a client and when to declare it dead, with no clock of its own (times are given).

A ping goes out every ``interval`` seconds on a fixed cadence, whatever the replies do. A peer is dead
when a ping has gone unanswered for ``timeout`` seconds: the oldest unanswered ping counts, so a peer
that stops answering right after a pong is noticed at most ``interval + timeout`` seconds later (40 s
with the defaults), never later. Only a pong (or a frame acknowledgement, which also proves the peer
reads what we send) is evidence of life; any other message is not.

Time the server itself did not run (the process was stopped, the machine slept, the loop was blocked)
is not held against the peer: its answer may be waiting unread in the socket. When a check comes more
than ``STALL`` seconds after the deadline it was due at, the unanswered ping is forgiven and the peer gets
a fresh ping and a full timeout.
"""

from __future__ import annotations

from typing import Literal

Action = Literal["ping", "dead"]
STALL = 2.0


class Keepalive:
    def __init__(self, interval: float, timeout: float, now: float) -> None:
        self.interval = interval
        self.timeout = timeout
        self.next_ping = now + interval
        self.unanswered_since: float | None = None   # when the oldest unanswered ping was sent
        self.rtt: float | None = None
        self._due_at = self.next_ping

    def tick(self, now: float) -> Action | None:
        """What to do now: send a ping, declare the peer dead, or nothing. Call at ``deadline()``."""
        stalled = now - self._due_at > STALL
        if stalled and self.unanswered_since is not None:
            self.unanswered_since = None            # we were not running: the answer may be unread
            self.next_ping = now
        if self.unanswered_since is not None and now - self.unanswered_since >= self.timeout:
            return "dead"
        if now >= self.next_ping:
            return "ping"
        self._due_at = self.deadline()
        return None

    def sent(self, now: float) -> bytes:
        """Record a ping sent now; returns its payload (the send time, echoed by the pong)."""
        if self.unanswered_since is None:
            self.unanswered_since = now
        self.next_ping += self.interval          # a fixed cadence ...
        if self.next_ping <= now:
            self.next_ping = now + self.interval  # ... that never catches up in a burst
        self._due_at = self.deadline()
        return repr(now).encode()

    def pong(self, payload: bytes, now: float) -> None:
        """A pong arrived: the peer is alive; its payload gives the round-trip time."""
        self.alive()
        try:
            sent_at = float(payload.decode())
        except (UnicodeDecodeError, ValueError):
            return
        if 0 <= now - sent_at < 3600:
            self.rtt = now - sent_at

    def alive(self) -> None:
        """Other evidence that the peer reads and answers (a frame acknowledgement)."""
        self.unanswered_since = None
        self._due_at = self.deadline()

    def deadline(self) -> float:
        """The next moment something may need doing: a ping to send or a timeout to declare."""
        if self.unanswered_since is None:
            return self.next_ping
        return min(self.next_ping, self.unanswered_since + self.timeout)
