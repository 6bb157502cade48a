"""Window layouts: a tree of row/column splits with percentage sizes, and its geometry in cells.

A layout is a tree. A :class:`Leaf` is a pane slot; a :class:`Split` lays out 2..9 children either
side by side (``"row"``, left to right) or stacked (``"column"``, top to bottom), each child taking
a percentage of the split (``sizes``, normalised to sum to 100, each at least 5). Slots are
numbered 0..n-1 depth first, so slot order is reading order.

The JSON form, used by the user templates file and on the wire::

    "pane"                                          a leaf
    {"row": [child, ...], "sizes": [70, 30]}        children side by side
    {"column": [child, ...]}                        children stacked; sizes optional (equal)

:func:`geometry` turns a tree into cell rectangles. Every pane has a one-row title bar directly
above its content. Children of a row split are separated by a one-column divider; children of a
column split need none, since the lower pane's title bar separates them. Lengths are shared out by
the largest-remainder method, so the parts always add up to the space available.

Everything here is pure data and functions; the only I/O is reading the user templates file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from dullahan.config import ConfigError, load_json_file

SplitKind = Literal["row", "column"]
KINDS: tuple[SplitKind, ...] = ("row", "column")
LEAF_JSON = "pane"

MIN_CHILDREN = 2
MAX_CHILDREN = 9
MAX_DEPTH = 6  # splits nested inside splits; a lone leaf has depth 0
MAX_SLOTS = 16
MIN_PERCENT = 5.0
MAX_CELLS = 1000
# Percentages are floats; a size the user wrote as exactly 5 must not fail after normalising.
_EPSILON = 1e-9
# The JSON form rounds sizes to two decimals, so a 5% child can come back as 4.999% once renormalised.
_ROUNDING_SLACK = 0.01

NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,32}")
MAX_REPORTED_ERRORS = 10


class LayoutError(ValueError):
    """A layout, a layout name or a layout operation is invalid. The message says where and why."""


# --- the tree ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    """A pane slot."""


@dataclass(frozen=True)
class Split:
    """Children side by side (``row``) or stacked (``column``), sized by percentages.

    ``sizes`` may be left empty for an equal split; whatever is given is normalised to sum to 100.
    """

    kind: SplitKind
    children: tuple[Node, ...]
    sizes: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise LayoutError(f"split kind must be 'row' or 'column', not {self.kind!r}")
        children = tuple(self.children)
        _check_child_count(len(children), "children")
        for i, child in enumerate(children):
            if not isinstance(child, Leaf | Split):
                raise LayoutError(f"children[{i}]: not a layout node: {type(child).__name__}")
        sizes = self.sizes if self.sizes else (1.0,) * len(children)
        object.__setattr__(self, "children", children)
        object.__setattr__(self, "sizes", normalize_sizes(sizes, len(children), "sizes"))


Node = Leaf | Split


def _check_child_count(count: int, where: str) -> None:
    if not MIN_CHILDREN <= count <= MAX_CHILDREN:
        raise LayoutError(f"{where}: a split needs {MIN_CHILDREN}..{MAX_CHILDREN} children, got {count}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def normalize_sizes(values: object, count: int, where: str = "sizes") -> tuple[float, ...]:
    """Check ``count`` positive finite numbers and scale them to percentages summing to 100."""
    if not isinstance(values, list | tuple):
        raise LayoutError(f"{where}: must be a list of {count} positive numbers, got {_type_name(values)}")
    if len(values) != count:
        raise LayoutError(f"{where}: has {len(values)} entries for {count} children")
    for i, value in enumerate(values):
        if not _is_number(value):
            raise LayoutError(f"{where}[{i}]: must be a number, got {_type_name(value)}")
        if not math.isfinite(value) or value <= 0:
            raise LayoutError(f"{where}[{i}]: must be a positive finite number, got {value!r}")
    # Scaled by the largest first so that sizes near the float limit cannot overflow the sum.
    largest = float(max(values))
    scaled = [float(v) / largest for v in values]
    total = math.fsum(scaled)
    percents = tuple(v / total * 100.0 for v in scaled)
    for i, pct in enumerate(percents):
        if pct < MIN_PERCENT - _ROUNDING_SLACK:
            raise LayoutError(f"{where}[{i}]: {pct:.2f}% is below the minimum of {MIN_PERCENT:g}%")
    return percents


def slot_count(node: Node) -> int:
    if isinstance(node, Leaf):
        return 1
    return sum(slot_count(child) for child in node.children)


def depth(node: Node) -> int:
    """How many splits are nested along the deepest path (0 for a lone leaf)."""
    if isinstance(node, Leaf):
        return 0
    return 1 + max(depth(child) for child in node.children)


# --- JSON form --------------------------------------------------------------------------------


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    return type(value).__name__


def _join(loc: str, part: str) -> str:
    return f"{loc}.{part}" if loc else part


def parse(obj: object) -> Node:
    """Validate a layout in its JSON form and build the tree. Raises :class:`LayoutError`."""
    node, _ = _parse_node(obj, "", 0)
    return node


def _parse_node(obj: object, loc: str, level: int) -> tuple[Node, int]:
    """Parse one node at ``loc`` (``level`` splits deep); returns it with its slot count."""
    where = loc or "layout"
    if isinstance(obj, str):
        if obj != LEAF_JSON:
            raise LayoutError(f'{where}: unknown leaf {obj[:40]!r}; a pane slot is the string "pane"')
        return Leaf(), 1
    if not isinstance(obj, dict):
        raise LayoutError(
            f'{where}: expected "pane" or an object with "row" or "column", got {_type_name(obj)}'
        )
    for key in obj:
        if key not in ("row", "column", "sizes"):
            raise LayoutError(f"{where}: unknown key {key!r} (allowed: row, column, sizes)")
    kinds = [kind for kind in KINDS if kind in obj]
    if len(kinds) != 1:
        problem = "has both 'row' and 'column'" if kinds else "needs a 'row' or a 'column' list"
        raise LayoutError(f"{where}: {problem}")
    kind = kinds[0]
    if level >= MAX_DEPTH:
        raise LayoutError(f"{where}: splits are nested more than {MAX_DEPTH} deep")
    items = obj[kind]
    if not isinstance(items, list):
        raise LayoutError(f"{_join(loc, kind)}: must be a list of layouts, got {_type_name(items)}")
    _check_child_count(len(items), _join(loc, kind))
    children: list[Node] = []
    slots = 0
    for i, item in enumerate(items):
        child_loc = _join(loc, f"children[{i}]")
        child, child_slots = _parse_node(item, child_loc, level + 1)
        slots += child_slots
        # Checked as we go, so a huge tree is refused before all of it is built.
        if slots > MAX_SLOTS:
            raise LayoutError(f"{child_loc}: the layout has more than {MAX_SLOTS} panes")
        children.append(child)
    sizes_loc = _join(loc, "sizes")
    sizes = normalize_sizes(obj["sizes"], len(children), sizes_loc) if "sizes" in obj else ()
    return Split(kind, tuple(children), sizes), slots


def to_json(node: Node) -> object:
    """The JSON form of a tree, sizes rounded to two decimals."""
    if isinstance(node, Leaf):
        return LEAF_JSON
    return {
        node.kind: [to_json(child) for child in node.children],
        "sizes": [round(size, 2) for size in node.sizes],
    }


# --- templates --------------------------------------------------------------------------------


def _row(count: int, *sizes: float) -> Split:
    return Split("row", tuple(Leaf() for _ in range(count)), sizes)


def _column(count: int, *sizes: float) -> Split:
    return Split("column", tuple(Leaf() for _ in range(count)), sizes)


BUILTIN: dict[str, Node] = {
    "single": Leaf(),
    "2-col": _row(2, 50, 50),
    "2-row": _column(2, 50, 50),
    "3-col": _row(3),
    "3-row": _column(3),
    "2x2": Split("column", (_row(2), _row(2))),
    "main-side": _row(2, 70, 30),
    "side-main": _row(2, 33, 67),
    "main-2side": Split("row", (Leaf(), _column(2, 50, 50)), (70, 30)),
    "3x2": Split("column", (_row(3), _row(3))),
    "3x3": Split("column", (_row(3), _row(3), _row(3))),
}


def check_name(name: object) -> str:
    """A valid user template name, or :class:`LayoutError`."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        shown = name[:40] if isinstance(name, str) else name
        raise LayoutError(f"layout name {shown!r} must be 1..32 characters of A-Z a-z 0-9 _ . -")
    if name in BUILTIN:
        raise LayoutError(f"layout name {name!r} is a built-in layout and cannot be redefined")
    return name


