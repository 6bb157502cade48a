// Text selection in cell coordinates, pure: which cells a drag, double-click or triple-click selects,
// and the text they hold (soft-wrapped rows join without a newline). The renderer draws the ranges.

import { cellAt, cellsText, wordAt } from "./rows.js";

/** @typedef {import("./sync.js").Row} Row */

/**
 * @typedef {object} Selection
 * @property {number} pane
 * @property {[number, number]} anchor   x, y where the selection started
 * @property {[number, number]} head     x, y where it ends now
 * @property {"char" | "word" | "line"} mode
 */

/**
 * Start and end cells (inclusive), in reading order, widened to whole words or lines by the mode.
 * @param {Selection} sel
 * @param {Array<Row | undefined>} lines
 * @param {number} cols
 * @returns {{start: [number, number], end: [number, number]}}
 */
export function bounds(sel, lines, cols) {
  let [a, b] = [sel.anchor, sel.head];
  if (a[1] > b[1] || (a[1] === b[1] && a[0] > b[0])) [a, b] = [b, a];
  /** @type {[number, number]} */
  let start = [a[0], a[1]];
  /** @type {[number, number]} */
  let end = [b[0], b[1]];
  if (sel.mode === "word") {
    start = [wordAt(lines[a[1]], cols, a[0])[0], a[1]];
    end = [wordAt(lines[b[1]], cols, b[0])[1] - 1, b[1]];
  } else if (sel.mode === "line") {
    let y0 = a[1];
    let y1 = b[1];
    while (y0 > 0 && lines[y0 - 1]?.wrapped) y0--;
    while (y1 + 1 < lines.length && lines[y1]?.wrapped) y1++;
    start = [0, y0];
    end = [cols - 1, y1];
  }
  // A selection starting on the right half of a wide character starts on the character.
  start[0] = cellAt(lines[start[1]], cols, start[0]).x;
  return { start, end };
}

/**
 * The selected columns of each row: [y, x0, x1) ranges.
 * @param {Selection} sel
 * @param {Array<Row | undefined>} lines
 * @param {number} cols
 * @returns {Array<[number, number, number]>}
 */
export function ranges(sel, lines, cols) {
  const { start, end } = bounds(sel, lines, cols);
  /** @type {Array<[number, number, number]>} */
  const out = [];
  for (let y = Math.max(0, start[1]); y <= end[1] && y < Math.max(lines.length, end[1] + 1); y++) {
    const x0 = y === start[1] ? start[0] : 0;
    let x1 = y === end[1] ? end[0] + 1 : cols;
    if (y === end[1]) {
      const c = cellAt(lines[y], cols, end[0]);
      x1 = Math.max(x1, c.x + c.width);
    }
    if (x1 > x0) out.push([y, x0, Math.min(cols, x1)]);
  }
  return out;
}

/**
 * The selected text. Rows end with a newline unless they soft-wrap into the next; trailing blanks of a
 * row are dropped.
 * @param {Selection} sel
 * @param {Array<Row | undefined>} lines
 * @param {number} cols
 */
export function selectionText(sel, lines, cols) {
  const parts = ranges(sel, lines, cols);
  let out = "";
  parts.forEach(([y, x0, x1], i) => {
    const row = lines[y];
    let s = row ? cellsText(row, cols, x0, x1) : "";
    const last = i === parts.length - 1;
    const joins = row?.wrapped && x1 >= cols && !last;
    if (!joins) s = s.replace(/ +$/, "");
    out += s;
    if (!last && !joins) out += "\n";
  });
  return out;
}

/**
 * True when the selection covers nothing yet (a click without a drag).
 * @param {Selection} sel
 */
export function isEmpty(sel) {
  return sel.mode === "char" && sel.anchor[0] === sel.head[0] && sel.anchor[1] === sel.head[1];
}
