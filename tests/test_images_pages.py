"""Kitty graphics end to end: programs (escape sequences written by the test, ``chafa``, ``timg``) in real
panes of a real server, shown by real pages (headless Chromium; one test in Firefox too). What a page shows
is read from its canvases: where each one is relative to its pane's content, in the page's CSS pixels, and
the colours of a few of its pixels. The pictures are quadrants of known colours, so a sample tells which part
of the image is drawn where."""

from __future__ import annotations

import base64
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from browser_support import (  # noqa: F401  (the *_fixture names are fixtures: browser, pages)
    BrowserPage,
    Pages,
    active_pane,
    browser_fixture,
    in_both_engines,
    pages_fixture,
    pane_rows,
    wait_text,
)
from helpers import ServerProc, StartServer, capture_until, wait_for

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 200, 0), (0, 0, 255), (255, 255, 255)
TERM_CELL = (8, 16)      # the server's terminals lay images out in 8x16 px cells

# Every visible canvas of a pane's image layers: its layer, its box relative to the pane's content in the grid's
# CSS pixels (the grid may be scaled down to fit a viewer's screen), and four sampled pixels of what it drew.
JS_CANVASES = """(id) => {
  const pane = document.querySelector(`.pane[data-pane="${id}"]`);
  if (!pane) return null;
  const body = pane.querySelector('.pbody').getBoundingClientRect();
  const scale = window.dullahan.screen.scale;
  return [...pane.querySelectorAll('.pimages canvas')].filter((c) => !c.parentElement.hidden).map((c) => {
    const r = c.getBoundingClientRect();
    const ctx = c.getContext('2d');
    const at = (fx, fy) =>
      [...ctx.getImageData(Math.floor(fx * (c.width - 1)), Math.floor(fy * (c.height - 1)), 1, 1).data];
    return { key: c.dataset.key, layer: c.parentElement.classList.contains('above') ? 'above' : 'below',
             rect: [(r.left - body.left) / scale, (r.top - body.top) / scale, r.width / scale, r.height / scale],
             tl: at(0.25, 0.25), tr: at(0.75, 0.25), bl: at(0.25, 0.75), br: at(0.75, 0.75) };
  });
}"""


def quadrants(width: int = 40, height: int = 40, colors: tuple[Any, ...] = (RED, GREEN, BLUE, WHITE)) -> bytes:
    """A PNG: top-left, top-right, bottom-left, bottom-right quadrants in ``colors``."""
    im = Image.new("RGB", (width, height))
    w, h = width // 2, height // 2
    for (x, y), color in zip(((0, 0), (w, 0), (0, h), (w, h)), colors, strict=True):
        im.paste(color, (x, y, x + w, y + h))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def apc(control: str, payload: bytes = b"") -> str:
    """A kitty graphics command; the payload base64'd and sent in chunks of 4096 (``m=1``) as programs do."""
    if not payload:
        return f"\x1b_G{control}\x1b\\"
    data = base64.b64encode(payload).decode()
    chunks = [data[i:i + 4096] for i in range(0, len(data), 4096)]
    return "".join(f"\x1b_G{control + ',' if i == 0 else ''}m={int(i < len(chunks) - 1)};{c}\x1b\\"
                   for i, c in enumerate(chunks))