def load_user_templates(path: Path) -> tuple[dict[str, Node], str | None]:
    """Read the user's templates file: ``{"name": <layout JSON>, ...}``.

    Returns the good templates and a message about anything wrong (None when all is well). A
    missing file is not an error. The file is only ever read, never written.
    """
    what = "layouts file"
    try:
        data = load_json_file(path, what)
    except ConfigError as e:
        return {}, str(e)
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        return {}, f"{what} {path}: the top level must be an object mapping names to layouts"
    templates: dict[str, Node] = {}
    problems: list[str] = []
    for name, obj in data.items():
        try:
            templates[check_name(name)] = parse(obj)
        except LayoutError as e:
            problems.append(f"{str(name)[:40]!r}: {e}")
    if not problems:
        return templates, None
    shown = "; ".join(problems[:MAX_REPORTED_ERRORS])
    if len(problems) > MAX_REPORTED_ERRORS:
        shown += f"; and {len(problems) - MAX_REPORTED_ERRORS} more"
    noun = "entry" if len(problems) == 1 else "entries"
    return templates, f"{what} {path}: skipped {len(problems)} bad {noun}: {shown}"


@dataclass(frozen=True)
class Templates:
    """The built-in templates plus the user's (which can never shadow a built-in)."""

    user: dict[str, Node] = field(default_factory=dict)
    error: str | None = None

    @classmethod
    def load(cls, path: Path) -> Templates:
        user, error = load_user_templates(path)
        return cls(user, error)

    def get(self, name: str) -> Node:
        if name in BUILTIN:
            return BUILTIN[name]
        if name in self.user:
            return self.user[name]
        raise LayoutError(f"unknown layout {name[:40]!r}; known: {', '.join(self.names())}")

    def names(self) -> list[str]:
        return [*BUILTIN, *sorted(self.user)]

    def to_json(self) -> dict[str, object]:
        return {
            "builtin": list(BUILTIN),
            "user": {name: to_json(self.user[name]) for name in sorted(self.user)},
        }


