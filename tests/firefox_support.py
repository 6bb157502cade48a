"""Firefox for the end-to-end tests: Debian's firefox-esr driven by ``tests/firefox/driver.mjs`` (puppeteer-core
over WebDriver BiDi), and pages with the part of Playwright's sync ``Page`` API that the tests shared by both
engines use, so the same test body and the same helpers run in Chromium and in Firefox.

One driver process (and one Firefox) serves the whole pytest session; every page gets its own browser context.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from helpers import pid_running, wait_for

FIREFOX = "/usr/bin/firefox-esr"
DRIVER = Path(__file__).resolve().parent / "firefox" / "driver.mjs"
LAUNCH_TIMEOUT = 90.0   # a cold Firefox on two busy cores
REPLY_SLACK = 10.0      # beyond an op's own deadline (which the driver enforces), wait this long for its reply

# Whether an element is visible as Playwright means it: a non-empty box and not visibility:hidden.
JS_VISIBLE = """(sel) => {
  const e = document.querySelector(sel);
  if (!e) return false;
  const r = e.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden';
}"""
JS_CENTRE = """(sel) => {
  const e = document.querySelector(sel);
  e.scrollIntoView({block: 'center', inline: 'center'});
  const r = e.getBoundingClientRect();
  return [r.left + r.width / 2, r.top + r.height / 2];
}"""


class DriverError(RuntimeError):
    """The driver answered with an error, did not answer in time, or is gone."""


class FirefoxDriver:
    """The driver process: requests by id, replies and events read on a thread."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log: IO[bytes] = log_path.open("wb")
        self.proc = subprocess.Popen(["node", str(DRIVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._log, env={**os.environ, "DULLAHAN_FIREFOX": FIREFOX})
        self._lock = threading.Lock()
        self._next_id = 0
        self._waiting: dict[int, tuple[threading.Event, dict[str, Any]]] = {}
        self._listeners: dict[int, Callable[[str], None]] = {}
        self._ready = threading.Event()
        self.failure: str | None = None
        self.version = ""
        self.browser_pid: int | None = None
        threading.Thread(target=self._read, name="firefox-driver", daemon=True).start()
        if not self._ready.wait(LAUNCH_TIMEOUT) or self.failure:
            why = self.failure or f"no ready event within {LAUNCH_TIMEOUT:.0f} s"
            self.close()
            raise DriverError(f"Firefox did not start: {why}{self._log_tail()}")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            if "id" in msg:
                with self._lock:
                    entry = self._waiting.pop(msg["id"], None)
                if entry:
                    entry[1].update(msg)
                    entry[0].set()
            elif msg.get("event") == "ready":
                self.version = msg.get("version", "")
                self.browser_pid = msg.get("pid")
                self._ready.set()
            elif msg.get("event") == "failed":
                self.failure = msg.get("error", "failed")
            elif msg.get("event") in ("console", "pageerror"):
                listener = self._listeners.get(msg.get("page", 0))
                kind = "pageerror" if msg["event"] == "pageerror" else f"console.{msg.get('type')}"
                if listener:
                    listener(f"{kind}: {msg.get('text', '')}")
        self.failure = self.failure or f"the driver exited (status {self.proc.wait()})"
        self._ready.set()
        with self._lock:
            waiting, self._waiting = self._waiting, {}
        for event, _ in waiting.values():
            event.set()

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            tail = self.log_path.read_text(errors="replace")[-2000:].strip()
            if tail:
                return f"\ndriver log ({self.log_path}):\n{tail}"
        return ""

    def call(self, op: str, timeout: float = 30.0, **args: Any) -> Any:
        """Run one request; its value, or DriverError. ``timeout`` (s) is the op's own deadline."""
        if self.failure:
            raise DriverError(f"{op}: {self.failure}{self._log_tail()}")
        event, reply = threading.Event(), dict[str, Any]()
        with self._lock:
            self._next_id += 1
            rid = self._next_id
            self._waiting[rid] = (event, reply)
        line = json.dumps({"id": rid, "op": op, "args": {**args, "timeout": int(timeout * 1000)}}) + "\n"
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(line.encode())
            self.proc.stdin.flush()
        except OSError as e:
            raise DriverError(f"{op}: the driver's stdin is closed ({e}){self._log_tail()}") from e
        if not event.wait(timeout + REPLY_SLACK):
            with self._lock:
                self._waiting.pop(rid, None)
            raise DriverError(f"{op}: no reply within {timeout + REPLY_SLACK:.0f} s{self._log_tail()}")
        if "error" in reply:
            raise DriverError(f"{op}: {reply['error']}")
        if "value" not in reply:
            raise DriverError(f"{op}: {self.failure}{self._log_tail()}")
        return reply["value"]

    def new_page(self, width: int, height: int, init_script: str,
                 on_error: Callable[[str], None]) -> FirefoxPage:
        """A page in a fresh browser context with this viewport; ``init_script`` runs before the page's own."""
        page_id = int(self.call("open", width=width, height=height, initScript=init_script))
        self._listeners[page_id] = on_error
        return FirefoxPage(self, page_id)

    def close_page(self, page_id: int) -> None:
        self._listeners.pop(page_id, None)
        self.call("close", page=page_id)

    def close(self) -> None:
        """Ask the driver to close Firefox and exit; kill what is left (the driver, then Firefox) by pid."""
        if self.proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                assert self.proc.stdin is not None
                self.proc.stdin.close()   # end of input: the driver closes the browser and exits
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
        # puppeteer starts Firefox in its own process group; if the driver could not close it, end that group.
        pid = self.browser_pid
        if pid and pid_running(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        self._log.close()


class FirefoxKeyboard:
    def __init__(self, page: FirefoxPage) -> None:
        self._page = page

    def type(self, text: str) -> None:
        self._page.call("type", text=text)

    def press(self, key: str) -> None:
        """A key with modifiers, written as in Playwright: ``"Control+Shift+KeyC"``, ``"Enter"``."""
        self._page.call("press", key=key)

    def down(self, key: str) -> None:
        self._page.call("keyDown", key=key)

    def up(self, key: str) -> None:
        self._page.call("keyUp", key=key)


class FirefoxMouse:
    def __init__(self, page: FirefoxPage) -> None:
        self._page = page

    def move(self, x: float, y: float, *, steps: int = 1) -> None:
        self._page.call("mouse", action="move", x=x, y=y, steps=steps)

    def down(self, *, button: str = "left") -> None:
        self._page.call("mouse", action="down", button=button)

    def up(self, *, button: str = "left") -> None:
        self._page.call("mouse", action="up", button=button)

    def click(self, x: float, y: float, *, button: str = "left", click_count: int = 1) -> None:
        self._page.call("mouse", action="click", x=x, y=y, button=button, count=click_count)

    def dblclick(self, x: float, y: float) -> None:
        self.click(x, y, click_count=2)

    def wheel(self, delta_x: float, delta_y: float) -> None:
        self._page.call("mouse", action="wheel", dx=delta_x, dy=delta_y)


class FirefoxPage:
    """A Firefox page with the Playwright ``Page`` methods the shared tests use (timeouts in ms, as there)."""

    def __init__(self, driver: FirefoxDriver, page_id: int) -> None:
        self.driver = driver
        self.id = page_id
        self.keyboard = FirefoxKeyboard(self)
        self.mouse = FirefoxMouse(self)

    def call(self, op: str, timeout: float = 30.0, **args: Any) -> Any:
        return self.driver.call(op, timeout=timeout, page=self.id, **args)

    def goto(self, url: str, timeout: float = 30_000) -> None:
        self.call("goto", timeout=timeout / 1000, url=url)

    def evaluate(self, expression: str, arg: Any = None) -> Any:
        """Call the JS function ``expression`` (its source) in the page with ``arg``; its JSON-able result."""
        if arg is None:
            return self.call("evaluate", fn=expression)
        return self.call("evaluate", fn=expression, arg=arg)

    def wait_for_function(self, expression: str, arg: Any = None, timeout: float = 30_000) -> Any:
        """Poll the function until it returns something truthy; that value."""
        return wait_for(lambda: self.evaluate(expression, arg), timeout / 1000, interval=0.05,
                        message=f"{expression} stayed falsy")

    def is_visible(self, selector: str) -> bool:
        return bool(self.evaluate(JS_VISIBLE, selector))

    def is_hidden(self, selector: str) -> bool:
        return not self.is_visible(selector)

    def wait_for_selector(self, selector: str, timeout: float = 30_000) -> None:
        wait_for(lambda: self.is_visible(selector), timeout / 1000, interval=0.05,
                 message=f"{selector} did not become visible")

    def inner_text(self, selector: str, timeout: float = 30_000) -> str:
        return str(self.wait_for_function("(sel) => { const e = document.querySelector(sel); "
                                          "return e ? [e.innerText] : null; }", selector, timeout)[0])

    def click(self, selector: str, timeout: float = 30_000) -> None:
        """Click the middle of a visible element (scrolled into view first), as Playwright does."""
        self.wait_for_selector(selector, timeout)
        x, y = self.evaluate(JS_CENTRE, selector)
        self.mouse.click(x, y)

    def set_viewport_size(self, viewport_size: dict[str, int]) -> None:
        self.call("viewport", width=viewport_size["width"], height=viewport_size["height"])

    def screenshot(self, path: str) -> None:
        self.call("screenshot", path=path)

    def close(self) -> None:
        self.driver.close_page(self.id)
