"""One connected client's whole sync state, with no I/O, no clock and no asyncio (sans-I/O).

``net.client.ClientConnection`` owns one ``Peer`` per WebSocket. It feeds it what arrives (``receive``),
sends what it produces (``data_to_send``, ``next_message``), wakes it when it asks to be (``next_deadline``)
and carries out the messages it hands back (input, window operations). The hub tells it what changed
(``mark_dirty``, ``mark_layout``) and the registry what its role is (``set_role``). Everything a client
holds or has been told lives here and nowhere else:

- the mirror of its row, style and image caches and the fields last sent per pane (``FrameBuilder``);
- dirty marks, layout dirtiness, forced resyncs, panes whose fresh view is still being read;
- its own scroll position in each pane's history;
- pacing (a per-pane frame budget for output-heavy frames), frames in flight, congestion, and the image
  bytes in flight (images go out between frames, within a byte budget, never ahead of a due frame);
- the notifications, clipboard writes and bells already delivered (at most once, ever: this survives
  cache resets, window switches and reconnects with resume);
- its role, its resume secret, its rate limits and budgets, its keepalive.

Budgets: input and window messages beyond ``messages_per_second`` are refused (``rate_limited``); the
messages the protocol depends on (hello, ack, ping, resync) never are. A client that sends far more than
any browser would, keeps sending refused messages, or leaves replies unread past a byte budget is closed
with reason ``abuse``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, Protocol

from dullahan.shapes import MODE_ALT_SCREEN, PaneEvents, StyleTable
from dullahan.wire import protocol as p
from dullahan.wire.images import ImageMirror, image_message
from dullahan.wire.keepalive import Keepalive
from dullahan.wire.protocol import ESSENTIAL, MASTER_ONLY, Message, ProtocolError, dumps, message_type
from dullahan.wire.sync import DEFAULT_CACHE_IMAGE_BYTES, DEFAULT_CACHE_IMAGES, FrameBuilder, PaneState

Role = Literal["master", "view"]

FRAME_BURST = 4.0            # frames a pane may send back to back before pacing applies
PACED_BYTES = 2048           # output since the pane's last frame that makes a frame "heavy" (paced)
RENDER_HOLD_RETRY = 0.02     # a pane whose program holds rendering (DEC 2026) is looked at again after this
ERRORS_PER_SECOND = 10       # error replies of one code; more are counted, not sent
REFUSED_PER_SECOND = 50      # refused messages a client may send before it is closed as abusive
TOTAL_PER_SECOND = 4000      # all messages, essential ones included (a browser sends at most a few hundred)


@dataclass(frozen=True, slots=True)
class PeerLimits:
    frames_in_flight: int = 3
    frame_interval: float = 1 / 60
    messages_per_second: int = 400
    ping_interval: float = 20.0
    ping_timeout: float = 20.0
    max_paste_bytes: int = 16 << 20
    max_unsent_bytes: int = 1 << 20      # replies queued but not yet taken by the socket
    image_bytes_in_flight: int = 4 << 20  # image messages sent but not yet acknowledged (one larger goes alone)
    image_cache_bytes: int = DEFAULT_CACHE_IMAGE_BYTES   # the client's image cache (decoded RGBA), mirrored
    image_cache_count: int = DEFAULT_CACHE_IMAGES
    viewer_commands: frozenset[str] = frozenset()   # commands (``cmd``) a viewer may send too


class Outgoing(NamedTuple):
    """One WebSocket message for the client: a text frame (JSON) or a binary one (an image)."""

    data: bytes
    binary: bool


@dataclass(frozen=True, slots=True)
class Close:
    """The peer must be disconnected: a reason from the disconnect vocabulary and a detail."""

    reason: str
    detail: str


class FrameSource(Protocol):
    """What a peer needs to know of the session to build its frames (``dullahan.hub.SyncHub``)."""

    @property
    def styles(self) -> StyleTable: ...

    def begin_frame(self) -> None: ...
    def pane_ids(self) -> Sequence[int]: ...
    def visible_panes(self) -> Sequence[int]: ...
    def layout(self) -> dict[str, Any]: ...
    def live_state(self, pane_id: int) -> PaneState | None: ...
    def history_state(self, pane_id: int, live: PaneState, offset: int) -> PaneState: ...
    def output_bytes(self, pane_id: int) -> int | None: ...
    def render_held(self, pane_id: int) -> bool: ...
    def events(self, pane_id: int) -> PaneEvents | None: ...


class Bucket:
    """A token bucket: ``rate`` per second, holding at most ``burst``."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, now

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass(slots=True)
class ScrollPos:
    offset: int                 # rows above the live screen
    anchored: int | None        # the scrollback length the offset was measured against (None: not yet)
    top_row: int | None = None  # asked for: this history row at the top (resolved when the frame is built)


