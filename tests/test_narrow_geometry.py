"""The browser's copy of the layout geometry (web/js/narrow.js ``treeGeometry``, which a phone master uses to
find the window size in which its pane fills the screen) against the server's (``session/layout.py``
``geometry``), with the trees as the layout message carries them (sizes rounded to two decimals): the same
rects for every built-in template and some lopsided and nested trees, at many window sizes; within a cell for
random trees, where float noise in the server's normalised sizes can break a tie the other way (rarely:
``PhoneSizer`` copes with it, tests/web/phone.test.mjs)."""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from dullahan.session import layout

NARROW_JS = Path(__file__).resolve().parent.parent / "src" / "dullahan" / "web" / "js" / "narrow.js"
SCRIPT = """
import { treeGeometry } from %s;
let input = "";
process.stdin.on("data", (d) => { input += d; });
process.stdin.on("end", () => {
  const cases = JSON.parse(input);
  process.stdout.write(JSON.stringify(cases.map(([tree, cols, rows]) => treeGeometry(tree, cols, rows))));
});
"""
EXTRA_TREES = [
    {"row": ["pane", "pane", "pane", "pane"], "sizes": [5, 5, 5, 85]},
    {"column": ["pane", {"row": ["pane", {"column": ["pane", "pane", "pane"]}], "sizes": [61, 39]}], "sizes": [17, 83]},
    {"row": [{"column": ["pane", "pane"], "sizes": [90, 10]}, "pane", "pane"], "sizes": [33.3, 33.3, 33.4]},
]


def random_tree(rng: random.Random, depth: int = 0) -> object:
    if depth >= 3 or (depth > 0 and rng.random() < 0.4):
        return "pane"
    n = rng.randint(2, 3)
    cuts = sorted(rng.sample(range(10, 91), n - 1))
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]   # whole percentages, as people write them
    return {rng.choice(("row", "column")): [random_tree(rng, depth + 1) for _ in range(n)], "sizes": sizes}


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_browser_geometry_matches_the_servers() -> None:
    rng = random.Random(13)
    trees = [*layout.BUILTIN.values(), *(layout.parse(t) for t in EXTRA_TREES)]
    exact = len(trees)
    while len(trees) < exact + 60:
        with contextlib.suppress(layout.LayoutError):   # too many panes: draw another
            trees.append(layout.parse(random_tree(rng)))
    sizes = [(1, 1), (2, 3), (5, 4), (46, 35), (80, 24), (151, 44), (1000, 1000)]
    sizes += [(rng.randint(1, 300), rng.randint(1, 120)) for _ in range(40)]
    cases = [(tree, cols, rows) for tree in trees for cols, rows in sizes]
    # The browser gets the trees as the layout message carries them; the server lays out its own.
    wire = [(layout.to_json(tree), cols, rows) for tree, cols, rows in cases]
    out = subprocess.run(["node", "--input-type=module", "-e", SCRIPT % json.dumps(NARROW_JS.as_uri())],
                         input=json.dumps(wire), capture_output=True, text=True, timeout=60, check=True)
    browser = json.loads(out.stdout)
    assert len(browser) == len(cases)
    off = 0
    for n, ((tree, cols, rows), got) in enumerate(zip(cases, browser, strict=True)):
        want = [[r.x, r.y, r.cols, r.rows] for r in layout.geometry(tree, cols, rows).panes]
        if n < exact * len(sizes):
            assert got == want, f"{layout.to_json(tree)} in {cols}x{rows}"
        else:
            # Float noise in the server's normalised sizes can break a tie in the shares the other way.
            assert len(got) == len(want)
            assert all(abs(a - b) <= 1 for g, w in zip(got, want, strict=True) for a, b in zip(g, w, strict=True)), \
                f"{layout.to_json(tree)} in {cols}x{rows}: {got} != {want}"
            off += got != want
    assert off <= len(cases) // 20, f"{off} of {len(cases)} layouts differ by a cell"
