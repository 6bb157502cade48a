"""Kitty graphics end to end: what one picture costs, and what a burst of them does to typing elsewhere.

    python -m bench.images [--runs 5] [--burst-mb 50] [--out FILE | --no-save]

Each run starts a private server (``bash --noprofile --norc``, default image limits) and measures, side by
side:

- *write to paint*: a program in a pane (``cat`` of a file of kitty graphics escapes) writes a 1 MP PNG
  (1224x816, photo-like: the worst case for PNG); the time from its write to the page's canvas showing it,
  in headless Chromium (the same clock on both sides: ``time.time()`` and ``performance.timeOrigin +
  performance.now()``, the page's timestamp taken when the canvas is in the DOM and drawn, the animation
  frame that paints it). With it, the server's CPU time for that picture (from /proc, the server process
  only: parsing the escapes, decoding the PNG into the terminal, encoding it for the wire, sending) and the
  bytes the page received (``conn.bytesIn``: the image message and the frames). Three pictures a run, each new.
- *server path*: the same with a scripted client in place of the page: write to the image message, and to the
  frame that places it.
- *echo during a burst*: a 2-column window; the left pane ``cat``s ``--burst-mb`` MB of PNG data (distinct 1 MP
  pictures, each placed at the top left, so all stay on screen until the terminal's storage evicts the oldest),
  while a scripted client types into ``cat`` in the right pane, keys paced like a fast typist; key to echo
  (frame received), compared with the same client's echoes with nothing else running. Then the same in
  headless Chromium, which also receives and decodes the pictures: keydown to the animation frame that paints
  the echo (figure 5's probe), keys 60–100 ms apart.

Results go to ``docs/bench/images.json``; ``bench/report.py`` makes the images section of docs/BENCHMARKS.md.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import platform
import random
import string
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):   # run as a script: python bench/images.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.path.insert(1, str(Path(__file__).resolve().parent.parent / "src"))
    __package__ = "bench"

from PIL import ImageDraw

from bench.common import Spread
from bench.fig_browser import ARM, DULLAHAN_HOOK, DULLAHAN_LINES, WAIT_HIT, install_script
from bench.images_wire import synthetic
from dullahan.testing.browser import CHROMIUM, CHROMIUM_ARGS, settings_script
from dullahan.testing.client import ScriptedClient
from dullahan.testing.server import SHELL, DullahanServer

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "bench" / "images.json"
PICTURES_PER_RUN = 3
IDLE_KEYS = 50
MAX_BURST_KEYS = 400
PACE = (0.020, 0.030)
SETTINGS = {"theme": "dark", "fontSize": 14, "lineHeight": 1.2, "cursorBlink": "off"}
VIEWPORT = {"width": 1280, "height": 800}

# In the page: the wall-clock time at which a canvas of the given image layer appeared (drawn), once armed.
PAGE_PROBE = """() => {
  const b = window.__img = { armed: false, at: null };
  new MutationObserver(() => {
    if (b.armed && b.at === null && document.querySelector('.pimages canvas[data-key]')) {
      b.at = performance.timeOrigin + performance.now();
    }
  }).observe(document.getElementById('screen'), { childList: true, subtree: true, attributes: true });
}"""


def picture(n: int) -> bytes:
    """A distinct photo-like 1 MP PNG (level 1, as Dullahan encodes): the synthetic photo with a mark of its own."""
    im = synthetic()["photo"]
    d = ImageDraw.Draw(im)
    rnd = random.Random(n)
    d.rectangle((rnd.randrange(1000), rnd.randrange(600), 1223, 815), outline=(rnd.randrange(256), 40, 200), width=9)
    d.text((20, 20), f"picture {n}", fill=(255, 255, 255))
    out = io.BytesIO()
    im.save(out, "PNG", compress_level=1)
    return out.getvalue()


def kitty(png: bytes, image_id: int) -> bytes:
    """Escapes that place ``png`` at the top left without moving the cursor, in 4096-byte chunks (as programs do)."""
    data = base64.b64encode(png).decode()
    chunks = [data[i:i + 4096] for i in range(0, len(data), 4096)]
    control = f"f=100,a=T,i={image_id},C=1,q=2"
    return ("\x1b[H" + "".join(f"\x1b_G{control + ',' if i == 0 else ''}m={int(i < len(chunks) - 1)};{c}\x1b\\"
                               for i, c in enumerate(chunks))).encode()


WRITER = """import os, sys, time
data = open(sys.argv[1], 'rb').read()
stamp = time.time()
view = memoryview(data)
while view:
    view = view[os.write(1, view):]
