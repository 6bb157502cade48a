"""End-to-end tests of Dullahan on phones: headless Chromium with Playwright's iPhone 13 and Pixel 7 descriptors
(a mobile viewport, touch, the device's pixel ratio and user agent), touch gestures through the DevTools
protocol, real servers and shells.

The narrow layout shows one pane at a time at a readable size: a phone that watches pans across the master's
larger grid, a phone that is the master sizes the window so that its pane fills the screen. Swipes scroll this
client's own scrollback and move between panes; long presses select; the key bar sends keys as a keyboard
does. The page installs as an app (manifest, icons) and has an offline page behind a service worker.
"""

from __future__ import annotations

import io
import json
import re
import urllib.request
from typing import Any

from PIL import Image

from browser_support import (  # noqa: F401  (the *_fixture names are fixtures: browser, pages)
    PAGE_READY,
    Pages,
    active_pane,
    active_window,
    browser_fixture,
    capture_lines,
    pages_fixture,
    pane_rows,
    type_line,
    wait_rows,
    wait_text,
)
from helpers import capture_until, wait_for
from phone_support import Touch, on_phones, open_phone

# What a phone's screen and its pane measure, in CSS pixels.
JS_GEOMETRY = """() => {
  const s = document.getElementById('screen');
  const app = window.dullahan;
  const row = document.querySelector(`.pane[data-pane="${app.screen.active}"] .prows > .row`);
  return {screen: [s.clientWidth, s.clientHeight], scroll: [s.scrollLeft, s.scrollTop],
          room: [s.scrollWidth - s.clientWidth, s.scrollHeight - s.clientHeight],
          cell: [app.screen.cellW, app.screen.cellH], scale: app.screen.scale, shown: app.screen.active,
          font: parseFloat(getComputedStyle(row).fontSize), rowHeight: row.getBoundingClientRect().height,
          narrow: document.body.classList.contains('narrow')};
}"""
# The width of one character cell as drawn: a run of text in a row, measured with a Range.
JS_DRAWN_CELL = """([id, text]) => {
  const row = [...document.querySelectorAll(`.pane[data-pane="${id}"] .prows > .row`)]
    .find(r => r.textContent.includes(text));
  if (!row || !row.firstChild) return null;
  const range = document.createRange();
  const at = row.textContent.indexOf(text);
  range.setStart(row.firstChild, at);
  range.setEnd(row.firstChild, at + text.length);
  const r = range.getBoundingClientRect();
  return [r.width / text.length, r.left, r.right];
}"""
JS_SHOWN = "() => [...document.querySelectorAll('.pane')].filter(p => !p.hidden).map(p => +p.dataset.pane)"


def geometry(page: Any) -> dict[str, Any]:
    return page.evaluate(JS_GEOMETRY)


def screen_point(page: Any, fx: float, fy: float) -> tuple[float, float]:
    """A point at fractions (fx, fy) of the screen element (the terminal area)."""
    box = page.locator("#screen").bounding_box()
    assert box is not None
    return box["x"] + box["width"] * fx, box["y"] + box["height"] * fy


def swipe(page: Any, touch: Touch, fx0: float, fy0: float, fx1: float, fy1: float) -> None:
    x0, y0 = screen_point(page, fx0, fy0)
    x1, y1 = screen_point(page, fx1, fy1)
    touch.drag(x0, y0, x1, y1)


def tap_key(page: Any, key: str) -> None:
    page.tap(f'#keybar [data-key="{key}"]')


def focused(srv: Any) -> tuple[int, int]:
    """The server's active window and that window's focused pane."""
    win = next(w for w in srv.call("windows") if w["active"])
    return win["id"], win["focused_pane"]


def fills_screen(page: Any) -> dict[str, Any] | None:
    """The active window when the pane shown has exactly the cells that fit the screen (and its title row)."""
    g = geometry(page)
    cols, rows = int(g["screen"][0] / g["cell"][0] + 1e-6), int(g["screen"][1] / g["cell"][1] + 1e-6)
    win = active_window(page)
    rect = win["rects"][win["slots"].index(g["shown"])]
    return win if (rect[2], rect[3]) == (cols, rows - 1) else None


