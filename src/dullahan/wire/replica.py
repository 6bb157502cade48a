"""A reference client: applies frames exactly as the browser does and shows what it would draw.

Tests (the randomized model check) and the soak command use it to prove that what a client reconstructs
equals the server's screen. The browser's ``web/sync.js`` implements the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dullahan.shapes import Row, StyleKey, row_cells
from dullahan.wire.rows import decode_row, unpack_ids


class Hole(Exception):
    """A frame referenced a row id the client does not hold: it must ask for a resync."""

    def __init__(self, pane: int, ids: list[int]) -> None:
        super().__init__(f"pane {pane} references unknown rows {ids[:5]}")
        self.pane, self.ids = pane, ids


@dataclass
class ReplicaPane:
    cols: int = 0
    rows: int = 0
    ids: list[int] = field(default_factory=list)
    cursor: list[Any] | None = None
    fields: dict[str, Any] = field(default_factory=dict)


class Replica:
    def __init__(self) -> None:
        self.rows: dict[int, Row] = {}
        self.styles: dict[int, StyleKey] = {0: (-1, -1, 0, -1)}
        self.panes: dict[int, ReplicaPane] = {}
        self.layout: Any = None
        self.last_frame = 0
        self.notifications: list[Any] = []    # [pane, title, body], in the order delivered
        self.clipboard: list[Any] = []        # [pane, location, text]
        self.bells: dict[int, int] = {}       # rings delivered per pane

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
        holes: list[tuple[int, list[int]]] = []
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
            for k, v in p.items():
                if k not in ("id", "size", "lines", "cursor"):
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

    def style(self, sid: int) -> StyleKey:
        return self.styles[sid]