open(sys.argv[2], 'w').write(repr(stamp))
"""


async def wait_file(path: Path, timeout: float = 60.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return float(path.read_text())
        except (OSError, ValueError):
            await asyncio.sleep(0.01)
    raise TimeoutError(f"{path} was never written")


async def settle(server: DullahanServer, seconds: float = 0.3) -> None:
    """Wait until the server's CPU time stops moving (nothing left to parse, encode or send)."""
    before = server.cpu_seconds()
    while True:
        await asyncio.sleep(seconds)
        now = server.cpu_seconds()
        if now - before < 0.01:
            return
        before = now


async def clear_pane(server: DullahanServer, pane: int, marker: str) -> None:
    await server.acall("send", pane=pane, text=f"clear; echo {marker}", enter=True)
    deadline = time.monotonic() + 20
    while marker not in (await server.acall("capture", pane=pane))["text"].replace(f"echo {marker}", ""):
        if time.monotonic() > deadline:
            raise TimeoutError(f"pane {pane} never showed {marker}")
        await asyncio.sleep(0.05)


async def open_page(browser: Any, server: DullahanServer) -> tuple[Any, Any]:
    """A master page, connected and showing a pane; its context and the page."""
    ctx = await browser.new_context(viewport=VIEWPORT)
    await ctx.add_init_script(settings_script(SETTINGS))
    page = await ctx.new_page()
    await page.goto(f"{server.base_url}?token={server.tokens()['master']}")
    await page.wait_for_function("() => window.dullahan && window.dullahan.conn.state === 'open' "
                                 "&& document.querySelector('.pane .row')", timeout=15_000)
    return ctx, page


async def paint_phase(browser: Any, server: DullahanServer, tmp: Path, first: int) -> list[dict[str, Any]]:
    """Write to paint in Chromium, server CPU and bytes received, for PICTURES_PER_RUN new pictures."""
    out = []
    ctx, page = await open_page(browser, server)
    pane = int(await page.evaluate("() => window.dullahan.activePane()"))
    await page.evaluate(PAGE_PROBE)
    for n in range(first, first + PICTURES_PER_RUN):
        png = picture(n)
        escapes, stamp = tmp / f"paint-{n}.kitty", tmp / f"paint-{n}.time"
        escapes.write_bytes(kitty(png, n))
        await clear_pane(server, pane, f"READY{n}")
        await page.wait_for_function("() => !document.querySelector('.pimages canvas[data-key]')")
        await settle(server)
        await page.evaluate("() => { window.__img.armed = true; window.__img.at = null; }")
        bytes_before = await page.evaluate("() => window.dullahan.conn.bytesIn")
        cpu_before = server.cpu_seconds()
        await server.acall("send", pane=pane, text=f"python3 {tmp / 'writer.py'} {escapes} {stamp}",
                           enter=True)
        painted = await page.wait_for_function("() => window.__img.at", timeout=120_000)
        painted_at = float(await painted.json_value()) / 1000
        written_at = await wait_file(stamp)
        await settle(server)
        out.append({"write_to_paint_ms": (painted_at - written_at) * 1000,
                    "server_cpu_ms": (server.cpu_seconds() - cpu_before) * 1000,
                    "bytes_received": await page.evaluate("() => window.dullahan.conn.bytesIn") - bytes_before,
                    "png_bytes": len(png), "escape_bytes": escapes.stat().st_size})
    await ctx.close()
    return out


async def server_path_phase(server: DullahanServer, tmp: Path, first: int) -> list[dict[str, Any]]:
    """Write to the image message and to the frame placing it, at a scripted client."""
    client = ScriptedClient(server.base_url, server.tokens()["master"], name="images")
    await client.connect()
    out = []
    try:
        (pane,) = await client.wait_layout()
        offset = time.time() - time.perf_counter()          # the client's timestamps are perf_counter()
        for n in range(first, first + PICTURES_PER_RUN):
            escapes, stamp = tmp / f"path-{n}.kitty", tmp / f"path-{n}.time"
            escapes.write_bytes(kitty(picture(n), n))
            await clear_pane(server, pane, f"READY{n}")
            await client.wait_until(lambda p=pane: not client.replica.panes[p].img, 30)
            await settle(server)
            images_before = set(client.replica.images)
            got_image = asyncio.ensure_future(client.wait_until(
                lambda b=images_before: bool(set(client.replica.images) - b), 120))
            placed = asyncio.ensure_future(client.wait_until(
                lambda p=pane, b=images_before: any(r[0] not in b for r in client.replica.panes[p].img), 120))
            await server.acall("send", pane=pane, text=f"python3 {tmp / 'writer.py'} {escapes} {stamp}", enter=True)
            image_at, placed_at = await got_image, await placed
            written_at = await wait_file(stamp)
            out.append({"write_to_image_ms": (image_at + offset - written_at) * 1000,
                        "write_to_frame_ms": (placed_at + offset - written_at) * 1000})
    finally:
        await client.close()
    return out


