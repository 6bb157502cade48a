// A row payload as cells and as the pieces the renderer turns into spans. Pure: no DOM.
//
// Layout rules (PROTOCOL.md, "Row payload"): walk the text by codepoints; at a column listed in `cells`
// take `ncodepoints` codepoints as one cell of `width` columns, elsewhere one codepoint is one column.
// Wide characters and clusters become a piece of their own with a fixed width, so a glyph that the font
// draws wider or narrower can never shift the rest of the row. Unicode-placeholder cells (kitty graphics:
// U+10EEEE) are drawn and copied as blanks: the image drawn over them stands for them.

import { isPlaceholder } from "./images.js";

/** @typedef {import("./sync.js").Row} Row */

/**
 * A stretch of a row drawn as one span: narrow cells of one style and link, or one wide/cluster cell.
 * @typedef {object} Piece
 * @property {number} x        first column
 * @property {number} cols     width in columns
 * @property {string} text
 * @property {number} sid      style id (0 = default)
 * @property {string | null} link  the OSC 8 URI, or a URL found in the text (untrusted; check with safeHref before use)
 * @property {boolean} auto    the link is a URL found in the text (links.js), not an OSC 8 link
 * @property {boolean} wide    a single wide character or grapheme cluster
 */

/** @typedef {[string, number]} Cell  text and width (0 for the spacer right of a wide character) */

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * True when the row is plain printable ASCII in the default style: it can be drawn as one text node.
 * @param {Row} row
 */
export function isPlain(row) {
  return row.runs.length === 0 && row.cells.length === 0 && row.links.length === 0 && PRINTABLE_ASCII.test(row.text);
}

/**
 * The row as one [text, width] per column, padded with blanks to `cols` (the reference layout,
 * identical to term/screen.py's row_cells).
 * @param {Row} row
 * @param {number} cols
 * @returns {Cell[]}
 */
export function rowCells(row, cols) {
  /** @type {Map<number, [number, number]>} */
  const special = new Map();
  const c = row.cells;
  for (let j = 0; j + 2 < c.length; j += 3) special.set(c[j], [c[j + 1], c[j + 2]]);
  const cps = Array.from(row.text);
  /** @type {Cell[]} */
  const out = [];
  let pos = 0;
  let x = 0;
  while (x < cols) {
    if (pos >= cps.length) {
      out.push([" ", 1]);
      x += 1;
      continue;
    }
    const [n, w] = special.get(x) ?? [1, 1];
    out.push([cps.slice(pos, pos + n).join(""), w]);
    pos += n;
    if (w === 2) out.push(["", 0]);
    x += Math.max(1, w);
  }
  return out.slice(0, cols);
}

/**
 * Style id per column (0 where no run covers it).
 * @param {Row} row
 * @param {number} cols
 * @returns {Int32Array}
 */
export function styleColumns(row, cols) {
  const out = new Int32Array(cols);
  const r = row.runs;
  for (let j = 0; j + 2 < r.length; j += 3) {
    const end = Math.min(cols, r[j] + r[j + 1]);
    for (let x = Math.max(0, r[j]); x < end; x++) out[x] = r[j + 2];
  }
  return out;
}

/**
 * The pieces of a row, left to right, up to the last column that has text, a style or a link.
 * Columns after that are blank in the default style (the pane's background shows through).
 * @param {Row} row
 * @param {number} cols
 * @param {Array<[number, number, string]>} [found]  URLs found in the text (`links.rowUrls`); OSC 8 links win
 * @returns {Piece[]}
 */