@dataclass(slots=True)
class _Pace:
    tokens: float
    at: float
    bytes_at_frame: int


@dataclass(slots=True)
class _Delivered:
    seq: int = 0                # the last notification/clipboard event delivered
    bells: int = 0              # the bell count delivered


@dataclass(slots=True)
class _Paste:
    pane: int
    parts: list[str] = field(default_factory=list)
    size: int = 0


class Peer:
    def __init__(self, client_id: int, can_master: bool, limits: PeerLimits, now: float) -> None:
        self.id = client_id
        self.can_master = can_master
        self.limits = limits
        self.frames = FrameBuilder(images=ImageMirror(limits.image_cache_bytes, limits.image_cache_count))
        self.keepalive = Keepalive(limits.ping_interval, limits.ping_timeout, now)
        self.role: Role = "view"
        self.master_id: int | None = None
        self.resume_secret = ""
        self.master_since: int | None = None     # set by the registry each time this lineage takes the role
        self.closing: Close | None = None
        self.congested = False
        self.offsets: dict[int, ScrollPos] = {}
        self.msgs_in = self.msgs_out = self.bytes_out = 0
        self.refused = self.bad_messages = self.errors_suppressed = 0
        self._dirty: set[int] = set()
        self._layout_dirty = True
        self._force: set[int] = set()
        self._waiting: set[int] = set()          # dirty panes whose fresh view is being read elsewhere
        self._pace: dict[int, _Pace] = {}
        self._wake_at: float | None = None
        self._delivered: dict[int, _Delivered] = {}
        self._paste: _Paste | None = None
        self._outbox: deque[bytes] = deque()
        self._unsent = 0
        self._image_flight: deque[tuple[int, int]] = deque()   # (frames sent before it, bytes) per image
        self._image_bytes = 0
        self._frame_owed = False                 # an image went out (or room must be made): a frame follows
        self.images_out = self.image_bytes_out = 0
        self._hello_sent = False
        rate = limits.messages_per_second
        self._inbound = Bucket(rate, 2 * rate, now)
        total = max(TOTAL_PER_SECOND, 10 * rate)
        self._total = Bucket(total, total, now)
        self._refusals = Bucket(REFUSED_PER_SECOND, 4 * REFUSED_PER_SECOND, now)
        self._errors: dict[str, Bucket] = {}      # per error code (a fixed vocabulary)

    # -- identity across connections ---------------------------------------------------------------
    def adopt(self, old: Peer) -> None:
        """Carry on from ``old``, the same browser tab on an earlier connection: its secret, its scroll
        positions and what it was already told. The row and image caches start over (the page's did too)."""
        self.resume_secret = old.resume_secret
        self.master_since = old.master_since
        self.offsets = {pid: ScrollPos(pos.offset, pos.anchored) for pid, pos in old.offsets.items()}
        self._delivered = {pid: _Delivered(d.seq, d.bells) for pid, d in old._delivered.items()}

    def delivered_marks(self) -> dict[int, tuple[int, int]]:
        """What this client was already told, per pane (event seq, bells): carried over a restart."""
        return {pid: (d.seq, d.bells) for pid, d in self._delivered.items()}

    def restore_delivered(self, marks: dict[int, tuple[int, int]]) -> None:
        self._delivered = {pid: _Delivered(seq, bells) for pid, (seq, bells) in marks.items()}

    def baseline(self, source: FrameSource) -> None:
        """A new client is not told what happened before it connected."""
        for pane_id in source.pane_ids():
            events = source.events(pane_id)
            if events is not None and pane_id not in self._delivered:
                self._delivered[pane_id] = _Delivered(events.last_seq, events.bells)

    def hello_reply(self, fields: dict[str, Any]) -> None:
        """Queue the reply to hello (it goes out before anything else)."""
        body = {"t": "hello", "v": p.PROTOCOL_VERSION, "client": self.id, "role": self.role,
                "can_master": self.can_master, "master": self.master_id, "resume": self.resume_secret, **fields}
        self._outbox.appendleft(dumps(body))
        self._unsent += len(self._outbox[0])
        self._hello_sent = True

    def set_role(self, role: Role, master_id: int | None) -> None:
        changed = (role, master_id) != (self.role, self.master_id)
        self.role, self.master_id = role, master_id
        if changed and self._hello_sent:
            self._queue({"t": "role", "role": role, "master": master_id})

    # -- what arrives ------------------------------------------------------------------------------
    def receive(self, text: str | bytes, now: float) -> Message | None:
        """Take one text message. Returns the message when the host must carry it out (input, window
        operations, wheel, request_master); handles the rest itself. Replies go to ``data_to_send``."""
        self.msgs_in += 1
        if not self._total.take(now):
            self._close("abuse", f"more than {int(self._total.rate)} messages per second")
            return None
        try:
            msg = p.parse_message(text)
        except ProtocolError as e:
            self.bad_messages += 1
            self._refuse(e.code, e.message, None, now)
            return None
        if isinstance(msg, ESSENTIAL):
            self._essential(msg, now)
            return None
        kind = message_type(msg)
        if not self._inbound.take(now):
            self._refuse("rate_limited", f"more than {self.limits.messages_per_second} messages per second; "
                         "some were dropped", kind, now)
            return None
        if self.role != "master" and (isinstance(msg, MASTER_ONLY) or (
                isinstance(msg, p.Cmd) and msg.name not in self.limits.viewer_commands)):
            ref, request = (msg.name, msg.id) if isinstance(msg, p.Cmd) else (kind, None)
            self._refuse("not_master", "only the master can do that; this client is watching", ref, now, request)
            return None
        if isinstance(msg, p.Scroll):
            self.scroll(msg.pane, msg.delta, msg.to, msg.row)
            return None
        if isinstance(msg, p.Paste):
            return self._paste_chunk(msg, now)
        return msg

    def _essential(self, msg: Message, now: float) -> None:
        if isinstance(msg, p.Ack):
            try:
                self.frames.ack(msg.frame)
            except ProtocolError as e:
                self.bad_messages += 1
                self._refuse(e.code, e.message, "ack", now)
                return
            self.keepalive.alive()
            if self.frames.in_flight < self.limits.frames_in_flight:
                self.congested = False
            flight = self._image_flight
            while flight and flight[0][0] < self.frames.acked:   # acknowledged by the first frame after it
                self._image_bytes -= flight.popleft()[1]
        elif isinstance(msg, p.Ping):
            body: dict[str, Any] = {"t": "pong", "id": msg.id}
            if msg.ts is not None:
                body["ts"] = msg.ts
            if self.keepalive.rtt is not None:
                body["rtt"] = round(self.keepalive.rtt * 1000, 3)
            self._queue(body)
        elif isinstance(msg, p.Resync):
            targets = [msg.pane] if msg.pane is not None else self.frames.showing()
            self._force.update(targets)
            self._dirty.update(targets)
            self._waiting.difference_update(targets)
            self._layout_dirty = True
        else:
            self.bad_messages += 1
            self._refuse("bad_message", "hello was already received", "hello", now)

    def _paste_chunk(self, msg: p.Paste, now: float) -> Message | None:
        """Collect a paste's chunks; hand the whole paste back with its last one."""
        paste = self._paste if self._paste is not None else _Paste(msg.pane)
        if paste.pane != msg.pane:
            self._paste = None
            self._refuse("bad_paste", "a paste's chunks must all go to the same pane", "paste", now)
            return None
        paste.size += len(msg.data.encode("utf-8", "surrogatepass"))
        if paste.size > self.limits.max_paste_bytes:
            self._paste = None
            self._refuse("paste_too_large", f"pastes are limited to {self.limits.max_paste_bytes} bytes",
                         "paste", now)
            return None
        paste.parts.append(msg.data)
        if msg.more:
            self._paste = paste
            return None
        self._paste = None
        return p.Paste(pane=msg.pane, data="".join(paste.parts))

    def error(self, code: str, message: str, ref: str | None, now: float, request: int | None = None) -> None:
        """Tell the client that carrying out one of its messages failed (the host's errors); ``request`` is
        the ``id`` of the command it answers, if it had one."""
        self._refuse(code, message, ref, now, request)

    def result(self, request: int, result: Any) -> None:
        """The result of a command the client sent with an ``id``."""
        self._queue({"t": "result", "id": request, "result": result})

    def _refuse(self, code: str, message: str, ref: str | None, now: float, request: int | None = None) -> None:
        self.refused += 1
        if not self._refusals.take(now):
            self._close("abuse", f"more than {REFUSED_PER_SECOND} refused messages per second (last: {code})")
            return
        bucket = self._errors.get(code)
        if bucket is None:
            bucket = self._errors[code] = Bucket(ERRORS_PER_SECOND, ERRORS_PER_SECOND, now)
        if not bucket.take(now) and request is None:     # an answer someone waits for is always sent
            self.errors_suppressed += 1
            return
        body: dict[str, Any] = {"t": "error", "code": code, "msg": message}
        if ref:
            body["ref"] = ref
        if request is not None:
            body["id"] = request
        self._queue(body)

    def _queue(self, body: dict[str, Any]) -> None:
        data = dumps(body)
        self._outbox.append(data)
        self._unsent += len(data)
        if self._unsent > self.limits.max_unsent_bytes:
            self._close("abuse", f"{self._unsent} bytes of replies left unread")

    def _close(self, reason: str, detail: str) -> None:
        if self.closing is None:
            self.closing = Close(reason, detail)

    # -- this client's view of the scrollback ------------------------------------------------------
    def scroll(self, pane_id: int, delta: int, to: str | None, row: int | None = None) -> None:
        """Move this client's view of a pane's history (negative delta: older rows; or ``row``, counted
        from the oldest history row, at the top). Clamped when the next frame is built, against the
        pane's scrollback at that moment."""
        pos = self.offsets.get(pane_id, ScrollPos(0, None))
        if row is not None:
            self.offsets[pane_id] = ScrollPos(0, None, row)
            self.mark_dirty(pane_id)
            return
        if to == "bottom":
            offset = 0
        elif to == "top":
            offset = p.MAX_ID          # clamped to the scrollback's length
        else:
            offset = max(0, pos.offset - delta)
        if offset:
            self.offsets[pane_id] = ScrollPos(offset, pos.anchored)
        else:
            self.offsets.pop(pane_id, None)
        self.mark_dirty(pane_id)

    def scrolled(self, pane_id: int) -> bool:
        return pane_id in self.offsets

    def follow_output(self, pane_id: int) -> None:
        """Typing into a pane brings this client's view of it back to the live screen."""
        if self.offsets.pop(pane_id, None) is not None:
            self.mark_dirty(pane_id)

    # -- what changed ------------------------------------------------------------------------------
    def mark_dirty(self, pane_id: int) -> None:
        self._dirty.add(pane_id)
        self._waiting.discard(pane_id)

    def mark_layout(self, visible: Sequence[int]) -> None:
        self._layout_dirty = True
        self._dirty.update(visible)

    @property
    def wants_frame(self) -> bool:
        return bool(self._dirty or self._layout_dirty or self._frame_owed)

    @property
    def wants_send(self) -> bool:
        """Replies are queued, something changed or an image waits: the sender has work (or may have, once
        paced or acknowledged)."""
        return bool(self._outbox) or self.wants_frame or self.wants_image

    @property
    def wants_image(self) -> bool:
        """A shown pane waits for an image and the byte budget is not spent."""
        return bool(self.frames.wanted) and self._image_bytes < self.limits.image_bytes_in_flight

    @property
    def image_bytes_in_flight(self) -> int:
        return self._image_bytes

    # -- what to send ------------------------------------------------------------------------------
    def data_to_send(self) -> list[bytes]:
        """Replies queued since the last call (hello, role changes, errors, pongs), in order."""
        out = list(self._outbox)
        self._outbox.clear()
        self._unsent = 0
        self.msgs_out += len(out)
        self.bytes_out += sum(map(len, out))
        return out

    def next_message(self, now: float, source: FrameSource) -> Outgoing | None:
        """What to send next: a due frame first (an echo never waits behind an image), else one image a shown
        pane needs, else nothing. Replies (``data_to_send``) go before either."""
        frame = self.next_frame(now, source)
        if frame is not None:
            return Outgoing(frame, False)
        image = self.next_image()
        if image is not None:
            return Outgoing(image, True)
        if self._frame_owed:            # room must be made for an image: the frame that drops what makes it
            frame = self.next_frame(now, source)
            if frame is not None:
                return Outgoing(frame, False)
        return None

    def next_image(self) -> bytes | None:
        """One image message for an image a shown pane needs, or None: none is needed, the byte budget is
        spent (an ack brings it back), or room must first be made in the client's cache (a frame owed).

        At most ``image_bytes_in_flight`` bytes of images are unacknowledged; an image larger than that goes
        only when no other image is in flight. An image is acknowledged by the ack of the first frame sent
        after it, and one always follows (the panes that wanted it are dirty, and a frame is owed).
        """
        if self.closing is not None:
            return None
        frames = self.frames
        held = frames.images
        while (image := frames.next_wanted()) is not None:
            size = image.decoded_bytes
            if image.key in held or held.has_room(size):
                break
            if held.room_after_evicting(size, frames.pinned_images()):
                self._frame_owed = True         # its evictions go out in a frame first
                return None
            frames.give_up(image.key)           # every image held is drawn: no room for this one
        if image is None:
            return None
        data = image_message(image)
        if self._image_bytes and self._image_bytes + len(data) > self.limits.image_bytes_in_flight:
            return None
        for pane_id in frames.image_sent(image):
            self._dirty.add(pane_id)
        self._image_flight.append((frames.frame_no, len(data)))
        self._image_bytes += len(data)
        self._frame_owed = True
        self.images_out += 1
        self.image_bytes_out += len(data)
        self.msgs_out += 1
        self.bytes_out += len(data)
        return data

    def next_frame(self, now: float, source: FrameSource) -> bytes | None:
        """The next frame for this client, or None: nothing changed, too many frames unacknowledged
        (``congested``; an ack brings it back), or the changes are paced (see ``next_deadline``)."""
        self._wake_at = None
        if self.closing is not None or not self.wants_frame:
            return None
        in_flight = self.frames.in_flight
        if in_flight >= self.limits.frames_in_flight:
            self.congested = True
            return None
        # The last free slot is kept for light frames (an echo, typing): it never waits behind a flood's.
        light_only = in_flight == self.limits.frames_in_flight - 1 > 0
        source.begin_frame()
        visible = set(source.visible_panes())
        for pane_id in self.frames.showing():
            if pane_id not in visible:
                self.frames.forget(pane_id)
                self.offsets.pop(pane_id, None)
        due = self._due(now, source, visible, light_only)
        states: list[PaneState] = []
        events: list[list[Any]] = []
        for pane_id in due:
            self._dirty.discard(pane_id)
            self._collect_events(pane_id, source, pane_id in visible, events)
            if pane_id not in visible:
                continue
            state = self._state(pane_id, source)
            if state is None:
                self._waiting.add(pane_id)      # being read elsewhere; a mark_dirty follows
                continue
            states.append(state)
            self._spend(pane_id, source, now)
        layout = source.layout() if self._layout_dirty else None
        self._layout_dirty = False
        force = frozenset(self._force.intersection(due))
        self._force -= force
        frame = self.frames.build(states, source.styles, layout, force, events, always=self._frame_owed)
        if frame is None:
            return None
        self._frame_owed = False
        data = dumps(frame)
        self.msgs_out += 1
        self.bytes_out += len(data)
        return data

    def next_deadline(self) -> float | None:
        """When paced changes become due (the host wakes the peer then), or None."""
        return self._wake_at

    @property
    def in_flight(self) -> int:
        return self.frames.in_flight

    def _due(self, now: float, source: FrameSource, visible: set[int], light_only: bool = False) -> list[int]:
        """Dirty panes that may go out now; sets when the next paced one may.

        Only output-heavy frames are paced: each pane has a budget of frames refilled 60 times a second (a
        burst of ``FRAME_BURST``), spent by a frame only when the pane wrote more than ``PACED_BYTES`` since
        its last frame to this client. Echoes and typing go out at once however fast they come; a flood
        settles at about 60 frames per second without holding back another pane's echo. With
        ``light_only`` (one frame slot left) heavy panes wait for an acknowledgement, which wakes the sender.
        """
        interval = self.limits.frame_interval
        due: list[int] = []
        wake: float | None = None
        for pane_id in list(self._dirty):
            written = source.output_bytes(pane_id)
            if written is None:                 # the pane is gone
                self._dirty.discard(pane_id)
                self._pace.pop(pane_id, None)
                self._delivered.pop(pane_id, None)
                continue
            if pane_id in self._waiting:
                continue
            if pane_id not in visible:
                due.append(pane_id)             # only its events can be due
                continue
            pace = self._pace.get(pane_id)
            if pace is None:
                pace = self._pace[pane_id] = _Pace(FRAME_BURST, now, 0)
            pace.tokens = min(FRAME_BURST, pace.tokens + (now - pace.at) / interval)
            pace.at = now
            heavy = written - pace.bytes_at_frame > PACED_BYTES
            if heavy and light_only:
                continue
            ready_in = (1 - pace.tokens) * interval if heavy and pace.tokens < 1 else 0.0
            if source.render_held(pane_id):
                ready_in = max(ready_in, RENDER_HOLD_RETRY)
            if ready_in <= 0:
                due.append(pane_id)
            elif wake is None or now + ready_in < wake:
                wake = now + ready_in
        self._wake_at = wake
        return due

    def _spend(self, pane_id: int, source: FrameSource, now: float) -> None:
        pace = self._pace[pane_id]
        written = source.output_bytes(pane_id) or 0
        if written - pace.bytes_at_frame > PACED_BYTES:
            pace.tokens -= 1
        pace.bytes_at_frame = written

    def _state(self, pane_id: int, source: FrameSource) -> PaneState | None:
        """The live state, or this client's scrolled-back view of the pane's history.

        While the client looks at history, new output pushes rows into the scrollback; the offset grows by
        as much so the rows in view stay put (until the scrollback is full and drops its oldest rows).
        """
        live = source.live_state(pane_id)
        pos = self.offsets.get(pane_id)
        if live is None or pos is None:
            return live
        if live.modes & MODE_ALT_SCREEN or live.scrollback == 0:
            self.offsets.pop(pane_id, None)
            return live
        if pos.top_row is not None:
            offset = max(0, min(live.scrollback, live.scrollback - pos.top_row))
        else:
            anchored = pos.anchored if pos.anchored is not None else live.scrollback
            offset = min(live.scrollback, pos.offset + max(0, live.scrollback - anchored))
        if offset <= 0:
            self.offsets.pop(pane_id, None)
            return live
        self.offsets[pane_id] = ScrollPos(offset, live.scrollback)
        return source.history_state(pane_id, live, offset)

    def _collect_events(self, pane_id: int, source: FrameSource, visible: bool, out: list[list[Any]]) -> None:
        """Notifications and bells of any pane, and clipboard writes of panes this client shows, each once.

        A clipboard write from a pane the client does not show is passed over, never delivered later: a
        stale write must not overwrite what the user copied since.
        """
        events = source.events(pane_id)
        if events is None:
            return
        done = self._delivered.get(pane_id)
        if done is None:
            done = self._delivered[pane_id] = _Delivered()
        clip = None
        for ev in events.log:
            if ev.seq <= done.seq:
                continue
            if ev.kind == "notify":
                out.append([pane_id, "notify", ev.title, ev.body])
            elif ev.kind == "clip" and visible:
                clip = [pane_id, "clip", ev.title, ev.body]   # only the newest write counts
        if clip is not None:
            out.append(clip)
        if events.bells > done.bells:
            out.append([pane_id, "bell", events.bells - done.bells])
        done.seq = max(done.seq, events.last_seq)
        done.bells = max(done.bells, events.bells)
