"""What a 1 MP image costs on the wire: encodings (PNG levels, zlib'd RGBA) and the two ways to carry the
bytes (base64 in a JSON text message, or a binary WebSocket frame), measured on the server (Python) and in
headless Chromium (decoding).

    python -m bench.images_wire [IMAGE ...]     # default: three synthetic 1 MP images

Images given on the command line are resized to about 1 MP. Prints a table; asserts nothing.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from PIL import Image, ImageDraw, ImageFilter

from dullahan.testing.browser import CHROMIUM, CHROMIUM_ARGS

RUNS = 5


def best_ms(fn: Callable[[], Any], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def synthetic() -> dict[str, Image.Image]:
    """A photo-like picture (smooth shapes, grain), a plot (lines on white) and a screenshot-like one (text)."""
    size = (1224, 816)
    photo = Image.radial_gradient("L").resize(size).convert("RGB")
    photo = Image.merge("RGB", (photo.getchannel(0), Image.linear_gradient("L").resize(size),
                                photo.getchannel(0).rotate(90, expand=False)))
    grain = Image.effect_noise(size, 24).convert("RGB")
    photo = Image.blend(photo, grain, 0.25).filter(ImageFilter.GaussianBlur(0.6))
    plot = Image.new("RGB", (1000, 1000), "white")
    d = ImageDraw.Draw(plot)
    for i in range(0, 1000, 50):
        d.line([(i, 0), (i, 1000)], fill=(230, 230, 230))
        d.line([(0, i), (1000, i)], fill=(230, 230, 230))
    for k in range(6):
        points = [(x, 500 + ((x * (k + 1)) % 400) - 200) for x in range(0, 1000, 7)]
        d.line(points, fill=(40 * k, 90, 200 - 30 * k), width=2)
    screen = Image.new("RGB", (1000, 1000), (18, 18, 20))
    d = ImageDraw.Draw(screen)
    for y in range(0, 1000, 14):
        d.text((6, y), f"{y:5d}  def function_{y}(argument): return argument * {y} # comment", fill=(200, 200, 190))
    return {"photo": photo, "plot": plot, "screenshot": screen}


def from_files(paths: list[str]) -> dict[str, Image.Image]:
    out = {}
    for p in paths:
        im = Image.open(p).convert("RGB")
        scale = (1_000_000 / (im.width * im.height)) ** 0.5
        out[Path(p).stem] = im.resize((round(im.width * scale), round(im.height * scale)))
    return out


def server_side(name: str, im: Image.Image) -> dict[str, Any]:
    rgba = im.convert("RGBA").tobytes()
    row: dict[str, Any] = {"image": name, "size": f"{im.width}x{im.height}", "rgba_kb": len(rgba) // 1000}
    row["hash_ms"] = best_ms(lambda: hashlib.blake2b(rgba, digest_size=16).digest())
    for level in (1, 6):
        def encode(level: int = level) -> bytes:
            out = io.BytesIO()
            im.save(out, "PNG", compress_level=level)
            return out.getvalue()
        png = encode()
        row[f"png{level}_kb"] = len(png) // 1000
        row[f"png{level}_ms"] = best_ms(encode, 3)
    row["zlib1_kb"] = len(zlib.compress(rgba, 1)) // 1000
    row["zlib1_ms"] = best_ms(lambda: zlib.compress(rgba, 1), 3)
    out = io.BytesIO()
    im.save(out, "PNG", compress_level=1)
    png = out.getvalue()
    b64 = base64.b64encode(png).decode()
    header = orjson.dumps({"t": "img", "k": "0" * 32, "m": "image/png", "w": im.width, "h": im.height})
    row["text_kb"] = len(orjson.dumps({"t": "img", "k": "0" * 32, "m": "image/png", "w": im.width,
                                       "h": im.height, "d": b64})) // 1000
    row["text_ms"] = best_ms(lambda: orjson.dumps({"t": "img", "k": "0" * 32, "m": "image/png", "w": im.width,
                                                   "h": im.height, "d": base64.b64encode(png).decode()}))
    row["binary_kb"] = (4 + len(header) + len(png)) // 1000
    row["binary_ms"] = best_ms(lambda: len(header).to_bytes(4, "big") + header + png)
    row["_png"], row["_zlib"], row["_rgba_len"] = png, zlib.compress(rgba, 1), len(rgba)
    return row


BROWSER_JS = """
async ([b64, zlibB64, width, height, runs]) => {
  const best = async (fn) => { let t = Infinity; for (let i = 0; i < runs; i++) { const s = performance.now();
    await fn(); t = Math.min(t, performance.now() - s); } return t; };
  const text = JSON.stringify({t: "img", k: "0".repeat(32), m: "image/png", w: width, h: height, d: b64});
  const fromText = () => {
    const bin = atob(JSON.parse(text).d);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  };
  const png = fromText();
  const frame = new Uint8Array(png.length + 100); frame.set(png, 100);
  const fromBinary = () => new Uint8Array(frame.buffer, 100);
  const decodePng = async () => (await createImageBitmap(new Blob([png], {type: "image/png"}))).close();
  const z = Uint8Array.from(atob(zlibB64), (c) => c.charCodeAt(0));
  const inflateRgba = async () => {
    const raw = new Uint8Array(await new Response(new Blob([z]).stream()
      .pipeThrough(new DecompressionStream("deflate"))).arrayBuffer());
    (await createImageBitmap(new ImageData(new Uint8ClampedArray(raw.buffer), width, height))).close();
  };
  return {text_ms: await best(fromText), binary_ms: await best(fromBinary), png_decode_ms: await best(decodePng),
          zlib_rgba_decode_ms: await best(inflateRgba)};
}
"""


def browser_side(rows: list[dict[str, Any]]) -> None:
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto("about:blank")
        for row in rows:
            w, h = (int(v) for v in row["size"].split("x"))
            got = page.evaluate(BROWSER_JS, [base64.b64encode(row["_png"]).decode(),
                                             base64.b64encode(row["_zlib"]).decode(), w, h, RUNS])
            row.update({f"browser_{k}": v for k, v in got.items()})
        browser.close()


def main(argv: list[str]) -> None:
    images = from_files(argv) if argv else synthetic()
    rows = [server_side(name, im) for name, im in images.items()]
    try:
        browser_side(rows)
    except Exception as e:   # no Chromium here: the server-side numbers still stand
        print(f"(browser side skipped: {e})", file=sys.stderr)
    for row in rows:
        for k in [k for k in row if k.startswith("_")]:
            del row[k]
    keys = list(rows[0])
    print(json.dumps(rows, indent=1))
    print("\n| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(f"{row.get(k):.1f}" if isinstance(row.get(k), float) else str(row.get(k))
                                for k in keys) + " |")
    print(f"\nmedian PNG-1 size / RGBA: {statistics.median(r['png1_kb'] / r['rgba_kb'] for r in rows):.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
