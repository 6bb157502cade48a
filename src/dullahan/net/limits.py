"""Connection limits, free of I/O: who gets in when the server is full, and what aiohttp does not check.

- ``websocket_admission``: WebSocket clients share ``max_connections``, but viewers may only fill it up to
  the slots reserved for master-token clients, and a master-token client that still finds no room closes
  the oldest viewer. No number of viewers can keep the owner out.
- ``ConnectionGate``: TCP connections that have not authenticated yet (no valid cookie, token or bearer).
  They are capped in all and per client address, and each may sit idle (a request's headers included) for
  a short time only. A new connection is always let in; to make room, the gate closes the oldest idle
  unauthenticated connection of the address that holds the most, so a flood from one address only ever
  closes its own connections. Authenticated connections are not counted.
- ``FrameScanner``: follows the frame headers of a client's WebSocket stream to find unmasked frames,
  which RFC 6455 §5.1 requires a server to refuse and aiohttp accepts.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

# Room left for everything else when the file-descriptor limit is low: unauthenticated connections may use
# at most a quarter of it.
FD_SHARE_FOR_UNAUTHENTICATED = 4
MIN_UNAUTHENTICATED = 8


class Admission(enum.Enum):
    ACCEPT = "accept"
    EVICT_VIEWER = "evict_viewer"   # accept, and close the oldest view-token client
    REFUSE = "refuse"


def viewer_capacity(max_connections: int, reserved_for_master: int) -> int:
    """How many view-token clients may be connected at once (at least one while any connection is allowed)."""
    return max_connections - max(0, min(reserved_for_master, max_connections - 1))


def websocket_admission(master_token: bool, viewers: int, master_clients: int, max_connections: int,
                        reserved_for_master: int) -> Admission:
    """Whether a new WebSocket client with this token may connect, given who is connected now."""
    total = viewers + master_clients
    if not master_token:
        if viewers < viewer_capacity(max_connections, reserved_for_master) and total < max_connections:
            return Admission.ACCEPT
        return Admission.REFUSE
    if total < max_connections:
        return Admission.ACCEPT
    return Admission.EVICT_VIEWER if viewers > 0 else Admission.REFUSE


def unauthenticated_caps(fd_limit: int, max_total: int, max_per_address: int) -> tuple[int, int]:
    """The caps actually applied, so that unauthenticated connections can never use up the fd limit."""
    total = max(MIN_UNAUTHENTICATED, min(max_total, fd_limit // FD_SHARE_FOR_UNAUTHENTICATED))
    return total, max(1, min(max_per_address, total))


@dataclass(eq=False)
class Conn:
    """One TCP connection as the gate sees it. Compared and hashed by identity."""

    address: str
    opened: float
    last_active: float
    per_address_cap: bool = True   # False for a trusted reverse proxy
    authenticated: bool = False
    busy: int = 0          # requests being handled right now
    gone: bool = False     # closed, or chosen to be closed


@dataclass
class ConnectionGate:
    max_total: int
    max_per_address: int
    timeout: float
    _by_address: dict[str, dict[Conn, None]] = field(default_factory=dict)
    _count: int = 0
    evicted: int = 0
    timed_out: int = 0

    @property
    def unauthenticated(self) -> int:
        return self._count

    def unauthenticated_from(self, address: str) -> int:
        return len(self._by_address.get(address, ()))

    def open(self, address: str, now: float, per_address_cap: bool = True) -> tuple[Conn, list[Conn]]:
        """Register a new connection; returns it and the connections to close to make room for it."""
        conn = Conn(address, now, now, per_address_cap)
        self._by_address.setdefault(address, {})[conn] = None
        self._count += 1
        victims: list[Conn] = []
        while True:
            victim = self._victim(conn)
            if victim is None:
                break
            self._forget(victim)
            victim.gone = True
            victims.append(victim)
            self.evicted += 1
        return conn, victims

    def _victim(self, newcomer: Conn) -> Conn | None:
        if newcomer.per_address_cap and len(self._by_address[newcomer.address]) > self.max_per_address:
            return _oldest(self._by_address[newcomer.address], newcomer)
        if self._count > self.max_total:
            crowded = max(self._by_address.values(), key=lambda group: len(group) - (newcomer in group))
            return _oldest(crowded, newcomer)
        return None

    def _forget(self, conn: Conn) -> None:
        if conn.authenticated or conn.gone:
            return
        group = self._by_address.get(conn.address)
        if group is not None and conn in group:
            del group[conn]
            self._count -= 1
            if not group:
                del self._by_address[conn.address]

    def authenticate(self, conn: Conn) -> None:
        """A request on this connection carried valid credentials: it leaves the gate's accounting."""
        self._forget(conn)
        conn.authenticated = True

    def close(self, conn: Conn) -> None:
        self._forget(conn)
        conn.gone = True

    def request_started(self, conn: Conn, now: float) -> None:
        conn.busy += 1
        conn.last_active = now

    def request_finished(self, conn: Conn, now: float) -> None:
        conn.busy = max(0, conn.busy - 1)
        conn.last_active = now

    def deadline(self, conn: Conn) -> float | None:
        """When this connection must be closed if nothing happens; None once it authenticated or is gone."""
        if conn.authenticated or conn.gone:
            return None
        return conn.last_active + self.timeout

    def expire(self, conn: Conn, now: float) -> bool:
        """True (and the connection is forgotten) when its deadline has passed."""
        deadline = self.deadline(conn)
        if deadline is None or now < deadline:
            return False
        self.close(conn)
        self.timed_out += 1
        return True


def _oldest(group: Iterable[Conn], keep: Conn) -> Conn | None:
    """The connection to close first: idle before busy, then the longest inactive."""
    candidates = [c for c in group if c is not keep]
    return min(candidates, key=lambda c: (c.busy > 0, c.last_active, c.opened)) if candidates else None


class FrameScanner:
    """Follows the frame headers of a WebSocket stream from a client, skipping payloads.

    ``feed`` returns None while every frame seen is masked, else the offset in the given chunk where the
    first unmasked frame's header starts (0 when that header began in an earlier chunk).
    """

    def __init__(self) -> None:
        self._head = bytearray()
        self._skip = 0

    def feed(self, data: bytes) -> int | None:
        pos, n = 0, len(data)
        head = self._head
        start = 0
        while pos < n:
            if self._skip:
                step = min(self._skip, n - pos)
                self._skip -= step
                pos += step
                continue
            if not head:
                start = pos
            need = self._header_size()
            take = min(need - len(head), n - pos)
            head += data[pos:pos + take]
            pos += take
            if len(head) >= 2 and not head[1] & 0x80:
                return start
            if len(head) == self._header_size():
                self._skip = self._payload_length()
                head.clear()
        return None

    def _header_size(self) -> int:
        head = self._head
        if len(head) < 2:
            return 2
        short = head[1] & 0x7F
        return 2 + (2 if short == 126 else 8 if short == 127 else 0) + 4

    def _payload_length(self) -> int:
        head = self._head
        short = head[1] & 0x7F
        if short == 126:
            return int.from_bytes(head[2:4], "big")
        if short == 127:
            return int.from_bytes(head[2:10], "big")
        return short
