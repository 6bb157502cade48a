"""End-to-end tests of the page's workspace controls in headless Chromium, with real keys and a real mouse: the
panes' buttons (split, zoom, close), renaming windows, the prefix key (tmux's keys, Ctrl+B Ctrl+B reaching the
program), search in the scrollback, the scrollbar, selections beyond one screen and their copy, plain URLs as
links, the right-click menu, and what a viewer is (not) shown.
"""

from __future__ import annotations

from typing import Any

from browser_support import (  # noqa: F401  (the *_fixture names are fixtures: browser, pages)
    Pages,
    active_pane,
    active_window,
    browser_fixture,
    capture_lines,
    cell_point,
    cell_size,
    layout,
    pages_fixture,
    pane_rows,
    type_line,
    wait_matches_capture,
    wait_rows,
    wait_text,
)
from helpers import ServerProc, capture_until, wait_for

CLIPBOARD = ["clipboard-read", "clipboard-write"]


def shown_panes(page: Any) -> list[int]:
    """The panes the page draws (not hidden), in document order."""
    return page.evaluate("() => [...document.querySelectorAll('.pane')].filter(p => !p.hidden)"
                         ".map(p => +p.dataset.pane)")


def pane_box(page: Any, pane: int) -> dict[str, float]:
    box = page.locator(f'.pane[data-pane="{pane}"]').bounding_box()
    assert box is not None
    return box


def assert_panes_tile_the_window(page: Any) -> None:
    """The shown panes' boxes cover the grid (no blank hole): their areas add up to the window's, less the
    one-cell dividers between them."""
    win = active_window(page)
    cw, ch = cell_size(page)
    area = sum(r[2] * (r[3] + 1) for r in win["rects"] if r)
    assert win["cols"] * win["rows"] - area <= win["cols"] + win["rows"], (win["rects"], win["cols"], win["rows"])
    drawn = sum(pane_box(page, p)["width"] * pane_box(page, p)["height"] for p in shown_panes(page))
    assert abs(drawn - area * cw * ch) < 0.01 * area * cw * ch, (drawn, area * cw * ch)


def prefix(page: Any, *keys: str) -> None:
    """Ctrl+B, then each key."""
    page.keyboard.press("Control+b")
    for key in keys:
        page.keyboard.press(key)


def tab_labels(page: Any) -> list[str]:
    return page.evaluate("() => [...document.querySelectorAll('.tab .tab-label')].map(t => t.textContent)")


def find_row(page: Any, pane: int, prefix: str) -> int:
    """Wait for a row of the pane starting with ``prefix``; its index."""
    def at(rows: list[str]) -> list[int]:
        return next(([i] for i, r in enumerate(rows) if r.startswith(prefix)), [])
    return wait_rows(page, pane, at)[0]


def wait_prompt(page: Any, pane: int) -> None:
    wait_rows(page, pane, lambda rows: rows and rows[0].startswith("$"))


# -- pane and window controls ---------------------------------------------------------------------------------
def test_pane_buttons_split_zoom_and_close_and_no_hole_is_left(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv)
    first = active_pane(page)
    page.click(f'.pane[data-pane="{first}"] .pbtn.split-right')
    wait_for(lambda: len(shown_panes(page)) == 2, 15)
    right = next(p for p in shown_panes(page) if p != first)
    assert pane_box(page, right)["x"] > pane_box(page, first)["x"]
    page.click(f'.pane[data-pane="{right}"] .pbtn.split-down')
    wait_for(lambda: len(shown_panes(page)) == 3, 15)
    below = next(p for p in shown_panes(page) if p not in (first, right))
    assert pane_box(page, below)["y"] > pane_box(page, right)["y"]
    assert abs(pane_box(page, below)["x"] - pane_box(page, right)["x"]) < 1
    assert_panes_tile_the_window(page)
    # The tab shows the window's title (the active pane's program), never the layout's name.
    assert active_window(page)["layout"] == "custom"
    assert all("custom" not in t for t in tab_labels(page)), tab_labels(page)
    assert tab_labels(page) == [f"1: {active_window(page)['title']}"]
    # Zoom one pane to the whole window, and back.
    page.click(f'.pane[data-pane="{right}"] .pbtn.zoom')
    wait_for(lambda: shown_panes(page) == [right], 15)
    win = active_window(page)
    wait_for(lambda: srv.pane(right)["cols"] == win["cols"], 15)
    assert page.locator(".tab.zoomed").count() == 1
    page.click(f'.pane[data-pane="{right}"] .pbtn.zoom')
    wait_for(lambda: len(shown_panes(page)) == 3, 15)
    # Close the right pane (the button asks for a second click): the pane below takes its place.
    close = f'.pane[data-pane="{right}"] .pbtn.close'
    page.click(close)
    assert right in shown_panes(page)
    page.click(close)
    wait_for(lambda: sorted(shown_panes(page)) == sorted([first, below]), 15)
    wait_for(lambda: right not in {p["id"] for p in srv.panes()}, 15)
    assert_panes_tile_the_window(page)
    wait_prompt(page, below)
    # "New pane" in the bar is always there: it splits the focused pane.
    page.click("#new-pane")
    wait_for(lambda: len(shown_panes(page)) == 3, 15)
    assert_panes_tile_the_window(page)