def offset(page: Any, pane: int) -> int:
    return int(page.evaluate("(id) => window.dullahan.replica.panes.get(id)?.offset ?? -1", pane))


# -- reading on a phone -------------------------------------------------------------------------------------
@on_phones
def test_phone_viewer_reads_a_desktop_masters_pane_unshrunk_and_pans(server, pages: Pages, phone: str) -> None:
    srv = server()
    desk = pages.open(srv, width=1300, height=800)
    pane = active_pane(desk)
    type_line(desk, "python3 -c \"print('a' * 130 + 'END')\"")
    wait_text(desk, pane, "aEND")
    desk_window = active_window(desk)
    assert desk_window["cols"] > 130
    page, touch = open_phone(pages, srv, phone, role="view")
    wait_text(page, pane, "aEND")
    g = geometry(page)
    assert g["narrow"] and page.evaluate(JS_SHOWN) == [pane]
    # Readable: the font and the cells keep their size (no shrinking to the phone's width).
    assert g["scale"] == 1 and g["font"] >= 12, g
    drawn = page.evaluate(JS_DRAWN_CELL, [pane, "aaaaaaaaaaaaaaaaaaaa"])
    assert drawn is not None and drawn[0] >= 7.5, drawn
    assert 14 <= g["rowHeight"] <= 20, g
    print(f"\n{phone} viewer: {g['font']} px font, cells {drawn[0]:.3f} x {g['rowHeight']:.3f} CSS px "
          f"(dpr {page.evaluate('devicePixelRatio')})")
    # The grid is wider than the screen; a swipe to the left pans it and shows the end of the long line.
    assert g["room"][0] > 700, g
    for _ in range(6):
        end = page.evaluate(JS_DRAWN_CELL, [pane, "END"])
        if end[2] <= g["screen"][0]:
            break
        before = geometry(page)["scroll"][0]
        swipe(page, touch, 0.85, 0.5, 0.15, 0.5)
        after = geometry(page)["scroll"][0]
        assert after > before + 200, (before, after)
    end = page.evaluate(JS_DRAWN_CELL, [pane, "END"])
    assert end[1] >= 0 and end[2] <= g["screen"][0], end
    assert page.evaluate(JS_SHOWN) == [pane], "panning is not a pane switch"
    # Watching never resizes: the window keeps the desktop master's size.
    assert (active_window(page)["cols"], active_window(page)["rows"]) == (desk_window["cols"], desk_window["rows"])
    assert srv.pane(pane)["cols"] == desk_window["rects"][0][2]


@on_phones
def test_phone_master_gives_the_shell_a_phone_sized_grid(server, pages: Pages, phone: str) -> None:
    srv = server()
    page, _ = open_phone(pages, srv, phone)
    pane = active_pane(page)
    assert page.evaluate("() => window.dullahan.role") == "master"
    # The layout arrives first and the pane's rows are drawn at the new size a frame later: wait for both.
    win = wait_for(lambda: fills_screen(page) if geometry(page)["room"] == [0, 0] else None, 20,
                   message=lambda: f"the pane does not fit the screen: {geometry(page)} {active_window(page)}")
    g = geometry(page)
    cols, rows = win["cols"], win["rows"]
    assert 40 <= cols <= 60 and g["font"] >= 12, (cols, rows, g)
    assert g["room"] == [0, 0], "the pane fits: nothing to pan"
    print(f"\n{phone} master: a {cols}x{rows - 1} pane, {g['font']} px font, cells {g['cell'][0]:.3f} x "
          f"{g['cell'][1]:.3f} CSS px")
    # The shell itself has the phone's grid.
    type_line(page, "stty size")
    capture_until(srv, pane, f"{rows - 1} {cols}")
    assert srv.pane(pane)["cols"] == cols