def script(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def canvases(page: BrowserPage, pane: int) -> list[dict[str, Any]]:
    return page.evaluate(JS_CANVASES, pane) or []


def page_cell(page: BrowserPage) -> tuple[float, float]:
    w, h = page.evaluate("() => [window.dullahan.screen.cellW, window.dullahan.screen.cellH]")
    return float(w), float(h)


def expected_rect(page: BrowserPage, col: int, row: int, width: int, height: int) -> list[float]:
    """Where a placement of ``width`` x ``height`` terminal pixels at cell (col, row) is drawn in a page."""
    cw, ch = page_cell(page)
    sx, sy = cw / TERM_CELL[0], ch / TERM_CELL[1]
    return [col * cw, row * ch, width * sx, height * sy]


def near(color: list[int], want: tuple[int, int, int], slack: int = 24) -> bool:
    return all(abs(a - b) <= slack for a, b in zip(color[:3], want, strict=True)) and color[3] == 255


def wait_canvases(page: BrowserPage, pane: int, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    seen: list[Any] = []

    def drawn() -> tuple[list[dict[str, Any]]] | None:
        found = canvases(page, pane)
        seen[:] = [found]
        return (found,) if len(found) == count else None
    return wait_for(drawn, timeout, interval=0.05, message=lambda: f"canvases: {json.dumps(seen)}")[0]


def same_rect(a: list[float], b: list[float]) -> bool:
    return all(abs(x - y) <= 0.6 for x, y in zip(a, b, strict=True))


def wait_quadrants(page: BrowserPage, pane: int, rect: list[float], timeout: float = 20.0) -> dict[str, Any]:
    """Wait until the pane shows one canvas, at ``rect``; check it drew the quadrants picture whole."""
    seen: list[Any] = []

    def placed() -> dict[str, Any] | None:
        found = canvases(page, pane)
        seen[:] = [found]
        return found[0] if len(found) == 1 and same_rect(found[0]["rect"], rect) else None
    canvas = wait_for(placed, timeout, interval=0.05, message=lambda: f"want {rect}, canvases: {json.dumps(seen)}")
    assert near(canvas["tl"], RED) and near(canvas["tr"], GREEN), canvas
    assert near(canvas["bl"], BLUE) and near(canvas["br"], WHITE), canvas
    return canvas


def show_image_at(srv: ServerProc, pane: int, tmp_path: Path, col: int, row: int, marker: str,
                  control: str = "f=100,a=T,i=7,q=2", png: bytes | None = None) -> None:
    """Clear the pane, place the quadrants picture at cell (col, row), move below it, print ``marker``."""
    escapes = script(tmp_path, f"{marker}.kitty", f"\x1b[{row + 1};{col + 1}H" + apc(control, png or quadrants())
                     + f"\x1b[{row + 5};1H")
    srv.send(pane, f"clear; cat {escapes}; echo {marker}-$((6*7))")
    capture_until(srv, pane, f"{marker}-42", timeout=20)


@in_both_engines
def test_an_image_is_drawn_at_its_cells_in_master_and_viewer_pages_and_after_a_reconnect(
        server: StartServer, pages: Pages, tmp_path: Path) -> None:
    srv = server()
    master = pages.open(srv)
    viewer = pages.open(srv, role="view", width=700, height=480)   # a smaller screen: its grid is scaled
    pane = active_pane(master)
    show_image_at(srv, pane, tmp_path, col=4, row=2, marker="PLACED")
    for page in (master, viewer):
        canvas = wait_quadrants(page, pane, expected_rect(page, 4, 2, 40, 40))
        assert canvas["layer"] == "above"
    # The viewer's connection drops; the new one gets the image again (its cache started empty).
    viewer.evaluate("() => { window.dullahan.conn.drop(4000, 'test'); window.dullahan.conn.scheduleRetry(); }")
    viewer.wait_for_function("() => window.dullahan.conn.state === 'open' && window.dullahan.conn.connects >= 2",
                             timeout=20_000)
    wait_quadrants(viewer, pane, expected_rect(viewer, 4, 2, 40, 40))
    # Rows under an image above the text still show their text; the rows element holds no image data.
    wait_text(master, pane, "PLACED-42")


@pytest.mark.parametrize("program", ["chafa", "timg"])
def test_real_programs_show_their_picture_where_they_printed_it(server: StartServer, pages: Pages, tmp_path: Path,
                                                               program: str) -> None:
    assert shutil.which(program), f"{program} is not installed (scripts/test installs it)"
    source = tmp_path / "picture.png"
    picture = Image.new("RGB", (80, 40), GREEN)
    picture.paste(RED, (0, 0, 40, 40))                            # left half red, right half green
    picture.save(source)
    command = {"chafa": f"chafa -f kitty --size 10x5 {source}", "timg": f"timg -pk -g10x5 {source}"}[program]
    srv = server()
    page = pages.open(srv)
    pane = active_pane(page)
    srv.send(pane, f"clear; {command}; echo SHOWN-$((6*7))")
    capture_until(srv, pane, "SHOWN-42", timeout=30)
    (canvas,) = wait_canvases(page, pane, 1, timeout=30)
    cw, ch = page_cell(page)
    x, y, w, h = canvas["rect"]
    # From the left edge, on a row boundary, within the 10x5 cells asked for (the programs fit the picture to
    # whole cells, so its proportions are theirs), wider than high.
    assert abs(x) <= 0.6 and abs(y / ch - round(y / ch)) < 0.01, canvas["rect"]
    assert 5 * cw <= w <= 10 * cw + 0.6 and h <= 5 * ch + 0.6 and w > h, canvas["rect"]
    assert near(canvas["tl"], RED) and near(canvas["bl"], RED), canvas
    assert near(canvas["tr"], GREEN) and near(canvas["br"], GREEN), canvas


def test_an_image_scrolls_into_history_and_survives_a_window_switch(server: StartServer, pages: Pages,
                                                                    tmp_path: Path) -> None:
    srv = server()
    page = pages.open(srv)
    pane = active_pane(page)
    show_image_at(srv, pane, tmp_path, col=3, row=1, marker="HISTORY")
    wait_quadrants(page, pane, expected_rect(page, 3, 1, 40, 40))
    # Enough output to push it into the scrollback: gone from the live screen.
    srv.send(pane, "seq 1 200; echo PUSHED-$((6*7))")
    capture_until(srv, pane, "PUSHED-42")
    wait_canvases(page, pane, 0)
    # This page scrolls back to the top of the history: the rows `clear` left start there, image included.
    page.evaluate("(p) => window.dullahan.conn.send({t: 'scroll', p, to: 'top'})", pane)
    wait_quadrants(page, pane, expected_rect(page, 3, 1, 40, 40))
    page.evaluate("(p) => window.dullahan.conn.send({t: 'scroll', p, delta: 1})", pane)   # one row newer
    wait_quadrants(page, pane, expected_rect(page, 3, 0, 40, 40))
    page.evaluate("(p) => window.dullahan.conn.send({t: 'scroll', p, to: 'bottom'})", pane)
    wait_canvases(page, pane, 0)
    # A picture on the live screen, then another window and back: drawn again where it was.
    show_image_at(srv, pane, tmp_path, col=6, row=3, marker="SWITCH")
    wait_canvases(page, pane, 1)
    first = srv.call("windows")[0]["id"]
    other = srv.call("new-window")["id"]
    wait_for(lambda: page.evaluate("() => window.dullahan.replica.layout.active") == other, 10)
    page.wait_for_function(f"() => !document.querySelector('.pane[data-pane=\"{pane}\"]')")
    srv.call("select-window", window=first)
    wait_quadrants(page, pane, expected_rect(page, 6, 3, 40, 40))


def test_deletes_clear_and_over_limit_images_leave_nothing_drawn(server: StartServer, pages: Pages,
                                                                 tmp_path: Path, dullahan_env: dict[str, str]) -> None:
    config = Path(dullahan_env["XDG_CONFIG_HOME"]) / "dullahan"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.json").write_text(json.dumps({"image_storage_per_pane": 1 << 20}))   # 512 KiB a screen
    srv = server()
    page = pages.open(srv)
    pane = active_pane(page)
    show_image_at(srv, pane, tmp_path, col=0, row=1, marker="FIRST")
    wait_canvases(page, pane, 1)
    srv.send(pane, f"cat {script(tmp_path, 'delete.kitty', apc('a=d,d=I,i=7,q=2'))}; echo DELETED-$((6*7))")
    capture_until(srv, pane, "DELETED-42")
    wait_canvases(page, pane, 0)
    show_image_at(srv, pane, tmp_path, col=0, row=1, marker="SECOND")
    wait_canvases(page, pane, 1)
    srv.send(pane, "clear; echo CLEARED-$((6*7))")
    capture_until(srv, pane, "CLEARED-42")
    wait_canvases(page, pane, 0)
    # 600x600 decodes to 1.44 MB, over the screen's 512 KiB: refused (the program hears EINVAL), never
    # drawn. The small picture sent after it is drawn, so the page has seen everything before it.
    big = quadrants(600, 600)
    escapes = script(tmp_path, "big.kitty", "\x1b[2;1H" + apc("f=100,a=T,i=8", big) + apc("f=100,a=T,i=9,q=2",
                                                                                            quadrants()))
    srv.send(pane, f"clear; cat {escapes}; echo; echo BIG-$((6*7))")
    capture_until(srv, pane, "BIG-42")
    (canvas,) = wait_canvases(page, pane, 1)
    assert canvas["rect"][2] == pytest.approx(expected_rect(page, 0, 0, 40, 40)[2], abs=0.6)
    assert "image refused" in srv.log_text()


def test_unicode_placeholders_show_the_image_and_their_cells_show_blanks(server: StartServer, pages: Pages,
                                                                         tmp_path: Path) -> None:
    srv = server()
    page = pages.open(srv)
    pane = active_pane(page)
    diacritics = ("\u0305", "\u030d")                           # rows/columns 0 and 1
    cells = "".join(f"\x1b[{3 + r};3H\x1b[38;5;42m" + "".join("\U0010eeee" + diacritics[r] + diacritics[c]
                                                              for c in range(2)) + "\x1b[39m" for r in range(2))
    # Image 42, a virtual placement of 2x2 cells (16x32 px at 8x16): each cell shows one 8x16 piece.
    escapes = script(tmp_path, "virtual.kitty", apc("f=100,a=T,U=1,i=42,c=2,r=2,q=2", quadrants(16, 32))
                     + cells + "\x1b[6;1H")
    srv.send(pane, f"clear; cat {escapes}; echo VIRTUAL-$((6*7))")
    capture_until(srv, pane, "VIRTUAL-42")
    found = wait_canvases(page, pane, 2)
    cw, ch = page_cell(page)
    by_top = sorted(found, key=lambda c: c["rect"][1])
    for r, canvas in enumerate(by_top):                            # one run of placeholders per row
        assert canvas["layer"] == "below"
        want = [2 * cw, (2 + r) * ch, 2 * cw, ch]
        assert all(abs(a - b) <= 0.6 for a, b in zip(canvas["rect"], want, strict=True)), (canvas, want)
    top, bottom = by_top
    assert near(top["tl"], RED) and near(top["tr"], GREEN)
    assert near(bottom["bl"], BLUE) and near(bottom["br"], WHITE)
    rows = pane_rows(page, pane) or []
    assert not any("\U0010eeee" in row for row in rows)
    assert rows[2][2:4] == "  " and rows[3][2:4] == "  "