def test_renaming_a_window_by_double_click_and_by_prefix_comma(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv)
    pane = active_pane(page)
    wait_prompt(page, pane)
    page.dblclick(".tab.active .tab-label")
    field = page.locator(".tab-rename")
    field.wait_for(timeout=5000)
    page.keyboard.type("build")
    page.keyboard.press("Enter")
    wait_for(lambda: tab_labels(page) == ["1: build"], 15)
    assert srv.call("windows")[0]["name"] == "build"
    # Keys go to the shell again.
    type_line(page, "echo after-rename")
    wait_text(page, pane, "after-rename")
    # Prefix , renames the active window; Escape keeps the name.
    prefix(page, "Comma")
    field.wait_for(timeout=5000)
    page.keyboard.press("Control+a")
    page.keyboard.type("tests")
    page.keyboard.press("Escape")
    wait_for(lambda: page.locator(".tab-rename").count() == 0, 15)
    assert tab_labels(page) == ["1: build"]
    prefix(page, "Comma")
    field.wait_for(timeout=5000)
    page.keyboard.press("Control+a")
    page.keyboard.type("tests")
    page.keyboard.press("Enter")
    wait_for(lambda: srv.call("windows")[0]["name"] == "tests", 15)
    wait_for(lambda: tab_labels(page) == ["1: tests"], 15)


# -- the prefix key -------------------------------------------------------------------------------------------
def test_prefix_keys_split_zoom_select_resize_close_and_windows(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv)
    first = active_pane(page)
    wait_prompt(page, first)
    prefix(page, "%")
    wait_for(lambda: len(shown_panes(page)) == 2, 15)
    right = next(p for p in shown_panes(page) if p != first)
    wait_for(lambda: active_pane(page) == right, 15)
    prefix(page, '"')
    wait_for(lambda: len(shown_panes(page)) == 3, 15)
    below = next(p for p in shown_panes(page) if p not in (first, right))
    wait_for(lambda: active_pane(page) == below, 15)
    assert pane_box(page, below)["y"] > pane_box(page, right)["y"]
    # Select by direction and by number (the numbers are shown after prefix q).
    prefix(page, "ArrowLeft")
    wait_for(lambda: active_pane(page) == first, 15)
    prefix(page, "ArrowRight")
    wait_for(lambda: active_pane(page) in (right, below), 15)
    prefix(page, "q")
    wait_for(lambda: page.locator(".pnum").count() == 3, 15)
    page.keyboard.press("2")
    wait_for(lambda: active_pane(page) == below, 15)
    assert page.locator(".pnum").count() == 0
    # Resize by keyboard: Ctrl+arrows repeat without the prefix for a moment.
    cols = srv.pane(first)["cols"]
    prefix(page, "ArrowLeft")
    wait_for(lambda: active_pane(page) == first, 15)
    prefix(page, "Control+ArrowRight")
    wait_for(lambda: srv.pane(first)["cols"] == cols + 1, 15)
    prefix(page, "Alt+ArrowRight")
    wait_for(lambda: srv.pane(first)["cols"] == cols + 6, 15)
    # Zoom and back.
    prefix(page, "z")
    wait_for(lambda: shown_panes(page) == [first], 15)
    prefix(page, "z")
    wait_for(lambda: len(shown_panes(page)) == 3, 15)
    # Close with a confirmation: n keeps the pane, y closes it.
    prefix(page, "x")
    wait_for(lambda: "y/n" in page.inner_text("#mode"), 15)
    page.keyboard.press("n")
    wait_for(lambda: page.is_hidden("#mode"), 15)
    assert len(shown_panes(page)) == 3
    prefix(page, "x")
    page.keyboard.press("y")
    wait_for(lambda: sorted(shown_panes(page)) == sorted([right, below]), 15)
    assert_panes_tile_the_window(page)
    # Windows: c opens one, p / n / digits move between them, l goes back to the last one.
    prefix(page, "c")
    wait_for(lambda: len(ws := layout(page)["windows"]) == 2 and layout(page)["active"] == ws[1]["id"], 15)
    one, two = (w["id"] for w in layout(page)["windows"])
    prefix(page, "p")
    wait_for(lambda: layout(page)["active"] == one, 15)
    prefix(page, "n")
    wait_for(lambda: layout(page)["active"] == two, 15)
    prefix(page, "1")
    wait_for(lambda: layout(page)["active"] == one, 15)
    prefix(page, "l")
    wait_for(lambda: layout(page)["active"] == two, 15)
    # An unbound key after the prefix does nothing, and reaches nobody.
    pane = active_pane(page)
    wait_prompt(page, pane)
    prefix(page, "F7")
    type_line(page, "echo still-here")
    wait_text(page, pane, "still-here")
    assert "$ echo still-here" in capture_lines(srv, pane), capture_lines(srv, pane)


