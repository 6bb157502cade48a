"""Figure 5 — in the browser: headless Chromium (Debian's ``chromium``) driven by Playwright.

Two measurements per run, for Dullahan's browser client and for WeTTY's (xterm.js) in the same browser. Times
are taken in the page from the keydown (``performance.now()`` in the first capturing listener on the window,
installed before the page's scripts) to the moment the client
has drawn the result: for Dullahan a MutationObserver on its screen (its rows change inside its
``requestAnimationFrame`` render), for WeTTY xterm.js's ``onRender``; that animation frame paints it.

- *seq*: ``seq 1 100000`` typed and Enter pressed; until ``100000`` and the next prompt are drawn.
- *keystroke to paint during a flood*: another terminal of the same server, shown by the same browser, runs
  ``while :; do seq 1 100000; done`` (Dullahan: the other pane of a 2-column window in the same page; WeTTY:
  a second page, since a WeTTY page shows one terminal). 100 letters are typed into ``cat``, 60-100 ms
  apart, each timed until its echo is drawn. The same for 50 letters before the flood starts, for reference.
"""

from __future__ import annotations

import asyncio
import random
import string
from pathlib import Path
from typing import Any

from bench.peers.base import Peer
from bench.peers.dullahan import DullahanPeer
from bench.peers.wetty import WettyPeer
from dullahan.testing.browser import CHROMIUM, CHROMIUM_ARGS, settings_script

VIEWPORT = {"width": 1100, "height": 760}
KEYS = 100
IDLE_KEYS = 100
SETTINGS = {"theme": "dark", "fontSize": 14, "lineHeight": 1.2, "cursorBlink": "off"}
FLOOD = "while :; do seq 1 100000; done"

# In-page probes, installed as ``window.__bench``: ``lines()`` returns what the terminal shows, top to bottom.
# (Built here as source text: the pages' CSP forbids eval.)
DULLAHAN_LINES = """() => {
  const el = document.querySelector('.pane[data-pane="PANE"]');
  return el ? [...el.querySelectorAll('.prows > .row')].map(r => r.textContent) : [];
}"""
WETTY_LINES = """() => {
  const t = window.wetty_term;
  if (!t) return [];
  const b = t.buffer.active, out = [];
  for (let y = 0; y < t.rows; y++) {
    const line = b.getLine(b.viewportY + y);
    out.push(line ? line.translateToString(true) : '');
  }
  return out;
}"""
# Each client's own render hook calls ``__bench.changed()`` when it has drawn: Dullahan's DOM rows (a
# MutationObserver on #screen: it fires right after the client's requestAnimationFrame render), xterm.js's
# ``onRender`` (after it painted rows in its requestAnimationFrame). So both are timed at the animation
# frame that paints the result, by the same rule.
DULLAHAN_HOOK = """() => new MutationObserver(() => window.__bench.changed())
  .observe(document.getElementById('screen'), {childList: true, subtree: true, characterData: true})"""
WETTY_HOOK = """() => window.wetty_term.onRender(() => window.__bench.changed())"""
INSTALL = """() => {
  const b = window.__bench || {};
  window.__bench = b;
  b.lines = LINES;
  b.want = null; b.hitAt = null;
  b.changed = () => {
    if (b.want === null) return;
    const rows = b.lines().map(r => r.trimEnd());
    let hit = false;
    if (b.want === '<seq>') {
      const i = rows.lastIndexOf('100000');
      hit = i >= 0 && i + 1 < rows.length && rows[i + 1].startsWith('$');
    } else {
      hit = rows.includes(b.want);
    }
    if (hit) {
      b.hitAt = performance.now(); b.want = null;
      setTimeout(() => { b.paintAt = performance.now(); }, 0);
    }
  };
  if (!window.__benchHook) {
    window.__benchHook = true;
    (HOOK)();
  }
}"""


