"""End-to-end tests of the browser client's chrome and pane features in headless Chromium: scrollback, the phone
layout, terminal-supplied text (titles, links, notifications) reaching the DOM as text only, progress, bells,
settings, the help overlay, hidden panes, closing and respawning, manual resync and IME input.
"""

from __future__ import annotations

import time

from browser_support import (  # noqa: F401  (the *_fixture names are fixtures: browser, pages)
    CuttableProxy,
    Pages,
    active_pane,
    active_window,
    browser_fixture,
    capture_lines,
    cell_point,
    in_both_engines,
    layout,
    pages_fixture,
    pane_rows,
    tokens,
    type_line,
    wait_matches_capture,
    wait_rows,
    wait_text,
)
from helpers import capture_until, wait_for

PAGE_READY = "() => window.dullahan && window.dullahan.conn.state === 'open' && document.querySelector('.pane .row')"


def badge(page, pane: int) -> str | None:
    sel = f'.pane[data-pane="{pane}"] .pbadge'
    return None if page.is_hidden(sel) else page.inner_text(sel)


def output_done(rows: list[str]) -> list[str] | None:
    """The rows, once they show the line SEQ-DONE and a prompt after it."""
    stripped = [r.strip() for r in rows]
    return rows if "SEQ-DONE" in stripped and "$" in stripped[stripped.index("SEQ-DONE"):] else None


def test_wheel_scrolls_this_clients_own_scrollback_and_typing_returns(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv)
    viewer = pages.open(srv, "view")
    pane = active_pane(page)
    type_line(page, "seq 1 300; echo SEQ-DONE")
    # The output's last line (not the typed command) and the prompt after it: nothing more will scroll.
    wait_rows(page, pane, output_done)
    wait_rows(viewer, pane, output_done)
    x, y = cell_point(page, pane, 5, 5)
    page.mouse.move(x, y)
    page.mouse.wheel(0, -400)
    label = wait_for(lambda: badge(page, pane), 15)
    lines_above = int(label.split()[0])
    assert lines_above > 0 and "lines above" in label
    # The page shows older rows now; the viewer's own view did not move.
    rows = wait_rows(page, pane, lambda r: r if "300" not in [x.strip() for x in r] else None)
    first = int(rows[0].strip())
    assert first < 300 - len(rows)
    assert badge(viewer, pane) is None
    assert "300" in [x.strip() for x in pane_rows(viewer, pane)]
    # The cursor is not drawn while scrolled back.
    assert page.is_hidden(f'.pane[data-pane="{pane}"] .cursor')
    # The viewer scrolls too, on its own.
    vx, vy = cell_point(viewer, pane, 5, 5)
    viewer.mouse.move(vx, vy)
    viewer.mouse.wheel(0, -200)
    wait_for(lambda: badge(viewer, pane), 15)
    # Typing jumps this page back to the live screen.
    page.keyboard.type("echo back-at-the-bottom")
    page.keyboard.press("Enter")
    wait_for(lambda: badge(page, pane) is None, 15)
    wait_text(page, pane, "back-at-the-bottom")
    wait_matches_capture(page, srv, pane)
    # Shift+PageUp pages back; the badge's button returns.
    page.keyboard.press("Shift+PageUp")
    wait_for(lambda: badge(page, pane), 15)
    page.click(f'.pane[data-pane="{pane}"] .pbadge')
    wait_for(lambda: badge(page, pane) is None, 15)
    wait_matches_capture(page, srv, pane)