export function rowPieces(row, cols, found = []) {
  const cells = rowCells(row, cols);
  const styles = styleColumns(row, cols);
  /** @type {Array<string | null>} */
  const links = new Array(cols).fill(null);
  const auto = new Uint8Array(cols);
  let end = 0;
  for (const [x, n, uri] of row.links) {
    for (let i = Math.max(0, x); i < Math.min(cols, x + n); i++) links[i] = uri;
    end = Math.max(end, x + n);
  }
  for (const [x, n, uri] of found) {
    for (let i = Math.max(0, x); i < Math.min(cols, x + n); i++) {
      if (links[i] === null) {
        links[i] = uri;
        auto[i] = 1;
      }
    }
  }
  for (let j = 0; j + 2 < row.runs.length; j += 3) end = Math.max(end, row.runs[j] + row.runs[j + 1]);
  end = Math.max(end, textColumns(row));
  end = Math.min(end, cols);
  /** @type {Piece[]} */
  const out = [];
  /** @type {Piece | null} */
  let cur = null;
  for (let x = 0; x < end; x++) {
    const [cellText, w] = cells[x];
    if (w === 0) continue;
    const text = isPlaceholder(cellText) ? " " : cellText;
    const sid = styles[x];
    const link = links[x];
    const wide = w === 2 || text.length > 1 && Array.from(text).length > 1;
    if (!wide && cur !== null && !cur.wide && cur.sid === sid && cur.link === link && cur.x + cur.cols === x) {
      cur.text += text;
      cur.cols += 1;
      continue;
    }
    cur = { x, cols: Math.min(w, cols - x), text, sid, link, auto: auto[x] === 1, wide };
    out.push(cur);
  }
  return out;
}

/**
 * How many columns the row's text covers (wide characters count twice).
 * @param {Row} row
 */
export function textColumns(row) {
  let n = Array.from(row.text).length;
  const c = row.cells;
  for (let j = 0; j + 2 < c.length; j += 3) n += c[j + 2] - c[j + 1];
  return n;
}

/**
 * The text of columns [x0, x1) of a row, spacer cells left out.
 * @param {Row} row
 * @param {number} cols
 * @param {number} x0
 * @param {number} x1
 */
export function cellsText(row, cols, x0, x1) {
  const cells = rowCells(row, cols);
  let s = "";
  for (let x = Math.max(0, x0); x < Math.min(cols, x1); x++) s += isPlaceholder(cells[x][0]) ? " " : cells[x][0];
  return s;
}

/**
 * The cell under column x: its text and width, and the column it starts at (a spacer belongs to the
 * wide character left of it).
 * @param {Row | undefined} row
 * @param {number} cols
 * @param {number} x
 * @returns {{x: number, text: string, width: number}}
 */
export function cellAt(row, cols, x) {
  if (!row || x < 0 || x >= cols) return { x, text: " ", width: 1 };
  const cells = rowCells(row, cols);
  if (cells[x][1] === 0 && x > 0) return { x: x - 1, text: cells[x - 1][0], width: 2 };
  return { x, text: cells[x][0], width: Math.max(1, cells[x][1]) };
}

const WORD_SEPARATORS = new Set(Array.from(" \t()[]{}<>'\"`,;|│"));

/**
 * The columns [x0, x1) of the word around column x (double-click selection). Paths and URLs count as one
 * word: only blanks, brackets, quotes, commas, semicolons and pipes separate words.
 * @param {Row | undefined} row
 * @param {number} cols
 * @param {number} x
 * @returns {[number, number]}
 */
export function wordAt(row, cols, x) {
  if (!row) return [x, x + 1];
  const cells = rowCells(row, cols);
  const kind = (/** @type {number} */ i) => {
    let j = i;
    if (cells[j][1] === 0 && j > 0) j -= 1;
    const t = cells[j][0];
    if (t === " " || t === "") return 0;
    return WORD_SEPARATORS.has(t) ? 1 : 2;
  };
  const k = kind(x);
  if (k === 1) return [x, x + 1];
  let a = x;
  let b = x + 1;
  while (a > 0 && kind(a - 1) === k) a--;
  while (b < cols && kind(b) === k) b++;
  return [a, b];
}

/**
 * A hyperlink target that may become clickable: only http, https and mailto. Returns the normalised URL
 * or null.
 * @param {string | null | undefined} uri
 * @returns {string | null}
 */
export function safeHref(uri) {
  if (typeof uri !== "string" || uri.length === 0 || uri.length > 2048) return null;
  let url;
  try {
    url = new URL(uri);
  } catch {
    return null;
  }
  return url.protocol === "http:" || url.protocol === "https:" || url.protocol === "mailto:" ? url.href : null;
}