# Installed before the page's own scripts (both clients): the keydown's time, and timestamps of the steps
# between it and its echo being drawn, for the breakdown. The key message leaving (``WebSocket.send``), the
# first message after it arriving (before the page's handler runs) and that handler returning; ``changed``
# (the hook above) marks the rows drawn, and a task queued from there runs once the browser has finished that
# rendering update (style, layout, paint on the main thread): "painted".
WS_PROBE = """(() => {
  const p = window.__probe = {sentAt: null, recvAt: null, appliedAt: null, armed: false, keyAt: 0, t0: null};
  // The keydown is timed by the first listener of all (capturing, on window, registered before the page's
  // scripts run), so neither client's own key handling is left out of the time.
  window.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && p.t0 === null) p.t0 = performance.now();
    if (e.key.length === 1) p.keyAt = performance.now();
  }, true);
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (p.armed && p.sentAt === null) p.sentAt = performance.now();
    return send.call(this, data);
  };
  const Orig = window.WebSocket;
  const wrap = (fn) => function (ev) {
    const first = p.armed && p.sentAt !== null && p.recvAt === null;
    if (first) p.recvAt = performance.now();
    try { return fn.call(this, ev); } finally { if (first) p.appliedAt = performance.now(); }
  };
  window.WebSocket = function (...args) {
    const ws = new Orig(...args);
    let handler = null;
    Object.defineProperty(ws, "onmessage", {
      get: () => handler,
      set: (fn) => { handler = fn; Orig.prototype.__lookupSetter__("onmessage").call(ws, fn ? wrap(fn) : null); },
    });
    const add = ws.addEventListener.bind(ws);
    ws.addEventListener = (type, fn, opts) => add(type, type === "message" ? wrap(fn) : fn, opts);
    return ws;
  };
  window.WebSocket.prototype = Orig.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
})();"""


def install_script(lines: str, hook: str) -> str:
    return INSTALL.replace("LINES", lines).replace("HOOK", hook)


ARM = """(want) => {
  const b = window.__bench;
  b.want = want; b.hitAt = null; b.paintAt = null;
  Object.assign(window.__probe, {sentAt: null, recvAt: null, appliedAt: null, armed: true, t0: null});
}"""
# Milliseconds of each step of the last key: keydown -> message sent -> first message back -> handled ->
# drawn -> painted (null where a step was not seen).
STEPS = """() => new Promise((resolve) => {
  const b = window.__bench, p = window.__probe;
  const done = () => {
    p.armed = false;
    const at = [p.keyAt, p.sentAt, p.recvAt, p.appliedAt, b.hitAt, b.paintAt];
    resolve(at.slice(1).map((t, i) => (t === null || at[i] === null) ? null : t - at[i]));
  };
  if (b.paintAt !== null) done(); else setTimeout(done, 20);
})"""
STEP_NAMES = ["key event -> message sent", "sent -> first message back (server, network)",
              "message -> handled (decode, apply)", "handled -> rows drawn (waits for the animation frame)",
              "drawn -> painted (rest of the rendering update)"]
WAIT_HIT = """(since) => new Promise((resolve) => {
  const started = performance.now();
  const poll = () => {
    const b = window.__bench, p = window.__probe;
    if (b.hitAt !== null) { resolve(b.hitAt - (since === 'enter' ? p.t0 : p.keyAt)); return; }
    if (performance.now() - started > 60000) { resolve(-1); return; }
    setTimeout(poll, 5);
  };
  poll();
})"""


async def _dullahan(browser: Any, peer: DullahanPeer, rnd: random.Random) -> dict[str, Any]:
    await peer.start(1)
    server = peer.server
    assert server is not None
    ctx = await browser.new_context(viewport=VIEWPORT)
    await ctx.add_init_script(settings_script(SETTINGS))
    await ctx.add_init_script(WS_PROBE)
    page = await ctx.new_page()
    await page.goto(f"{server.base_url}?token={server.tokens()['master']}")
    await page.wait_for_function("() => window.dullahan && window.dullahan.conn.state === 'open' "
                                 "&& document.querySelector('.pane .row')", timeout=15_000)
    pane = int(await page.evaluate("() => window.dullahan.activePane()"))
    size = await page.evaluate("() => { const l = window.dullahan.replica.layout; "
                               "const w = l.windows.find(w => w.id === l.active); return [w.cols, w.rows]; }")
    await page.evaluate(install_script(DULLAHAN_LINES.replace("PANE", str(pane)), DULLAHAN_HOOK))
    await page.keyboard.type("clear")
    await page.keyboard.press("Enter")
    await asyncio.sleep(0.5)
    seq_ms = await _seq(page)
    # Keystrokes in one pane while the other floods.
    window = await server.acall("new-window", layout="2-col")
    left, right = [p for p in window["panes"] if p]
    await page.wait_for_function(f"() => document.querySelector('.pane[data-pane=\"{right}\"] .row')",
                                 timeout=10_000)
    await asyncio.sleep(0.5)
    await page.click(f'.pane[data-pane="{right}"] .pbody')
    await page.keyboard.type("cat")
    await page.keyboard.press("Enter")
    await page.evaluate(install_script(DULLAHAN_LINES.replace("PANE", str(right)), DULLAHAN_HOOK))
    await asyncio.sleep(0.5)
    idle_steps: list[list[float | None]] = []
    idle = await _type_keys(page, rnd, IDLE_KEYS, idle_steps)
    await page.click(f'.pane[data-pane="{left}"] .pbody')
    await page.keyboard.type(FLOOD)
    await page.keyboard.press("Enter")
    await page.click(f'.pane[data-pane="{right}"] .pbody')
    await asyncio.sleep(1.0)
    flood_steps: list[list[float | None]] = []
    keys = await _type_keys(page, rnd, KEYS, flood_steps)
    await page.click(f'.pane[data-pane="{left}"] .pbody')
    await page.keyboard.press("Control+C")
    await ctx.close()
    return {"seq_seconds": seq_ms / 1000, "keys": keys, "keys_idle": idle, "size": size,
            "steps_idle": idle_steps, "steps_flood": flood_steps}


