"""Decoding what programs send (PNG only) and encoding what clients get (PNG), with Pillow. No FFI.

Image data from a terminal is untrusted: ``decode_png`` reads the declared size from the header and refuses
an image over the limits before anything is decoded or allocated, accepts nothing but PNG (Pillow is told to
try no other format), and checks that the decoded size is the declared one.

``encode_image`` turns a stored image's pixels into what a client is sent: a PNG (the browser decodes it
natively, off the main thread) under a content hash. Measured on 1 MP images (see the report in
``docs/IMAGES.md``): PNG at zlib level 1 is 30 % smaller than zlib'd RGBA for photos and on a par for
plots and screenshots; level 6 costs four times the CPU for 10 % fewer bytes.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:    # Pillow is imported when the first image arrives: a server without images never loads it
    from PIL import Image

from dullahan.images.model import BYTES_PER_PIXEL, MAX_IMAGE_DIMENSION, png_size, refusal
from dullahan.shapes import ImagePixels, WireImage

__all__ = ["DecodedImage", "ImageRefused", "WireImage", "content_key", "decode_png", "encode_image"]

PNG_LEVEL = 1

_PIL_MODES = {"rgb": "RGB", "rgba": "RGBA", "gray": "L", "gray_alpha": "LA"}


class ImageRefused(ValueError):
    """The data is not an acceptable image; the message says why. ``limit``: it is an image, over a limit
    (as opposed to data that is no image at all)."""

    def __init__(self, message: str, limit: bool = False) -> None:
        super().__init__(message)
        self.limit = limit


@dataclass(frozen=True, slots=True)
class DecodedImage:
    width: int
    height: int
    rgba: bytes = field(repr=False)


def decode_png(data: bytes, max_bytes: int, max_dimension: int = MAX_IMAGE_DIMENSION) -> DecodedImage:
    """RGBA pixels of a PNG, refusing (``ImageRefused``) anything that is not a PNG within the limits."""
    size = png_size(data)
    if size is None:
        raise ImageRefused("not a PNG")
    why = refusal(size[0], size[1], 4, max_bytes, max_dimension)
    if why is not None:
        raise ImageRefused(why, limit=True)
    from PIL import Image
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as im:
            if im.size != size:
                raise ImageRefused(f"PNG header says {size[0]}x{size[1]}, the image is {im.width}x{im.height}")
            rgba = _to_rgba(im).tobytes()
    except ImageRefused:
        raise
    except Exception as e:   # Pillow raises many kinds for broken data (OSError, SyntaxError, ValueError...)
        raise ImageRefused(f"broken PNG: {e}") from None
    if len(rgba) != size[0] * size[1] * 4:
        raise ImageRefused("decoded size differs from the header's")
    return DecodedImage(size[0], size[1], rgba)


def _to_rgba(im: Image.Image) -> Image.Image:
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # 16-bit grey: keep the high byte (Pillow has no direct conversion to RGBA).
        im = im.point(lambda v: v / 256).convert("L") if im.mode != "F" else im.convert("L")
    return im.convert("RGBA")


def content_key(pixels: ImagePixels) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{pixels.format}:{pixels.width}x{pixels.height}:".encode())
    h.update(pixels.data)
    return h.hexdigest()


def encode_image(pixels: ImagePixels, level: int = PNG_LEVEL) -> WireImage:
    """A stored image as PNG for the wire. Fully opaque RGBA is sent as RGB (a quarter fewer bytes to
    compress). Safe to run on a worker thread: it touches nothing but its argument."""
    bpp = BYTES_PER_PIXEL.get(pixels.format)
    if bpp is None or len(pixels.data) != pixels.width * pixels.height * bpp:
        raise ImageRefused(f"{pixels.format} data of {len(pixels.data)} bytes for {pixels.width}x{pixels.height}")
    from PIL import Image
    im = Image.frombytes(_PIL_MODES[pixels.format], (pixels.width, pixels.height), pixels.data)
    if pixels.format == "rgba" and im.getchannel("A").getextrema()[0] == 255:
        im = im.convert("RGB")
    out = io.BytesIO()
    im.save(out, "PNG", compress_level=level)
    return WireImage(content_key(pixels), pixels.width, pixels.height, "image/png", out.getvalue())