def test_phone_screen_shows_the_focused_pane_alone(server, pages: Pages) -> None:
    srv = server()
    srv.call("new-window", layout="2-col")
    lay = srv.call("windows")
    win = next(w for w in lay if w["active"])
    focused = win["focused_pane"]
    srv.send(focused, "seq 1 200")
    capture_until(srv, focused, "200")
    phone = pages.open(srv, "view", width=390, height=760)
    assert phone.evaluate("() => document.body.classList.contains('narrow')")
    visible = phone.evaluate("() => [...document.querySelectorAll('.pane')]"
                             ".filter(p => !p.hidden).map(p => +p.dataset.pane)")
    assert visible == [focused]
    box = phone.locator(f'.pane[data-pane="{focused}"]').bounding_box()
    assert box is not None
    assert abs(box["x"]) < 1 and box["width"] <= 391 and box["width"] > 300, box
    wait_text(phone, focused, "200")
    # It can be scrolled back (wheel or swipe scroll this client's own view).
    x, y = cell_point(phone, focused, 3, 3)
    phone.mouse.move(x, y)
    phone.mouse.wheel(0, -300)
    wait_for(lambda: badge(phone, focused), 15)
    # The phone, a viewer, never resized the window.
    assert active_window(phone)["cols"] == win["cols"]


def test_terminal_text_reaches_the_dom_as_text_only(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv)
    pane = active_pane(page)
    evil = "<img src=x onerror=window.__pwned=1>"
    type_line(page, f"printf '\\e]0;{evil}\\a'")
    wait_for(lambda: page.inner_text(f'.pane[data-pane="{pane}"] .pname') == evil, 15)
    # OSC 9 and OSC 777 notifications become toasts, as text.
    type_line(page, f"printf '\\e]9;{evil} nine\\a'")
    page.wait_for_selector(".toast:has-text('nine')", timeout=15_000)
    type_line(page, "printf '\\e]777;notify;Build <b>done</b>;all <i>green</i>\\a'")
    page.wait_for_selector(".toast:has-text('Build <b>done</b>')", timeout=15_000)
    assert page.inner_text(".toast:has-text('Build')").splitlines() == ["Build <b>done</b>", "all <i>green</i>"]
    # Links: http(s) and mailto become anchors; javascript: stays text.
    type_line(page, "clear; printf '"
                    "\\e]8;;https://example.org/x?a=1\\e\\\\web\\e]8;;\\e\\\\ "
                    "\\e]8;;javascript:alert(1)\\e\\\\bad\\e]8;;\\e\\\\ "
                    "\\e]8;;mailto:me@example.org\\e\\\\mail\\e]8;;\\e\\\\\\n'")
    wait_rows(page, pane, lambda r: any(x.startswith("web bad mail") for x in r))
    anchors = page.evaluate("() => [...document.querySelectorAll('.pane .row a')]"
                            ".map(a => [a.textContent, a.getAttribute('href'), a.rel])")
    assert ["web", "https://example.org/x?a=1", "noopener noreferrer"] in anchors
    assert ["mail", "mailto:me@example.org", "noopener noreferrer"] in anchors
    assert not any("javascript" in (a[1] or "") for a in anchors)
    assert page.evaluate("() => document.querySelectorAll('.pane img, .toast img, .toast b, .ptitle img').length") == 0
    assert page.evaluate("() => window.__pwned") is None
    assert page.title() == f"{evil} — Dullahan"


def test_progress_and_bell(server, pages: Pages) -> None:
    srv = server()
    srv.call("new-window", layout="2-col")
    page = pages.open(srv)
    win = active_window(page)
    left, right = win["slots"]
    page.click(f'.pane[data-pane="{left}"] .pbody')
    wait_for(lambda: active_pane(page) == left, 15)
    type_line(page, "printf '\\e]9;4;1;40\\a'")
    bar = f'.pane[data-pane="{left}"] .pprogress'
    page.wait_for_selector(f"{bar}:not([hidden])", timeout=15_000)
    wait_for(lambda: page.evaluate(f"() => document.querySelector('{bar} .bar').style.width") == "40%", 15)
    type_line(page, "printf '\\e]9;4;2;70\\a'")
    page.wait_for_selector(f"{bar}.state2", timeout=15_000)
    type_line(page, "printf '\\e]9;4;0;0\\a'")
    page.wait_for_selector(f"{bar}[hidden]", state="attached", timeout=15_000)
    # A bell in a pane that is not focused marks its title bar.
    srv.send(right, "sleep 0.3; printf '\\a'")
    page.wait_for_selector(f'.pane[data-pane="{right}"].rang .pbell', timeout=15_000)
    assert page.is_visible(f'.pane[data-pane="{right}"] .pbell')
    page.click(f'.pane[data-pane="{right}"] .pbody')
    wait_for(lambda: page.is_hidden(f'.pane[data-pane="{right}"] .pbell'), 15)


