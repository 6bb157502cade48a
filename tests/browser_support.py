"""Helpers for the end-to-end tests of the browser client: headless Chromium (Debian's, driven by Playwright) and
Firefox (Debian's firefox-esr, driven by ``firefox_support``), pages signed in as master or viewer, reading what
the page shows, and a TCP proxy whose connections can be cut.

Tests use the ``server`` fixture of ``conftest.py`` for real servers with real shells. Every page gets its own
browser context (its own cookies). When a test fails, a screenshot of each of its pages is kept in
``test-artifacts/``. Tests run in Chromium; ``@in_both_engines`` runs one in Firefox as well: its body and the
helpers here then use only what :class:`BrowserPage` offers.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from dullahan.testing.browser import CHROMIUM, CHROMIUM_ARGS, settings_script
from firefox_support import FIREFOX, FirefoxDriver, FirefoxPage
from helpers import ServerProc, wait_for

T = TypeVar("T")

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# Settings every test page starts with: a known theme and font, so colours and sizes are predictable; no
# "leave this page?" question (guardUnload) in the way of reloads and navigations.
TEST_SETTINGS = {"theme": "dark", "fontSize": 14, "lineHeight": 1.2, "cursorBlink": "off", "guardUnload": False}
# The page is connected and shows a pane.
PAGE_READY = ("() => window.dullahan && window.dullahan.conn.state === 'open' "
              "&& document.querySelector('.pane .row') !== null")


ENGINES = ("chromium", "firefox")
# Runs a test once in each engine: its ``pages`` fixture opens Chromium pages, then Firefox pages.
in_both_engines = pytest.mark.parametrize("pages", ENGINES, indirect=True)

_shared: dict[str, Any] = {}


class KeyboardLike(Protocol):
    def type(self, text: str) -> None: ...
    def press(self, key: str) -> None: ...
    def down(self, key: str) -> None: ...
    def up(self, key: str) -> None: ...


class MouseLike(Protocol):
    def move(self, x: float, y: float, *, steps: int = 1) -> None: ...
    def down(self) -> None: ...
    def up(self) -> None: ...
    def click(self, x: float, y: float) -> None: ...


class BrowserPage(Protocol):
    """What tests in both engines may use of a page: Playwright's ``Page`` has it, and so has ``FirefoxPage``
    (timeouts in ms; selectors are plain CSS)."""

    @property
    def keyboard(self) -> KeyboardLike: ...
    @property
    def mouse(self) -> MouseLike: ...
    def evaluate(self, expression: str, arg: Any = None) -> Any: ...
    def wait_for_function(self, expression: str, arg: Any = None, timeout: float = 30_000) -> Any: ...
    def wait_for_selector(self, selector: str, timeout: float = 30_000) -> Any: ...
    def inner_text(self, selector: str, timeout: float = 30_000) -> str: ...
    def is_hidden(self, selector: str) -> bool: ...
    def is_visible(self, selector: str) -> bool: ...
    def click(self, selector: str, timeout: float = 30_000) -> None: ...
    def set_viewport_size(self, viewport_size: Any) -> None: ...
    def goto(self, url: str, timeout: float = 30_000) -> Any: ...
    def screenshot(self, path: str) -> Any: ...


def _stop_browser() -> None:
    b, p = _shared.pop("browser", None), _shared.pop("playwright", None)
    with contextlib.suppress(Exception):
        if b is not None:
            b.close()
    with contextlib.suppress(Exception):
        if p is not None:
            p.stop()


def _stop_firefox() -> None:
    driver = _shared.pop("firefox", None)
    if driver is not None:
        driver.close()


def device_descriptors() -> dict[str, Any]:
    """Playwright's device descriptors (``["iPhone 13"]``: viewport, touch, user agent ...) of the shared
    Playwright instance; the ``browser`` fixture must have started it."""
    return _shared["playwright"].devices


def shared_firefox() -> FirefoxDriver:
    """One Firefox (and its driver process) for the whole run, started when a test first needs it."""
    if not Path(FIREFOX).exists():
        pytest.fail(f"{FIREFOX} is missing: apt-get install -y firefox-esr (scripts/test does)")
    if "firefox" not in _shared:
        _shared["firefox"] = FirefoxDriver(ARTIFACTS / "firefox-driver.log")
        atexit.register(_stop_firefox)
    return _shared["firefox"]


@pytest.fixture(name="browser", scope="session")
def browser_fixture() -> Iterator[Browser]:
    """One Chromium for the whole run, shared by every test module that imports this fixture (a second
    Playwright instance cannot start while one runs)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    if "browser" not in _shared:
        p = sync_playwright().start()
        _shared["playwright"] = p
        _shared["browser"] = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        atexit.register(_stop_browser)
    yield _shared["browser"]


