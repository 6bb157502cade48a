"""A window: a layout tree whose slots show panes, plus the panes it is hiding.

Switching to a layout with fewer slots hides the panes that no longer fit; they keep running and come back
(in order) when a layout has room again. Sizes come from the window's area in cells (set by the master's
browser) through ``layout.geometry``.

Splitting, closing and moving panes reshape the tree itself (``layout.split_leaf``, ``layout.remove_leaf``);
slot ``i`` is always the tree's ``i``-th leaf. A window may zoom one of its panes: that pane then takes the
whole area while the others keep their layout and their PTY sizes and are not drawn (``pane_rects`` gives
them no rect), so their programs are not made to redraw for a size they would hold only while zoomed. Any
change to the tree or to who is in which slot ends the zoom, as in tmux.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from dullahan.session import layout
from dullahan.session.layout import Direction, Geometry, LayoutError, Leaf, Node, Rect

CUSTOM_LAYOUT = "custom"   # the layout name once the tree was reshaped by hand


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
    zoomed: int | None = None
    recent: list[int] = field(default_factory=list)   # panes by last activation, most recent first

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
        self.zoomed = None
        self.tree, self.layout_name = tree, name
        self.slots = [*order[:count], *([None] * max(0, count - len(order)))]
        self.hidden = order[count:]
        if self.active not in self.visible():
            self.active = self.visible()[0] if self.visible() else None

    def place(self, pane_id: int, slot: int | None = None) -> None:
        """Put a pane in a slot (the first empty one by default), hiding whoever was there."""
        self.zoomed = None
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
        if self.zoomed == pane_id:
            self.zoomed = None
        if pane_id in self.hidden:
            self.hidden.remove(pane_id)
        slot = self.slot_of(pane_id)
        if slot is not None:
            self.slots[slot] = self.hidden.pop(0) if self.hidden else None
        if self.active == pane_id:
            visible = self.visible()
            self.active = visible[0] if visible else None

    # -- activation and zoom -------------------------------------------------------------------------
    def activate(self, pane_id: int) -> None:
        """Make a shown pane the active one; it goes first in ``recent`` (directional moves prefer it)."""
        if pane_id not in self.visible():
            raise LayoutError(f"pane {pane_id} is not shown in window {self.id}")
        self.active = pane_id
        self.recent = [pane_id, *(p for p in self.recent if p != pane_id and p in self.pane_ids())]

    def _fix_active(self) -> None:
        visible = self.visible()
        if self.active in visible:
            return
        self.active = next((p for p in self.recent if p in visible), visible[0] if visible else None)

    def zoom(self, pane_id: int) -> None:
        if pane_id not in self.visible():
            raise LayoutError(f"pane {pane_id} is not shown in window {self.id}")
        self.zoomed = pane_id
        self.activate(pane_id)

    def unzoom(self) -> bool:
        was = self.zoomed is not None
        self.zoomed = None
        return was

    def shown(self) -> list[int]:
        """The panes drawn now: the zoomed one alone, else every pane in a slot."""
        return [self.zoomed] if self.zoomed is not None else self.visible()

    def pane_rects(self) -> list[Rect | None]:
        """Each slot's rect as drawn: the whole area for a zoomed pane and None for the others."""
        if self.zoomed is None:
            return list(self.geometry().panes)
        whole = layout.geometry(Leaf(), self.cols, self.rows).panes[0]
        return [whole if pane_id == self.zoomed else None for pane_id in self.slots]

    def sizes_to_apply(self) -> list[tuple[int, Rect]]:
        """(pane, rect) for every pane whose PTY should have the rect's size now."""
        return [(pane_id, rect) for pane_id, rect in zip(self.slots, self.pane_rects(), strict=True)
                if pane_id is not None and rect is not None]

    # -- reshaping -------------------------------------------------------------------------------------
    def plan_split(self, target: int, direction: Direction) -> tuple[Node, int]:
        """The tree and new slot for splitting ``target``'s slot, without changing anything.

        Refused (LayoutError) when the pane is not shown, the tree's limits would be passed, or the window's
        area cannot hold the result (every pane needs a column, a title row and a row).
        """
        slot = self.slot_of(target)
        if slot is None:
            raise LayoutError(f"pane {target} is hidden; show it before splitting it")
        tree, new_slot = layout.split_leaf(self.tree, slot, direction)
        need_cols, need_rows = layout.min_size(tree)
        if need_cols > self.cols or need_rows > self.rows:
            raise LayoutError(f"no room to split pane {target}: window {self.id} is {self.cols}x{self.rows}")
        return tree, new_slot

    def insert(self, tree: Node, slot: int, pane_id: int) -> None:
        """Adopt a tree made by ``plan_split`` and put ``pane_id`` in its new slot."""
        if layout.slot_count(tree) != len(self.slots) + 1:
            raise LayoutError("the tree does not have exactly one slot more than the window")
        self.tree, self.layout_name, self.zoomed = tree, CUSTOM_LAYOUT, None
        if pane_id in self.hidden:
            self.hidden.remove(pane_id)
        self.slots.insert(slot, pane_id)

    def detach(self, pane_id: int) -> None:
        """Take a pane out of the window, closing the gap: its leaf goes and the layout reflows.

        The last slot cannot go: it is filled from the hidden panes, or left empty (the window is then empty
        when nothing was hidden).
        """
        if pane_id in self.hidden:
            self.hidden.remove(pane_id)
        slot = self.slot_of(pane_id)
        if slot is not None:
            if self.zoomed is not None:
                self.zoomed = None
            reduced = layout.remove_leaf(self.tree, slot)
            if reduced is None:
                self.slots[slot] = self.hidden.pop(0) if self.hidden else None
            else:
                self.tree, self.layout_name = reduced, CUSTOM_LAYOUT
                del self.slots[slot]
        self.recent = [p for p in self.recent if p != pane_id]
        self._fix_active()

    def substitute(self, old: int, new: int) -> None:
        """Put ``new`` (from another window) exactly where ``old`` was: the same slot or hidden place."""
        if new in self.pane_ids():
            raise LayoutError(f"pane {new} is already in window {self.id}")
        if old in self.hidden:
            self.hidden[self.hidden.index(old)] = new
        else:
            slot = self.slot_of(old)
            if slot is None:
                raise LayoutError(f"pane {old} is not in window {self.id}")
            self.slots[slot] = new
            self.zoomed = None
        if self.active == old:
            self.active = new
        self.recent = [new if p == old else p for p in self.recent]

    def swap(self, first: int, second: int) -> None:
        """Exchange the places (slots or hidden places) of two of this window's panes."""
        def place_of(pane_id: int) -> tuple[list[int | None] | list[int], int]:
            slot = self.slot_of(pane_id)
            if slot is not None:
                return self.slots, slot
            if pane_id in self.hidden:
                return self.hidden, self.hidden.index(pane_id)
            raise LayoutError(f"pane {pane_id} is not in window {self.id}")
        (list_a, at_a), (list_b, at_b) = place_of(first), place_of(second)
        list_a[at_a], list_b[at_b] = second, first
        self.zoomed = None
        self._fix_active()

    def copy(self) -> Window:
        """A copy to try an operation on: lists are copied, the immutable tree is shared."""
        return replace(self, slots=list(self.slots), hidden=list(self.hidden), recent=list(self.recent))

    def adopt(self, other: Window) -> None:
        """Take over the state of a copy made by ``copy`` once the operation on it succeeded."""
        self.tree, self.layout_name, self.slots, self.hidden = other.tree, other.layout_name, other.slots, other.hidden
        self.active, self.zoomed, self.recent = other.active, other.zoomed, other.recent

    def title(self, pane_titles: Mapping[int, str]) -> str:
        """What a tab shows: the window's name, else its active pane's title; never the layout's name."""
        if self.name:
            return self.name
        return pane_titles.get(self.active, "") if self.active is not None else ""

    def to_json(self, pane_titles: Mapping[int, str] | None = None) -> dict[str, object]:
        """The window for clients. ``rects`` has null for slots not drawn (zoom); while zoomed there are no
        dividers to drag, so ``splits`` is empty."""
        geo = self.geometry()
        splits = [] if self.zoomed is not None else geo.splits
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title(pane_titles or {}),
            "layout": self.layout_name,
            "tree": layout.to_json(self.tree),
            "cols": self.cols,
            "rows": self.rows,
            "slots": list(self.slots),      # copies: a later in-place change must compare as different
            "hidden": list(self.hidden),
            "active": self.active,
            "zoomed": self.zoomed,
            "rects": [r.to_json() if r is not None else None for r in self.pane_rects()],
            "splits": [{"path": list(s.path), "kind": s.kind, "rect": [s.rect.x, s.rect.y, s.rect.cols, s.rect.rows],
                        "sizes": list(s.sizes), "offsets": list(s.offsets)} for s in splits],
        }
