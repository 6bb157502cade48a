"""Randomized model check of the per-client sync core (SPEC §5, lessons: "the strongest single test").

Real Ghostty terminals get random output (text, colours, wide characters and clusters, cursor moves,
erases, scroll regions, the alternate screen, resets, palette changes, hyperlinks, notifications,
clipboard writes, bells, kitty graphics: images transmitted, placed, placed again, deleted, shown through
unicode placeholders, scrolled into history) and random resizes. The production per-client object,
``wire.peer.Peer``, builds the frames from a ``FrameSource`` over those terminals (``read_view`` ->
``pane_state``), at random moments, on a simulated clock; it receives real JSON messages (acks held back,
delayed, skipped; scrolls; floods of refused messages that must never wedge it; resyncs). Images are
encoded (for real, PNG) at random moments after they are first needed, as the hub's worker thread does;
the client's image cache and the byte budget for images in flight are small, so evictions and waits for
acks happen. Windows switch, layouts hide and show panes, and the client reconnects with its resume secret
through the real ``Registry`` (a fresh replica, as a reloaded page has). After every step the client's
reconstruction equals the server's screen: the same rows (text, style runs, cells, links), styles and
cursor, and Ghostty's own formatter gives the same text, live or scrolled back; the same image placements
as the terminal's, each showing an image the client holds with the terminal's pixels; the client holds
exactly the images the server's mirror says; and no notification or clipboard write was ever delivered
twice.
"""

from __future__ import annotations

import base64
import io
import json
import random
from collections import Counter
from typing import Any

import pytest
from PIL import Image

from dullahan.images.codec import content_key, encode_image
from dullahan.images.model import PLACEHOLDER, PLACEHOLDER_DIACRITICS, strip_placeholders
from dullahan.shapes import ImagePixels, PaneEvent, PaneEvents, PaneImages, StyleTable, WireImage, row_cells
from dullahan.term.image_reader import ImageReader
from dullahan.term.screen import ScreenReader
from dullahan.term.view import read_history, read_view
from dullahan.term.vt import VTerm
from dullahan.wire.images import image_fields
from dullahan.wire.peer import Outgoing, Peer, PeerLimits
from dullahan.wire.registry import Registry
from dullahan.wire.replica import Hole, Replica
from dullahan.wire.rows import RowInterner
from dullahan.wire.sync import PaneState, pane_state

WORDS = ["ls", "hello", "world", "日本語", "👍🏽", "👨‍👩‍👧", "e\u0301", "wide全角", "tab\tx", "$ ", "🇫🇷", "x" * 30]


def apc(control: str, payload: bytes = b"") -> bytes:
    return f"\x1b_G{control};{base64.b64encode(payload).decode()}\x1b\\".encode() if payload else \
        f"\x1b_G{control}\x1b\\".encode()