def test_settings_apply_live_and_persist(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv)
    pane = active_pane(page)
    body = f'.pane[data-pane="{pane}"] .pbody'
    bg = lambda: page.evaluate(f"() => getComputedStyle(document.querySelector('{body}')).backgroundColor")  # noqa: E731
    assert bg() == "rgb(23, 24, 27)"
    # The server opens windows at 80 columns; wait for the page's own size (~119 columns at 14 px) first.
    cols_before = wait_for(lambda: (c := active_window(page)["cols"]) > 100 and c, 15)
    page.keyboard.press("Control+Shift+Comma")
    page.wait_for_selector("#settings:not([hidden])")
    page.select_option("#settings select[name=theme]", "light")
    wait_for(lambda: bg() == "rgb(251, 251, 250)", 15)
    page.fill("#settings input[name=fontSize]", "20")
    page.select_option("#settings select[name=cursorStyle]", "bar")
    # The cell grows and the master asks for a window with fewer cells.
    wait_for(lambda: active_window(page)["cols"] < cols_before, 15)
    wait_for(lambda: "bar" in (page.get_attribute(f'.pane[data-pane="{pane}"] .cursor', "class") or ""), 15)
    page.keyboard.press("Escape")
    page.wait_for_selector("#settings", state="hidden")
    page.reload()
    page.wait_for_function(PAGE_READY)
    assert bg() == "rgb(251, 251, 250)"
    assert page.evaluate("() => window.dullahan.settings.fontSize") == 20
    assert page.evaluate("() => getComputedStyle(document.querySelector('.grid')).fontSize") == "20px"
    wait_matches_capture(page, srv, pane)


def test_help_overlay_lists_the_shortcuts(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv)
    page.keyboard.press("Control+Shift+Slash")
    page.wait_for_selector("#help:not([hidden])")
    text = page.inner_text("#help")
    for words in ("Ctrl+Shift+C", "Ctrl+Shift+V", "Ctrl+C", "Shift+PageUp", "New window", "Focus the pane"):
        assert words in text
    page.keyboard.press("Escape")
    page.wait_for_selector("#help", state="hidden")
    # Escape went to the dialog, and afterwards keys go to the shell again.
    pane = active_pane(page)
    type_line(page, "echo typing-again")
    wait_text(page, pane, "typing-again")


def test_hidden_panes_can_be_shown_and_panes_and_windows_closed(server, pages: Pages) -> None:
    srv = server()
    srv.call("new-window", layout="2-col")
    page = pages.open(srv)
    win = active_window(page)
    a, b = win["slots"]
    # Switch the window to a single pane: one pane is hidden, not killed.
    page.click("#new-window")
    page.click(".template[data-layout='single'] .tpl-apply")
    wait_for(lambda: active_window(page)["layout"] == "single", 15)
    win = active_window(page)
    hidden = win["hidden"]
    assert len(hidden) == 1 and set(hidden + win["slots"]) == {a, b}
    wait_for(lambda: page.is_visible("#hidden-btn") and page.inner_text("#hidden-btn") == "hidden: 1", 15)
    page.click("#hidden-btn")
    page.click(f"#hidden-menu button:has-text('#{hidden[0]}')")
    wait_for(lambda: active_window(page)["slots"] == hidden, 15)
    wait_rows(page, hidden[0], lambda r: r and r[0].startswith("$"))
    # Close the shown pane from its title bar (two clicks); the other one takes its place.
    shown = hidden[0]
    close = f'.pane[data-pane="{shown}"] .pbtn.close'
    page.click(close)
    assert page.get_attribute(close, "class").endswith("armed")
    page.click(close)
    wait_for(lambda: shown not in {p["id"] for p in srv.panes()}, 15)
    # Close the whole window from its tab.
    windows_before = len(layout(page)["windows"])
    tab_close = f".tab[data-window='{active_window(page)['id']}'] .tab-close"
    page.click(tab_close)
    page.click(tab_close)
    wait_for(lambda: len(layout(page)["windows"]) == windows_before - 1, 15)
    wait_for(lambda: page.locator(".tab").count() == windows_before - 1, 15)