# --- geometry ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    cols: int
    rows: int

    def to_json(self) -> list[int]:
        return [self.x, self.y, self.cols, self.rows]


@dataclass(frozen=True)
class SplitBox:
    """Where one split sits, so a client can draw and drag its dividers.

    ``path`` is the child indices from the root to this split. ``offsets[i]`` is the cell offset
    along the split's axis, relative to ``rect``, where child ``i`` starts. The divider after child
    ``i`` is at ``offsets[i + 1] - 1`` in a row split (a divider column) and at ``offsets[i + 1]``
    in a column split (the next pane's title bar).
    """

    path: tuple[int, ...]
    kind: SplitKind
    rect: Rect
    sizes: tuple[float, ...]
    offsets: tuple[int, ...]


@dataclass(frozen=True)
class Geometry:
    """Pane content rects in slot order (each title bar is the row above), and every split."""

    panes: list[Rect]
    splits: list[SplitBox]

    def to_json(self) -> dict[str, object]:
        return {
            "panes": [rect.to_json() for rect in self.panes],
            "splits": [
                {
                    "path": list(box.path),
                    "kind": box.kind,
                    "rect": box.rect.to_json(),
                    "sizes": [round(size, 2) for size in box.sizes],
                    "offsets": list(box.offsets),
                }
                for box in self.splits
            ],
        }


def min_size(node: Node) -> tuple[int, int]:
    """The smallest (cols, rows) area a subtree fits in: a pane needs 1 column, a title and 1 row."""
    if isinstance(node, Leaf):
        return 1, 2
    mins = [min_size(child) for child in node.children]
    if node.kind == "row":
        return sum(c for c, _ in mins) + len(mins) - 1, max(r for _, r in mins)
    return max(c for c, _ in mins), sum(r for _, r in mins)


