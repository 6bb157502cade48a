"""Randomized model check of the per-client sync core (SPEC §5, lessons: "the strongest single test").

Real Ghostty terminals get random output (text, colours, wide characters and clusters, cursor moves,
erases, scroll regions, the alternate screen, resets, palette changes, hyperlinks, notifications,
clipboard writes, bells) and random resizes. The production per-client object, ``wire.peer.Peer``, builds
the frames from a ``FrameSource`` over those terminals (``read_view`` -> ``pane_state``), at random
moments, on a simulated clock; it receives real JSON messages (acks held back, delayed, skipped; scrolls;
floods of refused messages that must never wedge it; resyncs). Windows switch, layouts hide and show
panes, and the client reconnects with its resume secret through the real ``Registry`` (a fresh replica,
as a reloaded page has). After every step the client's reconstruction equals the server's screen: the
same rows (text, style runs, cells, links), styles and cursor, and Ghostty's own formatter gives the same
text, live or scrolled back; and no notification or clipboard write was ever delivered twice.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

import pytest

from dullahan.shapes import PaneEvent, PaneEvents, StyleTable, row_cells
from dullahan.term.screen import ScreenReader
from dullahan.term.view import read_history, read_view
from dullahan.term.vt import VTerm
from dullahan.wire.peer import Peer, PeerLimits
from dullahan.wire.registry import Registry
from dullahan.wire.replica import Hole, Replica
from dullahan.wire.rows import RowInterner
from dullahan.wire.sync import PaneState, pane_state

WORDS = ["ls", "hello", "world", "日本語", "👍🏽", "👨‍👩‍👧", "e\u0301", "wide全角", "tab\tx", "$ ", "🇫🇷", "x" * 30]


def random_output(rng: random.Random, counter: list[int]) -> bytes:
    kind = rng.random()
    if kind < 0.28:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6))).encode() + (
            b"\r\n" if rng.random() < 0.6 else b"")
    if kind < 0.42:
        r, g, b = rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)
        codes = rng.choice(["1", "3", "4", "4:3", "7", "9", "2", "0", "31", "42", "95",
                            f"38;5;{rng.randint(0, 255)}", f"48;2;{r};{g};{b}"])
        return f"\x1b[{codes}m".encode() + rng.choice(WORDS).encode()
    if kind < 0.52:
        return f"\x1b[{rng.randint(1, 20)};{rng.randint(1, 50)}H".encode() + rng.choice(WORDS).encode()
    if kind < 0.58:
        return rng.choice([b"\x1b[K", b"\x1b[1K", b"\x1b[2K", b"\x1b[J", b"\x1b[2J", b"\x1b[44m\x1b[K\x1b[0m",
                           b"abc\x08\x08X", b"\x1b[3P", b"\x1b[2@", b"\x1b[L", b"\x1b[M"])
    if kind < 0.68:
        return b"\r\n".join(b"line %d" % rng.randint(0, 99999) for _ in range(rng.randint(1, 30))) + b"\r\n"
    if kind < 0.73:
        return rng.choice([b"\x1b[?1049h", b"\x1b[?1049l", b"\x1b[?1049h\x1b[2Jalt screen text\r\n"])
    if kind < 0.77:
        top = rng.randint(1, 4)
        region = f"\x1b[{top};{top + rng.randint(1, 5)}r\x1b[{top + 1};1H".encode()
        return region + b"\n" * rng.randint(1, 6) + b"\x1b[r"
    if kind < 0.80:
        return f"\x1b]8;;https://example.com/{rng.randint(0, 9)}\x1b\\link\x1b]8;;\x1b\\ ".encode()
    if kind < 0.82:
        return f"\x1b]4;{rng.randint(0, 15)};rgb:{rng.randint(0, 255):02x}/{rng.randint(0, 255):02x}/aa\x1b\\".encode()
    if kind < 0.84:
        return b"\x1bc"
    if kind < 0.87:
        return rng.choice([b"\x1b[?25l", b"\x1b[?25h", b"\x1b[5 q", b"\x1b[2 q", b"\x1b[?12h"])
    if kind < 0.95:   # events: each notification and clipboard write is unique, so a repeat is visible
        counter[0] += 1
        n = counter[0]
        return rng.choice([f"\x1b]9;note {n}\x07".encode(), f"\x1b]777;notify;T{n};B{n}\x07".encode(),
                           b"\x1b]52;c;" + __import__("base64").b64encode(f"clip {n}".encode()) + b"\x07",
                           b"\x07"])
    return bytes(rng.randint(32, 126) for _ in range(rng.randint(1, 80)))


class ModelPane:
    """One terminal with the production read path and an event log, as the hub keeps them."""

    def __init__(self, pane_id: int, styles: StyleTable, interner: RowInterner, cols: int, rows: int) -> None:
        self.id = pane_id
        self.vt = VTerm(cols, rows, 200)
        self.reader = ScreenReader(self.vt, styles)
        self.interner = interner
        self.seq = 0
        self.full = False
        self.bytes = 0
        self.bells = 0
        self.log: list[PaneEvent] = []
        self.event_seq = 0
        self.view = read_view(self.vt, self.reader, None, 0)
        self.state = pane_state(pane_id, self.view, interner)

    def feed(self, data: bytes) -> None:
        self.vt.feed(data)
        self.bytes += len(data)
        fx = self.vt.take_effects()
        self.bells += fx.bells
        for title, body in fx.notifications:
            self.event_seq += 1
            self.log = [*self.log, PaneEvent(self.event_seq, "notify", title, body)][-8:]
        for location, text in fx.clipboard:
            self.event_seq += 1
            self.log = [*self.log, PaneEvent(self.event_seq, "clip", location, text)][-8:]
        self.seq += 1

    def resize(self, cols: int, rows: int) -> None:
        self.vt.resize(cols, rows)
        self.seq += 1

    def refresh(self) -> PaneState:
        if self.view.seq != self.seq:
            self.view = read_view(self.vt, self.reader, self.view, self.seq, self.full)
            self.state = pane_state(self.id, self.view, self.interner, self.state if not self.full else None)
            self.full = False
        return self.state

    def invalidate(self) -> None:
        """What the hub does to every pane when the style table starts a new epoch."""
        self.seq += 1
        self.full = True


class ModelSource:
    """The ``FrameSource`` of the model: windows of real terminals, as ``hub.SyncHub`` provides it."""

    def __init__(self, rng: random.Random) -> None:
        self.styles = StyleTable(capacity=rng.choice([12, 40, 16_384]))   # small tables force new epochs
        self.interner = RowInterner(capacity=rng.choice([50, 500, 100_000]))
        self.panes = {i: ModelPane(i, self.styles, self.interner, rng.randint(8, 30), rng.randint(3, 9))
                      for i in (1, 2, 3)}
        self.windows = [[1, 2], [3]]      # slots per window; a slot may be emptied to hide a pane
        self.active = 0
        self.epochs = 0

    def begin_frame(self) -> None:
        if self.styles.full:                  # as SyncHub._new_style_epoch
            self.styles.reset()
            self.interner.clear()
            for pane in self.panes.values():
                pane.invalidate()
            self.epochs += 1

    def pane_ids(self) -> list[int]:
        return list(self.panes)

    def visible_panes(self) -> list[int]:
        return [p for p in self.windows[self.active] if p in self.panes]

    def layout(self) -> dict[str, Any]:
        return {"active": self.active, "windows": [{"id": i, "slots": list(w)} for i, w in enumerate(self.windows)]}

    def live_state(self, pane_id: int) -> PaneState | None:
        pane = self.panes.get(pane_id)
        return pane.refresh() if pane is not None else None

    def history_state(self, pane_id: int, live: PaneState, offset: int) -> PaneState:
        pane = self.panes[pane_id]
        _top, rows, _images = read_history(pane.vt, pane.reader, live.scrollback - offset, live.rows)
        pane.full = True
        pane.seq += 1
        ids = tuple(self.interner.intern(r) for r in rows)
        return PaneState(pane_id, live.cols, len(rows), ids, tuple(rows), None, live.modes, live.scrollback,
                         offset, live.palette, live.fg, live.bg, live.title, live.exit, live.progress)

    def output_bytes(self, pane_id: int) -> int | None:
        pane = self.panes.get(pane_id)
        return pane.bytes if pane is not None else None

    def render_held(self, pane_id: int) -> bool:
        return False

    def events(self, pane_id: int) -> PaneEvents | None:
        pane = self.panes.get(pane_id)
        return PaneEvents(pane.bells, tuple(pane.log)) if pane is not None else None


class ModelClient:
    """A page: its replica, its socket's frames in flight, and every event it was ever given."""

    def __init__(self, source: ModelSource, registry: Registry, limits: PeerLimits, now: float,
                 resume: str | None, client_id: int) -> None:
        self.peer = Peer(client_id, True, limits, now)
        superseded = registry.admit(self.peer, resume, now)
        if superseded is None and resume is None:
            self.peer.baseline(source)
        self.peer.mark_layout(source.visible_panes())
        self.peer.data_to_send()
        self.replica = Replica()
        self.in_flight: list[dict[str, Any]] = []
        self.acked = 0          # like the page: acks are cumulative, for the last frame drawn


