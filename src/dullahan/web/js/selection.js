// Text selection, pure: which cells a drag, double-click, triple-click or Shift+click selects, and the text
// they hold (soft-wrapped rows join without a newline). The renderer draws the ranges.
//
// Cells are [x, row] with rows counted as the server counts them (0 = the oldest history row; the view
// shows rows `sb - offset` … on, see search.js), so a selection stays put while the view scrolls and may
// reach beyond what the page holds. Its text is then the server's (`copy-text`): `needsServer` says which.

import { cellAt, cellsText, wordAt } from "./rows.js";

/** @typedef {import("./sync.js").Row} Row */
/** @typedef {[number, number]} Cell  x, row */

/**
 * @typedef {object} Selection
 * @property {number} pane
 * @property {"char" | "word" | "line"} mode
 * @property {[Cell, Cell]} anchor  first and last cell under the press that started it (a word, a line ...)
 * @property {[Cell, Cell]} head    the same where it ends now
 */

/**
 * What the page shows of a pane: the first row's number, the rows (undefined where the cache lacks one)
 * and their ids, the width.
 * @typedef {{top: number, lines: Array<Row | undefined>, ids: number[], cols: number}} View
 */

/**
 * @param {Cell} a
 * @param {Cell} b
 */
function before(a, b) {
  return a[1] < b[1] || (a[1] === b[1] && a[0] < b[0]);
}

/**
 * The cells a press at (x, y) of the view covers in a mode: the cell (a wide character's two columns), the
 * word, or the line with the rows it soft-wraps into.
 * @param {View} view
 * @param {number} x
 * @param {number} y  row of the view
 * @param {"char" | "word" | "line"} mode
 * @returns {[Cell, Cell]}
 */
export function spanAt(view, x, y, mode) {
  const { lines, cols, top } = view;
  const row = top + y;
  if (mode === "word") {
    const [a, b] = wordAt(lines[y], cols, x);
    return [[a, row], [b - 1, row]];
  }
  if (mode === "line") {
    let y0 = y;
    let y1 = y;
    while (y0 > 0 && lines[y0 - 1]?.wrapped) y0--;
    while (y1 + 1 < lines.length && lines[y1]?.wrapped) y1++;
    return [[0, top + y0], [cols - 1, top + y1]];
  }
  const c = cellAt(lines[y], cols, x);
  return [[c.x, row], [c.x + c.width - 1, row]];
}

/**
 * First and last selected cells (inclusive), in reading order.
 * @param {Selection} sel
 * @returns {{start: Cell, end: Cell}}
 */
export function bounds(sel) {
  const start = before(sel.head[0], sel.anchor[0]) ? sel.head[0] : sel.anchor[0];
  const end = before(sel.anchor[1], sel.head[1]) ? sel.head[1] : sel.anchor[1];
  return { start, end };
}

/**
 * `bounds` in the rows of a view that starts at history row `top` (rows above the view are negative).
 * @param {Selection} sel
 * @param {number} top
 * @returns {{start: Cell, end: Cell}}
 */
export function viewBounds(sel, top) {
  const { start, end } = bounds(sel);
  return { start: [start[0], start[1] - top], end: [end[0], end[1] - top] };
}

/**
 * The selected columns of each row in view: [y, x0, x1) ranges (y a row of the view).
 * @param {Selection} sel
 * @param {number} top   the view's first row
 * @param {number} rows  how many rows it shows
 * @param {number} cols
 * @returns {Array<[number, number, number]>}
 */
export function ranges(sel, top, rows, cols) {
  const { start, end } = bounds(sel);
  /** @type {Array<[number, number, number]>} */
  const out = [];
  for (let r = Math.max(start[1], top); r <= end[1] && r < top + rows; r++) {
    const x0 = r === start[1] ? start[0] : 0;
    const x1 = r === end[1] ? end[0] + 1 : cols;
    if (x1 > x0) out.push([r - top, x0, Math.min(cols, x1)]);
  }
  return out;
}

/**
 * The selected text when the view shows every selected row, else null (the server has the rest). Rows end
 * with a newline unless they soft-wrap into the next; trailing blanks of a row are dropped.
 * @param {Selection} sel
 * @param {View} view
 * @returns {string | null}
 */
export function selectionText(sel, view) {
  const { start, end } = bounds(sel);
  const { top, lines, cols } = view;
  if (start[1] < top || end[1] >= top + lines.length) return null;
  let out = "";
  for (let r = start[1]; r <= end[1]; r++) {
    const row = lines[r - top];
    if (!row) return null;
    const x0 = r === start[1] ? start[0] : 0;
    const x1 = r === end[1] ? Math.min(cols, end[0] + 1) : cols;
    let s = cellsText(row, cols, x0, x1);
    const last = r === end[1];
    const joins = row.wrapped && x1 >= cols && !last;
    if (!joins) s = s.replace(/ +$/, "");
    out += s;
    if (!last && !joins) out += "\n";
  }
  return out;
}

/**
 * True when the selection covers nothing yet (a click without a drag).
 * @param {Selection} sel
 */
export function isEmpty(sel) {
  return sel.mode === "char" && sel.anchor[0][0] === sel.head[0][0] && sel.anchor[0][1] === sel.head[0][1];
}