# -- swipes ---------------------------------------------------------------------------------------------------
@on_phones
def test_swipes_move_a_phone_master_between_panes_and_windows(server, pages: Pages, phone: str) -> None:
    srv = server()
    first = srv.call("windows")[0]
    second = srv.call("new-window", layout="2-col")
    left, right = second["panes"]
    page, touch = open_phone(pages, srv, phone)
    assert focused(srv) == (second["id"], left)
    wait_for(lambda: fills_screen(page), 10)
    # Every focus change the page asks for, in order (a swipe decides when the finger lifts).
    page.evaluate("""() => {
      const conn = window.dullahan.conn, send = conn.send.bind(conn);
      window.__focus = [];
      conn.send = (m) => {
        if (m.t === 'cmd' && m.c === 'select-pane') window.__focus.push(m.a.target);
        return send(m);
      };
    }""")
    # Finger to the left: the next pane; the window follows so that this pane fills the screen now.
    swipe(page, touch, 0.8, 0.5, 0.2, 0.5)
    wait_for(lambda: focused(srv) == (second["id"], right), 15)
    wait_for(lambda: page.evaluate(JS_SHOWN) == [right], 15)
    wait_for(lambda: fills_screen(page), 10)
    assert page.inner_text("#panes-btn") == "☰ 3/3"
    # Past the last pane there is nothing (no wrapping around); then back.
    swipe(page, touch, 0.8, 0.5, 0.2, 0.5)
    swipe(page, touch, 0.2, 0.5, 0.8, 0.5)
    wait_for(lambda: focused(srv) == (second["id"], left), 15)
    wait_for(lambda: page.evaluate(JS_SHOWN) == [left], 15)
    # Before the first pane of this window: the previous window.
    swipe(page, touch, 0.2, 0.5, 0.8, 0.5)
    wait_for(lambda: focused(srv) == (first["id"], first["panes"][0]), 15)
    wait_for(lambda: page.evaluate(JS_SHOWN) == [first["panes"][0]], 15)
    # A short or a steep drag is not a swipe.
    swipe(page, touch, 0.5, 0.5, 0.4, 0.5)
    swipe(page, touch, 0.8, 0.3, 0.2, 0.9)
    # The pane list does the same as swipes.
    page.tap("#panes-btn")
    entries = page.evaluate("() => [...document.querySelectorAll('#panes-menu button')].map(b => +b.dataset.pane)")
    assert entries == [first["panes"][0], left, right]
    page.tap(f'#panes-menu button[data-pane="{right}"]')
    wait_for(lambda: focused(srv) == (second["id"], right), 15)
    wait_for(lambda: page.evaluate(JS_SHOWN) == [right], 15)
    assert page.is_hidden("#panes-menu")
    assert page.evaluate("() => window.__focus") == [right, left, first["panes"][0], right]


@on_phones
def test_a_phone_viewer_pans_then_swipes_to_the_next_pane_on_its_own(server, pages: Pages, phone: str) -> None:
    srv = server()
    desk = pages.open(srv, width=1300, height=800)
    win = srv.call("new-window", layout="2-col")
    left, right = win["panes"]
    wait_for(lambda: active_window(desk)["id"] == win["id"] and active_window(desk)["cols"] > 140, 10)
    page, touch = open_phone(pages, srv, phone, role="view")
    wait_for(lambda: page.evaluate(JS_SHOWN) == [left], 15)
    # A pane wider than the screen: sideways drags pan it until its edge ...
    for _ in range(8):
        g = geometry(page)
        if g["scroll"][0] >= g["room"][0]:
            break
        swipe(page, touch, 0.8, 0.5, 0.2, 0.5)
        assert page.evaluate(JS_SHOWN) == [left], "a drag that pans does not switch panes"
    g = geometry(page)
    assert g["room"][0] > 0 and g["scroll"][0] == g["room"][0], g
    # ... and a swipe that starts there moves on, for this viewer only.
    swipe(page, touch, 0.8, 0.5, 0.2, 0.5)
    wait_for(lambda: page.evaluate(JS_SHOWN) == [right], 15)
    assert geometry(page)["scroll"][0] == 0, "a new pane starts at its left edge"
    assert focused(srv) == (win["id"], left), "a viewer never moves the master's focus"
    assert desk.evaluate(JS_SHOWN) == [left, right]
    swipe(page, touch, 0.2, 0.5, 0.8, 0.5)
    wait_for(lambda: page.evaluate(JS_SHOWN) == [left], 15)