def distribute(total: int, weights: Sequence[float], minimums: Sequence[int]) -> list[int]:
    """Share ``total`` cells by ``weights``, each part at least its minimum, parts summing to total.

    Children whose share would fall below their minimum are pinned to it and the rest is shared
    again; the free parts are then rounded by the largest-remainder method. When even the minimums
    do not fit, every part gets its minimum and the sum exceeds ``total``.
    """
    if total <= sum(minimums):
        return list(minimums)
    pinned: dict[int, int] = {}
    while True:
        free = [i for i in range(len(weights)) if i not in pinned]
        remaining = total - sum(pinned.values())
        weight = math.fsum(weights[i] for i in free)
        short = [i for i in free if remaining * weights[i] / weight < minimums[i]]
        if not short:
            break
        pinned.update((i, minimums[i]) for i in short)
    ideal = {i: remaining * weights[i] / weight for i in free}
    parts = dict(pinned)
    parts.update((i, math.floor(ideal[i] + _EPSILON)) for i in free)
    leftover = total - sum(parts.values())
    by_remainder = sorted(free, key=lambda i: (-(ideal[i] - parts[i]), i))
    for i in by_remainder[:leftover]:
        parts[i] += 1
    return [parts[i] for i in range(len(weights))]


def _clamp_cells(value: int) -> int:
    return max(1, min(MAX_CELLS, value))


def geometry(node: Node, cols: int, rows: int) -> Geometry:
    """Lay ``node`` out in a ``cols`` x ``rows`` cell area (each clamped to 1..1000).

    When the area is smaller than :func:`min_size`, panes keep at least 1x1 content and rects run
    past the area instead of failing.
    """
    panes: list[Rect] = []
    splits: list[SplitBox] = []
    area = Rect(0, 0, _clamp_cells(cols), _clamp_cells(rows))
    _place(node, area, (), panes, splits)
    return Geometry(panes, splits)


def _place(node: Node, area: Rect, path: tuple[int, ...], panes: list[Rect], splits: list[SplitBox]) -> None:
    if isinstance(node, Leaf):
        panes.append(Rect(area.x, area.y + 1, _clamp_cells(area.cols), _clamp_cells(area.rows - 1)))
        return
    mins = [min_size(child) for child in node.children]
    if node.kind == "row":
        gap = 1
        parts = distribute(area.cols - (len(mins) - 1), node.sizes, [c for c, _ in mins])
    else:
        gap = 0
        parts = distribute(area.rows, node.sizes, [r for _, r in mins])
    offsets: list[int] = []
    offset = 0
    for part in parts:
        offsets.append(offset)
        offset += part + gap
    splits.append(SplitBox(path, node.kind, area, node.sizes, tuple(offsets)))
    for i, (child, start, part) in enumerate(zip(node.children, offsets, parts, strict=True)):
        if node.kind == "row":
            child_area = Rect(area.x + start, area.y, part, area.rows)
        else:
            child_area = Rect(area.x, area.y + start, area.cols, part)
        _place(child, child_area, (*path, i), panes, splits)


# --- resizing ---------------------------------------------------------------------------------


def _split_at(node: Node, path: tuple[int, ...]) -> Split:
    current = node
    for depth_index, index in enumerate(path):
        if not isinstance(current, Split):
            raise LayoutError(f"path {list(path)}: {list(path[:depth_index])} is a pane, not a split")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(current.children):
            raise LayoutError(f"path {list(path)}: no child {index!r} in a split of {len(current.children)}")
        current = current.children[index]
    if not isinstance(current, Split):
        raise LayoutError(f"path {list(path)}: names a pane, not a split")
    return current


def _replace_at(node: Node, path: tuple[int, ...], new: Node) -> Node:
    if not path or not isinstance(node, Split):
        return new
    head, rest = path[0], path[1:]
    children = list(node.children)
    children[head] = _replace_at(children[head], rest, new)
    return Split(node.kind, tuple(children), node.sizes)


def set_sizes(node: Node, path: tuple[int, ...], sizes: Sequence[float]) -> Node:
    """A new tree where the split at ``path`` has ``sizes`` (validated and normalised)."""
    target = _split_at(node, tuple(path))
    normalized = normalize_sizes(list(sizes), len(target.children), f"path {list(path)}: sizes")
    return _replace_at(node, tuple(path), Split(target.kind, target.children, normalized))


