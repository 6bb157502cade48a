"""Randomized model check of the sync layer (SPEC §5, lessons: "the strongest single test").

Real Ghostty terminals get random output (text, colours, wide characters and clusters, cursor moves,
erases, scroll regions, the alternate screen, resets, palette changes, hyperlinks) and random resizes.
Frames are built by the production code (``read_view`` -> ``pane_state`` -> ``ClientSync.build``) at
random moments, held in flight and delivered late (flow control), coalesced, and applied by the reference
client, whose cache is small (forcing evictions) and sometimes damaged (forcing resyncs). After every step
the client's reconstruction must equal the server's screen: same rows (text, style runs, cells, links),
same styles, same cursor, and the text equals Ghostty's own formatter output.
"""

from __future__ import annotations

import random

import pytest

from dullahan.shapes import StyleTable, row_cells
from dullahan.term.screen import ScreenReader
from dullahan.term.view import read_view
from dullahan.term.vt import VTerm
from dullahan.wire.replica import Hole, Replica
from dullahan.wire.rows import RowInterner
from dullahan.wire.sync import ClientSync, pane_state

WORDS = ["ls", "hello", "world", "日本語", "👍🏽", "👨‍👩‍👧", "e\u0301", "wide全角", "tab\tx", "$ ", "🇫🇷", "x" * 30]


def random_output(rng: random.Random) -> bytes:
    kind = rng.random()
    if kind < 0.30:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6))).encode() + (
            b"\r\n" if rng.random() < 0.6 else b"")
    if kind < 0.45:
        r, g, b = rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)
        codes = rng.choice(["1", "3", "4", "4:3", "7", "9", "2", "0", "31", "42", "95",
                            f"38;5;{rng.randint(0, 255)}", f"48;2;{r};{g};{b}"])
        return f"\x1b[{codes}m".encode() + rng.choice(WORDS).encode()
    if kind < 0.55:
        return f"\x1b[{rng.randint(1, 20)};{rng.randint(1, 50)}H".encode() + rng.choice(WORDS).encode()
    if kind < 0.62:
        return rng.choice([b"\x1b[K", b"\x1b[1K", b"\x1b[2K", b"\x1b[J", b"\x1b[2J", b"\x1b[44m\x1b[K\x1b[0m",
                           b"abc\x08\x08X", b"\x1b[3P", b"\x1b[2@", b"\x1b[L", b"\x1b[M"])
    if kind < 0.70:
        return b"\r\n".join(b"line %d" % rng.randint(0, 99999) for _ in range(rng.randint(1, 30))) + b"\r\n"
    if kind < 0.76:
        return rng.choice([b"\x1b[?1049h", b"\x1b[?1049l", b"\x1b[?1049h\x1b[2Jalt screen text\r\n"])
    if kind < 0.81:
        top = rng.randint(1, 4)
        region = f"\x1b[{top};{top + rng.randint(1, 5)}r\x1b[{top + 1};1H".encode()
        return region + b"\n" * rng.randint(1, 6) + b"\x1b[r"
    if kind < 0.85:
        return f"\x1b]8;;https://example.com/{rng.randint(0, 9)}\x1b\\link\x1b]8;;\x1b\\ ".encode()
    if kind < 0.88:
        return f"\x1b]4;{rng.randint(0, 15)};rgb:{rng.randint(0, 255):02x}/{rng.randint(0, 255):02x}/aa\x1b\\".encode()
    if kind < 0.90:
        return b"\x1bc"
    if kind < 0.94:
        return rng.choice([b"\x1b[?25l", b"\x1b[?25h", b"\x1b[5 q", b"\x1b[2 q", b"\x1b[?12h"])
    return bytes(rng.randint(32, 126) for _ in range(rng.randint(1, 80)))


class ServerPane:
    """One terminal with the production read path, as the hub sees it."""

    def __init__(self, pane_id: int, styles: StyleTable, interner: RowInterner, cols: int, rows: int) -> None:
        self.id = pane_id
        self.vt = VTerm(cols, rows, 200)
        self.reader = ScreenReader(self.vt, styles)
        self.interner = interner
        self.seq = 0
        self.full = False
        self.view = read_view(self.vt, self.reader, None, 0)
        self.state = pane_state(pane_id, self.view, interner)

    def feed(self, data: bytes) -> None:
        self.vt.feed(data)
        self.vt.take_effects()
        self.seq += 1

    def resize(self, cols: int, rows: int) -> None:
        self.vt.resize(cols, rows)
        self.seq += 1

    def refresh(self) -> None:
        if self.view.seq != self.seq:
            self.view = read_view(self.vt, self.reader, self.view, self.seq, self.full)
            self.state = pane_state(self.id, self.view, self.interner, self.state if not self.full else None)
            self.full = False

    def invalidate(self) -> None:
        """What the hub does to every pane when the style table starts a new epoch."""
        self.seq += 1
        self.full = True