async def burst_phase(server: DullahanServer, tmp: Path, burst_file: Path, burst_png: int,
                      rnd: random.Random) -> dict[str, Any]:
    window = await server.acall("new-window", layout="2-col")
    left, right = [p for p in window["panes"] if p]
    client = ScriptedClient(server.base_url, server.tokens()["master"], name="typist")
    await client.connect()
    try:
        await client.wait_layout()
        await client.type_text(right, "cat", enter=True)
        await asyncio.sleep(0.5)
        idle = [await echo_key(client, right, rnd) for _ in range(IDLE_KEYS)]
        await client.key(right, "Enter", "Enter")
        await settle(server)
        before = client.totals()
        cpu_before = server.cpu_seconds()
        done = asyncio.ensure_future(client.wait_text(left, "BURST_DONE", 600))
        started = time.perf_counter()
        await client.type_text(left, f'cat {burst_file}; echo BURST_""DONE', enter=True)
        during: list[float] = []
        while not done.done() and len(during) < MAX_BURST_KEYS:
            during.append(await echo_key(client, right, rnd))
        finished = await done
        cpu = server.cpu_seconds() - cpu_before
        after = client.totals()
        return {"idle_ms": [s * 1000 for s in idle], "burst_ms": [s * 1000 for s in during],
                "burst_seconds": finished - started, "burst_png_bytes": burst_png,
                "burst_escape_bytes": burst_file.stat().st_size, "server_cpu_s": cpu,
                "images_received": after.images_in - before.images_in,
                "image_bytes_received": after.image_bytes_in - before.image_bytes_in,
                "frames_received": after.frames_in - before.frames_in}
    finally:
        await client.close()