def sizes_from_divider(
    split_length: int,
    sizes: Sequence[float],
    index: int,
    position: int,
    *,
    kind: SplitKind = "column",
) -> tuple[float, ...]:
    """New percentages after the divider following child ``index`` is dragged to ``position``.

    ``split_length`` is the split's length along its axis in cells and ``position`` is the cell
    offset of the divider relative to the split's start (as in :class:`SplitBox`). Pass
    ``kind="row"`` for row splits so their divider columns are accounted for. Only children
    ``index`` and ``index + 1`` change, and each keeps at least 5%.
    """
    _check_child_count(len(sizes), "sizes")
    current = normalize_sizes(list(sizes), len(sizes), "sizes")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(current) - 1:
        raise LayoutError(f"divider {index!r}: a split of {len(current)} has dividers 0..{len(current) - 2}")
    gap = 1 if kind == "row" else 0
    available = split_length - gap * (len(current) - 1)
    if available <= 0:
        return current
    # A row split's divider after child i sits past i earlier dividers; a column split has none.
    boundary = (position - gap * index) / available * 100.0
    before = math.fsum(current[:index])
    pair = current[index] + current[index + 1]
    first = min(max(boundary - before, MIN_PERCENT), pair - MIN_PERCENT)
    new = list(current)
    new[index] = first
    new[index + 1] = pair - first
    return tuple(new)


# --- tree surgery -----------------------------------------------------------------------------
#
# Operations on one slot of a tree, by its slot number (depth-first leaf order). They return new trees
# and never change the slot order of the leaves they keep, so a window's list of slots is updated by
# inserting or deleting one entry.

Direction = Literal["left", "right", "up", "down"]
DIRECTIONS: tuple[Direction, ...] = ("left", "right", "up", "down")


def check_direction(direction: object) -> Direction:
    if direction not in DIRECTIONS:
        raise LayoutError(f"direction must be one of {', '.join(DIRECTIONS)}, not {str(direction)[:20]!r}")
    return direction


def axis_of(direction: Direction) -> SplitKind:
    """The split kind that lays panes out along a direction: a row for left/right, a column for up/down."""
    return "row" if direction in ("left", "right") else "column"


def leaf_paths(node: Node) -> list[tuple[int, ...]]:
    """The path (child indices from the root) of every leaf, in slot order."""
    paths: list[tuple[int, ...]] = []

    def walk(current: Node, path: tuple[int, ...]) -> None:
        if isinstance(current, Leaf):
            paths.append(path)
            return
        for i, child in enumerate(current.children):
            walk(child, (*path, i))
    walk(node, ())
    return paths


def _leaf_path(node: Node, slot: int) -> tuple[int, ...]:
    paths = leaf_paths(node)
    if isinstance(slot, bool) or not isinstance(slot, int) or not 0 <= slot < len(paths):
        raise LayoutError(f"no slot {slot!r} in a layout of {len(paths)}")
    return paths[slot]


def _node_at(node: Node, path: tuple[int, ...]) -> Node:
    for index in path:
        assert isinstance(node, Split)
        node = node.children[index]
    return node


def split_leaf(node: Node, slot: int, direction: Direction) -> tuple[Node, int]:
    """Split slot ``slot`` in two along ``direction``; returns the new tree and the new leaf's slot.

    The new leaf goes after the old one for ``right``/``down``, before it for ``left``/``up``. When the
    leaf's parent is a split of the same kind the new leaf becomes its sibling and the two share the old
    leaf's percentage (as tmux does); otherwise (or when that split is full, or the halves would fall
    below 5%) the leaf becomes a 50/50 split of its own, which looks the same.
    """
    direction = check_direction(direction)
    path = _leaf_path(node, slot)
    if slot_count(node) >= MAX_SLOTS:
        raise LayoutError(f"a window holds at most {MAX_SLOTS} panes")
    kind = axis_of(direction)
    before = direction in ("left", "up")
    new_slot = slot if before else slot + 1
    parent = _node_at(node, path[:-1]) if path else None
    half = parent.sizes[path[-1]] / 2 if isinstance(parent, Split) else 0.0
    if (isinstance(parent, Split) and parent.kind == kind and len(parent.children) < MAX_CHILDREN
            and half >= MIN_PERCENT - _EPSILON):
        index = path[-1]
        at = index if before else index + 1
        children = list(parent.children)
        children.insert(at, Leaf())
        sizes = list(parent.sizes)
        sizes[index:index + 1] = [half, half]
        return _replace_at(node, path[:-1], Split(kind, tuple(children), tuple(sizes))), new_slot
    if len(path) >= MAX_DEPTH:
        raise LayoutError(f"cannot split slot {slot}: splits would be nested more than {MAX_DEPTH} deep")
    return _replace_at(node, path, Split(kind, (Leaf(), Leaf()), (50.0, 50.0))), new_slot


