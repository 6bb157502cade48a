"""Tree surgery on layouts (pure): split, remove, resize by cells, and finding a neighbour by direction."""

from __future__ import annotations

import math
import random

import pytest

from dullahan.session.layout import (
    BUILTIN,
    MAX_DEPTH,
    MAX_SLOTS,
    MIN_PERCENT,
    LayoutError,
    Leaf,
    Node,
    Rect,
    Split,
    depth,
    geometry,
    leaf_paths,
    min_size,
    neighbour,
    parse,
    remove_leaf,
    resize_leaf,
    slot_count,
    split_leaf,
    to_json,
)
from test_layout import paint, same


def check_invariants(tree: Node, cols: int = 120, rows: int = 40) -> None:
    """Slot count = leaf count; every split within limits with sizes summing to 100; geometry tiles the area."""
    assert slot_count(tree) == len(leaf_paths(tree)) <= MAX_SLOTS
    assert depth(tree) <= MAX_DEPTH

    def walk(node: Node) -> None:
        if isinstance(node, Split):
            assert 2 <= len(node.children) <= 9
            assert math.isclose(sum(node.sizes), 100.0, abs_tol=1e-6), node.sizes
            assert min(node.sizes) >= MIN_PERCENT - 1e-6, node.sizes
            for child in node.children:
                walk(child)
    walk(tree)
    assert parse(to_json(tree)) is not None   # still a valid layout in its JSON form
    geo = geometry(tree, cols, rows)
    assert len(geo.panes) == slot_count(tree)
    min_cols, min_rows = min_size(tree)
    if cols >= min_cols and rows >= min_rows:
        cells = paint(geo)
        assert max(cells.values()) == 1
        assert set(cells) == {(x, y) for x in range(cols) for y in range(rows)}


def rects(tree: Node, cols: int = 121, rows: int = 40) -> list[Rect]:
    return geometry(tree, cols, rows).panes


# --- split ------------------------------------------------------------------------------------------


def test_split_a_lone_leaf_right_and_down() -> None:
    tree, new = split_leaf(Leaf(), 0, "right")
    assert (tree, new) == (Split("row", (Leaf(), Leaf()), (50, 50)), 1)
    tree, new = split_leaf(Leaf(), 0, "down")
    assert (tree, new) == (Split("column", (Leaf(), Leaf()), (50, 50)), 1)
    a, b = rects(split_leaf(Leaf(), 0, "right")[0])
    assert a.x < b.x and a.y == b.y


def test_split_before_puts_the_new_leaf_first() -> None:
    tree, new = split_leaf(Leaf(), 0, "left")
    assert new == 0 and tree == Split("row", (Leaf(), Leaf()))
    tree, new = split_leaf(BUILTIN["2-row"], 1, "up")
    assert new == 1 and tree == Split("column", (Leaf(), Leaf(), Leaf()), (50, 25, 25))


def test_split_in_a_parent_of_the_same_kind_adds_a_sibling() -> None:
    tree, new = split_leaf(BUILTIN["2-col"], 0, "right")
    assert new == 1
    assert tree == Split("row", (Leaf(), Leaf(), Leaf()), (25, 25, 50))
    # The other kind nests a split at the leaf.
    tree, new = split_leaf(BUILTIN["2-col"], 1, "down")
    assert new == 2
    assert to_json(tree) == {"row": ["pane", {"column": ["pane", "pane"], "sizes": [50, 50]}], "sizes": [50, 50]}


def test_split_keeps_the_other_slots_in_order() -> None:
    tree = BUILTIN["2x2"]
    before = rects(tree)
    after, new = split_leaf(tree, 2, "right")
    assert new == 3
    now = rects(after)
    assert [now[0], now[1]] == [before[0], before[1]]   # the other row is untouched
    # The old pane and the new one share the old pane's half; the right half loses only a divider column.
    assert now[2].x == before[2].x and now[3].y == now[2].y == before[2].y
    assert abs(now[2].cols + 1 + now[3].cols - before[2].cols) <= 1
    assert now[4].y == before[3].y and abs(now[4].cols - before[3].cols) <= 1
    check_invariants(after)


