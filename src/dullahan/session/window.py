"""A window: a layout tree whose slots show panes, plus the panes it is hiding.

Switching to a layout with fewer slots hides the panes that no longer fit; they keep running and come back
(in order) when a layout has room again. Sizes come from the window's area in cells (set by the master's
browser) through ``layout.geometry``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dullahan.session import layout
from dullahan.session.layout import Geometry, Node


@dataclass
class Window:
    id: int
    tree: Node
    layout_name: str
    slots: list[int | None]
    hidden: list[int] = field(default_factory=list)
    active: int | None = None
    cols: int = 80
    rows: int = 25
    name: str = ""

    @classmethod
    def create(cls, window_id: int, tree: Node, layout_name: str, cols: int, rows: int) -> Window:
        return cls(window_id, tree, layout_name, [None] * layout.slot_count(tree), cols=cols, rows=rows)

    def visible(self) -> list[int]:
        return [p for p in self.slots if p is not None]

    def pane_ids(self) -> list[int]:
        return self.visible() + self.hidden

    def empty_slots(self) -> list[int]:
        return [i for i, p in enumerate(self.slots) if p is None]

    def slot_of(self, pane_id: int) -> int | None:
        try:
            return self.slots.index(pane_id)
        except ValueError:
            return None

    def geometry(self) -> Geometry:
        return layout.geometry(self.tree, self.cols, self.rows)

    def set_tree(self, tree: Node, name: str) -> None:
        """Re-fill slots from the visible panes, then the hidden ones; the rest are hidden."""
        order = self.visible() + self.hidden
        count = layout.slot_count(tree)
        self.tree, self.layout_name = tree, name
        self.slots = [*order[:count], *([None] * max(0, count - len(order)))]
        self.hidden = order[count:]
        if self.active not in self.visible():
            self.active = self.visible()[0] if self.visible() else None

    def place(self, pane_id: int, slot: int | None = None) -> None:
        """Put a pane in a slot (the first empty one by default), hiding whoever was there."""
        if pane_id in self.hidden:
            self.hidden.remove(pane_id)
        current = self.slot_of(pane_id)
        if slot is None:
            empty = self.empty_slots()
            if current is not None:
                return
            if not empty:
                self.hidden.insert(0, pane_id)
                return
            slot = empty[0]
        if current is not None:
            self.slots[current] = None
        previous = self.slots[slot]
        if previous is not None and previous != pane_id:
            if current is not None:
                self.slots[current] = previous   # a visible pane moved: swap places
            else:
                self.hidden.insert(0, previous)
        self.slots[slot] = pane_id
        if self.active is None:
            self.active = pane_id

    def remove(self, pane_id: int) -> None:
        """Forget a pane; its slot is filled from the hidden panes when there are any."""
        if pane_id in self.hidden:
            self.hidden.remove(pane_id)
        slot = self.slot_of(pane_id)
        if slot is not None:
            self.slots[slot] = self.hidden.pop(0) if self.hidden else None
        if self.active == pane_id:
            visible = self.visible()
            self.active = visible[0] if visible else None

    def to_json(self) -> dict[str, object]:
        geo = self.geometry()
        return {
            "id": self.id,
            "name": self.name,
            "layout": self.layout_name,
            "tree": layout.to_json(self.tree),
            "cols": self.cols,
            "rows": self.rows,
            "slots": list(self.slots),      # copies: a later in-place change must compare as different
            "hidden": list(self.hidden),
            "active": self.active,
            "rects": [[r.x, r.y, r.cols, r.rows] for r in geo.panes],
            "splits": [{"path": list(s.path), "kind": s.kind, "rect": [s.rect.x, s.rect.y, s.rect.cols, s.rect.rows],
                        "sizes": list(s.sizes), "offsets": list(s.offsets)} for s in geo.splits],
        }
