"""Who is connected, who is master, and who may come back: roles and resume, with no I/O and no clock.

A browser tab is recognised across connections by its resume secret, issued in its first ``hello`` reply
and presented in the ``hello`` of every reconnect (never the token; never logged). Rules:

- A connection presenting the secret of a live connection supersedes it: the old one is closed (reason
  ``superseded``) and the new one carries on with its role, scroll positions and delivered events. This is
  the laptop case: the browser notices a dead socket long before the server does.
- A connection presenting the secret of a client that left carries on from it the same way; if that
  client was master and the role is free (or kept for it), it is master again.
- The first master-token client becomes master when the role is free. Another master-token client takes
  it only by asking (``request_master``).
- When the master's connection ends abruptly (reset, timeout, end of stream), the role is kept for it for
  ``master_grace`` seconds: nobody else gets it by connecting, and its reconnect gets it back at once.
  When the master leaves cleanly, or the grace runs out, the role goes back to the connected master-token
  client that held it most recently, if any; otherwise it is free.
- A secret presented with a token of the other role is ignored (a viewer cannot resume into a master).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import msgspec

from dullahan.wire.peer import Peer, PeerLimits, ScrollPos

RESUME_TTL = 24 * 3600.0
MAX_DEPARTED = 256
STATE_VERSION = 1


class SavedLineage(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """One browser tab as it carries over a server restart (or is saved with the session)."""

    secret: Annotated[str, msgspec.Meta(min_length=16, max_length=64)]
    can_master: bool
    master: bool                                      # it held the role when the state was taken
    master_since: int | None
    offsets: dict[int, tuple[int, int | None]]        # pane -> (offset, anchored scrollback)
    delivered: dict[int, tuple[int, int]]             # pane -> (event seq, bells)


class SavedClients(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    version: int
    lineages: Annotated[list[SavedLineage], msgspec.Meta(max_length=MAX_DEPARTED + 1024)]


@dataclass(slots=True)
class _Lineage:
    """The latest peer of one resume secret, and when it left (None while connected)."""

    peer: Peer
    left_at: float | None


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


class Registry:
    def __init__(self, master_grace: float, new_secret: Callable[[], str] = lambda: secrets.token_urlsafe(24),
                 resume_ttl: float = RESUME_TTL, max_departed: int = MAX_DEPARTED) -> None:
        self.master_grace = master_grace
        self.resume_ttl = resume_ttl
        self.max_departed = max_departed
        self.peers: dict[int, Peer] = {}
        self.master: Peer | None = None
        self.reserved_for: bytes | None = None       # the digest of the secret the role is kept for
        self.reserved_until = 0.0
        self._new_secret = new_secret
        self._lineages: OrderedDict[bytes, _Lineage] = OrderedDict()
        self._master_count = 0

    # -- arrivals and departures -------------------------------------------------------------------
    def admit(self, peer: Peer, resume: str | None, now: float) -> Peer | None:
        """Add a peer that said hello (its role is set here). Returns the live peer it supersedes, which
        the caller must disconnect, or None."""
        self.expire(now)
        lineage = self._find(resume, peer.can_master) if resume else None
        superseded: Peer | None = None
        if lineage is None:
            peer.resume_secret = self._new_secret()
        else:
            old = lineage.peer
            peer.adopt(old)
            if lineage.left_at is None and self.peers.get(old.id) is old:
                superseded = old
                del self.peers[old.id]
        digest = _digest(peer.resume_secret)
        self._lineages[digest] = _Lineage(peer, None)
        self._lineages.move_to_end(digest)
        self.peers[peer.id] = peer
        takes_over = superseded is not None and self.master is superseded
        returns = self.reserved_for == digest
        role_free = self.master is None and self.reserved_for is None and peer.can_master
        if takes_over or returns or role_free:
            self._give(peer)
        else:
            self._announce()
        return superseded

    def leave(self, peer: Peer, now: float, clean: bool) -> None:
        """A peer's connection ended (``clean``: the client closed it itself)."""
        if self.peers.get(peer.id) is not peer:
            return                      # superseded: its lineage lives on in another peer
        del self.peers[peer.id]
        digest = _digest(peer.resume_secret)
        lineage = self._lineages.get(digest)
        if lineage is not None and lineage.peer is peer:
            lineage.left_at = now
        self._prune(now)
        if self.master is peer:
            self.master = None
            if clean:
                self._hand_back()
            else:
                self.reserved_for, self.reserved_until = digest, now + self.master_grace
                self._announce()

    def request_master(self, peer: Peer) -> bool:
        """A master-token client takes the role (another master becomes a viewer)."""
        if not peer.can_master or self.peers.get(peer.id) is not peer:
            return False
        if self.master is not peer:
            self._give(peer)
        return True

    def expire(self, now: float) -> None:
        """End a reservation whose grace has run out (the role goes back, see the module's docstring)."""
        if self.reserved_for is not None and now >= self.reserved_until:
            self.reserved_for = None
            if self.master is None:
                self._hand_back()

    def deadline(self) -> float | None:
        """When ``expire`` next has something to do."""
        return self.reserved_until if self.reserved_for is not None else None

    # -- across a server restart -------------------------------------------------------------------
    def export(self) -> bytes:
        """Every known browser tab (connected or not) as bytes for the next server (see ``restore``)."""
        out = []
        for lineage in self._lineages.values():
            peer = lineage.peer
            out.append(SavedLineage(peer.resume_secret, peer.can_master,
                                    self.master is peer or self.reserved_for == _digest(peer.resume_secret),
                                    peer.master_since, {pid: (pos.offset, pos.anchored) for pid, pos in
                                                        peer.offsets.items() if pos.top_row is None},
                                    peer.delivered_marks()))
        return msgspec.json.encode(SavedClients(STATE_VERSION, out))

    def restore(self, data: bytes, now: float) -> int:
        """Take over the tabs an earlier server knew: they come back by resume as if they had just left,
        and the one that was master finds the role kept for it for ``master_grace`` seconds. Returns how
        many; ValueError when the data is not an export of this version."""
        try:
            saved = msgspec.json.decode(data, type=SavedClients)
        except msgspec.DecodeError as e:
            raise ValueError(f"not a clients' state: {e}") from None
        if saved.version != STATE_VERSION:
            raise ValueError(f"clients' state version {saved.version}, this server reads {STATE_VERSION}")
        for entry in saved.lineages:
            peer = Peer(0, entry.can_master, PeerLimits(), now)   # a stand-in until its tab resumes
            peer.resume_secret = entry.secret
            peer.master_since = entry.master_since
            peer.offsets = {pid: ScrollPos(offset, anchored) for pid, (offset, anchored) in entry.offsets.items()}
            peer.restore_delivered(entry.delivered)
            digest = _digest(entry.secret)
            self._lineages[digest] = _Lineage(peer, now)
            if entry.master and self.master is None:
                self.reserved_for, self.reserved_until = digest, now + self.master_grace
            self._master_count = max(self._master_count, entry.master_since or 0)
        self._prune(now)
        return len(saved.lineages)

    # -- internals ---------------------------------------------------------------------------------
    def _find(self, secret: str, can_master: bool) -> _Lineage | None:
        lineage = self._lineages.get(_digest(secret))
        if lineage is None or lineage.peer.can_master != can_master:
            return None
        # The digest matched; compare the secrets themselves without leaking timing all the same.
        if not hmac.compare_digest(lineage.peer.resume_secret.encode(), secret.encode("utf-8", "surrogatepass")):
            return None
        return lineage

    def _give(self, peer: Peer) -> None:
        self.master = peer
        self.reserved_for = None
        self._master_count += 1
        peer.master_since = self._master_count
        self._announce()

    def _hand_back(self) -> None:
        """Give the free role to the connected master-token client that held it most recently."""
        candidates = [p for p in self.peers.values() if p.can_master and p.master_since is not None]
        if candidates:
            self._give(max(candidates, key=lambda p: p.master_since or 0))
        else:
            self._announce()

    def _announce(self) -> None:
        master_id = self.master.id if self.master is not None else None
        for peer in self.peers.values():
            peer.set_role("master" if peer is self.master else "view", master_id)

    def _prune(self, now: float) -> None:
        departed = [d for d, lin in self._lineages.items() if lin.left_at is not None]
        excess = len(departed) - self.max_departed
        for digest in departed:
            lineage = self._lineages[digest]
            assert lineage.left_at is not None
            if excess > 0 or now - lineage.left_at > self.resume_ttl:
                del self._lineages[digest]
                excess -= 1