/**
 * The selection of one page: where it is, its text, and when it ends. Pure: drawing goes through `draw`.
 * Output over the selected rows ends it (its text would no longer be what is shown).
 */
export class Selector {
  /**
   * @param {(pane: number) => View | undefined} view
   * @param {(pane: number, ranges: Array<[number, number, number]>) => void} draw
   */
  constructor(view, draw) {
    this.view = view;
    this.draw = draw;
    /** @type {Selection | null} */
    this.sel = null;
    /** The selected text, once known (the page's rows, or the server's answer for this `generation`). */
    this.text = "";
    /** Changes whenever the selected cells do: an answer from the server is for one generation. */
    this.generation = 0;
    /** @type {Map<number, number>} row → the id it had when seen selected */
    this.seen = new Map();
    /** @type {{pane: number, span: [Cell, Cell]} | null} where the last press was (a Shift+click selects from it) */
    this.pressed = null;
  }

  /**
   * @param {number} pane
   * @param {number} x
   * @param {number} y  row of the view
   * @param {"char" | "word" | "line"} mode
   */
  start(pane, x, y, mode) {
    const view = this.view(pane);
    if (this.sel) this.clear();
    if (!view) return;
    const span = spanAt(view, x, y, mode);
    this.sel = { pane, mode, anchor: span, head: span };
    this.pressed = { pane, span };
    this.update();
  }

  /**
   * The selection's end moves to (x, y) of the view.
   * @param {number} x
   * @param {number} y
   */
  move(x, y) {
    const sel = this.sel;
    const view = sel ? this.view(sel.pane) : undefined;
    if (!sel || !view) return;
    const head = spanAt(view, x, y, sel.mode);
    if (head[0][0] === sel.head[0][0] && head[0][1] === sel.head[0][1] && head[1][0] === sel.head[1][0]
        && head[1][1] === sel.head[1][1]) return;
    sel.head = head;
    this.update();
  }

  /**
   * Shift+click at (x, y): the selection's nearer end moves there (the end beyond which the click is, else
   * the nearer one); with no selection, it selects from the last press.
   * @param {number} pane
   * @param {number} x
   * @param {number} y
   */
  extend(pane, x, y) {
    const view = this.view(pane);
    if (!view) return;
    const sel = this.sel;
    if (!sel || sel.pane !== pane || isEmpty(sel)) {
      const from = this.pressed?.pane === pane ? this.pressed.span : null;
      if (!from) {
        this.start(pane, x, y, "char");
        return;
      }
      this.sel = { pane, mode: "char", anchor: from, head: spanAt(view, x, y, "char") };
    } else {
      const at = spanAt(view, x, y, sel.mode);
      const { start, end } = bounds(sel);
      const towardsStart = before(at[0], start)
        || (!before(end, at[1]) && at[0][1] - start[1] < end[1] - at[0][1]);
      sel.anchor = towardsStart ? [end, end] : [start, start];
      sel.head = at;
    }
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

  hasSelection() {
    return this.sel !== null && !isEmpty(this.sel);
  }

  /**
   * What to ask the server for when the page does not hold every selected row (and the text is not known).
   * @returns {{pane: number, start: Cell, end: Cell, generation: number} | null}
   */
  needsServer() {
    if (!this.hasSelection() || this.text !== "" || !this.sel) return null;
    const { start, end } = bounds(this.sel);
    return { pane: this.sel.pane, start, end, generation: this.generation };
  }

  /**
   * The server's text for a generation of the selection.
   * @param {number} generation
   * @param {string} text
   */
  setServerText(generation, text) {
    if (generation === this.generation && this.hasSelection()) this.text = text;
  }

  update() {
    const sel = this.sel;
    const view = sel ? this.view(sel.pane) : undefined;
    if (!sel || !view) return;
    this.generation++;
    if (isEmpty(sel)) {
      this.draw(sel.pane, []);
      this.text = "";
      return;
    }
    this.redraw(view);
    this.text = selectionText(sel, view) ?? "";
  }

  /**
   * Draw the part in view, and note the ids of the selected rows it shows.
   * @param {View} view
   */
  redraw(view) {
    const sel = /** @type {Selection} */ (this.sel);
    this.draw(sel.pane, ranges(sel, view.top, view.ids.length, view.cols));
    const { start, end } = bounds(sel);
    for (const r of this.seen.keys()) if (r < start[1] || r > end[1]) this.seen.delete(r);
    for (let r = Math.max(start[1], view.top); r <= end[1] && r < view.top + view.ids.length; r++) {
      if (!this.seen.has(r)) this.seen.set(r, view.ids[r - view.top]);
    }
  }

  /**
   * A pane changed (new rows, or its view scrolled): redraw, or end the selection if its rows changed.
   * @param {number} pane
   */
  paneChanged(pane) {
    const sel = this.sel;
    if (!sel || sel.pane !== pane || isEmpty(sel)) return;
    const view = this.view(pane);
    if (!view) {
      this.clear();
      return;
    }
    for (let y = 0; y < view.ids.length; y++) {
      const was = this.seen.get(view.top + y);
      if (was !== undefined && was !== view.ids[y]) {
        this.clear();
        return;
      }
    }
    this.redraw(view);
  }

  clear() {
    if (this.sel) this.draw(this.sel.pane, []);
    this.sel = null;
    this.text = "";
    this.seen.clear();
    this.generation++;
  }
}
