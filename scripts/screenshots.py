"""Takes the screenshots in docs/screenshots/: a master page with a 2x2 window of colourful full-screen
programs, a view page watching the same window, a phone (Playwright's iPhone 13) that took control: one
pane at a time, sized to the phone, with the key bar, and a window with pictures beside text (kitty
graphics: `chafa -f kitty` and `timg -pk` showing the benchmark plots, next to text).

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Runs a private server (real shells, `bash --noprofile --norc`) and Debian's headless Chromium, like the
browser tests. Programs: vim with syntax colouring, top in colour mode, a palette of 256 and truecolour
cells with text styles, wide characters and emoji, and `git log --graph` in colour.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from dullahan.testing.browser import CHROMIUM, CHROMIUM_ARGS, settings_script
from dullahan.testing.server import DullahanServer

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {"theme": "dark", "fontSize": 13, "lineHeight": 1.2, "cursorBlink": "off"}

PALETTE = r'''
import sys
w = sys.stdout.write
w("\x1b[1m256 colours\x1b[0m\n")
for row in range(16):
    w("".join(f"\x1b[48;5;{row * 16 + c}m  " for c in range(16)) + "\x1b[0m\n")
w("\x1b[1mtruecolour\x1b[0m\n")
for y in range(3):
    w("".join(f"\x1b[48;2;{x * 4};{y * 100};{255 - x * 4}m " for x in range(64)) + "\x1b[0m\n")
w("\x1b[1mbold\x1b[0m \x1b[3mitalic\x1b[0m \x1b[2mfaint\x1b[0m \x1b[4munderline\x1b[0m "
  "\x1b[9mstrike\x1b[0m \x1b[7minverse\x1b[0m \x1b[38;2;255;140;0morange\x1b[0m\n")
w("wide: \u6f22\u5b57\u304b\u306a | emoji: \U0001f600\U0001f680\U0001f44d\U0001f3fd | "
  "\x1b]8;;https://example.com\x1b\\a link\x1b]8;;\x1b\\\n")
'''


def wait_text(server: DullahanServer, pane: int, needle: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in server.call("capture", pane=pane)["text"]:
            return
        time.sleep(0.1)
    raise RuntimeError(f"pane {pane} never showed {needle!r}")


def open_page(browser: Browser, server: DullahanServer, role: str, width: int, height: int) -> Page:
    ctx = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
    ctx.add_init_script(settings_script(SETTINGS))
    page = ctx.new_page()
    page.goto(f"{server.base_url}?token={server.tokens()[role]}")
    page.wait_for_function("() => window.dullahan && window.dullahan.conn.state === 'open' "
                           "&& document.querySelectorAll('.pane .row').length > 0", timeout=15_000)
    return page


def pictures(server: DullahanServer, page: Page, path: Path) -> None:
    """A 2-column window: a picture from chafa above text, a picture from timg beside a colour git log. The
    window that was active is active again afterwards."""
    before = next(w["id"] for w in server.call("windows") if w["active"])
    window = server.call("new-window", layout="2-col")
    left, right = [pid for pid in window["panes"] if pid]
    plots = ROOT / "docs" / "bench"
    server.call("send", pane=left, enter=True,
                text=f"clear; chafa -f kitty --size 70x18 {plots / 'fig2-echo.png'}; echo; "
                     f"ls -l --color=always {plots} | head -12")
    server.call("send", pane=right, enter=True,
                text=f"clear; timg -pk -g60x14 {plots / 'fig3-fanout.png'}; "
                     f"git -C {ROOT} log --color=always --oneline --decorate -n 14 | cat")
    wait_text(server, left, "fig5-browser.png", 20)
    page.wait_for_function("() => document.querySelectorAll('.pimages canvas[data-key]').length >= 2",
                           timeout=30_000)
    time.sleep(1.0)
    page.screenshot(path=str(path))
    server.call("select-window", window=before)


def open_phone(p: Playwright, browser: Browser, server: DullahanServer, device: str) -> Page:
    descriptor = {k: v for k, v in p.devices[device].items() if k != "default_browser_type"}
    descriptor["device_scale_factor"] = 2   # sharp, and a smaller file than the device's 3
    ctx = browser.new_context(**descriptor)
    ctx.add_init_script(settings_script({**SETTINGS, "fontSize": 14}))
    page = ctx.new_page()
    page.goto(f"{server.base_url}?token={server.tokens()['master']}")
    page.wait_for_function("() => window.dullahan && window.dullahan.conn.state === 'open' "
                           "&& document.querySelectorAll('.pane .row').length > 0", timeout=15_000)
    return page


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    server = DullahanServer.start_private()
    try:
        assert server.tmp is not None
        palette = server.tmp / "palette.py"
        palette.write_text(PALETTE)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            master = open_page(browser, server, "master", 1400, 860)
            window = server.call("new-window", layout="2x2")
            panes = [pid for pid in window["panes"] if pid]
            vim, top, colours, log = panes[:4]
            server.call("send", pane=vim, enter=True,
                        text=f"TERM=xterm-256color vim -N -u NONE -c 'syntax on' -c 'set number' "
                             f"{ROOT / 'src/dullahan/session/pane.py'} +204")
            server.call("send", pane=top, text="TERM=xterm-256color top -d 1", enter=True)
            server.call("send", pane=colours, text=f"clear; python3 {palette}", enter=True)
            server.call("send", pane=log, enter=True,
                        text=f"clear; git -C {ROOT} log --graph --color=always --oneline --decorate -n 60 "
                             "| cat")
            wait_text(server, top, "load average")
            server.call("send", pane=top, text="z")     # top's colour mode
            wait_text(server, vim, "def _on_readable")
            wait_text(server, colours, "emoji")
            time.sleep(1.5)
            master.screenshot(path=str(args.out / "2x2-master.png"))
            viewer = open_page(browser, server, "view", 1000, 700)
            viewer.click(".pane .pbody >> nth=2")
            viewer.keyboard.type("x")   # refused: a viewer cannot type
            time.sleep(0.8)
            viewer.screenshot(path=str(args.out / "view.png"))
            pictures(server, master, args.out / "images.png")
            # A phone takes control: the window is sized so that the pane it shows (vim) fills its screen.
            phone = open_phone(p, browser, server, "iPhone 13")
            phone.click("#take-master")
            phone.wait_for_function("() => window.dullahan.role === 'master'")
            phone.evaluate("(id) => window.dullahan.phone.show(id)", vim)
            phone.wait_for_function("""(id) => {
              const app = window.dullahan, lay = app.replica.layout;
              const win = lay.windows.find(w => w.id === lay.active);
              const rect = win.rects[win.slots.indexOf(id)], s = app.screen.root;
              return app.screen.active === id && rect[2] === Math.floor(s.clientWidth / app.screen.cellW + 1e-6);
            }""", arg=vim, timeout=10_000)
            wait_text(server, vim, "def ")
            time.sleep(1.5)
            phone.screenshot(path=str(args.out / "phone.png"))
            server.call("send", pane=vim, text="\x1b:q!", enter=True)
            server.call("send", pane=top, text="q")
            browser.close()
    finally:
        server.stop()
    print(f"wrote {args.out / '2x2-master.png'}, {args.out / 'view.png'}, {args.out / 'phone.png'} and "
          f"{args.out / 'images.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