@on_phones
def test_swipe_scrolls_this_clients_own_scrollback(server, pages: Pages, phone: str) -> None:
    srv = server()
    page, touch = open_phone(pages, srv, phone)
    pane = active_pane(page)
    watcher = pages.open(srv, "view")
    type_line(page, "seq 1 400")
    wait_text(page, pane, "400")
    wait_text(watcher, pane, "400")
    # Finger down: older lines, as content follows the finger.
    swipe(page, touch, 0.5, 0.2, 0.5, 0.8)
    wait_for(lambda: offset(page, pane) > 0, 15)
    wait_for(lambda: page.is_visible(f'.pane[data-pane="{pane}"] .pbadge'), 15)
    back = offset(page, pane)
    g = geometry(page)
    # About one row per row height the finger moved (the slop and the last partial row aside).
    moved = 0.6 * g["screen"][1]
    assert moved / g["cell"][1] - 3 <= back <= moved / g["cell"][1] + 1, (back, moved, g)
    rows = pane_rows(page, pane) or []
    assert "400" not in [r.strip() for r in rows]
    assert offset(watcher, pane) == 0, "another client's view did not move"
    # Finger up: back towards the live screen.
    swipe(page, touch, 0.5, 0.8, 0.5, 0.2)
    wait_for(lambda: offset(page, pane) == 0, 15)
    wait_text(page, pane, "400")


# -- the key bar ----------------------------------------------------------------------------------------------
@on_phones
def test_key_bar_sends_ctrl_c_tab_arrows_alt_and_symbols_to_bash(server, pages: Pages, phone: str) -> None:
    srv = server()
    page, _ = open_phone(pages, srv, phone)
    pane = active_pane(page)
    assert page.is_visible("#keybar")
    # Ctrl (one-shot) + a letter from the phone's keyboard (text, not a key event): ^C interrupts.
    type_line(page, "sleep 600")
    capture_until(srv, pane, "sleep 600")
    tap_key(page, "ctrl")
    assert page.evaluate("() => document.querySelector('#keybar [data-key=ctrl]').className").split() == [
        "kb", "kb-mod", "once"]
    page.keyboard.insert_text("c")
    capture_until(srv, pane, "^C")
    assert "once" not in page.get_attribute("#keybar [data-key=ctrl]", "class")
    type_line(page, "echo status=$?")
    capture_until(srv, pane, "status=130")
    # Tab completes.
    page.keyboard.insert_text("ech")
    tap_key(page, "tab")
    page.keyboard.insert_text("tabbed")
    page.keyboard.press("Enter")
    capture_until(srv, pane, lambda t: any(line == "tabbed" for line in t.splitlines()))
    # Up recalls the last command; Left moves the cursor.
    tap_key(page, "up")
    capture_until(srv, pane, lambda t: t.rstrip().splitlines()[-1].endswith("echo tabbed"))
    tap_key(page, "left")
    tap_key(page, "left")
    page.keyboard.insert_text("X")
    page.keyboard.press("Enter")
    capture_until(srv, pane, lambda t: "tabbXed" in t.splitlines())
    # Alt (one-shot) + b, this time a key event (a hardware keyboard): a word back (ESC b), as readline reads it.
    page.keyboard.insert_text("echo abc def")
    tap_key(page, "alt")
    page.keyboard.press("b")
    page.keyboard.insert_text("Y")
    page.keyboard.press("Enter")
    capture_until(srv, pane, lambda t: "abc Ydef" in t.splitlines())
    # The symbols phones bury.
    page.keyboard.insert_text("echo ")
    for key in ("tilde", "slash", "dash", "underscore", "pipe"):
        tap_key(page, key)
    page.keyboard.insert_text(" tr a-z A-Z")
    page.keyboard.press("Enter")
    home = srv.env["HOME"]
    capture_until(srv, pane, lambda t: f"{home}/-_".upper() in t.splitlines())
    # Ctrl locked (two taps) stays for several keys; a third tap releases it.
    tap_key(page, "ctrl")
    tap_key(page, "ctrl")
    assert "locked" in page.get_attribute("#keybar [data-key=ctrl]", "class")
    before = srv.capture(pane).count("^C")
    for n in (1, 2):   # one at a time: two interrupts before bash handles the first are one signal
        page.keyboard.insert_text("c")
        capture_until(srv, pane, lambda t, n=n: t.count("^C") == before + n)
    tap_key(page, "ctrl")
    assert "locked" not in page.get_attribute("#keybar [data-key=ctrl]", "class")
    type_line(page, "echo released")
    capture_until(srv, pane, lambda t: "released" in t.splitlines())


