"""A reference client: applies frames exactly as the browser does and shows what it would draw.

Tests (the randomized model check) and the soak command use it to prove that what a client reconstructs
equals the server's screen. The browser's ``web/sync.js`` implements the same rules. Images arrive in
binary messages (``apply_image``) before the frames that place them; the replica keeps their bytes
undecoded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dullahan.shapes import Row, StyleKey, row_cells
from dullahan.wire.images import parse_image_message
from dullahan.wire.rows import decode_row, unpack_ids


class Hole(Exception):
    """A frame referenced a row id (or an image key) the client does not hold: it must ask for a resync."""

    def __init__(self, pane: int, ids: list[int] | list[str]) -> None:
        super().__init__(f"pane {pane} references unknown {'images' if ids and isinstance(ids[0], str) else 'rows'} "
                         f"{ids[:5]}")
        self.pane, self.ids = pane, ids


@dataclass(frozen=True)
class ReplicaImage:
    width: int
    height: int
    mime: str
    data: bytes = field(repr=False)


@dataclass
class ReplicaPane:
    cols: int = 0
    rows: int = 0
    ids: list[int] = field(default_factory=list)
    cursor: list[Any] | None = None
    img: list[list[Any]] = field(default_factory=list)     # placement records, in drawing order
    cell: list[int] | None = None
    fields: dict[str, Any] = field(default_factory=dict)


class Replica:
    def __init__(self) -> None:
        self.rows: dict[int, Row] = {}
        self.images: dict[str, ReplicaImage] = {}
        self.styles: dict[int, StyleKey] = {0: (-1, -1, 0, -1)}
        self.panes: dict[int, ReplicaPane] = {}
        self.layout: Any = None
        self.last_frame = 0
        self.notifications: list[Any] = []    # [pane, title, body], in the order delivered
        self.clipboard: list[Any] = []        # [pane, location, text]
        self.bells: dict[int, int] = {}       # rings delivered per pane

    def apply_image(self, message: bytes) -> str:
        """Keep the image of a binary image message (it may replace one held under the same key); its key."""
        header, data = parse_image_message(message)
        key = str(header["k"])
        self.images[key] = ReplicaImage(int(header["w"]), int(header["h"]), str(header["m"]), data)
        return key

    def apply(self, frame: dict[str, Any]) -> None:
        """Apply one frame; raises Hole (after applying what it could) when a row is missing."""
        n = frame["n"]
        if n != self.last_frame + 1:
            raise ValueError(f"frame {n} after {self.last_frame}")
        self.last_frame = n
        if frame.get("reset"):
            self.rows.clear()
            self.styles = {0: (-1, -1, 0, -1)}
        if "layout" in frame:
            self.layout = frame["layout"]
        for sid, *style in frame.get("styles", ()):
            self.styles[sid] = tuple(style)
        rows = frame.get("rows", ())
        for i in range(0, len(rows), 2):
            self.rows[rows[i]] = decode_row(rows[i + 1])
        holes: list[tuple[int, list[int] | list[str]]] = []
        for p in frame.get("panes", ()):
            pane = self.panes.setdefault(p["id"], ReplicaPane())
            if "size" in p:
                pane.cols, pane.rows = p["size"]
            if "lines" in p:
                pane.ids = unpack_ids(p["lines"])
                missing = [i for i in pane.ids if i not in self.rows]
                if missing:
                    holes.append((p["id"], missing))
            if "cursor" in p:
                pane.cursor = p["cursor"]
            if "cell" in p:
                pane.cell = p["cell"]
            if "img" in p:
                pane.img = p["img"]
                lacking = [r[0] for r in pane.img if r[0] not in self.images]
                if lacking:
                    holes.append((p["id"], lacking))
            for k, v in p.items():
                if k not in ("id", "size", "lines", "cursor", "cell", "img"):
                    pane.fields[k] = v
        for event in frame.get("events", ()):
            pane_id, kind, *rest = event
            if kind == "notify":
                self.notifications.append([pane_id, *rest])
            elif kind == "clip":
                self.clipboard.append([pane_id, *rest])
            elif kind == "bell":
                self.bells[pane_id] = self.bells.get(pane_id, 0) + rest[0]
        for rid in unpack_ids(frame.get("drop", ())):
            self.rows.pop(rid, None)
        for key in frame.get("drop_img", ()):
            self.images.pop(key, None)
        if holes:
            raise Hole(*holes[0])

    def forget(self, pane_id: int) -> None:
        self.panes.pop(pane_id, None)

    def lines(self, pane_id: int) -> list[Row]:
        pane = self.panes[pane_id]
        return [self.rows[i] for i in pane.ids]

    def text(self, pane_id: int) -> list[str]:
        """The pane as the browser would show it: one string per row, padded to the width."""
        pane = self.panes[pane_id]
        return ["".join(t for t, _w in row_cells(row, pane.cols)) for row in self.lines(pane_id)]

    def cell(self, pane_id: int, x: int, y: int) -> str:
        """What the browser shows in one cell (``""`` for the right half of a wide character)."""
        pane = self.panes[pane_id]
        row = self.rows[pane.ids[y]]
        if not row[2]:                  # one codepoint per cell: the text is the cells
            return row[0][x] if x < len(row[0]) else " "
        return row_cells(row, pane.cols)[x][0]

    def style(self, sid: int) -> StyleKey:
        return self.styles[sid]
