"""Peer adapters: one module per terminal server, all behind :class:`bench.peers.base.Peer`."""

from __future__ import annotations

from bench.peers.bare import BarePeer
from bench.peers.base import Peer
from bench.peers.dullahan import DullahanBeforePeer, DullahanPeer
from bench.peers.terminado_peer import TerminadoPeer
from bench.peers.tmux import TmuxPeer
from bench.peers.wetty import WettyPeer

PEERS: dict[str, type[Peer]] = {
    "dullahan": DullahanPeer,
    "before": DullahanBeforePeer,
    "tmux": TmuxPeer,
    "terminado": TerminadoPeer,
    "wetty": WettyPeer,
    "bare": BarePeer,
}

__all__ = ["PEERS", "BarePeer", "DullahanBeforePeer", "DullahanPeer", "Peer", "TerminadoPeer", "TmuxPeer", "WettyPeer"]
