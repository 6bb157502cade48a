"""The per-client core without any I/O: keepalive cadence, roles and resume, budgets, at-most-once events.

These drive ``wire.keepalive.Keepalive``, ``wire.registry.Registry`` and ``wire.peer.Peer`` directly with
a simulated clock; the model test (test_sync_model.py) drives the same objects over real terminals.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from dullahan.shapes import PaneEvent, PaneEvents, StyleTable
from dullahan.wire.keepalive import STALL, Keepalive
from dullahan.wire.peer import ERRORS_PER_SECOND, Peer, PeerLimits
from dullahan.wire.registry import Registry

SRC = Path(__file__).resolve().parent.parent / "src"


# -- keepalive ------------------------------------------------------------------------------------------
def run_keepalive(ka: Keepalive, until: float, answer: bool, step: float = 0.25) -> tuple[list[float], float | None]:
    """Drive a keepalive as its task does (sleep to its deadline, tick); returns ping times and death time."""
    pings: list[float] = []
    now = 0.0
    while now < until:
        now = max(now + 0.001, min(ka.deadline(), now + step))
        action = ka.tick(now)
        if action == "dead":
            return pings, now
        if action == "ping":
            payload = ka.sent(now)
            pings.append(now)
            if answer:
                ka.pong(payload, now + 0.01)
    return pings, None


def test_pings_go_out_on_a_fixed_cadence() -> None:
    pings, died = run_keepalive(Keepalive(20, 20, 0.0), 101, answer=True)
    assert died is None
    assert [round(t) for t in pings] == [20, 40, 60, 80, 100]


def test_a_silent_peer_is_dead_within_interval_plus_timeout() -> None:
    ka = Keepalive(20, 20, 0.0)
    pings, died = run_keepalive(ka, 200, answer=False)
    assert died is not None and died <= 40.0 + 0.3
    assert [round(t) for t in pings] == [20]      # one unanswered ping is enough; no ping storm


def test_pong_reports_rtt_and_an_ack_counts_as_life() -> None:
    ka = Keepalive(1, 1, 0.0)
    assert ka.tick(1.0) == "ping"
    ka.pong(ka.sent(1.0), 1.25)
    assert ka.rtt == 0.25
    assert ka.tick(2.0) == "ping"
    ka.sent(2.0)
    ka.alive()                                    # a frame acknowledgement
    assert ka.tick(3.2) == "ping"                 # not dead: the ack proved the peer reads


def test_time_the_server_did_not_run_is_not_held_against_the_peer() -> None:
    """SIGSTOP for 30 s: the pong may be sitting unread in the socket when we wake up."""
    ka = Keepalive(20, 20, 0.0)
    assert ka.tick(20.0) == "ping"
    ka.sent(20.0)
    assert ka.tick(25.0) is None
    woke = 25.0 + 30.0 + STALL                    # the deadline (40 s) passed while we were stopped
    assert ka.tick(woke) == "ping"                # forgiven: a fresh ping, not a death
    ka.sent(woke)
    assert ka.tick(woke + 19.9) is None
    assert ka.tick(woke + 20.0) == "dead"         # and a real silence still ends it


# -- roles and resume ----------------------------------------------------------------------------------
class Source:
    """A session with two panes and events, as the hub provides it."""

    styles = StyleTable()

    def __init__(self) -> None:
        self.events_of = {1: PaneEvents(0, ()), 2: PaneEvents(0, ())}

    def pane_ids(self) -> list[int]:
        return list(self.events_of)

    def events(self, pane_id: int) -> PaneEvents | None:
        return self.events_of.get(pane_id)


def new_peer(pid: int, can_master: bool = True, **limits: float) -> Peer:
    return Peer(pid, can_master, PeerLimits(**limits), 0.0)  # type: ignore[arg-type]


def roles(reg: Registry) -> dict[int, str]:
    return {p.id: p.role for p in reg.peers.values()}


def test_first_master_token_client_is_master_and_others_must_ask() -> None:
    reg = Registry(master_grace=60)
    a, b, v = new_peer(1), new_peer(2), new_peer(3, can_master=False)
    for p in (a, b, v):
        reg.admit(p, None, 0)
    assert roles(reg) == {1: "master", 2: "view", 3: "view"}
    assert not reg.request_master(v)
    assert reg.request_master(b)
    assert roles(reg) == {1: "view", 2: "master", 3: "view"}
    assert a.master_id == b.master_id == v.master_id == 2


def test_a_reconnecting_master_supersedes_its_old_connection_and_stays_master() -> None:
    reg = Registry(master_grace=60)
    old = new_peer(1)
    reg.admit(old, None, 0)
    old.scroll(1, -5, None)
    other = new_peer(2)
    reg.admit(other, None, 1)
    new = new_peer(3)
    superseded = reg.admit(new, old.resume_secret, 10)
    assert superseded is old
    assert roles(reg) == {2: "view", 3: "master"}
    assert new.resume_secret == old.resume_secret and new.offsets[1].offset == 5
    reg.leave(old, 12, clean=False)               # the old socket's end changes nothing
    assert reg.master is new


def test_a_vanished_master_keeps_the_role_for_its_return() -> None:
    reg = Registry(master_grace=60)
    master, before = new_peer(1), new_peer(2)
    reg.admit(before, None, 0)
    reg.admit(master, None, 0)
    reg.request_master(master)                    # `before` held the role once
    reg.leave(master, 5, clean=False)             # network gone: reset / ping timeout
    assert reg.master is None and before.role == "view"
    fresh = new_peer(3)
    reg.admit(fresh, None, 6)                     # a new browser does not get it by connecting
    assert fresh.role == "view"
    back = new_peer(4)
    reg.admit(back, master.resume_secret, 20)
    assert back.role == "master"


def test_the_role_goes_back_to_the_previous_master_when_freed() -> None:
    reg = Registry(master_grace=30)
    first, second = new_peer(1), new_peer(2)
    reg.admit(first, None, 0)
    reg.admit(second, None, 0)
    reg.request_master(second)
    reg.leave(second, 1, clean=True)              # the tab was closed: freed at once
    assert first.role == "master"
    third = new_peer(3)
    reg.admit(third, None, 2)
    reg.request_master(third)
    reg.leave(third, 3, clean=False)              # vanished: kept for 30 s, then handed back
    assert reg.master is None
    reg.expire(32.9)
    assert reg.master is None
    reg.expire(33.0)
    assert first.role == "master"


def test_a_view_token_cannot_resume_into_a_master_lineage() -> None:
    reg = Registry(master_grace=60)
    master = new_peer(1)
    reg.admit(master, None, 0)
    thief = new_peer(2, can_master=False)
    assert reg.admit(thief, master.resume_secret, 1) is None
    assert thief.resume_secret != master.resume_secret and master.role == "master" and thief.role == "view"
    assert reg.admit(new_peer(3), "not-a-secret", 2) is None


def test_departed_lineages_are_bounded() -> None:
    reg = Registry(master_grace=0, max_departed=5)
    for i in range(1, 40):
        p = new_peer(i, can_master=False)
        reg.admit(p, None, i)
        reg.leave(p, i, clean=True)
    assert len(reg._lineages) <= 5


# -- budgets --------------------------------------------------------------------------------------------
def test_acks_pings_and_resyncs_are_never_refused_but_input_is_rate_limited() -> None:
    peer = new_peer(1, messages_per_second=10)
    peer.set_role("master", 1)
    for i in range(500):
        peer.receive(json.dumps({"t": "ping", "id": i}), 0.0)
    sent = [json.loads(d) for d in peer.data_to_send()]
    assert [m["id"] for m in sent if m["t"] == "pong"] == list(range(500))
    results = [peer.receive(json.dumps({"t": "key", "p": 1, "key": "a"}), 0.0) for _ in range(30)]
    assert sum(r is not None for r in results) == 20          # the burst (2 x rate), then refused
    errors = [json.loads(d) for d in peer.data_to_send()]
    assert [e["code"] for e in errors] == ["rate_limited"] * min(10, ERRORS_PER_SECOND)
    assert peer.closing is None


def test_a_viewer_flooding_refused_input_is_closed_and_its_replies_stay_bounded() -> None:
    peer = new_peer(1, can_master=False)
    now = 0.0
    for _ in range(10_000):
        now += 0.001                              # 1000 messages a second, each refused (not master)
        peer.receive(json.dumps({"t": "key", "p": 1, "key": "a"}), now)
        if peer.closing:
            break
    assert peer.closing is not None and peer.closing.reason == "abuse"
    assert len(peer.data_to_send()) <= 2 * ERRORS_PER_SECOND


def test_unread_replies_beyond_the_budget_close_the_client() -> None:
    peer = new_peer(1, max_unsent_bytes=10_000)
    for i in range(1000):
        peer.receive(json.dumps({"t": "ping", "id": i, "ts": 1.0}), i * 0.01)
        if peer.closing:
            break
    assert peer.closing is not None and "unread" in peer.closing.detail


# -- events ---------------------------------------------------------------------------------------------
def test_events_are_delivered_once_and_never_before_connecting() -> None:
    source = Source()
    source.events_of[1] = PaneEvents(2, (PaneEvent(1, "notify", "old", "before connect"),))
    peer = new_peer(1)
    peer.baseline(source)  # type: ignore[arg-type]
    out: list[list[object]] = []
    peer._collect_events(1, source, True, out)  # type: ignore[arg-type]
    assert out == []
    source.events_of[1] = PaneEvents(3, (PaneEvent(1, "notify", "old", "before connect"),
                                         PaneEvent(2, "clip", "c", "first"), PaneEvent(3, "clip", "c", "second"),
                                         PaneEvent(4, "notify", "T", "B")))
    peer._collect_events(1, source, True, out)  # type: ignore[arg-type]
    assert out == [[1, "notify", "T", "B"], [1, "clip", "c", "second"], [1, "bell", 1]]
    again: list[list[object]] = []
    peer._collect_events(1, source, True, again)  # type: ignore[arg-type]
    assert again == []
    hidden: list[list[object]] = []
    source.events_of[2] = PaneEvents(0, (PaneEvent(1, "clip", "c", "hidden write"), PaneEvent(2, "notify", "x", "y")))
    peer._collect_events(2, source, False, hidden)  # type: ignore[arg-type]
    assert hidden == [[2, "notify", "x", "y"]]  # a hidden pane's clipboard write is passed over for good
    shown: list[list[object]] = []
    peer._collect_events(2, source, True, shown)  # type: ignore[arg-type]
    assert shown == []


# -- the package's shape -------------------------------------------------------------------------------
def test_wire_imports_without_pyghostty_or_numpy() -> None:
    code = ("import sys, dullahan.wire.protocol, dullahan.wire.sync, dullahan.wire.peer, dullahan.wire.registry, "
            "dullahan.wire.replica, dullahan.wire.keepalive, dullahan.wire.rows, dullahan.shapes\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('pyghostty', 'numpy', 'aiohttp')]\n"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(SRC)}, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def import_graph() -> dict[str, set[str]]:
    """Every module of the package and the package modules it imports (anywhere in the file)."""
    root = SRC / "dullahan"
    modules: dict[str, Path] = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                edges.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    edges.add(full if full in modules else base)
        graph[name] = {e for e in edges if e in modules and e != name}
    return graph


def test_the_package_has_no_import_cycles() -> None:
    graph = import_graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*stack[stack.index(nxt):], nxt]))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert "dullahan.server" in graph and graph["dullahan.wire.peer"]