@on_phones
def test_key_bar_drives_vim_with_escape_and_application_arrows(server, pages: Pages, phone: str, tmp_path) -> None:
    srv = server()
    page, _ = open_phone(pages, srv, phone)
    pane = active_pane(page)
    path = tmp_path / "notes.txt"
    path.write_text("one\ntwo\nthree\n")
    type_line(page, f"vim -N -u NONE -i NONE {path}")
    capture_until(srv, pane, "three")
    # vim switched the cursor keys to application mode (DECCKM): arrows must be sent as ESC O A ...
    wait_for(lambda: page.evaluate("(id) => window.dullahan.replica.panes.get(id).modes & 16", pane), 15)
    tap_key(page, "down")                      # to "two"
    page.keyboard.insert_text("A")             # append
    page.keyboard.insert_text("!")
    tap_key(page, "esc")                       # back to normal mode
    tap_key(page, "up")                        # to "one"
    page.keyboard.insert_text("dd")
    page.keyboard.insert_text(":wq")
    page.keyboard.press("Enter")
    wait_for(lambda: path.read_text() == "two!\nthree\n", 10, message=lambda: repr(path.read_text()))


# -- selection and copy ---------------------------------------------------------------------------------------
@on_phones
def test_long_press_selects_a_word_and_drag_or_handles_extend_it_then_copy(server, pages: Pages, phone: str) -> None:
    srv = server()
    page, touch = open_phone(pages, srv, phone, permissions=["clipboard-read", "clipboard-write"])
    pane = active_pane(page)
    type_line(page, "clear; echo alpha beta gamma")
    rows = wait_rows(page, pane, lambda r: r if any(x.startswith("alpha beta gamma") for x in r) else None)
    y = next(i for i, r in enumerate(rows) if r.startswith("alpha"))

    def cell(x: int) -> tuple[float, float]:
        return tuple(page.evaluate("""([id, x, y]) => {
          const b = document.querySelector(`.pane[data-pane="${id}"] .pbody`).getBoundingClientRect();
          const s = window.dullahan.screen;
          return [b.left + (x + 0.5) * s.cellW * s.scale, b.top + (y + 0.5) * s.cellH * s.scale];
        }""", [pane, x, y]))

    def selected() -> str:
        return page.evaluate("() => window.dullahan.selector.text")

    # Held still: the word under the finger; moved on without lifting: word by word.
    touch.down(*cell(8))
    wait_for(lambda: selected() == "beta", 15)
    touch.move(*cell(14))
    wait_for(lambda: selected() == "beta gamma", 15)
    touch.up()
    assert page.is_visible(".tsel .tbar")
    page.tap(".tsel .tcopy")
    wait_for(lambda: page.evaluate("() => navigator.clipboard.readText()") == "beta gamma", 15)
    assert selected() == "" and page.is_hidden(".tsel")
    # A long press, then the end handle dragged to the right.
    touch.down(*cell(2))
    wait_for(lambda: selected() == "alpha", 15)
    touch.up()
    handle = page.locator(".tsel .thandle.end").bounding_box()
    assert handle is not None
    hx, hy = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    tx, _ = cell(9)   # the end of "beta"
    touch.drag(hx, hy, tx, hy, steps=6)
    wait_for(lambda: selected() == "alpha beta", 15)
    page.tap(".tsel .tcopy")
    wait_for(lambda: page.evaluate("() => navigator.clipboard.readText()") == "alpha beta", 15)
    # A tap on the terminal clears a selection, as a click does.
    touch.down(*cell(2))
    wait_for(lambda: selected() == "alpha", 15)
    touch.up()
    page.tap(".pane .pbody")
    wait_for(lambda: selected() == "" and page.is_hidden(".tsel"), 15)
    # A selection made with a mouse (a double click) has no handles in its way.
    page.mouse.dblclick(*cell(8))
    assert selected() == "beta" and page.is_hidden(".tsel")