def test_exited_pane_shows_status_and_restarts(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv)
    pane = active_pane(page)
    type_line(page, "exit 3")
    page.wait_for_selector(f'.pane[data-pane="{pane}"] .pexit:not([hidden])', timeout=15_000)
    assert "3" in page.inner_text(f'.pane[data-pane="{pane}"] .pexit-text')
    page.click(f'.pane[data-pane="{pane}"] .pexit button:has-text("Restart")')
    page.wait_for_selector(f'.pane[data-pane="{pane}"] .pexit', state="hidden", timeout=15_000)
    type_line(page, "echo alive-again")
    wait_text(page, pane, "alive-again")


def test_manual_resync_redraws_the_same_screen(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv)
    pane = active_pane(page)
    type_line(page, "printf '\\e[32mgreen\\e[0m plain\\n'")
    wait_text(page, pane, "green plain")
    # Spoil the page's copy of the rows, then resync by hand.
    page.evaluate(f"""() => document.querySelectorAll('.pane[data-pane="{pane}"] .row')
                                  .forEach(r => r.textContent = 'garbage')""")
    page.click(f'.pane[data-pane="{pane}"] .pbtn.resync')
    lines = wait_matches_capture(page, srv, pane)
    assert any("green plain" in line for line in lines)
    page.wait_for_selector(".toast:has-text('resynced')")


def test_ime_composition_sends_the_committed_text_once(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv)
    pane = active_pane(page)
    page.keyboard.type("echo ")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.imeSetComposition", {"text": "に", "selectionStart": 1, "selectionEnd": 1})
    cdp.send("Input.imeSetComposition", {"text": "にほん", "selectionStart": 3, "selectionEnd": 3})
    assert page.evaluate("() => document.getElementById('ime').classList.contains('composing')")
    cdp.send("Input.insertText", {"text": "日本"})
    page.keyboard.type(" ok")
    page.keyboard.press("Enter")
    wait_text(page, pane, "日本 ok")
    lines = capture_lines(srv, pane)
    assert any(line.strip() == "日本 ok" for line in lines), lines
    assert not any("日本日本" in line or "にほん" in line for line in lines), lines
    assert not page.evaluate("() => document.getElementById('ime').classList.contains('composing')")


@in_both_engines
def test_no_console_errors_and_csp_holds(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv)
    pane = active_pane(page)
    type_line(page, "printf '\\e[1;4;38;5;202mstyled\\e[0m\\n'")
    wait_text(page, pane, "styled")
    time.sleep(0.3)
    assert [e for e in pages.errors if "favicon" not in e] == []
    csp = page.evaluate("() => fetch('/static/app.css').then(r => r.ok)")
    assert csp is True


