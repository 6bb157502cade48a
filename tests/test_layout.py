"""Layout trees: JSON form, templates, geometry in cells, and resizing."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest

from dullahan.session.layout import (
    BUILTIN,
    Geometry,
    LayoutError,
    Leaf,
    Node,
    Rect,
    Split,
    Templates,
    geometry,
    load_user_templates,
    min_size,
    parse,
    set_sizes,
    sizes_from_divider,
    slot_count,
    to_json,
)

SLOTS = {
    "single": 1, "2-col": 2, "2-row": 2, "3-col": 3, "3-row": 3, "2x2": 4,
    "main-side": 2, "side-main": 2, "main-2side": 3, "3x2": 6, "3x3": 9,
}  # fmt: skip
AREAS = [(120, 40), (80, 24), (3, 3), (1, 1), (7, 5), (2, 9)]


def same(a: Node, b: Node) -> bool:
    """Structural equality with sizes compared to the rounding of the JSON form."""
    if isinstance(a, Leaf) or isinstance(b, Leaf):
        return a == b
    return (
        a.kind == b.kind
        and len(a.children) == len(b.children)
        and all(math.isclose(x, y, abs_tol=0.01) for x, y in zip(a.sizes, b.sizes, strict=True))
        and all(same(x, y) for x, y in zip(a.children, b.children, strict=True))
    )


def paint(geo: Geometry) -> Counter[tuple[int, int]]:
    """How many times each cell is covered by a title bar, pane content or row-split divider."""
    cells: Counter[tuple[int, int]] = Counter()
    for r in geo.panes:
        for y in range(r.y - 1, r.y + r.rows):
            cells.update((x, y) for x in range(r.x, r.x + r.cols))
    for box in geo.splits:
        if box.kind == "row":
            for offset in box.offsets[1:]:
                x = box.rect.x + offset - 1
                cells.update((x, y) for y in range(box.rect.y, box.rect.y + box.rect.rows))
    return cells


# --- the tree and its JSON form ---------------------------------------------------------------


@pytest.mark.parametrize("name", list(SLOTS))
def test_builtin_round_trips_through_json(name: str) -> None:
    assert list(BUILTIN) == list(SLOTS)
    node = BUILTIN[name]
    assert slot_count(node) == SLOTS[name]
    as_json = to_json(node)
    assert json.loads(json.dumps(as_json)) == as_json
    assert same(parse(as_json), node)
    assert slot_count(parse(as_json)) == SLOTS[name]


def test_builtin_shapes() -> None:
    assert BUILTIN["main-side"] == Split("row", (Leaf(), Leaf()), (70.0, 30.0))
    assert to_json(BUILTIN["side-main"]) == {"row": ["pane", "pane"], "sizes": [33.0, 67.0]}
    assert to_json(BUILTIN["main-2side"]) == {
        "row": ["pane", {"column": ["pane", "pane"], "sizes": [50.0, 50.0]}],
        "sizes": [70.0, 30.0],
    }
    three = {"row": ["pane"] * 3, "sizes": [33.33] * 3}
    assert to_json(BUILTIN["3x3"]) == {"column": [three] * 3, "sizes": [33.33] * 3}


def test_sizes_are_normalised_and_default_to_equal() -> None:
    assert Split("row", (Leaf(), Leaf()), (1, 3)).sizes == (25.0, 75.0)
    assert parse({"column": ["pane"] * 4}).sizes == (25.0,) * 4
    node = parse({"row": ["pane", "pane"], "sizes": [5, 95]})
    assert isinstance(node, Split) and node.sizes == (5.0, 95.0)
    assert parse({"row": ["pane", "pane"], "sizes": [1e308, 1e308]}).sizes == (50.0, 50.0)
    assert parse("pane") == Leaf()


def test_limits_that_are_just_allowed() -> None:
    def nested(levels: int) -> object:
        return "pane" if levels == 0 else {"row": [nested(levels - 1), "pane"]}

    assert slot_count(parse(nested(6))) == 7
    assert slot_count(parse({"row": [{"column": ["pane"] * 8}, {"column": ["pane"] * 8}]})) == 16
    with pytest.raises(LayoutError, match=r"nested more than 6"):
        parse(nested(7))


BAD = [
    ("leaf", "layout: unknown leaf 'leaf'"),
    (42, 'layout: expected "pane" or an object'),
    (None, "got null"),
    (["pane", "pane"], "got a list"),
    ({"row": ["pane"]}, "row: a split needs 2..9 children, got 1"),
    ({"column": ["pane"] * 10}, "column: a split needs 2..9 children, got 10"),
    ({"row": "pane"}, "row: must be a list"),
    ({"row": ["pane", "pane"], "column": ["pane", "pane"]}, "has both 'row' and 'column'"),
    ({"sizes": [1, 1]}, "needs a 'row' or a 'column'"),
    ({"row": ["pane", "pane"], "size": [1, 1]}, "unknown key 'size'"),
    ({"row": ["pane", "pane"], "sizes": [1]}, "sizes: has 1 entries for 2 children"),
    ({"row": ["pane", "pane"], "sizes": "50,50"}, "sizes: must be a list"),
    ({"row": ["pane", "pane"], "sizes": [True, 1]}, r"sizes\[0\]: must be a number, got a boolean"),
    ({"row": ["pane", "pane"], "sizes": [1, "1"]}, r"sizes\[1\]: must be a number"),
    ({"row": ["pane", "pane"], "sizes": [math.nan, 1]}, r"sizes\[0\]: must be a positive finite"),
    ({"row": ["pane", "pane"], "sizes": [1, math.inf]}, r"sizes\[1\]: must be a positive finite"),
    ({"row": ["pane", "pane"], "sizes": [0, 1]}, r"sizes\[0\]: must be a positive"),
    ({"row": ["pane", "pane"], "sizes": [4, 96]}, r"sizes\[0\]: 4.00% is below the minimum of 5%"),
    (
        {"row": ["pane", {"column": ["pane", "pane"], "sizes": [1, -1]}]},
        r"children\[1\]\.sizes\[1\]: must be a positive",
    ),
    ({"row": ["pane", {"column": ["pane", "tab"]}]}, r"children\[1\]\.children\[1\]: unknown leaf"),
    ({"row": [{"column": ["pane"] * 9}, {"column": ["pane"] * 8}]}, "more than 16 panes"),
]


@pytest.mark.parametrize(("obj", "message"), BAD)
def test_invalid_layouts_are_refused_with_a_useful_message(obj: object, message: str) -> None:
    with pytest.raises(LayoutError, match=message):
        parse(obj)


# --- geometry ---------------------------------------------------------------------------------


@pytest.mark.parametrize("area", AREAS, ids=lambda a: f"{a[0]}x{a[1]}")
@pytest.mark.parametrize("name", list(SLOTS))
def test_geometry_tiles_the_area(name: str, area: tuple[int, int]) -> None:
    cols, rows = area
    node = BUILTIN[name]
    geo = geometry(node, cols, rows)
    assert len(geo.panes) == SLOTS[name]
    assert all(r.cols >= 1 and r.rows >= 1 for r in geo.panes)
    cells = paint(geo)
    assert max(cells.values()) == 1, "title bars, contents and dividers overlap"
    min_cols, min_rows = min_size(node)
    if cols >= min_cols and rows >= min_rows:
        assert set(cells) == {(x, y) for x in range(cols) for y in range(rows)}


def test_geometry_follows_percentages() -> None:
    left, right = geometry(BUILTIN["main-side"], 101, 30).panes
    assert (left, right) == (Rect(0, 1, 70, 29), Rect(71, 1, 30, 29))
    geo = geometry(BUILTIN["main-2side"], 120, 40)
    main, top, bottom = geo.panes
    assert main.cols + top.cols + 1 == 120 and 80 <= main.cols <= 84
    assert top.x == bottom.x == main.cols + 1
    assert (top.y, top.rows, bottom.y, bottom.rows) == (1, 19, 21, 19)
    # 80 columns less 2 dividers share evenly; 24 rows share 8/8/8 between the rows of 3x3.
    assert [r.cols for r in geometry(BUILTIN["3x3"], 80, 24).panes[:3]] == [26, 26, 26]
    assert [r.y for r in geometry(BUILTIN["3x3"], 80, 24).panes[::3]] == [1, 9, 17]


def test_largest_remainder_sums_exactly() -> None:
    node = parse({"row": ["pane"] * 7, "sizes": [13, 7, 23, 11, 17, 19, 10]})
    for cols in range(13, 200, 7):
        panes = geometry(node, cols, 10).panes
        assert sum(r.cols for r in panes) + 6 == cols
        assert panes[-1].x + panes[-1].cols == cols


def test_minimums_win_over_percentages() -> None:
    # 5% of 30 columns would round to 1 or 2; the nested 2-column side still needs 3.
    node = parse({"row": ["pane", {"row": ["pane", "pane"]}], "sizes": [95, 5]})
    main, a, b = geometry(node, 30, 10).panes
    assert (main.cols, a.cols, b.cols) == (26, 1, 1)


def test_split_boxes_describe_the_dividers() -> None:
    geo = geometry(BUILTIN["2x2"], 81, 20)
    assert [box.path for box in geo.splits] == [(), (0,), (1,)]
    root, top, bottom = geo.splits
    assert (root.kind, root.rect, root.offsets) == ("column", Rect(0, 0, 81, 20), (0, 10))
    assert (top.kind, top.rect, top.offsets) == ("row", Rect(0, 0, 81, 10), (0, 41))
    assert bottom.rect == Rect(0, 10, 81, 10)
    assert geo.to_json()["panes"] == [[0, 1, 40, 9], [41, 1, 40, 9], [0, 11, 40, 9], [41, 11, 40, 9]]


def test_input_area_is_clamped() -> None:
    assert geometry(Leaf(), 5000, -3).panes == [Rect(0, 1, 1000, 1)]
    assert geometry(BUILTIN["2-row"], 0, 100_000).panes == [Rect(0, 1, 1, 499), Rect(0, 501, 1, 499)]


# --- resizing ---------------------------------------------------------------------------------


def test_set_sizes_replaces_one_split() -> None:
    tree = BUILTIN["main-2side"]
    changed = set_sizes(tree, (1,), [1, 3])
    assert isinstance(changed, Split) and changed.sizes == (70.0, 30.0)
    inner = changed.children[1]
    assert isinstance(inner, Split) and inner.sizes == (25.0, 75.0)
    assert same(tree, BUILTIN["main-2side"])  # the original is untouched
    assert set_sizes(BUILTIN["2-col"], (), (60, 40)) == Split("row", (Leaf(), Leaf()), (60, 40))


@pytest.mark.parametrize(
    ("path", "sizes", "message"),
    [
        ((0,), [50, 50], "names a pane"),
        ((5,), [50, 50], "no child 5"),
        ((0, 1), [50, 50], "is a pane"),
        ((1,), [1, 2, 3], "has 3 entries for 2 children"),
        ((1,), [3, 97], "below the minimum"),
        ((), [-1, 2], "must be a positive"),
    ],
)
def test_set_sizes_refuses_bad_requests(path: tuple[int, ...], sizes: list[float], message: str) -> None:
    with pytest.raises(LayoutError, match=message):
        set_sizes(BUILTIN["main-2side"], path, sizes)


def test_divider_drag_in_a_row_split() -> None:
    sizes = sizes_from_divider(101, (50, 50), 0, 30, kind="row")
    assert sizes == pytest.approx((30, 70))
    geo = geometry(set_sizes(BUILTIN["2-col"], (), sizes), 101, 20)
    assert geo.panes[0].cols == 30 and geo.splits[0].offsets[1] - 1 == 30
    # Only the two neighbours of the divider change, and the total stays 100.
    three = sizes_from_divider(80, (100 / 3,) * 3, 1, 60, kind="row")
    assert three[0] == pytest.approx(100 / 3) and sum(three) == pytest.approx(100)
    assert geometry(set_sizes(BUILTIN["3-col"], (), three), 80, 10).splits[0].offsets[2] - 1 == 60


def test_divider_drag_in_a_column_split() -> None:
    sizes = sizes_from_divider(40, (50, 50), 0, 10)
    assert sizes == pytest.approx((25, 75))
    geo = geometry(set_sizes(BUILTIN["2-row"], (), sizes), 80, 40)
    assert geo.panes[1].y - 1 == 10


def test_divider_drag_is_clamped() -> None:
    assert sizes_from_divider(100, (50, 50), 0, 0) == pytest.approx((5, 95))
    assert sizes_from_divider(100, (50, 50), 0, 500) == pytest.approx((95, 5))
    assert sizes_from_divider(100, (20, 20, 60), 1, -7) == pytest.approx((20, 5, 75))
    assert sizes_from_divider(1, (50, 50), 0, 0, kind="row") == pytest.approx((50, 50))
    with pytest.raises(LayoutError, match=r"dividers 0\.\.1"):
        sizes_from_divider(100, (20, 20, 60), 2, 50)


# --- templates --------------------------------------------------------------------------------


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_user_templates_load(tmp_path: Path) -> None:
    assert load_user_templates(tmp_path / "absent.json") == ({}, None)
    entries = {"wide.v2": {"row": ["pane", "pane"], "sizes": [60, 40]}, "a": "pane"}
    templates = Templates.load(write(tmp_path / "layouts.json", entries))
    assert templates.error is None
    assert templates.get("wide.v2") == Split("row", (Leaf(), Leaf()), (60, 40))
    assert templates.get("2x2") is BUILTIN["2x2"]
    assert templates.names() == [*SLOTS, "a", "wide.v2"]
    assert templates.to_json() == {
        "builtin": list(SLOTS),
        "user": {"a": "pane", "wide.v2": {"row": ["pane", "pane"], "sizes": [60.0, 40.0]}},
    }
    with pytest.raises(LayoutError, match=r"unknown layout 'nope'; known: single, 2-col, .*, a, wide.v2"):
        templates.get("nope")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"mine": {"row": ["pane", "pane"]', "not valid JSON"),
        (b"[]", "top level must be an object"),
        (b" " * (256 * 1024 + 1), "larger than"),
    ],
)
def test_unusable_file_is_reported_and_left_alone(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "layouts.json"
    path.write_bytes(content)
    templates, error = load_user_templates(path)
    assert templates == {} and error is not None and message in error and str(path) in error
    assert path.read_bytes() == content
    assert Templates.load(path).names() == list(SLOTS)


def test_bad_entries_are_skipped_and_reported(tmp_path: Path) -> None:
    entries = {
        "good": {"column": ["pane", "pane", "pane"]},
        "bad": {"row": ["pane"]},
        "has space": "pane",
        "x" * 33: "pane",
        "2x2": "pane",
        "": "pane",
    }
    path = write(tmp_path / "layouts.json", entries)
    templates, error = load_user_templates(path)
    assert list(templates) == ["good"] and slot_count(templates["good"]) == 3
    assert error is not None and str(path) in error and "skipped 5 bad entries" in error
    assert "'bad': row: a split needs 2..9 children" in error
    assert "'has space'" in error and "1..32 characters" in error
    assert "'2x2' is a built-in layout" in error
    assert Templates.load(path).get("2x2") is BUILTIN["2x2"]