class Pages:
    """Opens signed-in pages, one browser context each, in Chromium (``browser`` is Playwright's) or Firefox;
    keeps screenshots of them when the test fails."""

    def __init__(self, browser: Browser | FirefoxDriver, name: str) -> None:
        self.browser = browser
        self.engine = "firefox" if isinstance(browser, FirefoxDriver) else "chromium"
        self.name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:120]
        self.contexts: list[BrowserContext] = []
        self.pages: list[Any] = []   # Playwright pages, or FirefoxPages
        self.errors: list[str] = []

    def open(self, srv: ServerProc, role: str = "master", width: int = 1000, height: int = 640,
             base: str | None = None, settings: dict[str, Any] | None = None, wait: bool = True,
             permissions: list[str] | None = None, ignore_https_errors: bool = False) -> Any:
        """A page signed in with ``role``'s token: a Playwright ``Page``, or a ``FirefoxPage`` (both
        :class:`BrowserPage`). ``permissions`` are Chromium's (Playwright's names); ``ignore_https_errors``
        accepts a test certificate (Chromium only)."""
        # Initial settings, unless the page already stored its own (a reload keeps what the user chose).
        init = settings_script({**TEST_SETTINGS, **(settings or {})}, keep_existing=True)
        page: Any
        if isinstance(self.browser, FirefoxDriver):
            if permissions:
                raise ValueError("permissions are granted in Chromium only")
            page = self.browser.new_page(width, height, init, self.errors.append)
        else:
            ctx = self.browser.new_context(viewport={"width": width, "height": height},
                                           permissions=permissions or [], ignore_https_errors=ignore_https_errors)
            self.contexts.append(ctx)
            ctx.add_init_script(init)
            page = ctx.new_page()
            page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
            page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}")
                    if m.type == "error" else None)
        self.pages.append(page)
        token = tokens(srv)[role]
        page.goto(f"{base or f'http://127.0.0.1:{srv.port}'}/?token={token}")
        if wait:
            page.wait_for_function(PAGE_READY, timeout=10_000)
        return page

    def screenshots(self) -> list[Path]:
        ARTIFACTS.mkdir(exist_ok=True)
        out = []
        for i, page in enumerate(self.pages):
            path = ARTIFACTS / f"{self.name}-{i}.png"
            with contextlib.suppress(Exception):
                page.screenshot(path=str(path))
                out.append(path)
        return out

    def close(self) -> None:
        for ctx in self.contexts:
            with contextlib.suppress(Exception):
                ctx.close()
        for page in self.pages:
            if isinstance(page, FirefoxPage):
                with contextlib.suppress(Exception):
                    page.close()


@pytest.fixture(name="pages")
def pages_fixture(request: pytest.FixtureRequest) -> Iterator[Pages]:
    """Chromium pages; Firefox pages when parametrized so (``@in_both_engines``)."""
    engine = getattr(request, "param", "chromium")
    browser = shared_firefox() if engine == "firefox" else request.getfixturevalue("browser")
    failed_before = request.session.testsfailed
    p = Pages(browser, request.node.name)
    yield p
    # The call phase's report is logged before fixtures are torn down: a new failure is this test's.
    if request.session.testsfailed > failed_before:
        shots = p.screenshots()
        print(f"\nscreenshots: {', '.join(map(str, shots))}")
        if p.errors:
            print("page errors:\n  " + "\n  ".join(p.errors[-20:]))
    p.close()