def test_mouse_goes_to_programs_that_ask_and_shift_bypasses(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv)
    pane = active_pane(page)
    type_line(page, "clear; printf '\\e[?1000h\\e[?1006h'; cat -v")
    wait_for(lambda: page.evaluate(f"() => window.dullahan.replica.panes.get({pane}).modes & 1") == 1, 15)
    x, y = cell_point(page, pane, 5, 3)
    page.mouse.click(x, y)
    wait_text(page, pane, "^[[<0;6;4M")
    wait_text(page, pane, "^[[<0;6;4m")
    assert page.evaluate("() => window.dullahan.selector.text") == ""
    # With Shift the mouse selects instead (and the program hears nothing).
    row = next(i for i, r in enumerate(pane_rows(page, pane)) if "^[[<0;6;4M" in r)
    x0, y0 = cell_point(page, pane, 0, row)
    x1, y1 = cell_point(page, pane, 8, row)
    page.keyboard.down("Shift")
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=4)
    page.mouse.up()
    page.keyboard.up("Shift")
    assert page.evaluate("() => window.dullahan.selector.text") == "^[[<0;6;4"
    assert pane_rows(page, pane)[row].count("^[[<") == 2, "no report for the shifted drag"
    page.keyboard.press("Control+C")   # copies the selection, does not interrupt
    assert page.evaluate("() => window.dullahan.selector.text") == ""
    page.keyboard.press("Control+C")   # now the interrupt
    type_line(page, "printf '\\e[?1000l'; echo mouse-off")
    wait_text(page, pane, "mouse-off")
    wait_for(lambda: page.evaluate(f"() => window.dullahan.replica.panes.get({pane}).modes & 1") == 0, 15)


def test_double_click_selects_a_word_and_triple_click_a_line(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv)
    pane = active_pane(page)
    type_line(page, "clear; echo 'alpha beta-gamma/delta.txt (epsilon)'")
    row = wait_rows(page, pane, lambda rows: next(([i] for i, r in enumerate(rows) if r.startswith("alpha")), None))[0]
    x, y = cell_point(page, pane, 8, row)
    page.mouse.dblclick(x, y)
    assert page.evaluate("() => window.dullahan.selector.text") == "beta-gamma/delta.txt"
    page.mouse.click(x, y, click_count=3)
    assert page.evaluate("() => window.dullahan.selector.text") == "alpha beta-gamma/delta.txt (epsilon)"
    # Output over the selected row ends the selection; elsewhere it stays.
    type_line(page, "clear")
    wait_for(lambda: page.evaluate("() => window.dullahan.selector.text") == "", 15)
    assert page.locator(".selrange").count() == 0


def test_user_layout_templates_are_offered(server, pages: Pages, tmp_path) -> None:
    cfg = tmp_path / "cfg" / "dullahan"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "layouts.json").write_text('{"trio": {"row": ["pane", {"column": ["pane", "pane"]}], "sizes": [40, 60]}}')
    srv = server()
    page = pages.open(srv)
    page.click("#new-window")
    card = ".template[data-layout='trio']"
    page.wait_for_selector(card)
    assert "yours" in page.inner_text(card)
    assert page.locator(f"{card} .preview .box").count() == 3
    page.click(f"{card} .tpl-new")
    wait_for(lambda: active_window(page)["layout"] == "trio", 15)
    page.wait_for_function("() => document.querySelectorAll('.pane').length === 3")
    assert page.locator(".divider").count() == 2


def test_online_event_reconnects_at_once(server, pages: Pages) -> None:
    srv = server()
    proxy = CuttableProxy(srv.port)
    try:
        page = pages.open(srv, base=f"http://127.0.0.1:{proxy.port}")
        pane = active_pane(page)
        proxy.refusing = True
        proxy.cut()
        # Let the backoff grow to seconds: the next retry is at least 3 s away.
        wait_for(lambda: page.evaluate("() => window.dullahan.conn.retryTimer !== null "
                                       "&& window.dullahan.conn.retryAt - performance.now() > 3000"), 60)
        srv.send(pane, "echo came-back")
        proxy.refusing = False
        delay = page.evaluate("() => window.dullahan.conn.retryAt - performance.now()")
        start = time.monotonic()
        page.evaluate("() => window.dispatchEvent(new Event('online'))")
        page.wait_for_selector("#conn.open", timeout=30_000)
        took = time.monotonic() - start
        print(f"\nreconnected {took * 1000:.0f} ms after 'online' (the backoff timer had {delay:.0f} ms to go)")
        assert took * 1000 < delay, "the page waited for its backoff timer instead of reconnecting at once"
        wait_text(page, pane, "came-back")
        wait_matches_capture(page, srv, pane)
    finally:
        proxy.close()