def test_prefix_twice_sends_a_literal_ctrl_b_to_the_program(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv)
    pane = active_pane(page)
    wait_prompt(page, pane)
    type_line(page, "cat -v")
    capture_until(srv, pane, lambda t: t.rstrip().endswith("cat -v"))
    page.keyboard.press("Control+b")
    page.keyboard.press("Control+b")
    page.keyboard.type("x")
    page.keyboard.press("Enter")
    capture_until(srv, pane, lambda t: "^Bx" in t.splitlines())
    page.keyboard.press("Control+c")
    # With the prefix off in the settings, Ctrl+B is the program's at once.
    page.evaluate("() => window.dullahan.applySettings({...window.dullahan.settings, prefixKey: 'off'})")
    type_line(page, "cat -v")
    capture_until(srv, pane, lambda t: t.splitlines().count("$ cat -v") == 2)
    page.keyboard.press("Control+b")
    page.keyboard.press("Enter")
    capture_until(srv, pane, lambda t: "^B" in t.splitlines())


def test_typing_leaves_the_bar_alone_so_an_echo_is_drawn_at_once(server, pages: Pages) -> None:
    """Every key passes the prefix state machine; while its indicator does not change, the bar is not written.
    (A write per key starts a rendering update at the keydown, and the echo then waits for the next one.)"""
    srv = server()
    page = pages.open(srv)
    pane = active_pane(page)
    wait_prompt(page, pane)
    type_line(page, "cat")
    capture_until(srv, pane, lambda t: t.rstrip().endswith("cat"))
    page.evaluate("""() => {
      window.__barWrites = 0;
      new MutationObserver((records) => { window.__barWrites += records.length; })
        .observe(document.getElementById("bar"), {subtree: true, childList: true, attributes: true,
                                                  characterData: true});
    }""")
    page.keyboard.type("typed")
    wait_text(page, pane, "typed")
    assert page.evaluate("() => window.__barWrites") == 0
    prefix(page)                                                # the indicator does change with the prefix
    wait_for(lambda: page.evaluate("() => window.__barWrites") > 0, 10)
    page.keyboard.press("Escape")


def test_help_overlay_lists_the_prefix_keys(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv)
    prefix(page, "?")
    page.wait_for_selector("#help:not([hidden])")
    text = page.inner_text("#help")
    for words in ("Ctrl+B %", 'Ctrl+B "', "Ctrl+B z", "Ctrl+B x", "Ctrl+B c", "Ctrl+B [", "Ctrl+B ,",
                  "Ctrl+B the prefix again", "Ctrl+Shift+F", "Shift+click"):
        assert words in text, words
    page.keyboard.press("Escape")
    page.wait_for_selector("#help", state="hidden")


