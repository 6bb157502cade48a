"""The per-client core without any I/O: keepalive cadence, roles and resume, budgets, at-most-once events,
images (sent once, within the byte budget, never ahead of an echo; the mirrored image cache).

These drive ``wire.keepalive.Keepalive``, ``wire.registry.Registry`` and ``wire.peer.Peer`` directly with
a simulated clock; the model test (test_sync_model.py) drives the same objects over real terminals.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from dullahan.shapes import PaneEvent, PaneEvents, StyleTable, WireImage
from dullahan.wire.images import PlacementRecord, image_message, parse_image_message
from dullahan.wire.keepalive import STALL, Keepalive
from dullahan.wire.peer import ERRORS_PER_SECOND, Outgoing, Peer, PeerLimits
from dullahan.wire.registry import Registry
from dullahan.wire.replica import Hole, Replica
from dullahan.wire.sync import PaneState

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


# -- images ---------------------------------------------------------------------------------------------
def wire_image(n: int, side: int = 10, data_bytes: int = 100) -> WireImage:
    """An image of ``side`` x ``side`` pixels whose wire form is ``data_bytes`` long (the peer never decodes)."""
    return WireImage(f"{n:032x}", side, side, "image/png", bytes([n % 256]) * data_bytes)


def placed(image: WireImage, col: int = 0, row: int = 0) -> PlacementRecord:
    return (image.key, col, row, 2, 1, 0, 0, 16, 16, 0, 0, image.width, image.height, 0)


class ImagePanes:
    """A ``FrameSource`` of panes whose states the test sets: rows of text and placements of images."""

    def __init__(self, panes: int = 2) -> None:
        self.styles = StyleTable()
        self.states: dict[int, PaneState] = {}
        self.written: dict[int, int] = {}
        for pid in range(1, panes + 1):
            self.show(pid, f"pane {pid}")

    def show(self, pid: int, text: str, *images: WireImage, cell: tuple[int, int] = (8, 16)) -> None:
        rid = hash((pid, text)) & 0xFFFFFF
        self.states[pid] = PaneState(pid, 10, 1, (rid,), ((text, (), (), (), False),), None, 0, 0, 0, (), -1, -1,
                                     "", None, None, cell, tuple(placed(im, col=2 * i) for i, im in enumerate(images)),
                                     {im.key: im for im in images})
        self.written[pid] = self.written.get(pid, 0) + 1

    def begin_frame(self) -> None: ...
    def pane_ids(self) -> list[int]:
        return list(self.states)

    def visible_panes(self) -> list[int]:
        return list(self.states)

    def layout(self) -> dict[str, Any]:
        return {"active": 1, "windows": [{"id": 1, "slots": list(self.states)}]}

    def live_state(self, pane_id: int) -> PaneState | None:
        return self.states.get(pane_id)

    def history_state(self, pane_id: int, live: PaneState, offset: int) -> PaneState:
        return live

    def output_bytes(self, pane_id: int) -> int | None:
        return self.written.get(pane_id)

    def render_held(self, pane_id: int) -> bool:
        return False

    def events(self, pane_id: int) -> PaneEvents | None:
        return None


class Page:
    """A client of a peer: applies what it is sent to a replica; acks only when told to."""

    def __init__(self, peer: Peer, source: ImagePanes) -> None:
        self.peer, self.source = peer, source
        self.replica = Replica()
        peer.mark_layout(source.visible_panes())      # as the hub does when a client says hello
        self.log: list[Outgoing] = []
        self.holes: list[Hole] = []

    def pump(self, limit: int = 100) -> list[Outgoing]:
        """Take everything the peer sends now (no acks); returns it."""
        out = []
        for _ in range(limit):
            message = self.peer.next_message(0.0, self.source)  # type: ignore[arg-type]
            if message is None:
                break
            out.append(message)
            if message.binary:
                self.replica.apply_image(message.data)
            else:
                try:
                    self.replica.apply(json.loads(message.data))
                except Hole as hole:
                    self.holes.append(hole)
        self.log += out
        return out

    def ack(self) -> None:
        self.peer.receive(json.dumps({"t": "ack", "f": self.replica.last_frame}), 0.0)

    def settle(self) -> None:
        for _ in range(100):
            if not self.pump():
                break
            self.ack()


def kinds(messages: list[Outgoing]) -> list[str]:
    """``img:<n>`` for an image message (its first byte of data), ``f:<panes>`` for a frame."""
    out = []
    for m in messages:
        if m.binary:
            out.append(f"img:{parse_image_message(m.data)[1][0]}")
        else:
            out.append("f:" + ",".join(str(p["id"]) for p in json.loads(m.data).get("panes", ())))
    return out


def test_an_image_goes_once_after_the_frame_that_needs_it_and_the_next_frame_places_it() -> None:
    source = ImagePanes()
    peer = new_peer(1)
    page = Page(peer, source)
    page.settle()
    a = wire_image(1)
    source.show(1, "picture", a)
    source.show(2, "same picture", a)
    peer.mark_dirty(1)
    peer.mark_dirty(2)
    out = page.pump()
    # The frame with both panes' text (placements left out), the image, the frame that places it twice.
    assert kinds(out) == ["f:1,2", "img:1", "f:1,2"]
    first, second = json.loads(out[0].data), json.loads(out[2].data)
    assert all("img" not in p for p in first["panes"])   # still none the client can draw
    assert [p["img"] for p in second["panes"]] == [[list(placed(a))], [list(placed(a))]]
    header, data = parse_image_message(out[1].data)
    assert header == {"t": "img", "k": a.key, "m": "image/png", "w": 10, "h": 10} and data == a.data
    assert page.replica.panes[1].img == [list(placed(a))] and page.replica.panes[1].cell == [8, 16]
    page.ack()
    source.show(1, "picture moved", a)
    peer.mark_dirty(1)
    assert kinds(page.pump()) == ["f:1"]                 # held: never sent again
    assert peer.images_out == 1 and peer.image_bytes_in_flight == 0


def test_image_bytes_in_flight_are_bounded_and_a_larger_image_goes_alone() -> None:
    source = ImagePanes(1)
    peer = new_peer(1, image_bytes_in_flight=1200)
    page = Page(peer, source)
    page.settle()
    small = [wire_image(n, data_bytes=300) for n in (1, 2, 3, 4)]
    big = wire_image(9, data_bytes=5000)
    source.show(1, "many", *small, big)
    peer.mark_dirty(1)
    out = page.pump()
    sent = [m for m in out if m.binary]
    assert len(sent) == 3 and sum(len(m.data) for m in sent) <= 1200     # three of 384 bytes fit in 1200
    assert peer.image_bytes_in_flight == sum(len(m.data) for m in sent)
    rounds = 0
    while peer.wants_send and rounds < 20:
        rounds += 1
        before = peer.image_bytes_in_flight
        page.ack()
        assert peer.image_bytes_in_flight < max(1, before)   # the ack of a frame after them frees the budget
        free = peer.image_bytes_in_flight
        for message in page.pump():
            if message.binary and parse_image_message(message.data)[1][0] == 9:
                assert free == 0                              # over the budget: only when nothing is in flight
            assert peer.image_bytes_in_flight <= 1200 or peer.image_bytes_in_flight == len(image_message(big))
    assert kinds(page.log).count("img:9") == 1
    assert len(page.replica.panes[1].img) == 5 and not peer.wants_frame and not peer.frames.wanted


def test_a_stalled_client_holds_at_most_the_image_budget_and_echoes_still_pass() -> None:
    """A 50 MB burst of 1 MB images to a client that acknowledges nothing: what it is sent stays within the
    image budget plus the frames in flight, and the echo of another pane goes out before any image."""
    source = ImagePanes()
    peer = new_peer(1, image_bytes_in_flight=4 << 20, frames_in_flight=3)
    page = Page(peer, source)
    page.settle()
    burst = [wire_image(n, side=512, data_bytes=1_000_000) for n in range(1, 51)]
    source.show(1, "burst", *burst)
    source.show(2, "$ e")                                                 # an echo in the other pane
    peer.mark_dirty(1)
    peer.mark_dirty(2)
    out = page.pump()
    assert kinds(out)[0] == "f:1,2"                                       # the echo first
    images = [m for m in out if m.binary]
    frames = [m for m in out if not m.binary]
    assert len(images) == 4 and sum(len(m.data) for m in images) <= 4 << 20
    assert len(frames) <= 3
    source.show(2, "$ ec")
    peer.mark_dirty(2)
    assert page.pump() == []                                              # frames in flight: 3 (congested)
    page.ack()
    assert kinds(page.pump())[0] == "f:1,2"                               # the echo, before the next images


def test_the_image_cache_is_mirrored_and_evicts_only_images_no_pane_shows() -> None:
    source = ImagePanes(1)
    size = 10 * 10 * 4
    peer = new_peer(1, image_cache_count=2, image_cache_bytes=10 * size)
    page = Page(peer, source)
    page.settle()
    a, b, c = wire_image(1), wire_image(2), wire_image(3)
    source.show(1, "a and b", a, b)
    peer.mark_dirty(1)
    page.settle()
    assert set(page.replica.images) == {a.key, b.key}
    source.show(1, "c and a", c, a)
    peer.mark_dirty(1)
    out = page.pump()
    page.settle()
    frames = [json.loads(m.data) for m in out if not m.binary]
    # b was dropped to make room, in a frame before c arrived; a (shown) never.
    drops = [f["drop_img"] for f in frames if "drop_img" in f]
    assert drops == [[b.key]]
    assert kinds(out).index("img:3") > next(i for i, f in enumerate(out) if not f.binary
                                            and "drop_img" in json.loads(f.data))
    assert set(page.replica.images) == set(peer.frames.images.held) == {a.key, c.key}
    # Two shown images fill the cache: a third cannot be held while both are shown; nothing wedges.
    d = wire_image(4)
    source.show(1, "c, a and d", c, a, d)
    peer.mark_dirty(1)
    page.settle()
    assert [r[0] for r in page.replica.panes[1].img] == [c.key, a.key]
    assert not peer.wants_frame and peer.frames.images_unfit > 0
    source.show(1, "d alone", d)
    peer.mark_dirty(1)
    page.settle()
    assert [r[0] for r in page.replica.panes[1].img] == [d.key]
    assert len(page.replica.images) <= 2 and set(page.replica.images) == set(peer.frames.images.held)


def test_a_resync_sends_the_pane_s_images_again() -> None:
    source = ImagePanes(1)
    peer = new_peer(1)
    page = Page(peer, source)
    a = wire_image(1)
    source.show(1, "a", a)
    page.settle()
    assert a.key in page.replica.images
    del page.replica.images[a.key]                     # the client lost it: it finds out when it draws the pane
    assert [r[0] for r in page.replica.panes[1].img if r[0] not in page.replica.images] == [a.key]
    peer.receive(json.dumps({"t": "resync", "p": 1}), 0.0)
    out = page.pump()
    assert kinds(out)[:2] == ["f:1", "img:1"]          # the pane in full (without it), then the image
    assert "img" in json.loads(out[0].data)["panes"][0] and not page.holes
    page.settle()
    assert page.replica.panes[1].img == [list(placed(a))] and a.key in page.replica.images
    assert set(page.replica.images) == set(peer.frames.images.held)


def test_cell_size_is_sent_when_it_changes() -> None:
    source = ImagePanes(1)
    peer = new_peer(1)
    page = Page(peer, source)
    page.settle()
    assert page.replica.panes[1].cell == [8, 16]
    source.show(1, "bigger cells", cell=(10, 20))
    peer.mark_dirty(1)
    (frame,) = [json.loads(m.data) for m in page.pump()]
    assert frame["panes"][0]["cell"] == [10, 20]


def test_an_image_larger_than_the_client_cache_is_never_sent() -> None:
    source = ImagePanes(1)
    peer = new_peer(1, image_cache_bytes=1000)
    page = Page(peer, source)
    huge = wire_image(1, side=100)                                        # 40 000 bytes decoded
    source.show(1, "huge", huge)
    page.settle()
    assert page.replica.images == {} and page.replica.panes[1].img == []
    assert not peer.wants_frame and peer.frames.images_unfit > 0


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


# -- flow control ----------------------------------------------------------------------------------------
class FloodSource:
    """Two visible panes: pane 1 floods (its output grows by more than a light frame's worth each time),
    pane 2 only echoes."""

    styles = StyleTable()

    def __init__(self) -> None:
        self.written = {1: 0, 2: 0}
        self.version = {1: 0, 2: 0}

    def begin_frame(self) -> None:
        pass

    def pane_ids(self) -> list[int]:
        return [1, 2]

    def visible_panes(self) -> list[int]:
        return [1, 2]

    def layout(self) -> dict[str, object]:
        return {"windows": []}

    def live_state(self, pane_id: int) -> PaneState:
        row = (f"pane {pane_id} v{self.version[pane_id]}", (), (), (), False)
        return PaneState(pane_id, 20, 1, (100 * pane_id + self.version[pane_id],), (row,), None, 0, 0, 0, (), -1,
                         -1, "", None, None)

    def history_state(self, pane_id: int, live: PaneState, offset: int) -> PaneState:
        return live

    def output_bytes(self, pane_id: int) -> int:
        return self.written[pane_id]

    def render_held(self, pane_id: int) -> bool:
        return False

    def events(self, pane_id: int) -> PaneEvents:
        return PaneEvents(0, ())

    def output(self, pane_id: int, size: int) -> None:
        self.written[pane_id] += size
        self.version[pane_id] += 1


def test_the_last_frame_slot_is_kept_for_light_frames() -> None:
    source = FloodSource()
    peer = new_peer(1, frames_in_flight=3)
    assert peer.next_frame(0.0, source) is not None          # the first frame: layout and both panes
    source.output(1, 10_000)
    peer.mark_dirty(1)
    assert peer.next_frame(1.0, source) is not None          # the flood's frame takes the second slot
    source.output(1, 10_000)
    peer.mark_dirty(1)
    assert peer.next_frame(2.0, source) is None              # but not the last one
    source.output(2, 1)                                       # which an echo in the other pane gets
    peer.mark_dirty(2)
    frame = peer.next_frame(2.0, source)
    assert frame is not None and b'"id":2' in frame and b'"id":1' not in frame
    assert peer.in_flight == 3
    peer.receive('{"t":"ack","f":2}', 2.0)                   # two slots free: the flood goes on
    frame = peer.next_frame(3.0, source)
    assert frame is not None and b'"id":1' in frame
def test_tabs_carry_over_a_restart_and_the_master_finds_its_role_kept() -> None:
    before = Registry(master_grace=60)
    master, viewer = new_peer(1), new_peer(2)
    before.admit(master, None, 0)
    before.admit(viewer, None, 0)
    master.scroll(3, -20, None)
    master.restore_delivered({3: (7, 2)})
    data = before.export()
    assert master.resume_secret.encode() in data          # the secret, never a token (there is none here)
    after = Registry(master_grace=60)
    assert after.restore(data, now=1000.0) == 2
    newcomer = new_peer(9)
    after.admit(newcomer, None, 1001)                     # connects first: does not get the kept role
    assert newcomer.role == "view"
    back = new_peer(10)
    after.admit(back, master.resume_secret, 1002)
    assert back.role == "master" and back.offsets[3].offset == 20 and back.delivered_marks() == {3: (7, 2)}
    returning_viewer = new_peer(11)
    after.admit(returning_viewer, viewer.resume_secret, 1003)
    assert returning_viewer.role == "view" and returning_viewer.resume_secret == viewer.resume_secret
    for bad in (b"", b"{}", b'{"version": 99, "lineages": []}'):
        try:
            Registry(master_grace=60).restore(bad, now=0.0)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was taken for a clients' state")