def test_pinch_changes_the_font_size_and_a_phone_masters_grid(server, pages: Pages) -> None:
    srv = server()
    page, touch = open_phone(pages, srv, "Pixel 7")
    win = wait_for(lambda: fills_screen(page), 10)
    cell = geometry(page)["cell"]
    x, y = screen_point(page, 0.5, 0.5)
    touch.pinch(x, y, 100, 150)
    wait_for(lambda: page.evaluate("() => window.dullahan.settings.fontSize") == 21, 15)
    # Larger cells (about 21/14 as wide), and the window follows: fewer columns, the pane still filling the screen.
    assert 1.4 < geometry(page)["cell"][0] / cell[0] < 1.6
    wait_for(lambda: (w := fills_screen(page)) and w["cols"] < win["cols"], 10)
    touch.pinch(x, y, 210, 100)
    wait_for(lambda: page.evaluate("() => window.dullahan.settings.fontSize") == 10, 15)
    wait_for(lambda: (w := fills_screen(page)) and w["cols"] > win["cols"], 10)
    # It is the phone's own setting: kept across a reload.
    page.reload()
    page.wait_for_function(PAGE_READY, timeout=10_000)
    assert page.evaluate("() => window.dullahan.settings.fontSize") == 10


def test_key_bar_paste_reads_the_clipboard_or_offers_a_box(server, pages: Pages) -> None:
    srv = server()
    page, _ = open_phone(pages, srv, "iPhone 13", permissions=["clipboard-read", "clipboard-write"])
    pane = active_pane(page)
    page.evaluate("() => navigator.clipboard.writeText('echo from-the-clipboard')")
    tap_key(page, "paste")
    capture_until(srv, pane, "echo from-the-clipboard")
    page.keyboard.press("Enter")
    capture_until(srv, pane, lambda t: "from-the-clipboard" in t.splitlines())
    # Without the permission to read the clipboard: a box to paste into.
    denied, _ = open_phone(pages, srv, "iPhone 13", role="master", wait=True)
    denied.evaluate("() => window.dullahan.conn.send({t: 'request_master'})")
    denied.wait_for_function("() => window.dullahan.role === 'master'")
    tap_key(denied, "paste")
    denied.wait_for_selector("#paste-box textarea", state="visible", timeout=5000)
    denied.fill("#paste-box textarea", "echo from-the-box")
    denied.tap("#paste-box .paste-send")
    capture_until(srv, pane, "echo from-the-box")
    assert denied.is_hidden("#paste-box")


# -- an app: manifest, icons, offline page, the guard ---------------------------------------------------------
def http_get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_manifest_icons_and_service_worker_are_served_and_parsed(server, pages: Pages) -> None:
    srv = server()
    base = f"http://127.0.0.1:{srv.port}"
    # Served without a session (a browser fetches the manifest without cookies), with the right types.
    status, headers, body = http_get(f"{base}/static/manifest.webmanifest")
    assert status == 200 and headers["Content-Type"].startswith("application/manifest+json")
    manifest = json.loads(body)
    assert manifest["name"] == "Dullahan" and manifest["display"] == "standalone"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    sizes = {}
    for icon in manifest["icons"]:
        s, h, data = http_get(f"{base}/static/{icon['src']}")
        assert s == 200 and h["Content-Type"] == icon["type"], icon
        if icon["type"] == "image/png":
            img = Image.open(io.BytesIO(data))
            assert img.format == "PNG" and f"{img.width}x{img.height}" == icon["sizes"], icon
            sizes.setdefault(icon["purpose"], set()).add(img.width)
    assert {192, 512} <= sizes["any"] and 512 in sizes["maskable"]
    status, headers, body = http_get(f"{base}/sw.js")
    assert status == 200 and "javascript" in headers["Content-Type"] and b"addEventListener" in body
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    # Chromium finds the manifest from the page, parses it without a complaint, and would install the app
    # (the only objection is the test's incognito profile).
    page, touch = open_phone(pages, srv, "Pixel 7")
    parsed = touch.cdp.send("Page.getAppManifest")
    assert parsed["url"] == f"{base}/static/manifest.webmanifest" and parsed["errors"] == []
    assert parsed["manifest"]["startUrl"] == f"{base}/" and parsed["manifest"]["scope"] == f"{base}/"
    assert parsed["manifest"]["themeColor"] == "rgba(23,24,27,1)"
    page.wait_for_function("async () => (await navigator.serviceWorker.ready).active.state === 'activated'",
                           timeout=10_000)
    errors = {e["errorId"] for e in touch.cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]}
    assert errors <= {"in-incognito"}, errors
    assert page.evaluate("() => document.querySelector('meta[name=theme-color]').content") == manifest["theme_color"]


