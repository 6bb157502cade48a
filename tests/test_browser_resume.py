"""A master page keeps the session through the common events of a laptop's life, in headless Chromium.

A server stopped for 30 s (SIGSTOP), and a network that goes away for 20 s and comes back on another path
(the old connection silently dead, as after a network change): each time the page is master again soon
after the server or the network is back, typing reaches the shell, and no "took control" toast appears.
A second browser signed in with the master token stays a viewer until it asks.
"""

from __future__ import annotations

import os
import signal
import time

from browser_support import (  # noqa: F401  (the *_fixture names are fixtures: browser, pages)
    CuttableProxy,
    Pages,
    active_pane,
    browser_fixture,
    pages_fixture,
    type_line,
    wait_matches_capture,
    wait_text,
)
from helpers import wait_for

JS_MASTER_AGAIN = ("() => window.dullahan.conn.state === 'open' && window.dullahan.conn.resumed "
                   "&& window.dullahan.role === 'master'")
JS_TOASTS = "() => [...document.querySelectorAll('#toasts .toast')].map(t => t.textContent)"


def watch_connection(page) -> None:
    page.evaluate("""() => { window.__states = [];
      new MutationObserver(() => window.__states.push(document.getElementById('conn').className))
        .observe(document.getElementById('conn'), {attributes: true}); }""")


def master_again_within(page, since: float, what: str) -> float:
    wait_for(lambda: page.evaluate(JS_MASTER_AGAIN), 30, interval=0.05,
             message=lambda: f"after {what}: state {page.evaluate('() => window.dullahan.conn.state')}, "
             f"role {page.evaluate('() => window.dullahan.role')}")
    took = time.monotonic() - since
    print(f"\nmaster again {took * 1000:.0f} ms after {what}")
    return took


def test_a_master_page_survives_the_server_being_stopped_for_30_seconds(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv)
    pane = active_pane(page)
    type_line(page, "echo before-the-stop")
    wait_text(page, pane, "before-the-stop")
    watch_connection(page)
    os.kill(srv.pid, signal.SIGSTOP)
    try:
        # The page notices the silence (no pong for 12 s) and keeps asking; the server hears nothing.
        page.wait_for_function("() => window.dullahan.conn.state !== 'open'", timeout=25_000)
        time.sleep(max(0.0, 30 - 12))
    finally:
        os.kill(srv.pid, signal.SIGCONT)
    master_again_within(page, time.monotonic(), "SIGCONT")
    type_line(page, "echo after-the-stop-$((6*7))")
    wait_text(page, pane, "after-the-stop-42")
    wait_matches_capture(page, srv, pane)
    assert not any("took control" in t for t in page.evaluate(JS_TOASTS)), page.evaluate(JS_TOASTS)
    assert any("reconnecting" in s for s in page.evaluate("() => window.__states"))


def test_a_master_page_comes_back_as_master_after_the_network_changed(server, pages: Pages) -> None:
    srv = server()
    proxy = CuttableProxy(srv.port)
    try:
        page = pages.open(srv, base=f"http://127.0.0.1:{proxy.port}")
        other = pages.open(srv)              # the same user's other browser, on a network that stays up
        assert other.evaluate("() => window.dullahan.role") == "view"
        assert other.evaluate("() => window.dullahan.canMaster") is True
        pane = active_pane(page)
        type_line(page, "echo before-the-change")
        wait_text(page, pane, "before-the-change")
        # The network goes away: the page's connection is silently dead, new ones cannot get through.
        proxy.refusing = True
        assert proxy.blackhole() >= 2        # the page's socket and its server side
        page.context.set_offline(True)
        page.wait_for_function("() => window.dullahan.conn.state !== 'open'", timeout=25_000)
        time.sleep(20 - 12)
        srv.send(pane, "echo while-away-$((2*21))")
        assert other.evaluate("() => window.dullahan.role") == "view", "the other browser took the role"
        proxy.refusing = False
        back = time.monotonic()
        page.context.set_offline(False)
        master_again_within(page, back, "the network came back")
        wait_text(page, pane, "while-away-42")
        type_line(page, "echo after-the-change")
        wait_text(page, pane, "after-the-change")
        wait_matches_capture(page, srv, pane)
        assert not any("took control" in t for t in page.evaluate(JS_TOASTS)), page.evaluate(JS_TOASTS)
        assert other.evaluate("() => window.dullahan.role") == "view"
        # The other browser gets the role only by asking; then this one is told.
        other.click("#take-master")
        other.wait_for_function("() => window.dullahan.role === 'master'", timeout=10_000)
        page.wait_for_function("() => window.dullahan.role === 'view'", timeout=10_000)
        wait_for(lambda: any("took control" in t for t in page.evaluate(JS_TOASTS)), 15)
    finally:
        proxy.close()


def test_a_reloaded_master_page_is_still_master(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv)
    other = pages.open(srv)
    assert other.evaluate("() => window.dullahan.role") == "view"
    secret = page.evaluate("() => sessionStorage.getItem('dullahan.resume')")
    assert secret and secret not in srv.tokens_file.read_text()
    page.reload()
    page.wait_for_function(JS_MASTER_AGAIN, timeout=15_000)
    assert other.evaluate("() => window.dullahan.role") == "view"
    pane = active_pane(page)
    type_line(page, "echo after-reload")
    wait_text(page, pane, "after-reload")
    assert secret not in srv.log_text()


def test_a_page_open_across_a_restart_comes_back_as_master_to_the_same_screens(server, pages: Pages) -> None:
    srv = server()
    page = pages.open(srv)
    viewer = pages.open(srv, "view")
    other = pages.open(srv)                          # another master-token browser, watching
    pane = active_pane(page)
    type_line(page, "seq 1 120; echo BEFORE-RESTART")
    wait_text(page, pane, "BEFORE-RESTART")
    wait_matches_capture(page, srv, pane)
    old_pid = srv.pid
    result = srv.restart()
    assert result.returncode == 0, result.stderr
    assert srv.pid != old_pid
    page.wait_for_function(JS_MASTER_AGAIN, timeout=30_000)
    viewer.wait_for_function("() => window.dullahan.conn.state === 'open' && window.dullahan.conn.resumed",
                             timeout=30_000)
    for watching in (other, viewer):
        assert watching.evaluate("() => window.dullahan.role") == "view"
    wait_matches_capture(page, srv, pane)
    wait_matches_capture(viewer, srv, pane)
    wait_for(lambda: any("Server restarted" in t for t in page.evaluate(JS_TOASTS)), 15,
             message=lambda: str(page.evaluate(JS_TOASTS)))
    assert not any("took control" in t for t in page.evaluate(JS_TOASTS)), page.evaluate(JS_TOASTS)
    type_line(page, "echo after-restart-$((6*7))")
    wait_text(page, pane, "after-restart-42")
    wait_matches_capture(viewer, srv, pane)