# -- search, copy mode and the scrollbar ----------------------------------------------------------------------
def fill_history(page: Any, srv: ServerProc, pane: int, lines: int) -> None:
    wait_prompt(page, pane)
    type_line(page, f"for i in $(seq 1 {lines}); do echo \"line $i needle-$i\"; done; echo NEEDLE-end")
    capture_until(srv, pane, lambda t: "NEEDLE-end" in t.splitlines())


def marks(page: Any, pane: int) -> list[dict[str, Any]]:
    """The search marks a pane draws: their row (from the top offset), text under them, whether current."""
    return page.evaluate("""(id) => {
      const pane = document.querySelector(`.pane[data-pane="${id}"]`);
      const ch = window.dullahan.screen.cellH;
      const rows = [...pane.querySelectorAll('.prows > .row')].map(r => r.textContent);
      return [...pane.querySelectorAll('.pmarks .match')].map(m => {
        const y = Math.round(parseFloat(getComputedStyle(m).top) / ch);
        return {y, row: rows[y], current: m.classList.contains('current')};
      });
    }""", pane)


def offset(page: Any, pane: int) -> int:
    return int(page.evaluate("(id) => window.dullahan.replica.panes.get(id).offset", pane))


def test_search_highlights_every_match_in_view_and_jumps_this_pages_view(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv)
    viewer = pages.open(srv, "view")
    pane = active_pane(page)
    fill_history(page, srv, pane, 300)
    page.keyboard.press("Control+Shift+F")
    page.wait_for_selector("#findbar:not([hidden])")
    page.keyboard.type("needle-2")
    # The newest match is current; every match in view is marked ("needle-2" is in 2, 20-29, 200-299).
    wait_for(lambda: page.inner_text(".find-count").startswith("1 of 111"), 15)
    def with_current() -> list[dict[str, Any]]:
        m = marks(page, pane)
        return m if any(x["current"] for x in m) else []
    first = wait_for(with_current, 15)
    current = next(m for m in first if m["current"])
    assert "needle-299" in current["row"]
    in_view = [r for r in pane_rows(page, pane) or [] if "needle-2" in r]
    assert len(first) == len(in_view) > 5
    # Enter goes to older matches; far ones move this page's view (and only this page's).
    for _ in range(100):
        page.keyboard.press("Enter")
    wait_for(lambda: page.inner_text(".find-count").startswith("101 of 111"), 15)
    wait_for(lambda: any(m["current"] and "needle-29 " in m["row"] + " " for m in marks(page, pane)), 15)
    assert offset(page, pane) > 0
    assert offset(viewer, pane) == 0
    page.keyboard.press("Shift+Enter")
    wait_for(lambda: any(m["current"] and "needle-200" in m["row"] for m in marks(page, pane)), 15)
    # Case-sensitive: NEEDLE matches only the last line.
    page.fill(".find-query", "NEEDLE")
    wait_for(lambda: page.inner_text(".find-count").endswith(" of 303"), 5)   # 300 lines, the command line has 2
    page.click(".find-case")
    # The output's NEEDLE is below the view, the command line's above it: the nearest one above is current.
    wait_for(lambda: page.inner_text(".find-count") == "2 of 2", 5, message=lambda: page.inner_text(".find-count"))
    wait_for(lambda: any(m["current"] and m["row"].startswith("$ for i") for m in marks(page, pane)), 15)
    page.keyboard.press("Shift+Enter")
    wait_for(lambda: offset(page, pane) == 0 and any(m["current"] and m["row"] == "NEEDLE-end"
                                                     for m in marks(page, pane)), 5)
    page.keyboard.press("Escape")
    page.wait_for_selector("#findbar", state="hidden")
    assert page.locator(".pmarks .match").count() == 0
    # The viewer searches too, through the prefix and copy mode.
    viewer.click(f'.pane[data-pane="{pane}"] .pbody')
    viewer.keyboard.press("Control+b")
    viewer.keyboard.press("BracketLeft")
    wait_for(lambda: viewer.inner_text("#mode") == "copy mode", 15)
    viewer.keyboard.press("Slash")
    viewer.wait_for_selector("#findbar:not([hidden])")
    viewer.keyboard.type("line 17 ")
    wait_for(lambda: any(m["current"] and "line 17 " in m["row"] for m in marks(viewer, pane)), 15)
    assert offset(viewer, pane) > 0 and offset(page, pane) == 0


