"""The data shapes shared by the terminal adapter, the session and the wire, with no FFI behind them.

The terminal adapter (``term/``) produces these from Ghostty; the sync layer (``wire/``) and its tests
consume them without importing pyghostty. Everything here is plain, immutable data except
``StyleTable``, which interns styles.

A row is a plain tuple, hashable and compared by content, so caches can be keyed by what a row *shows*
(Ghostty's own row ids repeat across screens and change on resize; see the notes)::

    (text, runs, cells, links, wrapped)

- ``text``: one codepoint per cell (a grapheme's codepoints for a cluster), wide-character spacer cells
  left out, trailing default blanks trimmed (a reader pads to the terminal width);
- ``runs``: flat ``(x, ncols, style_id)`` triples for cells whose style is not the default;
- ``cells``: flat ``(x, ncodepoints, width)`` triples for cells that are not one codepoint in one column
  (wide characters, grapheme clusters), so a reader can place every cell without guessing widths;
- ``links``: ``(x, ncols, uri)`` triples for OSC 8 hyperlinks;
- ``wrapped``: the row continues on the next one (soft wrap), which copy uses to join lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

Row = tuple[str, tuple[int, ...], tuple[int, ...], tuple[tuple[int, int, str], ...], bool]
StyleKey = tuple[int, int, int, int]   # fg, bg, flags, underline colour

BLANK_ROW: Row = ("", (), (), (), False)
DEFAULT_STYLE: StyleKey = (-1, -1, 0, -1)

# Style flag bits; the underline kind (0 none, 1 single, 2 double, 3 curly, 4 dotted, 5 dashed) sits at bit 8.
BOLD, ITALIC, FAINT, BLINK, INVERSE, INVISIBLE, STRIKE, OVERLINE = (1 << i for i in range(8))
UNDERLINE_SHIFT = 8
RGB_FLAG = 1 << 24   # colour encoding: -1 default, 0..255 palette index, RGB_FLAG | 0xRRGGBB truecolor

# Modes a client needs to know about, as bits of PaneView.modes (and of a frame's ``modes``).
MODE_MOUSE, MODE_ALT_SCREEN, MODE_BRACKETED_PASTE, MODE_FOCUS, MODE_APP_CURSOR = 1, 2, 4, 8, 16


class StyleTable:
    """Styles interned by content into small ids. Id 0 is the default style.

    An id keeps its meaning for one *epoch*. Truecolour output (gradients, image previews) can create
    thousands of styles a second, so once the table holds more than ``capacity`` styles the owner resets it
    (``reset``): a new epoch starts, every row must be read again, and every client drops its cache of
    rows and styles (a frame with ``reset``). Memory stays bounded whatever programs print.
    """

    def __init__(self, capacity: int = 16_384) -> None:
        self.capacity = capacity
        self.epoch = 0
        self.styles: list[StyleKey] = [DEFAULT_STYLE]
        self._ids: dict[StyleKey, int] = {DEFAULT_STYLE: 0}

    def intern(self, key: StyleKey) -> int:
        sid = self._ids.get(key)
        if sid is None:
            sid = self._ids[key] = len(self.styles)
            self.styles.append(key)
        return sid

    @property
    def full(self) -> bool:
        return len(self.styles) > self.capacity

    def reset(self) -> None:
        self.epoch += 1
        self.styles = [DEFAULT_STYLE]
        self._ids = {DEFAULT_STYLE: 0}

    def __len__(self) -> int:
        return len(self.styles)


@dataclass(frozen=True, slots=True)
class Cursor:
    x: int
    y: int
    visible: bool
    blinking: bool
    shape: str           # block, bar, underline, hollow
    wide: bool           # the cursor sits on a wide character


@dataclass(frozen=True, slots=True)
class PaneView:
    """What a pane's screen shows at one moment. Rows are shared with earlier views when unchanged."""

    seq: int
    cols: int
    rows: int
    lines: tuple[Row, ...]
    cursor: Cursor | None
    modes: int
    scrollback: int
    palette: tuple[tuple[int, int], ...]   # (index, 0xRRGGBB) entries that differ from the default palette
    fg: int                                # default colours as 0xRRGGBB, -1 while nobody changed them (OSC 10/11)
    bg: int
    images: PaneImages | None = None       # kitty graphics shown on these rows (None: not read)


# -- kitty graphics (rules and limits: dullahan.images) -----------------------------------------------
BELOW_BACKGROUND_Z = -(1 << 31) // 2


