"""Frames for one client, computed against what *that client* holds (SPEC §5).

The server keeps, per client, a mirror of the client's row cache (ids with a fixed capacity and explicit
evictions), the style ids it knows, and the last state it sent of each pane. A frame carries, for the panes
that changed, only the fields that differ from what was sent, the ids of the visible rows, and payloads
for the ids the client lacks. Scrolling therefore costs the new rows only, and returning from the
alternate screen costs nothing: its rows are still in the cache under the same content ids.

Images are mirrored the same way (``wire.images.ImageMirror``): a pane's ``img`` names only images the
client holds; the images it still needs are listed in ``wanted`` for the peer to send (``wire.peer.Peer``
decides when, within its byte budget), and the images it may drop go out in ``drop_img``.

Flow control: frames are numbered; the client acknowledges them; ``in_flight`` tells the sender whether
it may send another. A client that falls behind keeps only "dirty" marks (in its ``wire.peer.Peer``, which
owns this builder), so when it catches up the next frame carries the latest state, never a backlog.

This module does no I/O; ``PaneState`` is the shared, immutable description of one pane at one moment.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dullahan.shapes import PaneView, Row, StyleTable, WireImage
from dullahan.wire.images import NO_IMAGE_FIELDS, NO_WIRE_IMAGES, Encoded, ImageMirror, PlacementRecord, image_fields
from dullahan.wire.protocol import ProtocolError
from dullahan.wire.rows import RowInterner, encode_row, pack_ids

DEFAULT_CACHE_ROWS = 4096
DEFAULT_CACHE_IMAGE_BYTES = 256 << 20      # decoded (RGBA) bytes of images a client holds
DEFAULT_CACHE_IMAGES = 256


@dataclass(frozen=True, slots=True)
class PaneState:
    """Everything a client is told about one pane, as of one moment."""

    id: int
    cols: int
    rows: int
    ids: tuple[int, ...]
    lines: tuple[Row, ...]
    cursor: tuple[int, int, str, bool, bool] | None    # x, y, shape, visible, blinking
    modes: int
    scrollback: int
    offset: int                                        # this client's scroll position (0 = live)
    palette: tuple[tuple[int, int], ...]
    fg: int
    bg: int
    title: str
    exit: dict[str, Any] | None
    progress: tuple[int, int] | None
    cell: tuple[int, int] = (0, 0)                     # the terminal's cell size in pixels (images)
    placements: tuple[PlacementRecord, ...] = ()       # kitty graphics, in drawing order
    images: Mapping[str, WireImage] = field(default_factory=lambda: NO_WIRE_IMAGES, compare=False)  # by key
    images_pending: bool = False                       # placements left out until their image is encoded


def pane_state(pane_id: int, view: PaneView, interner: RowInterner, previous: PaneState | None = None, *,
               title: str = "", exit: dict[str, Any] | None = None,
               progress: tuple[int, int] | None = None, encoded: Encoded | None = None) -> PaneState:
    """The shared state of a pane for a view: rows interned to ids, reusing ``previous``'s ids for rows the
    view shares with it (unchanged rows are the same objects), so an echo costs one intern. With
    ``encoded`` (an image's wire form once encoded), the view's images are placed too."""
    lines = view.lines
    if previous is not None and len(previous.lines) == len(lines):
        prev_lines, prev_ids, intern = previous.lines, previous.ids, interner.intern
        ids = tuple(prev_ids[y] if lines[y] is prev_lines[y] else intern(lines[y]) for y in range(len(lines)))
    else:
        ids = tuple(interner.intern(row) for row in lines)
    c = view.cursor
    cursor = (c.x, c.y, c.shape, c.visible, c.blinking) if c is not None else None
    images = image_fields(view.images, encoded) if encoded is not None else NO_IMAGE_FIELDS
    return PaneState(pane_id, view.cols, view.rows, ids, lines, cursor, view.modes, view.scrollback, 0,
                     view.palette, view.fg, view.bg, title, exit, progress, *images)


@dataclass(slots=True)
class _Sent:
    """The last value of every field sent for one pane (None: never sent)."""

    size: tuple[int, int] | None = None
    ids: tuple[int, ...] | None = None
    cursor: Any = ()
    modes: int | None = None
    scrollback: int | None = None
    offset: int | None = None
    palette: Any = None
    colors: tuple[int, int] | None = None
    title: str | None = None
    exit: Any = ()
    progress: Any = ()
    img: tuple[PlacementRecord, ...] | None = None
    cell: tuple[int, int] | None = None


@dataclass(slots=True)
class FrameBuilder:
    cache_rows: int = DEFAULT_CACHE_ROWS
    frame_no: int = 0
    acked: int = 0
    styles_known: set[int] = field(default_factory=lambda: {0})
    mirror: OrderedDict[int, None] = field(default_factory=OrderedDict)
    sent: dict[int, _Sent] = field(default_factory=dict)
    layout: Any = None
    rows_sent: int = 0
    frames_sent: int = 0
    epoch: int = 0          # the style table's epoch this client's caches belong to
    images: ImageMirror = field(default_factory=lambda: ImageMirror(DEFAULT_CACHE_IMAGE_BYTES, DEFAULT_CACHE_IMAGES))
    wanted: dict[int, dict[str, WireImage]] = field(default_factory=dict)   # per pane: images it lacks
    resend: set[str] = field(default_factory=set)      # held, but the client asked again (a resync)
    unfit: set[str] = field(default_factory=set)       # no room for them as things are (until the next frame)
    images_unfit: int = 0                              # times an image could not be held (cache full of pinned)

    @property
    def in_flight(self) -> int:
        return self.frame_no - self.acked

    def ack(self, n: int) -> None:
        if n > self.frame_no:
            raise ProtocolError("bad_ack", f"ack for frame {n}, but only {self.frame_no} were sent")
        if n > self.acked:
            self.acked = n

    def forget(self, pane_id: int) -> None:
        """The client no longer shows this pane; the next frame about it starts from scratch."""
        self.sent.pop(pane_id, None)
        self.wanted.pop(pane_id, None)

    def showing(self) -> list[int]:
        """The panes the client was last sent (and so draws)."""
        return list(self.sent)

    def build(self, panes: list[PaneState], styles: StyleTable, layout: Any = None,
              force: frozenset[int] = frozenset(), events: list[list[Any]] | None = None,
              always: bool = False) -> dict[str, Any] | None:
        """The next frame, or None when nothing differs from what the client holds (unless ``always``).

        ``layout`` is sent when it differs from the last one sent. Panes in ``force`` get every field and
        every row payload again (a resync), and their images are sent again. ``events`` (notifications,
        clipboard writes, bells) go out as they are; deciding which are due is the caller's business.
        """
        reset = self.epoch != styles.epoch
        if reset:
            self._start_epoch(styles.epoch)
        out_panes: list[dict[str, Any]] = []
        new_rows: list[Any] = []
        new_styles: list[list[int]] = []
        in_frame: set[int] = set()
        self.unfit.clear()
        for state in panes:
            if state.id in force:
                self.sent.pop(state.id, None)
                self.resend.update(k for k in state.images if k in self.images)
            entry = self._pane_fields(state, state.id in force, new_rows, new_styles, styles, in_frame)
            if entry is not None:
                out_panes.append(entry)
        frame: dict[str, Any] = {"t": "f"}
        if reset:
            frame["reset"] = True
        if layout is not None and layout != self.layout:
            self.layout = layout
            frame["layout"] = layout
        if events:
            frame["events"] = events
        dropped_images = self._evict_images()
        if dropped_images:
            frame["drop_img"] = dropped_images
        if not out_panes and len(frame) == 1 and not always:
            return None
        if new_styles:
            frame["styles"] = new_styles
        if new_rows:
            frame["rows"] = new_rows
        dropped = self._evict(in_frame)
        if dropped:
            frame["drop"] = pack_ids(dropped)
        if out_panes:
            frame["panes"] = out_panes
        self.frame_no += 1
        self.frames_sent += 1
        frame["n"] = self.frame_no
        return frame

    def _start_epoch(self, epoch: int) -> None:
        """Style ids changed meaning: the client drops its rows and styles, and every pane starts over."""
        self.epoch = epoch
        self.mirror.clear()
        self.styles_known = {0}
        self.sent = {pid: _Sent() for pid in self.sent}

    def _pane_fields(self, st: PaneState, force: bool, new_rows: list[Any], new_styles: list[list[int]],
                     styles: StyleTable, in_frame: set[int]) -> dict[str, Any] | None:
        s = self.sent.get(st.id)
        if s is None:
            s = self.sent[st.id] = _Sent()
        out: dict[str, Any] = {}
        size = (st.cols, st.rows)
        if s.size != size:
            out["size"] = list(size)
            s.size = size
        if s.ids != st.ids:
            mirror = self.mirror
            for rid, row in zip(st.ids, st.lines, strict=True):
                in_frame.add(rid)
                if rid in mirror and not force:
                    mirror.move_to_end(rid)
                    continue
                if rid in mirror:
                    mirror.move_to_end(rid)
                else:
                    mirror[rid] = None
                self._styles_of(row, styles, new_styles)
                new_rows += (rid, encode_row(row))
                self.rows_sent += 1
            out["lines"] = pack_ids(st.ids)
            s.ids = st.ids
        else:
            in_frame.update(st.ids)
        if s.cursor != st.cursor:
            out["cursor"] = list(st.cursor) if st.cursor is not None else None
            s.cursor = st.cursor
        if s.modes != st.modes:
            out["modes"] = s.modes = st.modes
        if s.scrollback != st.scrollback:
            out["sb"] = s.scrollback = st.scrollback
        if s.offset != st.offset:
            out["offset"] = s.offset = st.offset
        if s.palette != st.palette:
            out["pal"] = [list(p) for p in st.palette]
            s.palette = st.palette
        if s.colors != (st.fg, st.bg):
            s.colors = (st.fg, st.bg)
            out["fg"], out["bg"] = st.fg, st.bg
        if s.title != st.title:
            out["title"] = s.title = st.title
        if s.exit != st.exit:
            out["exit"] = s.exit = st.exit
        if s.progress != st.progress:
            out["progress"] = list(st.progress) if st.progress is not None else None
            s.progress = st.progress
        if s.cell != st.cell:
            out["cell"] = list(st.cell)
            s.cell = st.cell
        shown = self._shown_images(st)
        if s.img != shown:
            out["img"] = [list(r) for r in shown]
            s.img = shown
        if not out:
            return None
        out["id"] = st.id
        return out

    def _shown_images(self, st: PaneState) -> tuple[PlacementRecord, ...]:
        """The pane's placements of images the client holds; the others' images become wanted."""
        if not st.placements:
            self.wanted.pop(st.id, None)
            return ()
        held, resend = self.images, self.resend
        wanted = {k: img for k, img in st.images.items() if k not in held or k in resend}
        if wanted:
            self.wanted[st.id] = wanted
        else:
            self.wanted.pop(st.id, None)
        for key in st.images:
            if key in held:
                held.touch(key)
        if not wanted:
            return st.placements
        return tuple(r for r in st.placements if r[0] not in wanted)

    # -- images ------------------------------------------------------------------------------------
    def next_wanted(self) -> WireImage | None:
        """The first image a shown pane needs that the client could hold (in the order panes were built)."""
        held, resend, unfit = self.images, self.resend, self.unfit
        for wanted in self.wanted.values():
            for key, image in wanted.items():
                if (key in held and key not in resend) or key in unfit:
                    continue
                if not held.ever_fits(image.decoded_bytes):
                    self.give_up(key)
                    continue
                return image
        return None

    def give_up(self, key: str) -> None:
        """No room for this image as things are: its placements stay left out (retried after the next frame)."""
        self.unfit.add(key)
        self.images_unfit += 1

    def pinned_images(self) -> set[str]:
        """Images a shown pane's placements use (the client draws them), those sent for a pane whose frame
        placing them has not been built yet, and those being sent again."""
        pinned = set(self.resend)
        for s in self.sent.values():
            if s.img:
                pinned.update(r[0] for r in s.img)
        held = self.images
        for wanted in self.wanted.values():
            pinned.update(k for k in wanted if k in held)
        return pinned

    def image_sent(self, image: WireImage) -> list[int]:
        """The client is being sent ``image``: it holds it from now on. Returns the panes that wanted it."""
        self.images.add(image.key, image.decoded_bytes)
        self.resend.discard(image.key)
        return [pid for pid, wanted in self.wanted.items() if image.key in wanted]

    def _evict_images(self) -> list[str]:
        """Keep the client's images within bounds, making room for the next one wanted; never an image a
        shown pane uses."""
        held = self.images
        reserve: int | None = None
        nxt = self.next_wanted()
        if nxt is not None and nxt.key not in held:
            reserve = nxt.decoded_bytes
        if reserve is None and held.bytes <= held.max_bytes and len(held) <= held.max_count:
            return []
        dropped = held.evict(self.pinned_images(), reserve)
        self.resend.difference_update(dropped)
        return dropped

    def _styles_of(self, row: Row, styles: StyleTable, new_styles: list[list[int]]) -> None:
        runs = row[1]
        known = self.styles_known
        for i in range(2, len(runs), 3):
            sid = runs[i]
            if sid not in known:
                known.add(sid)
                new_styles.append([sid, *styles.styles[sid]])

    def _evict(self, in_frame: set[int]) -> list[int]:
        """Trim the mirror to capacity, never dropping a row that any shown pane still uses."""
        mirror = self.mirror
        excess = len(mirror) - self.cache_rows
        if excess <= 0:
            return []
        pinned = set(in_frame)
        for s in self.sent.values():
            if s.ids is not None:
                pinned.update(s.ids)
        dropped: list[int] = []
        skipped = 0
        while excess > 0 and skipped <= len(pinned):
            rid = next(iter(mirror))
            if rid in pinned:
                mirror.move_to_end(rid)   # in use, hence recent
                skipped += 1
                continue
            del mirror[rid]
            dropped.append(rid)
            excess -= 1
        return dropped