def remove_leaf(node: Node, slot: int) -> Node | None:
    """The tree without slot ``slot`` (None when it was the only one).

    The removed leaf's share goes to its next sibling (the previous one for a last child), as in tmux. A
    split left with one child is replaced by that child, and a split lifted into a parent of its own kind
    merges into it, so the tree stays as shallow as it looks.
    """
    path = _leaf_path(node, slot)
    if not path:
        return None
    parent_path, index = path[:-1], path[-1]
    parent = _node_at(node, parent_path)
    assert isinstance(parent, Split)
    children = list(parent.children)
    sizes = list(parent.sizes)
    heir = index + 1 if index + 1 < len(children) else index - 1
    sizes[heir] += sizes[index]
    del children[index], sizes[index]
    if len(children) > 1:
        return _replace_at(node, parent_path, Split(parent.kind, tuple(children), tuple(sizes)))
    survivor = children[0]
    if not parent_path:
        return survivor
    grand_path, parent_index = parent_path[:-1], parent_path[-1]
    grand = _node_at(node, grand_path)
    assert isinstance(grand, Split)
    return _replace_at(node, grand_path, _put_child(grand, parent_index, survivor))


def _put_child(split: Split, index: int, child: Node) -> Split:
    """``split`` with child ``index`` replaced by ``child``, whose children are merged in when it is a split
    of the same kind and the merged split stays within the limits."""
    children = list(split.children)
    sizes = list(split.sizes)
    if isinstance(child, Split) and child.kind == split.kind:
        merged = [sizes[index] * share / 100.0 for share in child.sizes]
        if len(children) - 1 + len(child.children) <= MAX_CHILDREN and min(merged) >= MIN_PERCENT - _EPSILON:
            children[index:index + 1] = child.children
            sizes[index:index + 1] = merged
            return Split(split.kind, tuple(children), tuple(sizes))
    children[index] = child
    return Split(split.kind, tuple(children), tuple(sizes))


def _parts(box: SplitBox) -> list[int]:
    """The cell lengths of a split's children along its axis, dividers left out."""
    gap = 1 if box.kind == "row" else 0
    length = box.rect.cols if box.kind == "row" else box.rect.rows
    ends = [offset - gap for offset in box.offsets[1:]] + [length]
    return [end - start for start, end in zip(box.offsets, ends, strict=True)]


def resize_leaf(node: Node, slot: int, direction: Direction, cells: int, cols: int, rows: int) -> Node:
    """Move a border of slot ``slot`` by ``cells`` towards ``direction``, in a ``cols`` x ``rows`` area.

    As tmux's ``resize-pane -L/-R/-U/-D``: the border moved is the one after the pane in the nearest
    enclosing split of the matching kind (the one before it when the pane is that split's last child), so
    ``right`` grows a left pane and shrinks a right one. Space is taken from the panes beyond the border,
    nearest first, down to their minimum (one cell of content, a title row, and 5% of the split); the
    border stops early when there is no more room. Returns ``node`` itself when nothing could move.
    """
    direction = check_direction(direction)
    if isinstance(cells, bool) or not isinstance(cells, int) or cells < 1:
        raise LayoutError(f"resize by a positive number of cells, not {cells!r}")
    path = _leaf_path(node, slot)
    kind = axis_of(direction)
    found = next((depth_ for depth_ in range(len(path) - 1, -1, -1)
                  if _split_at(node, path[:depth_]).kind == kind), None)
    if found is None:
        side = "left or right" if kind == "row" else "above or below"
        raise LayoutError(f"slot {slot} has no neighbour {side} to resize against")
    split_path, index = path[:found], path[found]
    split = _split_at(node, split_path)
    box = next(b for b in geometry(node, cols, rows).splits if b.path == split_path)
    parts = _parts(box)
    available = sum(parts)
    axis = 0 if kind == "row" else 1
    floor = math.ceil(available * MIN_PERCENT / 100.0 - _EPSILON)
    minimums = [max(min_size(child)[axis], floor) for child in split.children]
    border = index if index < len(parts) - 1 else index - 1
    grow_first = direction in ("right", "down")
    # Growing the child before the border takes from those after it, and shrinking it gives to the one after.
    donors = range(border + 1, len(parts)) if grow_first else range(border, -1, -1)
    receiver = border if grow_first else border + 1
    wanted = cells
    touched = [receiver]
    for donor in donors:
        take = min(wanted, max(0, parts[donor] - minimums[donor]))
        if take:
            parts[donor] -= take
            parts[receiver] += take
            wanted -= take
            touched.append(donor)
        if not wanted:
            break
    if wanted == cells:
        return node
    first, last = min(touched), max(touched)
    return _replace_at(node, split_path, Split(kind, split.children,
                                               _rescale(split.sizes, parts, first, last)))