def check_equal(replica: Replica, pane: ServerPane, styles: StyleTable) -> None:
    view = pane.view
    rp = replica.panes[pane.id]
    assert (rp.cols, rp.rows) == (view.cols, view.rows)
    assert replica.lines(pane.id) == list(view.lines)
    for row in view.lines:
        runs = row[1]
        for i in range(2, len(runs), 3):
            assert replica.style(runs[i]) == styles.styles[runs[i]]
        assert sum(w for _t, w in row_cells(row, view.cols)) == view.cols
    expected_cursor = pane.state.cursor
    assert (tuple(rp.cursor) if rp.cursor is not None else None) == expected_cursor
    shown = [line.rstrip() for line in replica.text(pane.id)]
    ghostty = pane.vt.capture().split("\n")
    ghostty += [""] * (view.rows - len(ghostty))
    assert shown == [line.rstrip() for line in ghostty]


def run_model(seed: int, steps: int) -> dict[str, int]:
    rng = random.Random(seed)
    styles = StyleTable(capacity=rng.choice([12, 40, 16_384]))   # small tables force new style epochs
    interner = RowInterner(capacity=rng.choice([50, 500, 100_000]))
    panes = [ServerPane(1, styles, interner, 30, 8), ServerPane(2, styles, interner, 20, 5)]
    sync = ClientSync(cache_rows=rng.choice([40, 64, 200, 16_384]))
    replica = Replica()
    in_flight: list[dict] = []
    force: set[int] = set()
    stats = {"frames": 0, "resyncs": 0, "drops": 0, "evicted": 0, "epochs": 0}

    def build() -> None:
        if styles.full:             # as SyncHub._new_style_epoch
            styles.reset()
            interner.clear()
            for p in panes:
                p.invalidate()
            stats["epochs"] += 1
        for p in panes:
            p.refresh()
        frame = sync.build([p.state for p in panes], styles, force=frozenset(force))
        force.clear()
        if frame is not None:
            in_flight.append(frame)
            stats["frames"] += 1
            stats["evicted"] += len(frame.get("drop", ()))

    def deliver(count: int | None = None) -> None:
        while in_flight and (count is None or count > 0):
            frame = in_flight.pop(0)
            try:
                replica.apply(frame)
            except Hole as hole:
                force.add(hole.pane)
                stats["resyncs"] += 1
            sync.ack(frame["n"])
            if count is not None:
                count -= 1

    def damage() -> None:
        pane = rng.choice(panes)
        ids = replica.panes.get(pane.id)
        if ids and ids.ids:
            replica.rows.pop(rng.choice(ids.ids), None)
            stats["drops"] += 1

    for _step in range(steps):
        for _ in range(rng.randint(1, 4)):
            pane = rng.choice(panes)
            if rng.random() < 0.08:
                pane.resize(rng.randint(4, 40), rng.randint(2, 14))
            else:
                pane.feed(random_output(rng))
            r = rng.random()
            if r < 0.4 and sync.in_flight < 3:
                build()
            elif r < 0.6:
                deliver(rng.randint(1, 2))
            elif r < 0.63:
                damage()
        # Settle: deliver what is in flight; the client notices holes when it draws and asks for a resync.
        for _ in range(6):
            deliver()
            for pane in panes:
                rp = replica.panes.get(pane.id)
                if rp is not None and any(i not in replica.rows for i in rp.ids):
                    force.add(pane.id)
                    stats["resyncs"] += 1
            build()
            if not in_flight:
                break
        deliver()
        assert not in_flight
        for pane in panes:
            check_equal(replica, pane, styles)
    return stats


@pytest.mark.parametrize("seed", range(24))
def test_model_client_equals_server_after_every_step(seed: int) -> None:
    stats = run_model(seed, 120)
    assert stats["frames"] > 0


def test_model_exercises_evictions_resyncs_and_damage() -> None:
    """The randomized runs above must actually hit the hard paths, or they prove little."""
    totals = {"frames": 0, "resyncs": 0, "drops": 0, "evicted": 0, "epochs": 0}
    for seed in range(100, 112):
        for k, v in run_model(seed, 80).items():
            totals[k] += v
    assert totals["evicted"] > 0
    assert totals["resyncs"] > 0
    assert totals["drops"] > 0
    assert totals["epochs"] > 0
