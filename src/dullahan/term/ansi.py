"""Rows as text with SGR sequences, for ``capture --ansi`` (pure: no FFI).

The rows are the ones the browser draws (``shapes.Row``), so the capture shows what the page shows. Ghostty's
own VT formatter is not used for this: it writes the spaces of never-written cells before it switches style,
so they take the style of the cell before them (``\\e[4mU\\e[10GX`` underlines the gap; upstream
src/terminal/formatter.zig, the row loop's blank-cell run is written ahead of its ``style:`` block).
"""

from __future__ import annotations

from dullahan.shapes import (
    BLINK,
    BOLD,
    FAINT,
    INVERSE,
    INVISIBLE,
    ITALIC,
    OVERLINE,
    RGB_FLAG,
    STRIKE,
    UNDERLINE_SHIFT,
    Row,
    StyleKey,
    StyleTable,
    row_cells,
)

RESET = "\x1b[0m"
_FLAG_PARAMS = ((BOLD, "1"), (FAINT, "2"), (ITALIC, "3"), (BLINK, "5"), (INVERSE, "7"), (INVISIBLE, "8"),
                (STRIKE, "9"), (OVERLINE, "53"))
# Underline kinds as shapes encodes them: 1 single, 2 double, 3 curly, 4 dotted, 5 dashed.
_UNDERLINE_PARAMS = {1: "4", 2: "4:2", 3: "4:3", 4: "4:4", 5: "4:5"}


def _colour(base: int, colour: int) -> str:
    """SGR parameters for a colour: ``base`` 38 (foreground), 48 (background) or 58 (underline)."""
    if colour & RGB_FLAG:
        return f"{base};2;{colour >> 16 & 0xFF};{colour >> 8 & 0xFF};{colour & 0xFF}"
    return f"{base};5;{colour}"


def sgr(style: StyleKey) -> str:
    """The sequence that sets exactly ``style`` (a reset first, so nothing of the previous style remains)."""
    fg, bg, flags, underline_colour = style
    params = ["0"]
    params += [p for bit, p in _FLAG_PARAMS if flags & bit]
    underline = _UNDERLINE_PARAMS.get(flags >> UNDERLINE_SHIFT & 7)
    if underline:
        params.append(underline)
    if fg >= 0:
        params.append(_colour(38, fg))
    if bg >= 0:
        params.append(_colour(48, bg))
    if underline_colour >= 0:
        params.append(_colour(58, underline_colour))
    return "\x1b[" + ";".join(params) + "m"


def styled_line(row: Row, cols: int, styles: StyleTable) -> str:
    """One row as text and SGR, up to its last cell that shows something; the style is reset at its end."""
    text, runs, cells, _links, _wrapped = row
    # Columns [start, end) in one style, the unstyled ones between the runs included.
    segments: list[tuple[int, int, int]] = []
    x = 0
    for i in range(0, len(runs), 3):
        start, n, sid = runs[i], runs[i + 1], runs[i + 2]
        if start > x:
            segments.append((x, start, 0))
        segments.append((start, min(start + n, cols), sid))
        x = start + n
    if cells:
        return _styled_cells(row_cells(row, cols), segments, styles)
    end = max(len(text), segments[-1][1] if segments else 0)   # text has its trailing blanks trimmed
    if not segments or segments[-1][1] < end:
        segments.append((x, end, 0))
    out: list[str] = []
    current = 0
    for start, stop, sid in segments:
        if sid != current:
            current = sid
            out.append(sgr(styles.styles[sid]) if sid else RESET)
        out.append(text[start:stop].ljust(stop - start))
    if current:
        out.append(RESET)
        return "".join(out)
    return "".join(out).rstrip(" ")   # only the unstyled tail: a style ends in its RESET


def _styled_cells(cells: list[tuple[str, int]], segments: list[tuple[int, int, int]], styles: StyleTable) -> str:
    """``styled_line`` for a row with wide characters or clusters: column by column."""
    style_at = [0] * len(cells)
    for start, stop, sid in segments:
        style_at[start:stop] = [sid] * (min(stop, len(cells)) - start)
    last = -1
    for x, (text, width) in enumerate(cells):
        if style_at[x] or (width and text != " "):
            last = x
    out: list[str] = []
    current = 0
    for x in range(last + 1):
        text, width = cells[x]
        if not width:
            continue   # the second column of a wide character
        if style_at[x] != current:
            current = style_at[x]
            out.append(sgr(styles.styles[current]) if current else RESET)
        out.append(text)
    if current:
        out.append(RESET)
    return "".join(out)


def styled_text(rows: list[Row], cols: int, styles: StyleTable) -> str:
    """Rows as lines of text and SGR, trailing rows that show nothing left out (as in the plain capture)."""
    lines = [styled_line(row, cols, styles) for row in rows]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def selected_lines(rows: list[Row], cols: int, start_col: int, end_col: int | None) -> list[tuple[str, bool]]:
    """The text a selection covers, row by row, as the browser copies it (``selection.js``): from ``start_col``
    of the first row to ``end_col`` (inclusive; None: to the end) of the last, each row's trailing blanks
    dropped unless it soft-wraps into the next one, which it then joins (the flag) without a newline. A
    selection starting on the right half of a wide character starts on the character."""
    out: list[tuple[str, bool]] = []
    last = len(rows) - 1
    for i, row in enumerate(rows):
        cells = row_cells(row, cols)
        x0 = max(0, min(start_col, cols - 1)) if i == 0 else 0
        if i == 0 and cols and cells[x0][1] == 0 and x0 > 0:
            x0 -= 1
        x1 = cols
        if i == last and end_col is not None:
            x1 = max(0, min(end_col, cols - 1)) + 1
            if x1 <= cols - 1 and cells[x1][1] == 0:     # the end is the left half of a wide character
                x1 += 1
        text = "".join(cells[x][0] for x in range(x0, x1))
        joins = row[4] and x1 >= cols and i != last
        out.append((text if joins else text.rstrip(" "), joins))
    return out