def tokens(srv: ServerProc) -> dict[str, str]:
    return json.loads(srv.tokens_file.read_text())


# -- reading the page -----------------------------------------------------------------------------------------
JS_PANE_ROWS = """(id) => {
  const pane = document.querySelector(`.pane[data-pane="${id}"]`);
  if (!pane) return null;
  return [...pane.querySelectorAll('.prows > .row')].map(r => r.textContent);
}"""


def pane_rows(page: BrowserPage, pane: int) -> list[str] | None:
    """The pane's rows as the page shows them (text of each row element)."""
    return page.evaluate(JS_PANE_ROWS, pane)


def screen_lines(rows: list[str]) -> list[str]:
    """Rows right-trimmed, trailing blank rows dropped (how ``capture`` reports a screen)."""
    out = [r.rstrip() for r in rows]
    while out and not out[-1]:
        out.pop()
    return out


def capture_lines(srv: ServerProc, pane: int) -> list[str]:
    return screen_lines(srv.capture(pane).split("\n"))


def wait_rows(page: BrowserPage, pane: int, pred: Callable[[list[str]], T], timeout: float = 10.0) -> T:
    """Poll the pane's rows until ``pred(rows)`` is truthy; returns its value."""
    last: list[list[str] | None] = [None]

    def probe() -> T | None:
        rows = pane_rows(page, pane)
        last[0] = rows
        return pred(rows) if rows is not None else None
    return wait_for(probe, timeout, interval=0.03,
                    message=lambda: f"pane {pane} shows:\n" + "\n".join(last[0] or ["<no pane>"]))


def wait_text(page: BrowserPage, pane: int, text: str, timeout: float = 10.0) -> list[str]:
    return wait_rows(page, pane, lambda rows: rows if any(text in r for r in rows) else None, timeout)


def wait_matches_capture(page: BrowserPage, srv: ServerProc, pane: int, timeout: float = 10.0) -> list[str]:
    """Wait until the page shows exactly the server's screen of the pane; returns it."""
    seen: dict[str, Any] = {}

    def same() -> list[str] | None:
        page_lines = screen_lines(pane_rows(page, pane) or [])
        server_lines = capture_lines(srv, pane)
        seen.update(page=page_lines, server=server_lines)
        return page_lines if page_lines == server_lines else None
    return wait_for(same, timeout, interval=0.05,
                    message=lambda: "page:\n" + "\n".join(seen.get("page", [])) + "\nserver:\n"
                    + "\n".join(seen.get("server", [])))


def active_pane(page: BrowserPage) -> int:
    return int(page.evaluate("() => window.dullahan.activePane()"))


def layout(page: BrowserPage) -> dict[str, Any]:
    return page.evaluate("() => window.dullahan.replica.layout")


def active_window(page: BrowserPage) -> dict[str, Any]:
    lay = layout(page)
    return next(w for w in lay["windows"] if w["id"] == lay["active"])


def cell_size(page: BrowserPage) -> tuple[float, float]:
    w, h = page.evaluate("() => [window.dullahan.screen.cellW, window.dullahan.screen.cellH]")
    return float(w), float(h)