def test_split_refuses_past_the_slot_limit() -> None:
    tree: Node = Leaf()
    for _ in range(7):
        tree, _slot = split_leaf(tree, slot_count(tree) - 1, "down")   # a column of 8
    for row in range(8):
        tree, _slot = split_leaf(tree, 2 * row, "right")               # each of them split in two
    assert slot_count(tree) == MAX_SLOTS
    check_invariants(tree, 300, 200)
    with pytest.raises(LayoutError, match=f"at most {MAX_SLOTS} panes"):
        split_leaf(tree, 0, "right")


def test_split_refuses_past_the_depth_limit() -> None:
    tree: Node = Leaf()
    slot = 0
    for i in range(MAX_DEPTH):
        tree, slot = split_leaf(tree, slot, "right" if i % 2 == 0 else "down")
    assert depth(tree) == MAX_DEPTH
    with pytest.raises(LayoutError, match=f"nested more than {MAX_DEPTH} deep"):
        split_leaf(tree, slot, "right")   # the deepest pane's parent is a column: a new row would nest
    # A split of the same kind as the deepest parent adds a sibling instead, which is fine.
    wider, _ = split_leaf(tree, slot, "down")
    assert depth(wider) == MAX_DEPTH


def test_split_nests_when_the_halves_would_be_too_small_or_the_split_is_full() -> None:
    tree = parse({"row": ["pane", "pane"], "sizes": [8, 92]})
    split, new = split_leaf(tree, 0, "right")   # 4% + 4% is below the minimum: nest instead
    assert new == 1 and to_json(split)["row"][0] == {"row": ["pane", "pane"], "sizes": [50, 50]}
    check_invariants(split)
    nine = Split("row", tuple(Leaf() for _ in range(9)))
    split, new = split_leaf(nine, 4, "left")
    assert new == 4 and isinstance(split, Split) and len(split.children) == 9
    check_invariants(split, 300, 40)


@pytest.mark.parametrize("slot", [-1, 2, True, "0"])
def test_split_refuses_unknown_slots(slot: object) -> None:
    with pytest.raises(LayoutError, match="no slot"):
        split_leaf(BUILTIN["2-col"], slot, "right")  # type: ignore[arg-type]


def test_split_refuses_unknown_directions() -> None:
    with pytest.raises(LayoutError, match="direction must be one of left, right, up, down"):
        split_leaf(Leaf(), 0, "sideways")  # type: ignore[arg-type]


# --- remove -----------------------------------------------------------------------------------------


def test_remove_the_only_leaf_leaves_nothing() -> None:
    assert remove_leaf(Leaf(), 0) is None


def test_remove_collapses_a_split_left_with_one_child() -> None:
    assert remove_leaf(BUILTIN["2-col"], 0) == Leaf()
    tree = remove_leaf(BUILTIN["main-2side"], 1)
    assert tree == Split("row", (Leaf(), Leaf()), (70, 30))


def test_remove_gives_the_share_to_the_next_sibling_or_the_previous_for_the_last() -> None:
    three = parse({"row": ["pane", "pane", "pane"], "sizes": [20, 30, 50]})
    assert remove_leaf(three, 0) == Split("row", (Leaf(), Leaf()), (50, 50))
    assert remove_leaf(three, 1) == Split("row", (Leaf(), Leaf()), (20, 80))
    assert remove_leaf(three, 2) == Split("row", (Leaf(), Leaf()), (20, 80))


def test_remove_merges_a_lifted_split_into_a_parent_of_its_kind() -> None:
    tree = parse({"row": ["pane", {"column": ["pane", {"row": ["pane", "pane"]}]}], "sizes": [40, 60]})
    merged = remove_leaf(tree, 1)   # the column is left with the inner row, which joins the outer row
    assert merged is not None and same(merged, Split("row", (Leaf(), Leaf(), Leaf()), (40, 30, 30)))
    check_invariants(merged)


