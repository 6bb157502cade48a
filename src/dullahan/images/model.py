"""Kitty graphics as plain data: images, placements and the rules that place them, with no FFI behind them.

The terminal adapter (``term/images.py``) reads Ghostty's image storage into these shapes; the wire and its
tests consume them without pyghostty. Geometry is in the terminal's pixels: a placement's pixel sizes refer
to the cell size the terminal was given (``PaneImages.cell``), and a client scales them by its own cell size
over that one, so an image keeps covering the same cells whatever font the page uses.

Unicode placeholders (``U+10EEEE``) are text in the grid: a program prints them where an image should
appear, with the image id in the foreground colour, the placement id in the underline colour, and the row,
column and high byte of the id as combining diacritics. ``placeholder_runs`` finds them in a view's rows;
``virtual_piece`` computes which part of the image one run of them shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dullahan.shapes import RGB_FLAG, Placement, Row, row_cells

# Kitty's (and Ghostty's) cap on either side of an image, for every format.
MAX_IMAGE_DIMENSION = 10_000
# z-index bounds of the layers (kitty): below the cell backgrounds, between them and the text, above the text.
# Ghostty draws every unicode-placeholder run at this z (below the text, above the backgrounds).
PLACEHOLDER_Z = -1
PLACEHOLDER = "\U0010EEEE"
BYTES_PER_PIXEL = {"rgb": 3, "rgba": 4, "gray": 1, "gray_alpha": 2}

# The row/column diacritics of the unicode-placeholder protocol, in order: the index of a diacritic is the
# number it stands for (kitty's rowcolumn-diacritics.txt).
PLACEHOLDER_DIACRITICS: tuple[int, ...] = (
    0x00305, 0x0030D, 0x0030E, 0x00310, 0x00312, 0x0033D, 0x0033E, 0x0033F, 0x00346, 0x0034A, 0x0034B, 0x0034C,
    0x00350, 0x00351, 0x00352, 0x00357, 0x0035B, 0x00363, 0x00364, 0x00365, 0x00366, 0x00367, 0x00368, 0x00369,
    0x0036A, 0x0036B, 0x0036C, 0x0036D, 0x0036E, 0x0036F, 0x00483, 0x00484, 0x00485, 0x00486, 0x00487, 0x00592,
    0x00593, 0x00594, 0x00595, 0x00597, 0x00598, 0x00599, 0x0059C, 0x0059D, 0x0059E, 0x0059F, 0x005A0, 0x005A1,
    0x005A8, 0x005A9, 0x005AB, 0x005AC, 0x005AF, 0x005C4, 0x00610, 0x00611, 0x00612, 0x00613, 0x00614, 0x00615,
    0x00616, 0x00617, 0x00657, 0x00658, 0x00659, 0x0065A, 0x0065B, 0x0065D, 0x0065E, 0x006D6, 0x006D7, 0x006D8,
    0x006D9, 0x006DA, 0x006DB, 0x006DC, 0x006DF, 0x006E0, 0x006E1, 0x006E2, 0x006E4, 0x006E7, 0x006E8, 0x006EB,
    0x006EC, 0x00730, 0x00732, 0x00733, 0x00735, 0x00736, 0x0073A, 0x0073D, 0x0073F, 0x00740, 0x00741, 0x00743,
    0x00745, 0x00747, 0x00749, 0x0074A, 0x007EB, 0x007EC, 0x007ED, 0x007EE, 0x007EF, 0x007F0, 0x007F1, 0x007F3,
    0x00816, 0x00817, 0x00818, 0x00819, 0x0081B, 0x0081C, 0x0081D, 0x0081E, 0x0081F, 0x00820, 0x00821, 0x00822,
    0x00823, 0x00825, 0x00826, 0x00827, 0x00829, 0x0082A, 0x0082B, 0x0082C, 0x0082D, 0x00951, 0x00953, 0x00954,
    0x00F82, 0x00F83, 0x00F86, 0x00F87, 0x0135D, 0x0135E, 0x0135F, 0x017DD, 0x0193A, 0x01A17, 0x01A75, 0x01A76,
    0x01A77, 0x01A78, 0x01A79, 0x01A7A, 0x01A7B, 0x01A7C, 0x01B6B, 0x01B6D, 0x01B6E, 0x01B6F, 0x01B70, 0x01B71,
    0x01B72, 0x01B73, 0x01CD0, 0x01CD1, 0x01CD2, 0x01CDA, 0x01CDB, 0x01CE0, 0x01DC0, 0x01DC1, 0x01DC3, 0x01DC4,
    0x01DC5, 0x01DC6, 0x01DC7, 0x01DC8, 0x01DC9, 0x01DCB, 0x01DCC, 0x01DD1, 0x01DD2, 0x01DD3, 0x01DD4, 0x01DD5,
    0x01DD6, 0x01DD7, 0x01DD8, 0x01DD9, 0x01DDA, 0x01DDB, 0x01DDC, 0x01DDD, 0x01DDE, 0x01DDF, 0x01DE0, 0x01DE1,
    0x01DE2, 0x01DE3, 0x01DE4, 0x01DE5, 0x01DE6, 0x01DFE, 0x020D0, 0x020D1, 0x020D4, 0x020D5, 0x020D6, 0x020D7,
    0x020DB, 0x020DC, 0x020E1, 0x020E7, 0x020E9, 0x020F0, 0x02CEF, 0x02CF0, 0x02CF1, 0x02DE0, 0x02DE1, 0x02DE2,
    0x02DE3, 0x02DE4, 0x02DE5, 0x02DE6, 0x02DE7, 0x02DE8, 0x02DE9, 0x02DEA, 0x02DEB, 0x02DEC, 0x02DED, 0x02DEE,
    0x02DEF, 0x02DF0, 0x02DF1, 0x02DF2, 0x02DF3, 0x02DF4, 0x02DF5, 0x02DF6, 0x02DF7, 0x02DF8, 0x02DF9, 0x02DFA,
    0x02DFB, 0x02DFC, 0x02DFD, 0x02DFE, 0x02DFF, 0x0A66F, 0x0A67C, 0x0A67D, 0x0A6F0, 0x0A6F1, 0x0A8E0, 0x0A8E1,
    0x0A8E2, 0x0A8E3, 0x0A8E4, 0x0A8E5, 0x0A8E6, 0x0A8E7, 0x0A8E8, 0x0A8E9, 0x0A8EA, 0x0A8EB, 0x0A8EC, 0x0A8ED,
    0x0A8EE, 0x0A8EF, 0x0A8F0, 0x0A8F1, 0x0AAB0, 0x0AAB2, 0x0AAB3, 0x0AAB7, 0x0AAB8, 0x0AABE, 0x0AABF, 0x0AAC1,
    0x0FE20, 0x0FE21, 0x0FE22, 0x0FE23, 0x0FE24, 0x0FE25, 0x0FE26, 0x10A0F, 0x10A38, 0x1D185, 0x1D186, 0x1D187,
    0x1D188, 0x1D189, 0x1D1AA, 0x1D1AB, 0x1D1AC, 0x1D1AD, 0x1D242, 0x1D243, 0x1D244,
)
_DIACRITIC_INDEX = {chr(cp): i for i, cp in enumerate(PLACEHOLDER_DIACRITICS)}
_PLACEHOLDER_CLUSTER = re.compile(PLACEHOLDER + "[" + "".join(map(chr, PLACEHOLDER_DIACRITICS)) + "]*")


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """How a terminal treats the kitty graphics protocol.

    ``storage_per_screen`` is Ghostty's storage limit, which applies to the primary and the alternate screen
    each; it is also the largest decoded image a screen accepts (an image larger than its storage is refused
    with ``ENOMEM``). ``file_media`` lets programs transmit images by file name, temporary file or shared
    memory (read by the server, as the server's user); off, only direct (in-band) data is accepted.
    """

    enabled: bool = True
    storage_per_screen: int = 32 << 20
    file_media: bool = False
    max_dimension: int = MAX_IMAGE_DIMENSION


def storage_per_screen(per_pane: int, total: int, panes: int) -> int:
    """Each screen's share of the image budget: a pane gets at most ``per_pane`` bytes and every pane the
    same share of the server's ``total``; a pane has two screens (primary and alternate), each with its own
    storage. Never zero, which would turn the protocol off."""
    pane_share = min(per_pane, total // max(1, panes))
    return max(1, pane_share // 2)


def drawing_order(placements: Iterable[Placement]) -> tuple[Placement, ...]:
    """Bottom to top: by z, then by image id (as Ghostty's renderer), then placement id and position."""
    return tuple(sorted(placements, key=lambda p: (p.z, p.image_id, p.placement_id, p.row, p.col)))


# -- PNG header --------------------------------------------------------------------------------------------
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes | memoryview) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR, or None when ``data`` does not start like a PNG. Read before
    anything is decoded, so that a declared size over a limit is refused without allocating for it."""
    if len(data) < 33 or bytes(data[:8]) != PNG_SIGNATURE or bytes(data[8:16]) != b"\x00\x00\x00\x0dIHDR":
        return None
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    return width, height


def refusal(width: int, height: int, bytes_per_pixel: int, max_bytes: int,
            max_dimension: int = MAX_IMAGE_DIMENSION) -> str | None:
    """Why an image of this size must be refused, or None when it is within the limits."""
    if width <= 0 or height <= 0:
        return f"{width}x{height} pixels is not an image"
    if width > max_dimension or height > max_dimension:
        return f"{width}x{height} pixels exceeds the {max_dimension} px limit"
    size = width * height * bytes_per_pixel
    if size > max_bytes:
        return f"{width}x{height} pixels ({size} bytes decoded) exceeds the {max_bytes}-byte limit"
    return None


# -- unicode placeholders ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PlaceholderRun:
    """Consecutive placeholder cells on one row showing consecutive cells of one image's placement grid."""

    y: int                      # viewport row
    x: int                      # first viewport column
    width: int                  # cells
    image_id: int
    placement_id: int           # 0: any virtual placement of the image
    image_row: int              # the row of the placement grid these cells show
    image_col: int              # its first column


def has_placeholders(lines: Sequence[Row]) -> bool:
    return any(PLACEHOLDER in row[0] for row in lines)


def _color_id(color: int) -> int:
    """An id carried in a colour: a palette index is itself, a truecolour is its 24 bits."""
    if color < 0:
        return 0
    return color & 0xFFFFFF if color & RGB_FLAG else color


def placeholder_runs(lines: Sequence[Row], styles: Sequence[tuple[int, int, int, int]],
                     cols: int) -> list[PlaceholderRun]:
    """The runs of unicode placeholders in a screen's rows (``styles``: the style table's keys by id).

    A cell's diacritics give its row, column and the id's high byte; missing ones continue the cell to the
    left when the image and placement match (kitty's rules), otherwise a new run starts at row 0, column 0.
    """
    runs: list[PlaceholderRun] = []
    for y, row in enumerate(lines):
        if PLACEHOLDER not in row[0]:
            continue
        style_at = _style_ids(row[1])
        # (image_low, placement, row, col, high, start x, width)
        current: list[int] | None = None
        for x, (text, _width) in enumerate(row_cells(row, cols)):
            if not text.startswith(PLACEHOLDER):
                if current is not None:
                    runs.append(_complete(y, current))
                    current = None
                continue
            sid = style_at.get(x, 0)
            fg, _bg, _flags, underline = styles[sid] if 0 <= sid < len(styles) else (-1, -1, 0, -1)
            marks = [_DIACRITIC_INDEX.get(ch) for ch in text[1:4]]
            marks += [None] * (3 - len(marks))
            cell_row, cell_col, high = marks
            if high is not None and high > 255:
                high = None
            low, placement = _color_id(fg), _color_id(underline)
            if current is not None and (
                    current[0] == low and current[1] == placement
                    and (cell_row is None or cell_row == current[2])
                    and (cell_col is None or cell_col == current[3] + current[6])
                    and (high is None or high == current[4])):
                current[6] += 1
                continue
            if current is not None:
                runs.append(_complete(y, current))
            current = [low, placement, cell_row or 0, cell_col or 0, high or 0, x, 1]
        if current is not None:
            runs.append(_complete(y, current))
    return runs


def _complete(y: int, run: list[int]) -> PlaceholderRun:
    low, placement, image_row, image_col, high, x, width = run
    return PlaceholderRun(y, x, width, low | high << 24, placement, image_row, image_col)


def _style_ids(runs: tuple[int, ...]) -> dict[int, int]:
    out: dict[int, int] = {}
    for i in range(0, len(runs), 3):
        x, n, sid = runs[i], runs[i + 1], runs[i + 2]
        for c in range(x, x + n):
            out[c] = sid
    return out


def virtual_grid(image_w: int, image_h: int, cols: int, rows: int, cell_w: int, cell_h: int) -> tuple[int, int]:
    """The cells a virtual placement spans: its ``c``/``r`` when given, else enough cells for the image."""
    if cols <= 0:
        cols = -(-image_w // max(1, cell_w))
    if rows <= 0:
        rows = -(-image_h // max(1, cell_h))
    return cols, rows


def virtual_piece(run: PlaceholderRun, image_w: int, image_h: int, grid_cols: int, grid_rows: int,
                  cell_w: int, cell_h: int) -> tuple[int, int, int, int, tuple[int, int, int, int]] | None:
    """What one run of placeholders shows: ``(x_offset, y_offset, width, height, src)`` in pixels, or None
    when the run falls outside the picture.

    The image is fitted into the placement's grid (``grid_cols`` x ``grid_rows`` cells) keeping its aspect
    ratio, centred; the run shows the part of that fitted picture under its cells.
    """
    if image_w <= 0 or image_h <= 0 or grid_cols <= 0 or grid_rows <= 0 or cell_w <= 0 or cell_h <= 0:
        return None
    box_w, box_h = grid_cols * cell_w, grid_rows * cell_h
    scale = min(box_w / image_w, box_h / image_h)
    fit_x, fit_y = (box_w - image_w * scale) / 2, (box_h - image_h * scale) / 2
    fit_r, fit_b = fit_x + image_w * scale, fit_y + image_h * scale
    run_x, run_y = run.image_col * cell_w, run.image_row * cell_h
    run_r, run_b = run_x + run.width * cell_w, run_y + cell_h
    left, top = max(run_x, fit_x), max(run_y, fit_y)
    right, bottom = min(run_r, fit_r), min(run_b, fit_b)
    width, height = round(right - left), round(bottom - top)
    if width <= 0 or height <= 0:
        return None
    src_x, src_y = round((left - fit_x) / scale), round((top - fit_y) / scale)
    src_w = min(image_w - src_x, round((right - left) / scale))
    src_h = min(image_h - src_y, round((bottom - top) / scale))
    if src_w <= 0 or src_h <= 0:
        return None
    return round(left - run_x), round(top - run_y), width, height, (src_x, src_y, src_w, src_h)


def strip_placeholders(text: str) -> str:
    """Text with every placeholder cell (``U+10EEEE`` and its diacritics) turned into a blank: capture and
    copy show text, never images."""
    if PLACEHOLDER not in text:
        return text
    return "\n".join(_PLACEHOLDER_CLUSTER.sub(" ", line).rstrip(" ") if PLACEHOLDER in line else line
                     for line in text.split("\n"))