async def browser_burst_phase(browser: Any, server: DullahanServer, burst_file: Path,
                              rnd: random.Random) -> dict[str, Any]:
    """Keydown to painted echo in the right pane of a page while the left pane bursts, against idle."""
    window = await server.acall("new-window", layout="2-col")
    left, right = [p for p in window["panes"] if p]
    ctx, page = await open_page(browser, server)
    try:
        await page.wait_for_function(f"() => document.querySelector('.pane[data-pane=\"{right}\"] .row')",
                                     timeout=10_000)
        await page.click(f'.pane[data-pane="{right}"] .pbody')
        await page.keyboard.type("cat")
        await page.keyboard.press("Enter")
        await page.evaluate(install_script(DULLAHAN_LINES.replace("PANE", str(right)), DULLAHAN_HOOK))
        await asyncio.sleep(0.5)
        line: list[str] = []
        idle = [await page_echo_key(page, line, rnd) for _ in range(IDLE_KEYS // 2)]
        done = asyncio.ensure_future(wait_capture(server, left, "BURST_DONE"))
        started = time.perf_counter()
        await server.acall("send", pane=left, text=f'cat {burst_file}; echo BURST_""DONE', enter=True)
        during: list[float] = []
        while not done.done():
            during.append(await page_echo_key(page, line, rnd))
        await done
        images = await page.evaluate("() => window.dullahan.replica.images.images.size")
        return {"idle_ms": [s * 1000 for s in idle], "burst_ms": [s * 1000 for s in during],
                "burst_seconds": time.perf_counter() - started, "images_held": images}
    finally:
        await ctx.close()


async def page_echo_key(page: Any, line: list[str], rnd: random.Random) -> float:
    """Seconds from one keydown to the animation frame that paints its echo (figure 5's probe), then a pause
    of 60-100 ms; every 30 keys the line is rubbed out first (Ctrl+U), and the row seen empty again."""
    if len(line) >= 30:
        typed = "".join(line)
        line.clear()
        await page.keyboard.press("Control+U")
        await page.wait_for_function("(typed) => !window.__bench.lines().some((r) => r.trimEnd() === typed)", arg=typed,
                                     timeout=60_000)
    line.append(rnd.choice(string.ascii_lowercase))
    await page.evaluate(ARM, "".join(line))
    await page.keyboard.press(line[-1])
    ms = await asyncio.wait_for(page.evaluate(WAIT_HIT, "key"), 70)
    if ms < 0:
        raise TimeoutError(f"the echo of {''.join(line)!r} was never painted")
    await asyncio.sleep(rnd.uniform(0.06, 0.10))
    return float(ms) / 1000


async def wait_capture(server: DullahanServer, pane: int, marker: str, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while marker not in (await server.acall("capture", pane=pane))["text"]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"pane {pane} never showed {marker}")
        await asyncio.sleep(0.1)


async def echo_key(client: ScriptedClient, pane: int, rnd: random.Random) -> float:
    """Seconds from one key to its echo, then a typist's pause. A line nearly full is erased first (Ctrl+U:
    the terminal's line discipline rubs it out, so the cursor is back at the start of the same row)."""
    cursor = client.cursor(pane)
    if cursor is not None and cursor[0] >= client.replica.panes[pane].cols - 2:
        await client.key(pane, "u", "KeyU", mods=2)
        await client.wait_until(lambda: client.cursor(pane) == (0, cursor[1]), 30)
        await asyncio.sleep(rnd.uniform(*PACE))
    took = await client.echo(pane, rnd.choice(string.ascii_lowercase), 30)
    await asyncio.sleep(rnd.uniform(*PACE))
    return took


async def one_run(run: int, tmp: Path, burst_file: Path, burst_png: int) -> dict[str, Any]:
    from playwright.async_api import async_playwright
    server = await asyncio.to_thread(DullahanServer.start_private, shell=SHELL)
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                await clear_pane(server, 1, "STARTED")
                paint = await paint_phase(browser, server, tmp, 1000 * run)
                path = await server_path_phase(server, tmp, 1000 * run + 100)
                burst = await burst_phase(server, tmp, burst_file, burst_png, random.Random(run))
                page_burst = await browser_burst_phase(browser, server, burst_file, random.Random(run))
            finally:
                await browser.close()
        return {"run": run, "paint": paint, "server_path": path, "burst": burst, "browser_burst": page_burst}
    finally:
        await asyncio.to_thread(server.stop)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def median_of(runs: list[dict[str, Any]], phase: str, key: str) -> Spread:
    """Per run, the median of its pictures; then the median and min–max over the runs."""
    return Spread.of([Spread.of([p[key] for p in r[phase]]).median for r in runs])


def brief(results: dict[str, Any]) -> str:
    runs = results["runs"]
    paint = median_of(runs, "paint", "write_to_paint_ms")
    cpu = median_of(runs, "paint", "server_cpu_ms")
    idle = Spread.of([Spread.of(r["burst"]["idle_ms"]).median for r in runs])
    during = Spread.of([Spread.of(r["burst"]["burst_ms"]).median for r in runs])
    return (f"write to paint {paint.median:.0f} ms ({paint.lo:.0f}–{paint.hi:.0f}), server CPU {cpu.median:.0f} ms; "
            f"echo p50 idle {idle.median:.2f} ms, during the burst {during.median:.2f} ms")


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    runs = []
    with tempfile.TemporaryDirectory(prefix="dullahan-bench-images-") as name:
        tmp = Path(name)
        (tmp / "writer.py").write_text(WRITER)
        burst_file = tmp / "burst.kitty"
        burst_png = 0
        with burst_file.open("wb") as f:
            n = 1
            while burst_png < args.burst_mb * 1_000_000:
                png = picture(10_000 + n)
                burst_png += len(png)
                f.write(kitty(png, n))
                n += 1
        for run in range(1, args.runs + 1):
            print(f"run {run}/{args.runs}", file=sys.stderr, flush=True)
            runs.append(await one_run(run, tmp, burst_file, burst_png))
    return {"measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, load average "
                       f"{load_before:.1f} before and {os.getloadavg()[0]:.1f} after",
            "command": "python -m bench.images " + " ".join(sys.argv[1:]), "burst_mb": args.burst_mb, "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--burst-mb", type=int, default=50)
    parser.add_argument("--out", type=Path, default=OUT, help="where the results go (docs/bench/images.json)")
    parser.add_argument("--no-save", action="store_true", help="print only; write no results")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing (apt-get install chromium)")
    results = asyncio.run(main_async(args))
    print(brief(results))
    if not args.no_save:
        args.out.write_text(json.dumps(results, indent=1) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