def check_pane(replica: Replica, source: ModelSource, pane_id: int) -> bool:
    """Assert the replica shows the pane as the server does; True when it was scrolled back."""
    pane = source.panes[pane_id]
    rp = replica.panes[pane_id]
    view = pane.view
    assert (rp.cols, rp.rows) == (view.cols, view.rows)
    for row in replica.lines(pane_id):
        runs = row[1]
        for i in range(2, len(runs), 3):
            assert replica.style(runs[i]) == source.styles.styles[runs[i]]
        assert sum(w for _t, w in row_cells(row, view.cols)) == view.cols
    offset = rp.fields.get("offset", 0)
    shown = [line.rstrip() for line in replica.text(pane_id)]
    if not offset:
        assert replica.lines(pane_id) == list(view.lines)
        assert (tuple(rp.cursor) if rp.cursor is not None else None) == pane.state.cursor
        ghostty = pane.vt.capture().split("\n")
        ghostty += [""] * (view.rows - len(ghostty))
        assert shown == [line.rstrip() for line in ghostty]
    else:
        # Scrolled back: the rows `offset` above the live screen, by Ghostty's own formatter.
        everything = pane.vt.capture(scrollback=True).split("\n")
        total = pane.vt.total_rows()
        everything += [""] * (total - len(everything))
        top = total - view.rows - offset
        assert shown == [line.rstrip() for line in everything[top:top + view.rows]]
        assert rp.cursor is None
    return bool(offset)


