"""The Firefox driver itself (tests/firefox/driver.mjs through firefox_support): clear errors, deadlines, page
errors reaching the test, and pages that share nothing. The end-to-end tests that run in Firefox are in
test_browser.py and test_browser_ui.py (``@in_both_engines``)."""

from __future__ import annotations

import pytest

from browser_support import shared_firefox
from firefox_support import DriverError, FirefoxPage
from helpers import wait_for


def blank_page(errors: list[str]) -> FirefoxPage:
    page = shared_firefox().new_page(400, 300, "", errors.append)
    page.goto("data:text/html,<title>blank</title><p>blank</p>")
    return page


def test_errors_are_clear_and_the_driver_carries_on() -> None:
    errors: list[str] = []
    page = blank_page(errors)
    try:
        with pytest.raises(DriverError, match="takes the source of a function"):
            page.evaluate("document.title")
        with pytest.raises(DriverError, match="boom"):
            page.evaluate("() => { throw new Error('boom'); }")
        with pytest.raises(DriverError, match="took longer than 300 ms"):
            page.call("evaluate", timeout=0.3, fn="() => new Promise(() => {})")
        with pytest.raises(DriverError, match="unknown op"):
            page.call("no-such-op")
        with pytest.raises(DriverError, match="no page"):
            shared_firefox().call("evaluate", page=999_999, fn="() => 1")
        assert page.evaluate("([a, b]) => a + b + document.title", [1, 2]) == "3blank"
    finally:
        page.close()


def test_page_errors_reach_the_test() -> None:
    errors: list[str] = []
    page = blank_page(errors)
    try:
        page.evaluate("() => { console.error('logged', 42); setTimeout(() => { throw new Error('uncaught'); }); }")
        wait_for(lambda: len(errors) >= 2, 10, message=lambda: str(errors))
        assert any(e.startswith("console.error: logged 42") for e in errors), errors
        assert any(e.startswith("pageerror:") and "uncaught" in e for e in errors), errors
    finally:
        page.close()


def test_every_page_has_its_own_storage(server) -> None:
    srv = server()
    origin = f"http://127.0.0.1:{srv.port}/static/app.css"   # any page of the server's origin
    first, second = (shared_firefox().new_page(400, 300, "", lambda e: None) for _ in range(2))
    try:
        for page in (first, second):
            page.goto(origin)
        first.evaluate("() => { localStorage.setItem('mark', 'first'); document.cookie = 'mark=first'; }")
        assert first.evaluate("() => [localStorage.getItem('mark'), document.cookie]") == ["first", "mark=first"]
        assert second.evaluate("() => [localStorage.getItem('mark'), document.cookie]") == [None, ""]
    finally:
        first.close()
        second.close()
