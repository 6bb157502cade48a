"""Draws the web app's icons into src/dullahan/web/icons/: a window split into panes with a prompt, as an SVG
and as PNGs (180 for iOS, 192 and 512 for the manifest, and a 512 "maskable" one whose drawing keeps to the
safe zone that launchers may crop to a circle).

    .venv/bin/python scripts/make_icons.py [--out DIR]

The PNGs are drawn four times larger and scaled down (Pillow), so edges are smooth.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
BACKGROUND = "#17181b"
ACCENT = "#4c8dff"
TEXT = "#d8d8d8"
MUTED = "#6b6e76"
UNIT = 512          # the drawing's coordinates
SUPERSAMPLE = 4
# Maskable icons may be cropped to a circle of 40 % of their size around the centre: shrink the drawing.
MASKABLE_SCALE = 0.78


@dataclass(frozen=True)
class Shape:
    kind: str                            # "rect" (filled), "frame" (stroked rect), "line"
    points: tuple[float, ...]            # rect/frame: x0, y0, x1, y1; line: x, y, x, y ...
    colour: str
    width: float = 0.0                   # stroke width
    radius: float = 0.0                  # corner radius


SHAPES = (
    Shape("frame", (84, 116, 428, 396), ACCENT, 18, 26),
    Shape("line", (300, 125, 300, 387), ACCENT, 14),
    Shape("line", (300, 256, 419, 256), ACCENT, 14),
    Shape("line", (128, 206, 172, 244, 128, 282), ACCENT, 20),       # the prompt's chevron
    Shape("rect", (188, 266, 246, 284), TEXT),                       # the cursor
    Shape("line", (330, 170, 396, 170), MUTED, 12),                  # text in the other panes
    Shape("line", (330, 204, 376, 204), MUTED, 12),
    Shape("line", (330, 310, 400, 310), MUTED, 12),
    Shape("line", (330, 344, 370, 344), MUTED, 12),
)


def transform(shape: Shape, scale: float) -> Shape:
    centre = UNIT / 2
    pts = tuple(centre + (v - centre) * scale for v in shape.points)
    return Shape(shape.kind, pts, shape.colour, shape.width * scale, shape.radius * scale)


def shapes_for(maskable: bool) -> list[Shape]:
    return [transform(s, MASKABLE_SCALE) if maskable else s for s in SHAPES]


def draw_png(size: int, maskable: bool) -> Image.Image:
    big = size * SUPERSAMPLE
    k = big / UNIT
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    if maskable:
        d.rectangle((0, 0, big, big), fill=BACKGROUND)
    else:
        d.rounded_rectangle((0, 0, big - 1, big - 1), radius=96 * k, fill=BACKGROUND)
    for s in shapes_for(maskable):
        p = [v * k for v in s.points]
        if s.kind == "rect":
            d.rectangle(p, fill=s.colour)
        elif s.kind == "frame":
            d.rounded_rectangle(p, radius=s.radius * k, outline=s.colour, width=round(s.width * k))
        else:
            w = s.width * k
            d.line(p, fill=s.colour, width=round(w), joint="curve")
            for x, y in ((p[0], p[1]), (p[-2], p[-1])):   # round caps
                d.ellipse((x - w / 2, y - w / 2, x + w / 2, y + w / 2), fill=s.colour)
    return img.resize((size, size), Image.Resampling.LANCZOS)


def svg() -> str:
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {UNIT} {UNIT}">',
             f'<rect width="{UNIT}" height="{UNIT}" rx="96" fill="{BACKGROUND}"/>']
    for s in SHAPES:
        p = s.points
        if s.kind == "rect":
            parts.append(f'<rect x="{p[0]:g}" y="{p[1]:g}" width="{p[2] - p[0]:g}" height="{p[3] - p[1]:g}" '
                         f'fill="{s.colour}"/>')
        elif s.kind == "frame":
            inset = s.width / 2   # Pillow strokes inside the box; SVG strokes on its edge
            parts.append(f'<rect x="{p[0] + inset:g}" y="{p[1] + inset:g}" width="{p[2] - p[0] - s.width:g}" '
                         f'height="{p[3] - p[1] - s.width:g}" rx="{s.radius:g}" fill="none" stroke="{s.colour}" '
                         f'stroke-width="{s.width:g}"/>')
        else:
            pts = " ".join(f"{p[i]:g},{p[i + 1]:g}" for i in range(0, len(p), 2))
            parts.append(f'<polyline points="{pts}" fill="none" stroke="{s.colour}" stroke-width="{s.width:g}" '
                         'stroke-linecap="round" stroke-linejoin="round"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "src" / "dullahan" / "web" / "icons")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "icon.svg").write_text(svg())
    for size in (180, 192, 512):
        draw_png(size, maskable=False).save(args.out / f"icon-{size}.png", optimize=True)
    draw_png(512, maskable=True).save(args.out / "icon-maskable-512.png", optimize=True)
    print(f"wrote icons to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
