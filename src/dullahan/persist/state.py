"""The session state as bytes: what a state file holds and what a restart hands over. Pure (no I/O).

Layout of the bytes (integers little-endian)::

    "DULLSTAT" | u16 format | u32 header length | header (JSON) | blob area | u32 CRC-32 of all before it

The header (``StateHeader``) describes windows (layout tree with exact sizes, slots, hidden panes, sizes)
and panes (ids, pid, cwd, title, foreground command, exit status, counters, event sequence numbers).
Blobs are referenced from the header by offset and length into the blob area: each pane's terminal
snapshot (Ghostty's encoder, zlib-compressed in a state file, raw in a handoff), the restart's pending
input, and the web layer's own state (``Server.register_client_state``).

``decode`` checks everything it can without Ghostty: magic, format, CRC, the header's schema, that ids are
unique and every pane is in exactly one window, that layouts parse and blob references are in range. What
it refuses raises ``StateError`` with a message for the log and ``dullahan status``.

``plan_history_cuts`` is the cap on the whole state: which panes keep how much history so that the state
fits ``state_max_bytes``.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from dullahan.session import layout
from dullahan.session.layout import LayoutError, Leaf, Node, Split

MAGIC = b"DULLSTAT"
FORMAT = 1
_PREFIX = struct.Struct("<8sHI")
_CRC = struct.Struct("<I")
MAX_HEADER = 16 << 20
MAX_BLOB = 1 << 30          # one decompressed snapshot (a 1000x1000 terminal with 1M lines is far below)
MAX_WINDOWS = 64
MAX_PANES = 256
MAX_CELLS = 1000


class StateError(Exception):
    """State bytes that cannot be used; the message says why."""


# -- the header's schema --------------------------------------------------------------------------------------
class BlobRef(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    offset: int
    length: int
    compressed: bool


class ExitRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    code: int | None
    signal: int | None


class MetaRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Pane state outside the grid that a restart must carry on with (sequence numbers are "deliver once")."""

    bells: int = 0
    event_seq: int = 0
    events: list[tuple[int, str, str, str]] = []    # PaneEvent: seq, kind, title, body
    progress: tuple[int, int] | None = None


class PaneRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: int
    pid: int | None
    argv: list[str]
    cwd: str
    cols: int
    rows: int
    title: str = ""
    command: list[str] | None = None     # the foreground command line when saved (None: the shell's prompt)
    exit: ExitRecord | None = None
    created: float = 0.0
    bytes_out: int = 0
    bytes_in: int = 0
    meta: MetaRecord = MetaRecord()
    screen: BlobRef | None = None        # Ghostty snapshot; None when it could not be taken or did not fit
    history_rows: int = 0                # history rows in ``screen``
    dropped_rows: int = 0                # history rows the caps left out
    input: BlobRef | None = None         # input not yet written to the program (restart handoff only)
    same_screen: bool = False            # restart handoff: unchanged since the snapshot already handed over
    title_stack: list[str] = []          # restart handoff: what VTerm keeps outside Ghostty (``VTerm.carried``)
    carry: bytes = b""


class WindowRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: int
    layout: str
    tree: Any
    slots: list[int | None]
    hidden: list[int]
    active: int | None
    cols: int
    rows: int
    name: str = ""
    zoomed: int | None = None
    recent: list[int] = []