async def _wetty_page(browser: Any, peer: WettyPeer) -> tuple[Any, Any]:
    ctx = await browser.new_context(viewport=VIEWPORT)
    await ctx.add_init_script(WS_PROBE)
    page = await ctx.new_page()
    await page.goto(f"http://127.0.0.1:{peer.port}/")
    await page.wait_for_function("() => !!window.wetty_term", timeout=15_000)
    await page.evaluate(install_script(WETTY_LINES, WETTY_HOOK))
    await page.wait_for_function("() => window.__bench.lines().some(l => l.startsWith('$'))", timeout=15_000)
    await page.click(".xterm")
    return ctx, page


async def _wetty(browser: Any, peer: WettyPeer, rnd: random.Random) -> dict[str, Any]:
    await peer.start(1)
    ctx, page = await _wetty_page(browser, peer)
    size = await page.evaluate("() => [window.wetty_term.cols, window.wetty_term.rows]")
    await page.keyboard.type("clear")
    await page.keyboard.press("Enter")
    await asyncio.sleep(0.5)
    seq_ms = await _seq(page)
    await page.keyboard.type("cat")
    await page.keyboard.press("Enter")
    await asyncio.sleep(0.5)
    idle_steps: list[list[float | None]] = []
    idle = await _type_keys(page, rnd, IDLE_KEYS, idle_steps)
    # A second page floods; keys go to the first.
    ctx2, flood = await _wetty_page(browser, peer)
    await flood.keyboard.type(FLOOD)
    await flood.keyboard.press("Enter")
    await page.bring_to_front()
    await page.click(".xterm")
    await asyncio.sleep(1.0)
    flood_steps: list[list[float | None]] = []
    keys = await _type_keys(page, rnd, KEYS, flood_steps)
    await flood.keyboard.press("Control+C")
    await ctx2.close()
    await ctx.close()
    return {"seq_seconds": seq_ms / 1000, "keys": keys, "keys_idle": idle, "size": size,
            "steps_idle": idle_steps, "steps_flood": flood_steps}


async def _seq(page: Any) -> float:
    """Milliseconds from Enter on ``seq 1 100000`` to the frame that paints 100000 and the next prompt."""
    await page.keyboard.type("seq 1 100000")
    await page.evaluate(ARM, "<seq>")
    await page.keyboard.press("Enter")
    ms = await asyncio.wait_for(page.evaluate(WAIT_HIT, "enter"), 120)
    if ms < 0:
        raise TimeoutError("seq 1 100000 never finished on the page")
    return float(ms)


async def _type_keys(page: Any, rnd: random.Random, count: int, steps: list[list[float | None]] | None = None,
                     ) -> list[float]:
    out: list[float] = []
    line = ""
    for i in range(count):
        if i and i % 20 == 0:
            await page.keyboard.press("Enter")
            line = ""
            await asyncio.sleep(0.1)
        ch = rnd.choice(string.ascii_lowercase)
        line += ch
        await page.evaluate(ARM, line)
        await page.keyboard.press(ch)
        ms = await asyncio.wait_for(page.evaluate(WAIT_HIT, "key"), 70)
        if ms >= 0:
            out.append(ms / 1000)
            if steps is not None:
                try:   # the breakdown is a side measurement: a page that stops answering must not hang the run
                    steps.append(await asyncio.wait_for(page.evaluate(STEPS), 10))
                except TimeoutError:
                    steps.append([None] * len(STEP_NAMES))
        await asyncio.sleep(rnd.uniform(0.06, 0.10))
    await page.keyboard.press("Enter")
    return out


async def measure(peer: Peer, seed: int = 1) -> dict[str, Any]:
    from playwright.async_api import async_playwright
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing (apt-get install chromium)")
    rnd = random.Random(seed)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            if isinstance(peer, DullahanPeer):
                return await _dullahan(browser, peer, rnd)
            if isinstance(peer, WettyPeer):
                return await _wetty(browser, peer, rnd)
            raise NotImplementedError(f"no browser client for {peer.name}")
        finally:
            await browser.close()
            await peer.stop()

