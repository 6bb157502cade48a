"""The browser's image modules in headless Chromium: a real PNG (made by Pillow) decoded only as image data,
drawn by ``ImageLayer`` at the expected pixel rectangles, clipped to the pane, below or above the rows."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, Route

from browser_support import browser_fixture  # noqa: F401  (the fixture: browser)

WEB = Path(__file__).resolve().parent.parent / "src" / "dullahan" / "web" / "js"
ORIGIN = "http://images.test"
KEY = "0123456789abcdef0123456789abcdef"

PAGE = """<!doctype html><meta charset="utf-8">
<div id="body" style="position:relative;width:400px;height:200px;overflow:hidden;background:#000">
  <div id="rows" style="position:absolute;left:0;top:0;width:400px;height:200px"></div>
</div>
<script type="module">
import { decodeImage, ImageCache } from "/js/images.js";
import { ImageLayer } from "/js/imagelayer.js";
window.run = async (b64, meta, placements, geometry) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const cache = new ImageCache();
  cache.decoded(cache.hold(meta), await decodeImage(meta, bytes));
  const layer = new ImageLayer();
  layer.attach(document.getElementById("body"), document.getElementById("rows"));
  const rects = layer.update(placements, cache, geometry);
  const canvases = [...document.querySelectorAll("canvas")].map((c) => {
    const r = c.getBoundingClientRect();
    const ctx = c.getContext("2d");
    const at = (x, y) => [...ctx.getImageData(x, y, 1, 1).data];
    return { layer: c.parentElement.className, rect: [r.left, r.top, r.width, r.height], size: [c.width, c.height],
             topLeft: at(0, 0), bottomRight: at(c.width - 1, c.height - 1), key: c.dataset.key };
  });
  const order = [...document.getElementById("body").children].map((e) => e.id || e.className);
  return { rects, canvases, order };
};
window.restack = async (b64, meta, first, second, geometry) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const cache = new ImageCache();
  cache.decoded(cache.hold(meta), await decodeImage(meta, bytes));
  const layer = new ImageLayer();
  layer.attach(document.getElementById("body"), document.getElementById("rows"));
  let draws = 0;
  const drawImage = CanvasRenderingContext2D.prototype.drawImage;
  CanvasRenderingContext2D.prototype.drawImage = function (...args) { draws++; return drawImage.apply(this, args); };
  layer.update(first, cache, geometry);
  const before = [...document.querySelectorAll("canvas")];
  const drawnFirst = draws;
  layer.update(second, cache, geometry);
  CanvasRenderingContext2D.prototype.drawImage = drawImage;
  const after = [...document.querySelectorAll("canvas")];
  return { drawnFirst, drawnSecond: draws - drawnFirst, kept: after.map((c) => before.indexOf(c)),
           tops: after.map((c) => c.style.top) };
};
window.ready = true;
</script>"""


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    ctx = browser.new_context(viewport={"width": 600, "height": 400})

    def serve(route: Route) -> None:
        path = route.request.url[len(ORIGIN):]
        if path == "/":
            route.fulfill(body=PAGE, content_type="text/html")
        elif path.startswith("/js/") and (WEB / path[4:]).is_file():
            route.fulfill(body=(WEB / path[4:]).read_text(), content_type="text/javascript")
        else:
            route.fulfill(status=404, body="")
    ctx.route(f"{ORIGIN}/**", serve)
    p = ctx.new_page()
    p.goto(f"{ORIGIN}/")
    p.wait_for_function("window.ready === true")
    yield p
    ctx.close()


def quadrants_png() -> bytes:
    """40x40: red top-left, green top-right, blue bottom-left, white bottom-right (opaque)."""
    im = Image.new("RGB", (40, 40))
    im.paste((255, 0, 0), (0, 0, 20, 20))
    im.paste((0, 255, 0), (20, 0, 40, 20))
    im.paste((0, 0, 255), (0, 20, 20, 40))
    im.paste((255, 255, 255), (20, 20, 40, 40))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def run(page: Page, placements: list[dict[str, Any]], geometry: dict[str, Any]) -> dict[str, Any]:
    meta = {"key": KEY, "mime": "image/png", "width": 40, "height": 40}
    b64 = base64.b64encode(quadrants_png()).decode()
    result: dict[str, Any] = page.evaluate(f"window.run({json.dumps(b64)}, {json.dumps(meta)}, "
                                           f"{json.dumps(placements)}, {json.dumps(geometry)})")
    return result


def placement(**over: Any) -> dict[str, Any]:
    base = {"key": KEY, "col": 0, "row": 0, "cols": 5, "rows": 3, "x": 0, "y": 0, "w": 40, "h": 40,
            "src": [0, 0, 40, 40], "z": 0}
    return {**base, **over}


def close(pixel: list[int], want: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 8 for a, b in zip(pixel[:3], want, strict=True)) and pixel[3] == 255


def test_a_png_is_drawn_at_its_cells_scaled_to_the_page(page: Page) -> None:
    # Page cells 10x20 for a terminal's 8x16: scale 1.25. Column 2, row 1: at (20, 20), 50x50 px.
    out = run(page, [placement(col=2, row=1)], {"cols": 40, "rows": 10, "termCell": {"w": 8, "h": 16},
                                                "pageCell": {"w": 10, "h": 20}, "dpr": 1})
    (canvas,) = out["canvases"]
    body_left, body_top = 8, 8          # the page's default margin
    assert canvas["rect"] == [body_left + 20, body_top + 20, 50, 50]
    assert canvas["size"] == [50, 50] and canvas["key"] == KEY
    assert close(canvas["topLeft"], (255, 0, 0)) and close(canvas["bottomRight"], (255, 255, 255))
    assert canvas["layer"] == "pimages above"
    assert out["order"] == ["pimages below", "rows", "pimages above"]


def test_partly_scrolled_and_clipped_placement_shows_the_right_part(page: Page) -> None:
    # Row -1 with 16 px cells: the top 16 px (red/green half's top) are above the pane; the pane is 4 cells
    # wide (32 px), so only the left 32 px show. Below the text (z < 0).
    out = run(page, [placement(row=-1, z=-1)], {"cols": 4, "rows": 10, "termCell": {"w": 8, "h": 16},
                                                "pageCell": {"w": 8, "h": 16}, "dpr": 2})
    (canvas,) = out["canvases"]
    assert canvas["layer"] == "pimages below"
    assert canvas["rect"][2:] == [32, 24] and canvas["rect"][1] == 8
    assert canvas["size"] == [64, 48]                  # device pixels at a ratio of 2
    assert close(canvas["topLeft"], (255, 0, 0))      # the lower part of the red quadrant
    assert close(canvas["bottomRight"], (255, 255, 255))
    rect = out["rects"][0]
    assert [rect["sx"], rect["sy"], rect["sw"], rect["sh"]] == [0, 16, 32, 24]


def test_a_source_rectangle_shows_one_quadrant(page: Page) -> None:
    out = run(page, [placement(src=[20, 20, 20, 20], w=16, h=16, cols=2, rows=1)],
              {"cols": 10, "rows": 10, "termCell": {"w": 8, "h": 16}, "pageCell": {"w": 8, "h": 16}})
    (canvas,) = out["canvases"]
    assert canvas["rect"][2:] == [16, 16]
    assert close(canvas["topLeft"], (255, 255, 255)) and close(canvas["bottomRight"], (255, 255, 255))


def test_when_a_picture_below_goes_away_the_ones_above_are_not_drawn_again(page: Page) -> None:
    meta = {"key": KEY, "mime": "image/png", "width": 40, "height": 40}
    b64 = base64.b64encode(quadrants_png()).decode()
    geometry = {"cols": 40, "rows": 10, "termCell": {"w": 8, "h": 16}, "pageCell": {"w": 8, "h": 16}}
    first = [placement(row=0), placement(row=2), placement(row=4)]
    out = page.evaluate(f"window.restack({json.dumps(b64)}, {json.dumps(meta)}, {json.dumps(first)}, "
                        f"{json.dumps(first[1:])}, {json.dumps(geometry)})")
    assert out["drawnFirst"] == 3 and out["drawnSecond"] == 0
    assert out["kept"] == [1, 2] and out["tops"] == ["32px", "64px"]     # the same canvases, in order