def test_copy_mode_moves_the_view_and_the_scrollbar_shows_and_moves_it(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv)
    pane = active_pane(page)
    fill_history(page, srv, pane, 300)
    rows = page.evaluate("(id) => window.dullahan.replica.panes.get(id).rows", pane)
    sb = wait_for(lambda: page.evaluate("(id) => window.dullahan.replica.panes.get(id).sb", pane), 15)
    prefix(page, "BracketLeft")
    wait_for(lambda: page.inner_text("#mode") == "copy mode", 15)
    page.keyboard.press("ArrowUp")
    wait_for(lambda: offset(page, pane) == 1, 15)
    page.keyboard.press("PageUp")
    wait_for(lambda: offset(page, pane) == rows, 15)
    page.keyboard.press("g")
    wait_for(lambda: offset(page, pane) == sb, 15)
    wait_rows(page, pane, lambda rows: rows[0].startswith("$ for i"))
    # The scrollbar's thumb is at the top now; dragging it to the bottom returns to the live screen.
    bar = page.locator(f'.pane[data-pane="{pane}"] .pscroll')
    thumb = page.locator(f'.pane[data-pane="{pane}"] .pscroll .thumb')
    tb, bb = thumb.bounding_box(), bar.bounding_box()
    assert tb and bb and abs(tb["y"] - bb["y"]) < 2 and tb["height"] < bb["height"] / 3
    page.mouse.move(tb["x"] + tb["width"] / 2, tb["y"] + 3)
    page.mouse.down()
    page.mouse.move(tb["x"] + tb["width"] / 2, bb["y"] + bb["height"] * 0.5, steps=4)
    wait_for(lambda: 0 < offset(page, pane) < sb, 15)
    page.mouse.move(tb["x"] + tb["width"] / 2, bb["y"] + bb["height"] + 40, steps=4)
    page.mouse.up()
    wait_for(lambda: offset(page, pane) == 0, 15)
    # A click above the thumb pages back.
    page.mouse.click(bb["x"] + bb["width"] / 2, bb["y"] + 5)
    wait_for(lambda: offset(page, pane) == rows - 1, 15)
    # Search from copy mode: / opens the find bar; after Escape closes it, n and N go on from the view.
    page.keyboard.press("Slash")
    page.wait_for_selector("#findbar:not([hidden])")
    page.keyboard.type("line 12 ")
    wait_for(lambda: any(m["current"] and m["row"].startswith("line 12 ") for m in marks(page, pane)), 15)
    page.keyboard.press("Escape")
    page.wait_for_selector("#findbar", state="hidden")
    assert page.inner_text("#mode") == "copy mode"
    page.keyboard.press("n")
    page.wait_for_selector("#findbar:not([hidden])")
    wait_for(lambda: any(m["current"] and m["row"].startswith("line 12 ") for m in marks(page, pane)), 15)
    # In copy mode still: q leaves it (and the search) and the view returns to the live screen; keys type again.
    page.keyboard.press("q")
    page.wait_for_selector("#findbar", state="hidden")
    wait_for(lambda: offset(page, pane) == 0 and page.is_hidden("#mode"), 15)
    type_line(page, "echo typing-again")
    wait_text(page, pane, "typing-again")
    wait_matches_capture(page, srv, pane)