def wait_window_fills_screen(page: BrowserPage, timeout: float = 10.0) -> dict[str, Any]:
    """Wait until the active window has as many cells as fit in the page's screen element; the window."""
    seen: dict[str, Any] = {}

    def fits() -> dict[str, Any]:
        cw, ch = cell_size(page)
        box = page.evaluate("() => { const r = document.getElementById('screen').getBoundingClientRect(); "
                            "return [r.width, r.height]; }")
        win = active_window(page)
        seen.update(box=box, cell=(cw, ch), window=(win["cols"], win["rows"]))
        return win if (win["cols"], win["rows"]) == (int(box[0] // cw), int(box[1] // ch)) else {}
    return wait_for(fits, timeout, message=lambda: f"window of {seen.get('window')} cells for a {seen.get('box')} "
                    f"px screen with {seen.get('cell')} px cells")


def wait_pty_follows(page: BrowserPage, srv: ServerProc, pane: int, timeout: float = 10.0) -> list[int]:
    """Wait until the pane's PTY has the size of the pane's rect in the page's layout; that rect."""
    def same() -> list[int]:
        win = active_window(page)
        rect = win["rects"][win["slots"].index(pane)]
        size = srv.pane(pane)
        return rect if (size["cols"], size["rows"]) == (rect[2], rect[3]) else []
    return wait_for(same, timeout, message=lambda: f"pane {srv.pane(pane)} vs layout {active_window(page)}")


def cell_point(page: BrowserPage, pane: int, x: int, y: int) -> tuple[float, float]:
    """The page coordinates of the centre of cell (x, y) of a pane's content."""
    return tuple(page.evaluate("""([id, x, y]) => {
      const b = document.querySelector(`.pane[data-pane="${id}"] .pbody`).getBoundingClientRect();
      const cw = window.dullahan.screen.cellW * window.dullahan.screen.scale;
      const ch = window.dullahan.screen.cellH * window.dullahan.screen.scale;
      return [b.left + (x + 0.5) * cw, b.top + (y + 0.5) * ch];
    }""", [pane, x, y]))


def wait_toast(page: BrowserPage, text: str, timeout: float = 5.0) -> str:
    """Wait for a toast containing ``text``; its whole text."""
    return wait_for(lambda: page.evaluate("""(text) => [...document.querySelectorAll('.toast')]
                      .map(t => t.innerText).find(t => t.includes(text)) ?? null""", text), timeout,
                    message=lambda: "toasts: " + repr(page.evaluate(
                        "() => [...document.querySelectorAll('.toast')].map(t => t.innerText)")))


def count(page: BrowserPage, selector: str) -> int:
    return int(page.evaluate("(sel) => document.querySelectorAll(sel).length", selector))


def type_line(page: BrowserPage, text: str) -> None:
    page.keyboard.type(text)
    page.keyboard.press("Enter")


# -- a TCP proxy whose connections can be cut -------------------------------------------------------------------
class CuttableProxy:
    """Forwards 127.0.0.1:<port> to a server. ``cut()`` resets every open connection (as a network drop does,
    without a WebSocket close); ``blackhole()`` silently stops every open connection (as a laptop that moved
    to another network: nothing arrives either way, nobody is told); while ``refusing`` new connections are
    reset at once."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.refusing = False
        self.accepted = 0
        self._lock = threading.Lock()
        self._socks: set[socket.socket] = set()
        self._black: set[socket.socket] = set()
        self._closed = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.refusing:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            self.accepted += 1
            with self._lock:
                self._socks.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if src in self._black:
                    continue                 # swallowed: the path is gone, but no one has said so
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    def blackhole(self) -> int:
        """Stop forwarding on every open connection, without closing any; returns how many sockets."""
        with self._lock:
            self._black.update(self._socks)
            return len(self._socks)

    def cut(self) -> int:
        """Reset every connection; returns how many sockets were cut."""
        with self._lock:
            socks = list(self._socks)
            self._socks.clear()
        for s in socks:
            _reset(s)
        return len(socks)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self.listener.close()
        self.cut()


def _reset(s: socket.socket) -> None:
    """Close with RST (SO_LINGER 0): the peer sees a connection reset, not an orderly close."""
    with contextlib.suppress(OSError):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        s.close()


def elapsed(start: float) -> float:
    return time.monotonic() - start
