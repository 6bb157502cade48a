"""Phones in the end-to-end tests: Chromium pages with Playwright's device descriptors (a mobile viewport and
user agent, touch, the device's pixel ratio), and touch gestures (swipes, long presses, pinches) sent through the
Chrome DevTools protocol's ``Input.dispatchTouchEvent``, which the page receives as real touch events.

Pages are opened through a test's :class:`browser_support.Pages`, so they get its screenshots on failure and
its clean-up.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import CDPSession, Page

from browser_support import PAGE_READY, TEST_SETTINGS, Pages, device_descriptors, tokens
from dullahan.testing.browser import settings_script
from helpers import ServerProc

PHONES = ("iPhone 13", "Pixel 7")
# Runs a test once per phone; the test takes a ``phone`` argument (the device's name).
on_phones = pytest.mark.parametrize("phone", PHONES)


class Touch:
    """Touch input for one page, as a finger gives it (CSS pixels, page coordinates)."""

    def __init__(self, page: Page, cdp: CDPSession) -> None:
        self.page = page
        self.cdp = cdp

    def _send(self, kind: str, points: list[tuple[float, float]]) -> None:
        self.cdp.send("Input.dispatchTouchEvent", {
            "type": kind, "touchPoints": [{"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)]})

    def down(self, x: float, y: float) -> None:
        self._send("touchStart", [(x, y)])

    def move(self, x: float, y: float) -> None:
        self._send("touchMove", [(x, y)])

    def up(self) -> None:
        self._send("touchEnd", [])

    def drag(self, x0: float, y0: float, x1: float, y1: float, steps: int = 10) -> None:
        """One finger from (x0, y0) to (x1, y1) in ``steps`` moves, then lifted."""
        self.down(x0, y0)
        for i in range(1, steps + 1):
            self.move(x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps)
        self.up()

    def pinch(self, cx: float, cy: float, start: float, end: float, steps: int = 8) -> None:
        """Two fingers on a horizontal line through (cx, cy), ``start`` px apart, moved until ``end`` apart."""
        def points(d: float) -> list[tuple[float, float]]:
            return [(cx - d / 2, cy), (cx + d / 2, cy)]
        self._send("touchStart", points(start))
        for i in range(1, steps + 1):
            self._send("touchMove", points(start + (end - start) * i / steps))
        self._send("touchEnd", [])


def open_phone(pages: Pages, srv: ServerProc, device: str, role: str = "master",
               settings: dict[str, Any] | None = None, permissions: list[str] | None = None,
               wait: bool = True, base: str | None = None) -> tuple[Page, Touch]:
    """A page signed in with ``role``'s token on an emulated ``device`` ("iPhone 13", "Pixel 7"), and its
    touch input. ``base``: the server's URL up to its base path (default ``http://127.0.0.1:<port>``)."""
    descriptor = {k: v for k, v in device_descriptors()[device].items() if k != "default_browser_type"}
    browser: Any = pages.browser
    ctx = browser.new_context(**descriptor, permissions=permissions or [])
    pages.contexts.append(ctx)
    ctx.add_init_script(settings_script({**TEST_SETTINGS, **(settings or {})}, keep_existing=True))
    page = ctx.new_page()
    page.on("pageerror", lambda e: pages.errors.append(f"pageerror: {e}"))
    page.on("console", lambda m: pages.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    pages.pages.append(page)
    page.goto(f"{base or f'http://127.0.0.1:{srv.port}'}/?token={tokens(srv)[role]}")
    if wait:
        page.wait_for_function(PAGE_READY, timeout=15_000)
    return page, Touch(page, ctx.new_cdp_session(page))