# -- selection beyond one screen ------------------------------------------------------------------------------
def test_a_drag_past_the_top_autoscrolls_and_copies_all_200_lines(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv, permissions=CLIPBOARD)
    pane = active_pane(page)
    wait_prompt(page, pane)
    type_line(page, "clear; for i in $(seq 1 200); do echo \"row-$i of the selection\"; done")
    last = find_row(page, pane, "row-200 ")
    x1, y1 = cell_point(page, pane, 30, last)
    body = page.locator(f'.pane[data-pane="{pane}"] .pbody').bounding_box()
    assert body is not None
    page.mouse.move(x1, y1)
    page.mouse.down()
    page.mouse.move(x1, body["y"] + 20, steps=5)
    # Past the top edge: the view scrolls while the button is held, until the history's first rows show.
    page.mouse.move(x1, body["y"] - 60, steps=3)
    wait_for(lambda: any(r.startswith("row-1 ") for r in pane_rows(page, pane) or []), 20)
    top = next(i for i, r in enumerate(pane_rows(page, pane) or []) if r.startswith("row-1 "))
    x0, y0 = cell_point(page, pane, 0, top)
    page.mouse.move(x0, y0, steps=3)
    page.mouse.up()
    expected = "\n".join(f"row-{i} of the selection" for i in range(1, 201))
    page.keyboard.press("Control+Shift+C")
    wait_for(lambda: page.evaluate("() => navigator.clipboard.readText()") == expected, 10,
             message=lambda: "clipboard: " + repr(page.evaluate("() => navigator.clipboard.readText()"))[:300])
    # A click, then a Shift+click: the cells between them.
    page.evaluate("() => navigator.clipboard.writeText('')")
    page.mouse.click(x0, y0)
    x3, y3 = cell_point(page, pane, 4, top + 2)
    page.keyboard.down("Shift")
    page.mouse.click(x3, y3)
    page.keyboard.up("Shift")
    page.keyboard.press("Control+Shift+C")
    wait_for(lambda: page.evaluate("() => navigator.clipboard.readText()")
             == "row-1 of the selection\nrow-2 of the selection\nrow-3", 5)


def test_the_wheel_during_a_drag_extends_the_selection_and_the_menu_copies_it(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv, permissions=CLIPBOARD)
    pane = active_pane(page)
    wait_prompt(page, pane)
    type_line(page, "clear; seq 1 150")
    start = find_row(page, pane, "150")
    x5, y = cell_point(page, pane, 5, start)
    x, _ = cell_point(page, pane, 0, start)
    page.mouse.move(x5, y)
    page.mouse.down()
    page.mouse.move(x, y - 20, steps=2)
    page.mouse.wheel(0, -2000)          # the view scrolls; the selection's end follows the pointer
    wait_for(lambda: offset(page, pane) > 60, 15)
    page.mouse.move(x, y - 25, steps=2)
    page.mouse.up()
    text = wait_for(lambda: page.evaluate("() => window.dullahan.selectionText()"), 15)
    numbers = text.split("\n")
    assert numbers[-1] == "150" and len(numbers) > 60, numbers[:3]
    assert numbers == [str(n) for n in range(int(numbers[0]), 151)]
    # Right click: the menu's Copy copies it.
    page.evaluate("() => navigator.clipboard.writeText('')")
    page.mouse.click(x, y - 60, button="right")
    page.wait_for_selector("#ctxmenu:not([hidden])")
    page.click("#ctxmenu .ctxitem:has-text('Copy')")
    wait_for(lambda: page.evaluate("() => navigator.clipboard.readText()") == text, 15)
    page.wait_for_selector("#ctxmenu", state="hidden")


def test_copy_on_select_and_middle_click_paste(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv, permissions=CLIPBOARD, settings={"copyOnSelect": True})
    pane = active_pane(page)
    wait_prompt(page, pane)
    type_line(page, "clear; echo 'pick-me-up and more'")
    row = find_row(page, pane, "pick-me-up")
    page.evaluate("() => navigator.clipboard.writeText('')")
    page.mouse.dblclick(*cell_point(page, pane, 2, row))
    wait_for(lambda: page.evaluate("() => navigator.clipboard.readText()") == "pick-me-up", 15)
    # The middle button pastes the selection into the shell (and not the browser's own primary selection, which
    # Chromium on Linux pastes on a middle click: text selected in an input sets it).
    page.evaluate("""() => { const i = document.createElement('input'); i.id = 'junk'; i.value = 'primary-junk';
                             document.body.appendChild(i); i.focus(); }""")
    page.keyboard.press("Control+a")
    page.evaluate("() => document.getElementById('junk').remove()")
    page.mouse.click(*cell_point(page, pane, 5, row + 3))
    page.keyboard.type("echo got:")
    page.mouse.click(*cell_point(page, pane, 5, row + 3), button="middle")
    page.keyboard.press("Enter")
    capture_until(srv, pane, lambda t: "got:pick-me-up" in t.splitlines())


