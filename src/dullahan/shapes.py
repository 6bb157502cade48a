"""The data shapes shared by the terminal adapter, the session and the wire, with no FFI behind them.

The terminal adapter (``term/``) produces these from Ghostty; the sync layer (``wire/``) and its tests
consume them without importing pyghostty or numpy. Everything here is plain, immutable data except
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

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dullahan.images_model import PaneImages

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