def test_remove_keeps_the_other_slots_in_order() -> None:
    tree = BUILTIN["3x3"]
    marks = list(range(9))
    for victim in (4, 0, 6, 2):
        index = marks.index(victim)
        new = remove_leaf(tree, index)
        assert new is not None
        old_rects, new_rects = rects(tree), rects(new)
        del marks[index]
        assert len(new_rects) == len(marks)
        check_invariants(new)
        # Every pane that was beside the victim in its row grew; nobody else moved up or down.
        assert {r.y for r in new_rects} <= {r.y for r in old_rects}
        tree = new


# --- resize by cells -------------------------------------------------------------------------------


def widths(tree: Node, cols: int = 121, rows: int = 40) -> list[int]:
    return [r.cols for r in rects(tree, cols, rows)]


def test_resize_moves_the_border_after_the_pane() -> None:
    tree = BUILTIN["2-col"]
    assert widths(tree) == [60, 60]
    assert widths(resize_leaf(tree, 0, "right", 5, 121, 40)) == [65, 55]
    assert widths(resize_leaf(tree, 0, "left", 5, 121, 40)) == [55, 65]
    # A split's last pane moves the border before it: "left" grows it, "right" shrinks it (as tmux).
    assert widths(resize_leaf(tree, 1, "left", 7, 121, 40)) == [53, 67]
    assert widths(resize_leaf(tree, 1, "right", 7, 121, 40)) == [67, 53]


def test_resize_up_and_down() -> None:
    tree = BUILTIN["2-row"]
    heights = [r.rows for r in rects(tree, 80, 40)]
    assert heights == [19, 19]
    grown = resize_leaf(tree, 0, "down", 3, 80, 40)
    assert [r.rows for r in rects(grown, 80, 40)] == [22, 16]
    check_invariants(grown, 80, 40)


def test_resize_uses_the_nearest_split_of_the_axis() -> None:
    tree = BUILTIN["main-2side"]   # row[main, column[a, b]]
    before = rects(tree, 121, 40)
    taller = resize_leaf(tree, 1, "down", 4, 121, 40)   # a's column split, not the row
    after = rects(taller, 121, 40)
    assert after[0] == before[0] and after[1].rows == before[1].rows + 4
    wider = resize_leaf(tree, 2, "left", 6, 121, 40)   # b is in the row's last child: its left border moves
    after = rects(wider, 121, 40)
    assert after[0].cols == before[0].cols - 6 and after[2].cols == before[2].cols + 6
    assert after[1].cols == after[2].cols


def test_resize_takes_from_farther_panes_when_the_nearest_is_at_its_minimum() -> None:
    tree = parse({"row": ["pane", "pane", "pane"], "sizes": [40, 5, 55]})
    before = widths(tree, 202, 20)
    after = widths(resize_leaf(tree, 0, "right", 20, 202, 20), 202, 20)
    assert after[0] == before[0] + 20 and after[1] == before[1] and after[2] == before[2] - 20


def test_resize_stops_at_the_minimum_and_reports_no_change() -> None:
    tree = BUILTIN["2-col"]
    squeezed = resize_leaf(tree, 0, "right", 1000, 121, 40)
    left, right = widths(squeezed)
    assert right == math.ceil(120 * MIN_PERCENT / 100) and left + right == 120
    check_invariants(squeezed, 121, 40)
    assert resize_leaf(squeezed, 0, "right", 1, 121, 40) is squeezed


def test_resize_keeps_splits_outside_the_moved_border_exact() -> None:
    tree = parse({"row": ["pane", "pane", "pane", "pane"], "sizes": [10, 20, 30, 40]})
    moved = resize_leaf(tree, 2, "right", 4, 163, 10)
    assert isinstance(moved, Split)
    assert moved.sizes[:2] == (10, 20)
    assert math.isclose(sum(moved.sizes), 100)
    before, after = widths(tree, 163, 10), widths(moved, 163, 10)
    assert after[2] - before[2] == 4 and before[3] - after[3] == 4