def _rescale(sizes: tuple[float, ...], parts: list[int], first: int, last: int) -> tuple[float, ...]:
    """New percentages for children ``first..last`` in proportion to their new cell lengths, keeping their
    total (so the children outside that range keep their exact percentages) and the 5% minimum."""
    group = math.fsum(sizes[first:last + 1])
    cells = sum(parts[first:last + 1])
    new = list(sizes)
    for i in range(first, last + 1):
        new[i] = group * parts[i] / cells
    for i in range(first, last + 1):
        short = MIN_PERCENT - new[i]
        if short > 0:
            richest = max(range(first, last + 1), key=lambda j: new[j])
            new[richest] -= short
            new[i] = MIN_PERCENT
    return tuple(new)


# --- moving between panes ---------------------------------------------------------------------


def _box(rect: Rect) -> tuple[int, int, int, int]:
    """A pane's whole box, title bar included: (x0, y0, x1, y1), ends exclusive."""
    return rect.x, rect.y - 1, rect.x + rect.cols, rect.y + rect.rows


def _as_leftward(box: tuple[int, int, int, int], direction: Direction) -> tuple[int, int, int, int]:
    """Mirror and transpose a box so that moving towards ``direction`` becomes moving left."""
    x0, y0, x1, y1 = box
    if direction == "right":
        return -x1, y0, -x0, y1
    if direction == "up":
        return y0, x0, y1, x1
    if direction == "down":
        return -y1, x0, -y0, x1
    return box


def neighbour(panes: Sequence[Rect | None], index: int, direction: Direction, *, wrap: bool = True,
              recent: Sequence[int] = ()) -> int | None:
    """The slot next to slot ``index`` towards ``direction``, or None.

    Candidates lie wholly beyond the pane's edge and overlap it across the direction; the nearest ones
    win. With ``wrap`` (tmux's behaviour), a pane at the window's edge moves to the farthest panes on the
    other side instead. Ties go to the slot used most recently (``recent``, most recent first, as tmux
    does), then to the largest overlap, then to the lowest slot.
    """
    direction = check_direction(direction)
    if not 0 <= index < len(panes) or panes[index] is None:
        raise LayoutError(f"slot {index!r} is not shown")
    me = _as_leftward(_box(panes[index]), direction)  # type: ignore[arg-type]
    boxes = [(j, _as_leftward(_box(r), direction)) for j, r in enumerate(panes) if r is not None and j != index]
    across = [(j, b, min(me[3], b[3]) - max(me[1], b[1])) for j, b in boxes]
    across = [c for c in across if c[2] > 0]
    beyond = [c for c in across if c[1][2] <= me[0]]
    if not beyond and wrap:
        beyond = [c for c in across if c[1][0] >= me[2]]
    if not beyond:
        return None
    edge = max(b[2] for _j, b, _o in beyond)   # the nearest edge, or after wrapping the farthest one
    rank = {slot: i for i, slot in enumerate(recent)}
    best = min((c for c in beyond if c[1][2] == edge), key=lambda c: (rank.get(c[0], len(rank)), -c[2], c[0]))
    return best[0]
