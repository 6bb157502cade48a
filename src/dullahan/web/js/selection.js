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

/**
 * The selection of one page: where it is, its text, and when it ends. Pure: drawing goes through `draw`.
 * Output over the selected rows ends it (its text would no longer be what is shown).
 */
export class Selector {
  /**
   * @param {(pane: number) => {cols: number, ids: number[]} | undefined} paneState
   * @param {(pane: number) => Array<Row | undefined>} lines
   * @param {(pane: number, ranges: Array<[number, number, number]>) => void} draw
   */
  constructor(paneState, lines, draw) {
    this.paneState = paneState;
    this.lines = lines;
    this.draw = draw;
    /** @type {Selection | null} */
    this.sel = null;
    this.text = "";
    /** @type {number[]} ids of the selected rows when the selection was made */
    this.ids = [];
    this.from = 0;
  }

  /**
   * @param {number} pane
   * @param {number} x
   * @param {number} y
   * @param {"char" | "word" | "line"} mode
   */
  start(pane, x, y, mode) {
    if (this.sel && this.sel.pane !== pane) this.clear();
    this.sel = { pane, anchor: [x, y], head: [x, y], mode };
    this.update();
  }

  /**
   * @param {number} x
   * @param {number} y
   */
  move(x, y) {
    const sel = this.sel;
    if (!sel || (sel.head[0] === x && sel.head[1] === y)) return;
    sel.head = [x, y];
    this.update();
  }

  /** The mouse button went up: true when something is selected. */
  end() {
    if (!this.sel || isEmpty(this.sel)) {
      this.clear();
      return false;
    }
    return true;
  }

  update() {
    const sel = this.sel;
    const st = sel ? this.paneState(sel.pane) : undefined;
    if (!sel || !st) return;
    if (isEmpty(sel)) {
      this.draw(sel.pane, []);
      this.text = "";
      return;
    }
    const lines = this.lines(sel.pane);
    this.draw(sel.pane, ranges(sel, lines, st.cols));
    this.text = selectionText(sel, lines, st.cols);
    const { start, end } = bounds(sel, lines, st.cols);
    this.ids = st.ids.slice(start[1], end[1] + 1);
    this.from = start[1];
  }

  /**
   * A pane changed: end the selection if its rows did.
   * @param {number} pane
   */
  paneChanged(pane) {
    const sel = this.sel;
    if (!sel || sel.pane !== pane || isEmpty(sel)) return;
    const st = this.paneState(pane);
    const now = st ? st.ids.slice(this.from, this.from + this.ids.length) : [];
    if (now.length !== this.ids.length || now.some((id, i) => id !== this.ids[i])) this.clear();
  }

  clear() {
    if (this.sel) this.draw(this.sel.pane, []);
    this.sel = null;
    this.text = "";
    this.ids = [];
  }
}