def test_grid_stays_aligned_on_a_high_density_screen(server, pages: Pages) -> None:
    srv = server()
    ctx = pages.browser.new_context(viewport={"width": 900, "height": 600}, device_scale_factor=1.5)
    pages.contexts.append(ctx)
    ctx.add_init_script("localStorage.setItem('dullahan.settings.v1', "
                        "JSON.stringify({theme: 'dark', fontSize: 15, lineHeight: 1.3}))")
    page = ctx.new_page()
    pages.pages.append(page)
    page.goto(f"http://127.0.0.1:{srv.port}/?token={tokens(srv)['master']}")
    page.wait_for_function(PAGE_READY)
    pane = active_pane(page)
    type_line(page, "clear; printf 'ab中c文d👍e\\n'")
    row = wait_rows(page, pane, lambda rows: next(([i] for i, r in enumerate(rows) if r.startswith("ab中")), None))[0]
    cw, ch = page.evaluate("() => [window.dullahan.screen.cellW, window.dullahan.screen.cellH]")
    assert abs(ch * 1.5 - round(ch * 1.5)) < 1e-6, "row height is a whole number of device pixels"
    spans = page.evaluate(f"""() => {{
      const body = document.querySelector('.pane[data-pane="{pane}"] .pbody').getBoundingClientRect();
      const row = document.querySelectorAll('.pane[data-pane="{pane}"] .prows > .row')[{row}];
      return [...row.querySelectorAll('.c')].map(s => {{
        const r = s.getBoundingClientRect();
        return [s.textContent, r.left - body.left, r.width, r.top - body.top];
      }});
    }}""")
    starts = {"ab": 0, "中": 2, "c": 4, "文": 5, "d": 7, "👍": 8, "e": 10}
    seen = {}
    for text, left, width, top in spans:
        seen[text] = left
        assert abs(top - row * ch) < 0.5
        if text in ("中", "文", "👍"):
            assert abs(width - 2 * cw) < 0.5
    for text, x in starts.items():
        assert abs(seen[text] - x * cw) < 0.6, (text, seen[text], x * cw)


def test_programs_can_set_the_clipboard_with_osc52_non_ascii_intact(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv, permissions=["clipboard-read", "clipboard-write"])
    pane = active_pane(page)
    type_line(page, "printf \"\\e]52;c;$(printf 'héllo 世界 ✓' | base64)\\a\"; echo sent")
    wait_text(page, pane, "sent")
    wait_for(lambda: page.evaluate("() => navigator.clipboard.readText()") == "héllo 世界 ✓", 15)
    # A viewer's clipboard is never written by the master's programs (contexts share one clipboard here, so
    # count the viewer's attempts instead).
    viewer = pages.open(srv, "view", permissions=["clipboard-read", "clipboard-write"])
    viewer.evaluate("""() => { window.__writes = 0;
      const write = navigator.clipboard.writeText.bind(navigator.clipboard);
      navigator.clipboard.writeText = (t) => { window.__writes++; return write(t); };
      const exec = document.execCommand.bind(document);
      document.execCommand = (c, ...a) => { if (c === 'copy') window.__writes++; return exec(c, ...a); }; }""")
    type_line(page, "printf \"\\e]52;c;$(printf 'second' | base64)\\a\"; echo sent-again")
    wait_text(viewer, pane, "sent-again")
    wait_for(lambda: page.evaluate("() => navigator.clipboard.readText()") == "second", 15)
    assert viewer.evaluate("() => window.__writes") == 0
    assert viewer.locator(".toast:has-text('clipboard')").count() == 0


def test_rotated_tokens_sign_the_page_out(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv)
    result = srv.cli("token", "--rotate")
    assert result.returncode == 0, result.stderr
    page.wait_for_selector("#conn.signed-out", timeout=10_000)
    page.wait_for_selector(".toast:has-text('Signed out')")
    connects = page.evaluate("() => window.dullahan.conn.connects")
    time.sleep(2)
    assert page.evaluate("() => window.dullahan.conn.connects") == connects, "no retries once signed out"
