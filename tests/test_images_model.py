"""Kitty graphics as plain data: PNG headers and limits, unicode-placeholder runs and their geometry, the
storage shares, layers and drawing order, the PNG codec and the encoder's worker. No terminal here (see
test_images.py)."""

from __future__ import annotations

import asyncio
import io
import struct
import threading
import zlib

import pytest
from PIL import Image

from dullahan.images.codec import ImageRefused, content_key, decode_png, encode_image
from dullahan.images.encoder import ImageEncoder
from dullahan.images.model import (
    PLACEHOLDER,
    PLACEHOLDER_DIACRITICS,
    PlaceholderRun,
    drawing_order,
    placeholder_runs,
    png_size,
    refusal,
    storage_per_screen,
    strip_placeholders,
    virtual_grid,
    virtual_piece,
)
from dullahan.log import log
from dullahan.shapes import BELOW_BACKGROUND_Z, RGB_FLAG, ImagePixels, Placement, Row, layer_of
from helpers import run


def png_bytes(im: Image.Image) -> bytes:
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def bare_png(width: int, height: int, idat: bytes = b"") -> bytes:
    """A PNG whose header declares ``width`` x ``height`` and whose data is whatever is given."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def mark(n: int) -> str:
    return chr(PLACEHOLDER_DIACRITICS[n])


def placeholder_row(cells: list[str], sid: int) -> Row:
    """A row of placeholder cells (each a cluster of U+10EEEE and diacritics) in one style."""
    text = "".join(cells)
    cluster_cells: list[int] = []
    for x, cell in enumerate(cells):
        if len(cell) > 1:
            cluster_cells += (x, len(cell), 1)
    return (text, (0, len(cells), sid), tuple(cluster_cells), (), False)


# -- PNG header and limits -------------------------------------------------------------------------------
def test_png_size_reads_the_header_and_rejects_other_data() -> None:
    assert png_size(png_bytes(Image.new("RGB", (37, 5)))) == (37, 5)
    assert png_size(bare_png(9000, 9000)) == (9000, 9000)
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, "GIF")
    assert png_size(gif.getvalue()) is None
    assert png_size(b"<svg xmlns='http://www.w3.org/2000/svg'/>" * 2) is None
    assert png_size(b"\x89PNG\r\n\x1a\n") is None          # signature only


def test_refusal_names_the_limit_that_was_crossed() -> None:
    assert refusal(100, 100, 4, 40_000) is None
    assert "40000-byte" in str(refusal(100, 101, 4, 40_000))
    assert "10000 px" in str(refusal(10_001, 1, 4, 1 << 30))
    assert "not an image" in str(refusal(0, 5, 4, 1 << 30))


def test_storage_share_splits_the_total_and_halves_for_two_screens() -> None:
    mib = 1 << 20
    assert storage_per_screen(64 * mib, 256 * mib, 1) == 32 * mib
    assert storage_per_screen(64 * mib, 256 * mib, 4) == 32 * mib
    assert storage_per_screen(64 * mib, 256 * mib, 8) == 16 * mib
    assert storage_per_screen(64 * mib, 256 * mib, 0) == 32 * mib
    assert storage_per_screen(1, 1, 256) == 1           # never 0: that would turn the protocol off


# -- layers and order ------------------------------------------------------------------------------------
def placement(z: int, image_id: int, placement_id: int = 0) -> Placement:
    return Placement(1, image_id, placement_id, 0, 0, 1, 1, 0, 0, 8, 16, (0, 0, 8, 16), z)


def test_layers_follow_kitty_z_rules() -> None:
    assert layer_of(0) == "above_text" and layer_of(7) == "above_text"
    assert layer_of(-1) == "below_text" and layer_of(BELOW_BACKGROUND_Z) == "below_text"
    assert layer_of(BELOW_BACKGROUND_Z - 1) == "below_bg"


def test_drawing_order_is_z_then_image_id_then_placement() -> None:
    order = drawing_order([placement(5, 1), placement(-3, 9), placement(5, 0, 2), placement(5, 0, 1)])
    assert [(p.z, p.image_id, p.placement_id) for p in order] == [(-3, 9, 0), (5, 0, 1), (5, 0, 2), (5, 1, 0)]


# -- unicode placeholders --------------------------------------------------------------------------------
def test_placeholder_runs_follow_diacritics_and_continue_missing_ones() -> None:
    styles = [(-1, -1, 0, -1), (42, -1, 0, -1), (RGB_FLAG | 0x000102, -1, 0, RGB_FLAG | 7)]
    rows = [
        # Row 0 of image 42: columns 0, 1 given, then two cells without diacritics that continue the run.
        placeholder_row([PLACEHOLDER + mark(0) + mark(0), PLACEHOLDER + mark(0) + mark(1), PLACEHOLDER,
                         PLACEHOLDER], 1),
        # Row 1 (only the row diacritic): starts at column 0; then a cell claiming column 5 starts a new run.
        placeholder_row([PLACEHOLDER + mark(1), PLACEHOLDER, PLACEHOLDER + mark(1) + mark(5)], 1),
        # Truecolour id 0x000102 with high byte 3 and placement 7.
        placeholder_row([PLACEHOLDER + mark(2) + mark(4) + mark(3), PLACEHOLDER], 2),
        ("plain text", (), (), (), False),
    ]
    runs = placeholder_runs(rows, styles, 10)
    assert runs == [
        PlaceholderRun(0, 0, 4, 42, 0, 0, 0),
        PlaceholderRun(1, 0, 2, 42, 0, 1, 0),
        PlaceholderRun(1, 2, 1, 42, 0, 1, 5),
        PlaceholderRun(2, 0, 2, 0x000102 | 3 << 24, 7, 2, 4),
    ]


def test_placeholder_run_breaks_on_another_image_or_text() -> None:
    styles = [(-1, -1, 0, -1), (1, -1, 0, -1), (2, -1, 0, -1)]
    text = PLACEHOLDER + PLACEHOLDER + "x" + PLACEHOLDER + PLACEHOLDER
    row: Row = (text, (0, 2, 1, 3, 1, 1, 4, 1, 2), (), (), False)
    runs = placeholder_runs([row], styles, 10)
    assert [(r.x, r.width, r.image_id, r.image_col) for r in runs] == [(0, 2, 1, 0), (3, 1, 1, 0), (4, 1, 2, 0)]


def test_virtual_grid_defaults_to_the_image_size_in_cells() -> None:
    assert virtual_grid(40, 40, 0, 0, 8, 16) == (5, 3)
    assert virtual_grid(40, 40, 7, 2, 8, 16) == (7, 2)


def test_virtual_piece_centres_the_image_in_its_grid() -> None:
    # A 16x16 image in a 2x2 grid of 8x16 cells (16x32 px): fitted 16x16, centred with 8 px above and below.
    top = virtual_piece(PlaceholderRun(0, 0, 2, 1, 0, 0, 0), 16, 16, 2, 2, 8, 16)
    bottom = virtual_piece(PlaceholderRun(1, 0, 2, 1, 0, 1, 0), 16, 16, 2, 2, 8, 16)
    assert top == (0, 8, 16, 8, (0, 0, 16, 8))
    assert bottom == (0, 0, 16, 8, (0, 8, 16, 8))
    # A wide image (100x20) in 4x4 cells of 10x10 px: scale 0.4, 40x8 centred vertically at y 16..24.
    assert virtual_piece(PlaceholderRun(0, 0, 4, 1, 0, 0, 0), 100, 20, 4, 4, 10, 10) is None
    middle = virtual_piece(PlaceholderRun(1, 0, 4, 1, 0, 1, 0), 100, 20, 4, 4, 10, 10)
    assert middle == (0, 6, 40, 4, (0, 0, 100, 10))
    # One cell of the right half.
    right = virtual_piece(PlaceholderRun(2, 2, 1, 1, 0, 2, 3), 100, 20, 4, 4, 10, 10)
    assert right == (0, 0, 10, 4, (75, 10, 25, 10))


def test_virtual_piece_outside_the_grid_is_nothing() -> None:
    assert virtual_piece(PlaceholderRun(0, 0, 2, 1, 0, 5, 0), 16, 16, 2, 2, 8, 16) is None
    assert virtual_piece(PlaceholderRun(0, 0, 2, 1, 0, 0, 4), 16, 16, 2, 2, 8, 16) is None


def test_strip_placeholders_blanks_them_and_keeps_text() -> None:
    text = "a" + PLACEHOLDER + mark(0) + mark(1) + "b\n" + PLACEHOLDER + PLACEHOLDER + "\nplain"
    assert strip_placeholders(text) == "a b\n\nplain"
    assert strip_placeholders("nothing here") == "nothing here"


# -- codec -----------------------------------------------------------------------------------------------
def test_decode_png_matches_pillow_for_palette_grey_and_alpha() -> None:
    sources = [
        Image.new("P", (9, 7), 3),
        Image.new("LA", (5, 4), (120, 30)),
        Image.new("RGBA", (6, 2), (1, 2, 3, 4)),
        Image.new("I;16", (3, 3), 0x8000),
    ]
    sources[0].putpalette([i % 256 for i in range(768)])
    for im in sources:
        data = png_bytes(im)
        decoded = decode_png(data, 1 << 20)
        expected = Image.open(io.BytesIO(data)).convert("RGBA") if im.mode != "I;16" else \
            Image.new("RGBA", (3, 3), (0x80, 0x80, 0x80, 255))
        assert (decoded.width, decoded.height) == im.size
        assert decoded.rgba == expected.tobytes(), im.mode


def test_decode_png_refuses_over_limits_from_the_header_alone() -> None:
    # The header declares 9000x9000; the data is no image at all. The limit is what refuses it.
    with pytest.raises(ImageRefused, match="exceeds the 1048576-byte limit") as refused:
        decode_png(bare_png(9000, 9000, b"junk"), 1 << 20)
    assert refused.value.limit
    with pytest.raises(ImageRefused, match="10000 px") as refused:
        decode_png(bare_png(10_001, 1, b"junk"), 1 << 40)
    assert refused.value.limit


def test_decode_png_refuses_other_formats_and_broken_data() -> None:
    for fmt in ("GIF", "BMP", "JPEG", "WEBP"):
        out = io.BytesIO()
        Image.new("RGB", (4, 4), (9, 9, 9)).save(out, fmt)
        with pytest.raises(ImageRefused, match="not a PNG") as refused:
            decode_png(out.getvalue(), 1 << 20)
        assert not refused.value.limit
    with pytest.raises(ImageRefused, match="not a PNG"):
        decode_png(b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>', 1 << 20)
    with pytest.raises(ImageRefused, match="broken PNG"):
        decode_png(bare_png(4, 4, b"junk"), 1 << 20)


def test_encode_image_round_trips_and_keys_by_content() -> None:
    rgba = bytes(range(256)) * 4 * 4       # 32x32 with varied alpha
    pixels = ImagePixels(5, 1, "rgba", 32, 32, rgba)
    wire = encode_image(pixels)
    assert wire.mime == "image/png" and (wire.width, wire.height) == (32, 32) and wire.decoded_bytes == 4096
    with Image.open(io.BytesIO(wire.data)) as back:
        assert back.format == "PNG" and back.mode == "RGBA" and back.tobytes() == rgba
    # The key stands for the pixels: the same pixels under another generation or id get the same key.
    assert encode_image(ImagePixels(99, 7, "rgba", 32, 32, rgba)).key == wire.key
    assert content_key(ImagePixels(5, 1, "rgba", 32, 32, rgba[:-1] + b"\x00")) != wire.key
    assert content_key(ImagePixels(5, 1, "rgba", 64, 16, rgba)) != wire.key


def test_encode_image_sends_opaque_rgba_and_grey_compactly() -> None:
    opaque = ImagePixels(1, 1, "rgba", 4, 4, bytes([10, 20, 30, 255]) * 16)
    with Image.open(io.BytesIO(encode_image(opaque).data)) as back:
        assert back.mode == "RGB" and back.convert("RGBA").tobytes() == opaque.data
    grey = ImagePixels(2, 1, "gray", 3, 2, bytes([0, 50, 100, 150, 200, 250]))
    with Image.open(io.BytesIO(encode_image(grey).data)) as back:
        assert back.mode == "L" and back.tobytes() == grey.data
    with pytest.raises(ImageRefused):
        encode_image(ImagePixels(3, 1, "rgb", 4, 4, b"short"))


def test_the_encoder_works_off_the_loop_once_per_image_version_and_holds_back_a_burst(
        monkeypatch: pytest.MonkeyPatch) -> None:
    lines = io.StringIO()
    monkeypatch.setattr(log, "_out", lines)
    threads: set[str] = set()
    real_encode = encode_image

    def encode_and_note(pixels: ImagePixels) -> object:
        threads.add(threading.current_thread().name)
        return real_encode(pixels)
    monkeypatch.setattr("dullahan.images.encoder.encode_image", encode_and_note)

    async def main() -> None:
        ready = asyncio.Event()
        encoder = ImageEncoder(asyncio.get_running_loop(), ready.set, max_pending=2, max_decoded=64 * 64 * 4)
        images = [ImagePixels(g, 1, "rgba", 32, 32, bytes([g]) * 4096) for g in (1, 2, 3)]
        assert [encoder.encoded(p) for p in images] == [None, None, None]   # 3 is held back (two pending)
        assert encoder.encoded(images[0]) is None                          # pending: not queued twice
        while encoder.encoded_count < 2:
            await ready.wait()
            ready.clear()
        first = encoder.encoded(images[0])
        assert first is not None and first.key == content_key(images[0]) and encoder.encoded(images[0]) is first
        assert encoder.encoded(images[2]) is None                          # asked again: queued now
        while encoder.encoded(images[2]) is None:
            await ready.wait()
            ready.clear()
        assert encoder.encoded_count == 3
        big = ImagePixels(9, 5, "rgba", 65, 64, bytes(65 * 64 * 4))        # over what a browser decodes
        assert encoder.encoded(big) is None and encoder.encoded(big) is None
    run(main())
    assert threads and threading.main_thread().name not in threads
    refused = [line for line in lines.getvalue().splitlines() if "not sent to browsers" in line]
    assert len(refused) == 1 and "image=5" in refused[0]