def test_resize_refuses_without_a_split_on_that_axis() -> None:
    with pytest.raises(LayoutError, match="no neighbour left or right"):
        resize_leaf(BUILTIN["2-row"], 0, "left", 1, 80, 24)
    with pytest.raises(LayoutError, match="no neighbour above or below"):
        resize_leaf(Leaf(), 0, "up", 1, 80, 24)
    with pytest.raises(LayoutError, match="positive number of cells"):
        resize_leaf(BUILTIN["2-col"], 0, "left", 0, 80, 24)


# --- neighbours by direction ----------------------------------------------------------------------


def test_neighbours_in_a_2x2() -> None:
    panes = rects(BUILTIN["2x2"])
    assert neighbour(panes, 0, "right") == 1
    assert neighbour(panes, 0, "down") == 2
    assert neighbour(panes, 3, "up") == 1
    assert neighbour(panes, 3, "left") == 2


def test_neighbours_wrap_around_like_tmux() -> None:
    panes = rects(BUILTIN["3-col"])
    assert neighbour(panes, 0, "left") == 2
    assert neighbour(panes, 2, "right") == 0
    assert neighbour(panes, 0, "left", wrap=False) is None
    assert neighbour(panes, 0, "up") is None      # nothing above or below, even wrapping
    column = rects(BUILTIN["3-row"])
    assert neighbour(column, 0, "up") == 2 and neighbour(column, 2, "down") == 0


def test_neighbour_ties_go_to_the_most_recent_then_the_largest_overlap() -> None:
    panes = rects(BUILTIN["main-2side"])   # main on the left, two stacked on the right
    assert neighbour(panes, 0, "right") == 1
    assert neighbour(panes, 0, "right", recent=[2, 1]) == 2
    lopsided = rects(parse({"row": ["pane", {"column": ["pane", "pane"], "sizes": [30, 70]}]}))
    assert neighbour(lopsided, 0, "right") == 2


def test_neighbour_of_a_pane_not_shown_is_refused() -> None:
    panes: list[Rect | None] = [*rects(BUILTIN["2-col"]), None]
    with pytest.raises(LayoutError, match="not shown"):
        neighbour(panes, 2, "left")
    assert neighbour(panes, 1, "right") == 0


# --- everything at random ---------------------------------------------------------------------------


def test_random_operations_keep_every_invariant() -> None:
    rng = random.Random(12)
    directions = ("left", "right", "up", "down")
    for _round in range(30):
        tree: Node = BUILTIN[rng.choice(list(BUILTIN))]
        cols, rows = rng.choice([(200, 60), (120, 40), (80, 24)])
        for _step in range(40):
            count = slot_count(tree)
            slot = rng.randrange(count)
            action = rng.random()
            if action < 0.45:
                try:
                    new, new_slot = split_leaf(tree, slot, rng.choice(directions))
                except LayoutError as e:
                    assert count == MAX_SLOTS or "nested" in str(e)
                    continue
                assert slot_count(new) == count + 1 and new_slot in (slot, slot + 1)
                tree = new
            elif action < 0.75:
                smaller = remove_leaf(tree, slot)
                if smaller is None:
                    assert count == 1
                    tree = Leaf()
                    continue
                assert slot_count(smaller) == count - 1
                tree = smaller
            else:
                try:
                    tree = resize_leaf(tree, slot, rng.choice(directions), rng.randint(1, 30), cols, rows)
                except LayoutError as e:
                    assert "no neighbour" in str(e)
            check_invariants(tree, cols, rows)
            panes = geometry(tree, cols, rows).panes
            for direction in directions:
                found = neighbour(panes, slot if slot < len(panes) else 0, direction)
                assert found is None or 0 <= found < len(panes)