def random_image_output(rng: random.Random, max_id: int) -> bytes:
    """Kitty graphics: a few image ids, tiny pictures (so the caches and budgets below are exercised)."""
    image_id = rng.randint(1, max_id)
    kind = rng.random()
    if kind < 0.45:                                       # transmit and place, PNG or raw RGBA
        w, h = rng.randint(1, 24), rng.randint(1, 24)
        im = Image.new("RGBA", (w, h), (rng.randrange(256), rng.randrange(256), rng.randrange(256),
                                        rng.choice([255, 128])))
        im.paste((rng.randrange(256), 0, 0, 255), (0, 0, max(1, w // 2), max(1, h // 2)))
        extra = rng.choice(["", ",p=7", ",z=-3", ",z=5,p=2", ",c=3,r=2", ",X=3,Y=5", ",x=1,y=1,w=4,h=4"])
        if rng.random() < 0.5:
            out = io.BytesIO()
            im.save(out, "PNG")
            return apc(f"f=100,a=T,i={image_id},q=2{extra}", out.getvalue())
        return apc(f"f=32,s={w},v={h},a=T,i={image_id},q=2{extra}", im.tobytes())
    if kind < 0.60:                                       # place an image again elsewhere
        return apc(f"a=p,i={image_id},p={rng.randint(1, 3)},q=2")
    if kind < 0.75:                                       # delete
        return apc(rng.choice([f"a=d,d=i,i={image_id},q=2", f"a=d,d=I,i={image_id},q=2", "a=d,d=A,q=2",
                               f"a=d,d=i,i={image_id},p=7,q=2"]))
    # unicode placeholders: a virtual placement and the cells that show it
    cols, rows = rng.randint(1, 3), rng.randint(1, 2)
    im = Image.new("RGBA", (rng.randint(4, 20), rng.randint(4, 20)), (0, rng.randrange(256), 200, 255))
    out = io.BytesIO()
    im.save(out, "PNG")
    cells = b"".join(f"\x1b[38;5;{image_id}m".encode() + "".join(
        PLACEHOLDER + chr(PLACEHOLDER_DIACRITICS[r]) + chr(PLACEHOLDER_DIACRITICS[c]) for c in range(cols)).encode()
        + b"\x1b[39m\r\n" for r in range(rows))
    return apc(f"f=100,a=T,U=1,i={image_id},c={cols},r={rows},q=2", out.getvalue()) + cells


def random_output(rng: random.Random, counter: list[int], max_image_id: int = 4) -> bytes:
    if rng.random() < 0.12:
        return random_image_output(rng, max_image_id)
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

    def __init__(self, pane_id: int, styles: StyleTable, interner: RowInterner, cols: int, rows: int,
                 encoder: ModelEncoder) -> None:
        self.id = pane_id
        self.vt = VTerm(cols, rows, 200)
        self.reader = ScreenReader(self.vt, styles)
        self.images = ImageReader(self.vt, styles)
        self.encoder = encoder
        self.interner = interner
        self.seq = 0
        self.full = False
        self.bytes = 0
        self.bells = 0
        self.log: list[PaneEvent] = []
        self.event_seq = 0
        self.view = read_view(self.vt, self.reader, None, 0, images=self.images)
        self.state = pane_state(pane_id, self.view, interner, encoded=encoder.encoded)
        self.images_waiting = False      # the state left placements out: build it again once encoded

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
        if self.view.seq != self.seq or self.images_waiting:
            if self.view.seq != self.seq:
                self.view = read_view(self.vt, self.reader, self.view, self.seq, self.full, self.images)
            self.state = pane_state(self.id, self.view, self.interner, self.state if not self.full else None,
                                    encoded=self.encoder.encoded)
            self.full = False
            self.images_waiting = False
        return self.state

    def invalidate(self) -> None:
        """What the hub does to every pane when the style table starts a new epoch."""
        self.seq += 1
        self.full = True


class ModelEncoder:
    """``images.encoder.ImageEncoder`` without the thread: an image asked for is encoded (for real) when the
    model says the worker is done (``finish``), by generation."""

    def __init__(self) -> None:
        self.done: dict[int, WireImage] = {}
        self.pending: dict[int, ImagePixels] = {}

    def encoded(self, pixels: ImagePixels) -> WireImage | None:
        done = self.done.get(pixels.generation)
        if done is None:
            self.pending[pixels.generation] = pixels
        return done

    def finish(self) -> bool:
        """Encode everything asked for; True when something was."""
        for generation, pixels in self.pending.items():
            self.done[generation] = encode_image(pixels)
        finished = bool(self.pending)
        self.pending = {}
        return finished


class ModelSource:
    """The ``FrameSource`` of the model: windows of real terminals, as ``hub.SyncHub`` provides it."""

    def __init__(self, rng: random.Random) -> None:
        self.styles = StyleTable(capacity=rng.choice([12, 40, 16_384]))   # small tables force new epochs
        self.interner = RowInterner(capacity=rng.choice([50, 500, 100_000]))
        self.encoder = ModelEncoder()
        self.panes = {i: ModelPane(i, self.styles, self.interner, rng.randint(8, 30), rng.randint(3, 9),
                                   self.encoder) for i in (1, 2, 3)}
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
        _top, rows, images = read_history(pane.vt, pane.reader, live.scrollback - offset, live.rows, pane.images)
        pane.full = True
        pane.seq += 1
        ids = tuple(self.interner.intern(r) for r in rows)
        return PaneState(pane_id, live.cols, len(rows), ids, tuple(rows), None, live.modes, live.scrollback,
                         offset, live.palette, live.fg, live.bg, live.title, live.exit, live.progress,
                         *image_fields(images, self.encoder.encoded))

    def encode_images(self) -> list[int]:
        """The worker finished: panes whose state waited for an image are built again. The panes."""
        if not self.encoder.finish():
            return []
        for pane in self.panes.values():
            pane.images_waiting = True
        return list(self.panes)

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
        self.in_flight: list[Outgoing] = []
        self.acked = 0          # like the page: acks are cumulative, for the last frame drawn


def terminal_records(images: PaneImages | None) -> list[list[Any]]:
    """The placements the terminal shows, as the wire names them (image keys from the pixels' content)."""
    if images is None:
        return []
    return [[content_key(images.images[p.generation]), p.col, p.row, p.cols, p.rows, p.x_offset, p.y_offset,
             p.width, p.height, *p.src, p.z] for p in images.placements]


def check_images(replica: Replica, pane_id: int, images: PaneImages | None) -> int:
    """Assert the replica places the terminal's images, each with the terminal's pixels; how many."""
    rp = replica.panes[pane_id]
    assert rp.img == terminal_records(images)
    if images is not None and images.placements:
        assert rp.cell == list(images.cell)
        for p, record in zip(images.placements, rp.img, strict=True):
            held = replica.images[record[0]]
            pixels = images.images[p.generation]
            with Image.open(io.BytesIO(held.data), formats=["PNG"]) as png:
                mode = {"rgb": "RGB", "rgba": "RGBA", "gray": "L", "gray_alpha": "LA"}[pixels.format]
                want = Image.frombytes(mode, (pixels.width, pixels.height), pixels.data).convert("RGBA")
                assert png.convert("RGBA").tobytes() == want.tobytes()
    return len(rp.img)


def check_pane(replica: Replica, source: ModelSource, pane_id: int, stats: Counter[str]) -> bool:
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
    # Ghostty's formatter (capture) leaves unicode placeholders out, as the page does (images stand for them).
    shown = [strip_placeholders(line).rstrip() for line in replica.text(pane_id)]
    if not offset:
        assert replica.lines(pane_id) == list(view.lines)
        assert (tuple(rp.cursor) if rp.cursor is not None else None) == pane.state.cursor
        ghostty = pane.vt.capture().split("\n")
        ghostty += [""] * (view.rows - len(ghostty))
        assert shown == [line.rstrip() for line in ghostty]
        placed = check_images(replica, pane_id, view.images)
        stats["image_checks"] += placed
        stats["placeholder_checks"] += sum(1 for r in rp.img if r[-1] == -1 and r[4] == 1 and PLACEHOLDER in
                                           "".join(line[0] for line in view.lines))
    else:
        # Scrolled back: the rows `offset` above the live screen, by Ghostty's own formatter.
        everything = pane.vt.capture(scrollback=True).split("\n")
        total = pane.vt.total_rows()
        everything += [""] * (total - len(everything))
        top = total - view.rows - offset
        assert shown == [line.rstrip() for line in everything[top:top + view.rows]]
        assert rp.cursor is None
        _top, _rows, images = read_history(pane.vt, pane.reader, top, view.rows, pane.images)
        pane.full = True
        pane.seq += 1
        stats["scrolled_image_checks"] += check_images(replica, pane_id, images)
    return bool(offset)


def run_model(seed: int, steps: int) -> Counter[str]:
    rng = random.Random(seed)
    source = ModelSource(rng)
    registry = Registry(master_grace=5.0, new_secret=lambda: f"secret-{rng.random()}")
    # Images here are at most 24x24 (2304 bytes decoded) and a pane shows at most one per image id: a cache of
    # twice as many holds what two panes show; a budget of 64 bytes is smaller than any image (each goes alone).
    max_image_id = rng.choice([2, 4])
    limits = PeerLimits(frames_in_flight=rng.choice([1, 2, 3]), messages_per_second=rng.choice([20, 400]),
                        frame_interval=1 / 60, image_bytes_in_flight=rng.choice([64, 8 << 10, 4 << 20]),
                        image_cache_bytes=rng.choice([20_000, 1 << 20]),
                        image_cache_count=rng.choice([2 * max_image_id, 256]))
    now = 1000.0
    next_id = iter(range(1, 10_000))
    client = ModelClient(source, registry, limits, now, None, next(next_id))
    client.peer.frames.cache_rows = rng.choice([40, 64, 200, 16_384])
    delivered: Counter[str] = Counter()
    stats: Counter[str] = Counter()
    events_counter = [0]
    lost: set[str] = set()      # images the test took from the client's cache (only the server still has them)

    def receive(msg: dict[str, Any]) -> None:
        assert client.peer.receive(json.dumps(msg), now) is None
        client.peer.data_to_send()

    def build() -> None:
        message = client.peer.next_message(now, source)
        if message is None:
            return
        client.in_flight.append(message)
        if message.binary:
            stats["images_sent"] += 1
            if len(message.data) > limits.image_bytes_in_flight:
                stats["images_alone"] += 1
            return
        frame = json.loads(message.data)
        stats["frames"] += 1
        stats["evicted"] += len(frame.get("drop", ()))
        stats["images_evicted"] += len(frame.get("drop_img", ()))

    def ack_drawn() -> None:
        if client.replica.last_frame > client.acked:
            client.acked = client.replica.last_frame
            receive({"t": "ack", "f": client.acked})

    def deliver(count: int | None = None, ack: bool = True) -> None:
        while client.in_flight and (count is None or count > 0):
            message = client.in_flight.pop(0)
            if message.binary:
                client.replica.apply_image(message.data)
                continue
            frame = json.loads(message.data)
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
                pane.feed(random_output(rng, events_counter, max_image_id))
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
            elif r < 0.65 and client.replica.images:         # an image lost: found missing when drawn
                key = rng.choice(sorted(client.replica.images))
                del client.replica.images[key]
                lost.add(key)
                stats["image_losses"] += 1
            elif r < 0.72:                                   # the encoder's thread finished
                for pid in source.encode_images():
                    client.peer.mark_dirty(pid)
            now += rng.choice([0.001, 0.005, 0.02])
        # Settle: deliver everything; the client notices holes when it draws and asks for a resync.
        for _ in range(200):
            deliver()
            ack_drawn()
            for pid in source.visible_panes():
                rp = client.replica.panes.get(pid)
                if rp is not None and (any(i not in client.replica.rows for i in rp.ids)
                                       or any(r[0] not in client.replica.images for r in rp.img)):
                    receive({"t": "resync", "p": pid})
                    stats["resyncs"] += 1
            for pid in source.encode_images():
                client.peer.mark_dirty(pid)
            for _ in range(8):
                build()
            deadline = client.peer.next_deadline()
            if (not client.in_flight and not client.peer.wants_frame and not client.peer.wants_image
                    and not source.encoder.pending):
                break
            if deadline is not None and not client.in_flight:
                now = max(now, deadline)
        deliver()
        ack_drawn()
        assert not client.in_flight
        assert not client.peer.wants_frame, "the client is wedged: changes it never receives"
        assert not client.peer.frames.wanted, "images a pane waits for were never sent"
        assert client.peer.image_bytes_in_flight == 0
        assert client.peer.closing is None, client.peer.closing
        mirror = client.peer.frames.images
        # The client holds exactly what the server's mirror says, but for images the test took from it that no
        # pane showed since (nothing made the client look for them).
        assert set(client.replica.images) <= set(mirror.held)
        assert set(mirror.held) - set(client.replica.images) <= lost
        assert mirror.bytes <= limits.image_cache_bytes and len(mirror) <= limits.image_cache_count
        assert mirror.bytes == sum(mirror.held.values())
        for pid in source.visible_panes():
            stats["scrolled_checks"] += check_pane(client.replica, source, pid, stats)
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
    for seed in range(100, 132):
        totals.update(run_model(seed, 80))
    for key in ("evicted", "resyncs", "drops", "epochs", "switches", "reconnects", "floods", "acks_late",
                "events", "scrolled_checks", "images_sent", "images_alone", "images_evicted", "image_losses",
                "image_checks", "scrolled_image_checks", "placeholder_checks"):
        assert totals[key] > 0, (key, totals)