# -- links ----------------------------------------------------------------------------------------------------
def test_a_plain_url_opens_in_a_new_page_even_when_it_wraps(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv)
    pane = active_pane(page)
    wait_prompt(page, pane)
    base = f"http://127.0.0.1:{srv.port}"
    short = f"{base}/no-such-page?from=dullahan"
    long = f"{base}/{'x' * 200}/end"                 # longer than a row: the terminal wraps it
    type_line(page, f"clear; echo 'see {short}.'; echo '{long}'; echo 'javascript://{base}/evil'")
    find_row(page, pane, "javascript://")
    row = find_row(page, pane, "see http")
    anchors = page.evaluate("() => [...document.querySelectorAll('.pane .row a.link.auto')]"
                            ".map(a => [a.textContent, a.getAttribute('href'), a.rel, a.target])")
    assert [short, short, "noopener noreferrer", "_blank"] in anchors
    assert not any("javascript" in (a[1] or "") for a in anchors)
    with page.context.expect_page(timeout=10_000) as opened:
        x, y = cell_point(page, pane, 10, row)
        page.mouse.click(x, y)
    assert opened.value.url == short
    assert opened.value.evaluate("() => window.opener") is None
    # A URL the terminal wrapped over two rows opens whole, from its second row too.
    second = find_row(page, pane, "x" * 10)
    with page.context.expect_page(timeout=10_000) as opened:
        x, y = cell_point(page, pane, 3, second)
        page.mouse.click(x, y)
    assert opened.value.url == long
    assert len(page.context.pages) == 3


# -- viewers --------------------------------------------------------------------------------------------------
def test_a_viewer_sees_no_master_controls_but_can_scroll_search_and_copy(server, pages: Pages) -> None:
    srv = server()
    srv.call("new-window", layout="2-col")
    master = pages.open(srv)
    viewer = pages.open(srv, "view", permissions=CLIPBOARD)
    win = active_window(viewer)
    left = win["slots"][0]
    wait_prompt(master, left)
    master.click(f'.pane[data-pane="{left}"] .pbody')
    wait_for(lambda: active_pane(master) == left, 15)
    type_line(master, "clear; seq 1 100; echo viewer-can-copy")
    row = find_row(viewer, left, "viewer-can-copy")
    hidden = [".pbtn.split-right", ".pbtn.split-down", ".pbtn.zoom", ".pbtn.close", ".tab-close", "#new-window",
              "#new-pane", ".divider"]
    for sel in hidden:
        assert master.locator(sel).count() > 0, f"the master has {sel}"
        assert master.locator(sel).first.is_visible(), f"the master sees {sel}"
        assert all(not e.is_visible() for e in viewer.locator(sel).all()), f"the viewer sees {sel}"
    assert viewer.locator(".pbtn.resync").first.is_visible()
    # Prefix keys that change the session are refused (and nothing changes); copy mode and search work.
    viewer.click(f'.pane[data-pane="{left}"] .pbody')
    viewer.keyboard.press("Control+b")
    viewer.keyboard.press("%")
    wait_for(lambda: "refused" in (viewer.get_attribute("#role", "class") or ""), 15)
    assert len(active_window(master)["slots"]) == 2
    viewer.keyboard.press("Control+Shift+F")
    viewer.keyboard.type("viewer-can")
    wait_for(lambda: viewer.inner_text(".find-count") == "1 of 1", 5, message=lambda: viewer.inner_text(".find-count"))
    viewer.keyboard.press("Escape")
    viewer.mouse.dblclick(*cell_point(viewer, left, 3, row))
    viewer.keyboard.press("Control+Shift+C")
    wait_for(lambda: viewer.evaluate("() => navigator.clipboard.readText()") == "viewer-can-copy", 15)
    x, y = cell_point(viewer, left, 3, 3)
    viewer.mouse.move(x, y)
    viewer.mouse.wheel(0, -300)
    wait_for(lambda: offset(viewer, left) > 0, 15)
    assert offset(master, left) == 0