class StateHeader(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    version: str                          # Dullahan's version that wrote it
    ghostty: str                          # pyghostty's version (the snapshot format has no compatibility promise)
    saved_at: float
    port: int
    purpose: Literal["save", "handoff"]
    next_pane: int
    next_window: int
    active_window: int | None
    windows: list[WindowRecord]
    panes: list[PaneRecord]
    clients: BlobRef | None = None        # the web layer's own state, opaque here


# -- bytes -------------------------------------------------------------------------------------------------------
class BlobWriter:
    """Collects blobs for one state and hands out references to them."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._size = 0

    def add(self, data: bytes, compressed: bool) -> BlobRef:
        ref = BlobRef(self._size, len(data), compressed)
        self._parts.append(data)
        self._size += len(data)
        return ref

    @property
    def size(self) -> int:
        return self._size

    def join(self) -> bytes:
        return b"".join(self._parts)

    def parts(self) -> list[bytes]:
        return list(self._parts)


def encode_parts(header: StateHeader, blobs: list[bytes]) -> list[bytes]:
    """The encoded state as pieces to write one after the other (no copy of the blobs into one buffer: a
    session's screens can be tens of megabytes)."""
    body = msgspec.json.encode(header)
    if len(body) > MAX_HEADER:
        raise StateError(f"the state header is {len(body)} bytes; the limit is {MAX_HEADER}")
    parts = [_PREFIX.pack(MAGIC, FORMAT, len(body)), body, *blobs]
    crc = 0
    for part in parts:
        crc = zlib.crc32(part, crc)
    return [*parts, _CRC.pack(crc)]


def encode(header: StateHeader, blobs: bytes) -> bytes:
    return b"".join(encode_parts(header, [blobs]))


def blob_area_offset(data: bytes) -> int:
    """Where the blob area starts in encoded state bytes, or in their first two parts (blob references are
    relative to it)."""
    _magic, _fmt, header_len = _PREFIX.unpack_from(data)
    return int(_PREFIX.size + header_len)


@dataclass(frozen=True)
class DecodedState:
    header: StateHeader
    blobs: memoryview

    def blob(self, ref: BlobRef) -> bytes:
        """A blob's bytes, decompressed (StateError if they do not inflate, or inflate beyond MAX_BLOB)."""
        raw = bytes(self.blobs[ref.offset:ref.offset + ref.length])
        if not ref.compressed:
            return raw
        inflater = zlib.decompressobj()
        try:
            out = inflater.decompress(raw, MAX_BLOB)
        except zlib.error as e:
            raise StateError(f"a saved screen does not decompress: {e}") from None
        if inflater.unconsumed_tail or not inflater.eof:
            raise StateError("a saved screen is truncated or larger than the limit")
        return out


def decode(data: bytes) -> DecodedState:
    if len(data) < _PREFIX.size + _CRC.size:
        raise StateError(f"too short to be a state file ({len(data)} bytes)")
    magic, fmt, header_len = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise StateError("not a Dullahan state file (bad magic)")
    if fmt != FORMAT:
        raise StateError(f"state format {fmt} is not the supported format {FORMAT}")
    (crc,) = _CRC.unpack_from(data, len(data) - _CRC.size)
    if zlib.crc32(memoryview(data)[:-_CRC.size]) != crc:
        raise StateError("the state file is damaged (checksum mismatch)")
    start = _PREFIX.size
    if header_len > MAX_HEADER or start + header_len > len(data) - _CRC.size:
        raise StateError("the state header's length is out of range")
    try:
        header = msgspec.json.decode(data[start:start + header_len], type=StateHeader)
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise StateError(f"the state header is invalid: {e}") from None
    blobs = memoryview(data)[start + header_len:len(data) - _CRC.size]
    check(header, len(blobs))
    return DecodedState(header, blobs)


# -- consistency ---------------------------------------------------------------------------------------------
def _check_ref(ref: BlobRef | None, area: int, what: str) -> None:
    if ref is not None and not (ref.offset >= 0 and ref.length >= 0 and ref.offset + ref.length <= area):
        raise StateError(f"{what} points outside the state's data")


def _check_size(cols: int, rows: int, what: str) -> None:
    if not (1 <= cols <= MAX_CELLS and 1 <= rows <= MAX_CELLS):
        raise StateError(f"{what} has an impossible size {cols}x{rows}")


def check(header: StateHeader, blob_area: int) -> None:
    """Everything that must hold for a session to be rebuilt from ``header``; StateError otherwise."""
    if len(header.windows) > MAX_WINDOWS or len(header.panes) > MAX_PANES:
        raise StateError(f"{len(header.windows)} windows and {len(header.panes)} panes exceed the limits")
    panes = {}
    for pane in header.panes:
        if pane.id < 1 or pane.id in panes:
            raise StateError(f"pane id {pane.id} is invalid or repeated")
        if not pane.argv or (pane.pid is not None and pane.pid < 1):
            raise StateError(f"pane {pane.id} has no command or an invalid pid")
        _check_size(pane.cols, pane.rows, f"pane {pane.id}")
        _check_ref(pane.screen, blob_area, f"pane {pane.id}'s screen")
        if pane.same_screen and pane.screen is not None:
            raise StateError(f"pane {pane.id} has a screen and claims to keep the one handed over before")
        _check_ref(pane.input, blob_area, f"pane {pane.id}'s input")
        panes[pane.id] = pane
    placed: set[int] = set()
    window_ids: set[int] = set()
    for window in header.windows:
        if window.id < 1 or window.id in window_ids:
            raise StateError(f"window id {window.id} is invalid or repeated")
        window_ids.add(window.id)
        _check_size(window.cols, window.rows, f"window {window.id}")
        try:
            tree = layout.parse(window.tree)
        except LayoutError as e:
            raise StateError(f"window {window.id}'s layout: {e}") from None
        if len(window.slots) != layout.slot_count(tree):
            raise StateError(f"window {window.id} has {len(window.slots)} slots for a layout of "
                             f"{layout.slot_count(tree)}")
        members = [p for p in window.slots if p is not None] + window.hidden
        for pane_id in members:
            if pane_id not in panes or pane_id in placed:
                raise StateError(f"window {window.id} lists pane {pane_id}, which is unknown or in another window")
            placed.add(pane_id)
        if window.active is not None and window.active not in members:
            raise StateError(f"window {window.id}'s active pane {window.active} is not one of its panes")
        if window.zoomed is not None and window.zoomed not in window.slots:
            raise StateError(f"window {window.id}'s zoomed pane {window.zoomed} is not in one of its slots")
    if placed != set(panes):
        raise StateError(f"panes {sorted(set(panes) - placed)} are in no window")
    if header.active_window is not None and header.active_window not in window_ids:
        raise StateError(f"the active window {header.active_window} does not exist")
    if header.next_pane <= max(panes, default=0) or header.next_window <= max(window_ids, default=0):
        raise StateError("the next ids would reuse an existing id")
    _check_ref(header.clients, blob_area, "the clients' state")


# -- layouts with exact sizes --------------------------------------------------------------------------------
def tree_to_json(node: Node) -> object:
    """A layout tree in ``layout.parse``'s form, sizes at full precision (``layout.to_json`` rounds them,
    which could move a divider by a cell after a restart)."""
    if isinstance(node, Leaf):
        return layout.LEAF_JSON
    assert isinstance(node, Split)
    return {node.kind: [tree_to_json(child) for child in node.children], "sizes": list(node.sizes)}


# -- the cap on the whole state -------------------------------------------------------------------------------
@dataclass(frozen=True)
class PaneCost:
    pane_id: int
    size: int            # bytes this pane's screen takes in the state
    history_rows: int


def plan_history_cuts(costs: Iterable[PaneCost], budget: int) -> dict[int, int]:
    """How many history rows each pane may keep so that the screens fit ``budget`` bytes (one round).

    Every pane with history gives up the same share of it, as if all its bytes were history (so a round never
    cuts too little by underestimating). Panes not in the result keep everything. An empty result with the
    total still over budget means history is gone and only dropping whole screens is left (``screens_to_drop``).
    """
    items = list(costs)
    total = sum(c.size for c in items)
    if total <= budget:
        return {}
    share = max(0.0, budget / total) * 0.9
    return {c.pane_id: math.floor(c.history_rows * share) for c in items if c.history_rows > 0}


def screens_to_drop(costs: Iterable[PaneCost], budget: int) -> set[int]:
    """The largest screens to leave out so that the rest fit ``budget`` (the last resort)."""
    items = sorted(costs, key=lambda c: (-c.size, c.pane_id))
    total = sum(c.size for c in items)
    dropped: set[int] = set()
    for cost in items:
        if total <= budget:
            break
        dropped.add(cost.pane_id)
        total -= cost.size
    return dropped