def run_model(seed: int, steps: int) -> Counter[str]:
    rng = random.Random(seed)
    source = ModelSource(rng)
    registry = Registry(master_grace=5.0, new_secret=lambda: f"secret-{rng.random()}")
    limits = PeerLimits(frames_in_flight=rng.choice([1, 2, 3]), messages_per_second=rng.choice([20, 400]),
                        frame_interval=1 / 60)
    now = 1000.0
    next_id = iter(range(1, 10_000))
    client = ModelClient(source, registry, limits, now, None, next(next_id))
    client.peer.frames.cache_rows = rng.choice([40, 64, 200, 16_384])
    delivered: Counter[str] = Counter()
    stats: Counter[str] = Counter()
    events_counter = [0]

    def receive(msg: dict[str, Any]) -> None:
        assert client.peer.receive(json.dumps(msg), now) is None
        client.peer.data_to_send()

    def build() -> None:
        data = client.peer.next_frame(now, source)
        if data is not None:
            frame = json.loads(data)
            client.in_flight.append(frame)
            stats["frames"] += 1
            stats["evicted"] += len(frame.get("drop", ()))

    def ack_drawn() -> None:
        if client.replica.last_frame > client.acked:
            client.acked = client.replica.last_frame
            receive({"t": "ack", "f": client.acked})

    def deliver(count: int | None = None, ack: bool = True) -> None:
        while client.in_flight and (count is None or count > 0):
            frame = client.in_flight.pop(0)
            try:
                client.replica.apply(frame)
            except Hole as hole:
                receive({"t": "resync", "p": hole.pane})
                stats["resyncs"] += 1
            for event in frame.get("events", ()):
                if event[1] in ("notify", "clip"):
                    delivered[json.dumps(event)] += 1
            if ack:
                ack_drawn()
            if count is not None:
                count -= 1

    for _step in range(steps):
        for _ in range(rng.randint(1, 4)):
            r = rng.random()
            pane = source.panes[rng.choice(list(source.panes))]
            if r < 0.06:
                pane.resize(rng.randint(4, 40), rng.randint(2, 14))
                client.peer.mark_dirty(pane.id)
            elif r < 0.10:                                   # window switch
                source.active = 1 - source.active
                client.peer.mark_layout(source.visible_panes())
                stats["switches"] += 1
            elif r < 0.13:                                   # a layout hides or shows a pane
                window = source.windows[0]
                window[1] = None if window[1] is not None else 2  # type: ignore[call-overload]
                client.peer.mark_layout(source.visible_panes())
            elif r < 0.18 and source.visible_panes():        # scroll this client's view
                target = rng.choice(source.visible_panes())
                receive({"t": "scroll", "p": target, **rng.choice([{"delta": -rng.randint(1, 30)},
                                                                    {"delta": rng.randint(1, 30)},
                                                                    {"to": "top"}, {"to": "bottom"},
                                                                    {"row": rng.randint(0, 250)}])})
            elif r < 0.21:                                   # a flood of refused messages
                for _ in range(rng.randint(5, 15)):
                    client.peer.receive(json.dumps({"t": "scroll", "p": 1, "delta": 0}), now)
                client.peer.data_to_send()
                stats["floods"] += 1
            elif r < 0.24:                                   # reconnect with resume (a new page state)
                client = ModelClient(source, registry, limits, now, client.peer.resume_secret, next(next_id))
                stats["reconnects"] += 1
            else:
                pane.feed(random_output(rng, events_counter))
                client.peer.mark_dirty(pane.id)
            r = rng.random()
            if r < 0.4:
                build()
            elif r < 0.55:
                deliver(rng.randint(1, 2))
            elif r < 0.60 and client.in_flight:              # drawn late: its ack waits for the next draw
                deliver(1, ack=False)
                stats["acks_late"] += 1
            elif r < 0.63:
                ids = client.replica.panes.get(pane.id)
                if ids and ids.ids:                          # damage the cache: the client asks for a resync
                    client.replica.rows.pop(rng.choice(ids.ids), None)
                    stats["drops"] += 1
            now += rng.choice([0.001, 0.005, 0.02])
        # Settle: deliver everything; the client notices holes when it draws and asks for a resync.
        for _ in range(40):
            deliver()
            ack_drawn()
            for pid in source.visible_panes():
                rp = client.replica.panes.get(pid)
                if rp is not None and any(i not in client.replica.rows for i in rp.ids):
                    receive({"t": "resync", "p": pid})
                    stats["resyncs"] += 1
            build()
            deadline = client.peer.next_deadline()
            if not client.in_flight and not client.peer.wants_frame:
                break
            if deadline is not None and not client.in_flight:
                now = max(now, deadline)
        deliver()
        ack_drawn()
        assert not client.in_flight
        assert not client.peer.wants_frame, "the client is wedged: changes it never receives"
        assert client.peer.closing is None, client.peer.closing
        for pid in source.visible_panes():
            stats["scrolled_checks"] += check_pane(client.replica, source, pid)
        assert set(client.replica.panes) >= set(source.visible_panes())
    repeated = [e for e, n in delivered.items() if n > 1]
    assert not repeated, f"delivered more than once: {repeated[:3]}"
    stats["events"] = len(delivered)
    stats["epochs"] = source.epochs
    return stats


@pytest.mark.parametrize("seed", range(24))
def test_model_client_equals_server_after_every_step(seed: int) -> None:
    stats = run_model(seed, 120)
    assert stats["frames"] > 0


def test_model_exercises_the_hard_paths() -> None:
    """The randomized runs above must actually hit the hard paths, or they prove little."""
    totals: Counter[str] = Counter()
    for seed in range(100, 112):
        totals.update(run_model(seed, 80))
    for key in ("evicted", "resyncs", "drops", "epochs", "switches", "reconnects", "floods", "acks_late",
                "events", "scrolled_checks"):
        assert totals[key] > 0, (key, totals)