@dataclass(frozen=True, slots=True)
class ImagePixels:
    """A stored image's decoded pixels, as Ghostty keeps them (PNG is already decoded to RGBA).

    ``generation`` is Ghostty's stamp for this content: unique across the process, it changes whenever the
    image is transmitted again, so it identifies the pixels without hashing them.
    """

    generation: int
    image_id: int
    format: str                 # one of BYTES_PER_PIXEL's keys
    width: int
    height: int
    data: bytes = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one image (or a part of it) is drawn, in cells of the viewport and pixels of the terminal.

    ``col``/``row`` is the top-left cell (``row`` is negative for a placement partly scrolled above the
    viewport); the image is drawn ``x_offset``/``y_offset`` pixels into that cell, ``width`` by ``height``
    pixels, from the ``src`` rectangle (x, y, width, height) of the image. ``cols``/``rows`` are the cells it
    covers. A ``virtual`` placement is one run of unicode placeholders (one row high).
    """

    generation: int             # of the image (ImagePixels.generation)
    image_id: int
    placement_id: int
    col: int
    row: int
    cols: int
    rows: int
    x_offset: int
    y_offset: int
    width: int
    height: int
    src: tuple[int, int, int, int]
    z: int
    virtual: bool = False

    @property
    def layer(self) -> str:
        return layer_of(self.z)


@dataclass(frozen=True, slots=True)
class PaneImages:
    """A pane's images at one moment: what to draw, bottom to top, and the pixels it needs."""

    generation: int                          # Ghostty's storage stamp (0: never used)
    cell: tuple[int, int]                    # the terminal's cell size in pixels
    placements: tuple[Placement, ...]        # visible ones, in drawing order
    images: Mapping[int, ImagePixels]        # by generation: every image a visible placement shows
    placed_images: int = 0                   # distinct images with a placement anywhere (also off screen)
    placements_total: int = 0
    placed_bytes: int = 0                    # their decoded size

    @property
    def empty(self) -> bool:
        return not self.placements


NO_IMAGES = PaneImages(0, (0, 0), (), {})


@dataclass(frozen=True, slots=True)
class WireImage:
    """An image as a client gets it (``images.codec.encode_image``): PNG bytes under the hash of its pixels."""

    key: str                    # blake2b-128 of format, size and pixels, hex: the same pixels, the same key
    width: int
    height: int
    mime: str
    data: bytes = field(repr=False)

    @property
    def decoded_bytes(self) -> int:
        """What the image costs a client once decoded (RGBA)."""
        return self.width * self.height * 4


def layer_of(z: int) -> str:
    """Kitty's three layers: ``below_bg`` (under cell backgrounds), ``below_text``, ``above_text``."""
    if z < BELOW_BACKGROUND_Z:
        return "below_bg"
    return "below_text" if z < 0 else "above_text"


class PaneEvent(NamedTuple):
    """Something a program did that each client is told about once: a notification or a clipboard write."""

    seq: int        # per pane, increasing from 1
    kind: str       # "notify" (OSC 9/777) | "clip" (OSC 52)
    title: str      # notify: the title; clip: the clipboard (c, s or p)
    body: str       # notify: the body; clip: the text


@dataclass(frozen=True, slots=True)
class PaneEvents:
    """A pane's recent events (the last few, oldest first) and its bell count, as one value."""

    bells: int
    log: tuple[PaneEvent, ...]

    @property
    def last_seq(self) -> int:
        return self.log[-1].seq if self.log else 0


@dataclass(frozen=True, slots=True)
class KeyEvent:
    """A browser ``KeyboardEvent``: ``code`` is the physical key, ``key`` what it means or types."""

    code: str
    key: str
    action: str = "press"   # "press" | "repeat" | "release"
    shift: bool = False
    ctrl: bool = False
    alt: bool = False
    meta: bool = False


@dataclass(frozen=True, slots=True)
class MouseEvent:
    """A pointer press, release or motion at a cell of the pane (0-based)."""

    action: str             # "press" | "release" | "motion"
    button: int | None      # browser numbering: 0 left, 1 middle, 2 right, 3 back, 4 forward; None: no button
    x: int
    y: int
    shift: bool = False
    ctrl: bool = False
    alt: bool = False
    meta: bool = False


@dataclass(frozen=True, slots=True)
class WheelEvent:
    """Wheel movement in rows (``dy``, negative is up) and columns (``dx``, negative is left) at a cell."""

    dy: int
    dx: int
    x: int
    y: int
    shift: bool = False
    ctrl: bool = False
    alt: bool = False
    meta: bool = False


def row_cells(row: Row, cols: int) -> list[tuple[str, int]]:
    """A row as (text, width) per cell position, padded to ``cols``: the reference layout for tests and capture."""
    text, _runs, cells, _links, _wrapped = row
    special = {cells[j]: (cells[j + 1], cells[j + 2]) for j in range(0, len(cells), 3)}
    out: list[tuple[str, int]] = []
    pos = 0
    x = 0
    while x < cols:
        if pos >= len(text):
            out.append((" ", 1))
            x += 1
            continue
        n, w = special.get(x, (1, 1))
        w = min(w, cols - x)   # a wide character can be left in the last column by a resize: clip it
        out.append((text[pos:pos + n], w))
        pos += n
        if w == 2:
            out.append(("", 0))
        x += w
    return out[:cols]