def test_offline_page_when_the_server_is_down_and_it_retries(server, pages: Pages) -> None:
    srv = server()
    page, _ = open_phone(pages, srv, "iPhone 13")
    page.wait_for_function("async () => (await navigator.serviceWorker.ready).active.state === 'activated'",
                           timeout=10_000)
    # The worker keeps the offline page's own files and nothing else: no app page, no token, no cookie.
    cached = page.evaluate("""async () => {
      const out = [];
      for (const name of await caches.keys())
        for (const req of await (await caches.open(name)).keys()) out.push(req.url);
      return out;
    }""")
    base = f"http://127.0.0.1:{srv.port}"
    assert sorted(cached) == sorted(f"{base}/static/{p}" for p in
                                    ("offline.html", "offline.css", "js/offline.js", "icons/icon.svg"))
    port = srv.port
    srv.stop()
    page.reload()
    page.wait_for_selector("#offline h1", timeout=10_000)
    assert "unreachable" in page.inner_text("#offline h1")
    assert page.evaluate("() => window.dullahan") is None
    assert page.evaluate("() => getComputedStyle(document.body).display") == "flex", "styled from the cache"
    # It keeps trying and says when it will try next ...
    page.wait_for_function("() => /Trying again in \\d+ s/.test(document.getElementById('offline-status').textContent)",
                           timeout=10_000)
    # ... and once the server is back, the app loads by itself, signed in by the same cookie.
    server(port=port)
    page.wait_for_function(PAGE_READY, timeout=30_000)
    assert page.evaluate("() => window.dullahan.role") == "master"


def test_the_app_installs_and_goes_offline_under_a_base_path(server, pages: Pages) -> None:
    srv = server(args=("--base-path", "/dl/"))
    base = f"http://127.0.0.1:{srv.port}/dl"
    page, touch = open_phone(pages, srv, "Pixel 7", base=base)
    parsed = touch.cdp.send("Page.getAppManifest")
    assert parsed["url"] == f"{base}/static/manifest.webmanifest" and parsed["errors"] == []
    assert parsed["manifest"]["startUrl"] == f"{base}/" and parsed["manifest"]["scope"] == f"{base}/"
    scope = page.evaluate("async () => (await navigator.serviceWorker.ready).scope")
    assert scope == f"{base}/"
    page.wait_for_function("async () => (await navigator.serviceWorker.ready).active.state === 'activated'",
                           timeout=10_000)
    srv.stop()
    page.reload()
    page.wait_for_selector("#offline h1", timeout=10_000)
    assert page.evaluate("() => getComputedStyle(document.body).display") == "flex", "styled from the cache"
    assert page.evaluate("() => document.querySelector('#offline img').naturalWidth") > 0


def test_leaving_an_attached_session_asks_first_unless_turned_off(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv, settings={"guardUnload": True})
    pane = active_pane(page)
    type_line(page, "echo typed")   # the page has had a user gesture: browsers ask only then
    wait_text(page, pane, "typed")
    asked: list[str] = []

    def on_dialog(d: Any) -> None:
        asked.append(d.type)
        d.dismiss()                 # stay on the page

    page.on("dialog", on_dialog)
    started = page.evaluate("() => performance.timeOrigin")
    page.evaluate("() => { location.reload(); }")
    wait_for(lambda: asked == ["beforeunload"], 15)
    assert page.evaluate("() => performance.timeOrigin") == started, "the page stayed"
    assert page.evaluate("() => window.dullahan.conn.state") == "open"
    # Turned off in the settings: it leaves without asking.
    page.click("#settings-btn")
    page.uncheck("#settings-form input[name=guardUnload]")
    page.click("#settings-form button[type=submit]")
    assert page.evaluate("() => window.dullahan.settings.guardUnload") is False
    page.reload()
    page.wait_for_function(PAGE_READY, timeout=10_000)
    assert page.evaluate("() => performance.timeOrigin") != started
    assert asked == ["beforeunload"]

