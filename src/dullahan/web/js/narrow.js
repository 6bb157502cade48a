// The narrow-screen (phone) layout's decisions, pure: the window size a phone master asks for so that
// the pane it shows fills its screen, which pane a swipe goes to, and how far to pan so that a cell (the
// cursor) is in view.
//
// A phone master sizes the window so that its focused pane gets the phone's grid: the layout tree's
// geometry is computed here as the server computes it (session/layout.py: `geometry`, largest-remainder
// shares, a one-column divider between the children of a row split, a title row above each pane) to find
// that window size. When the model does not reproduce the rects the server sent (a zoomed pane, a layout
// the model does not know), the size is scaled from the rects instead.

/** @typedef {[number, number, number, number]} Rect  x, y, cols, rows */

const MAX_CELLS = 1000;
const EPSILON = 1e-9;

/**
 * The correctly rounded sum of floats, as Python's math.fsum (Shewchuk's partials; CPython's algorithm),
 * so that shares come out exactly as the server's.
 * @param {number[]} values
 */
export function fsum(values) {
  /** @type {number[]} */
  const partials = [];
  for (let x of values) {
    let i = 0;
    for (let y of partials) {
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) partials[i++] = lo;
      x = hi;
    }
    partials.length = i;
    partials.push(x);
  }
  let n = partials.length;
  if (n === 0) return 0;
  let hi = partials[--n];
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n];
    hi = x + y;
    lo = y - (hi - x);
    if (lo !== 0) break;
  }
  // Round half to even across the remaining partials.
  if (n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0))) {
    const y = lo * 2;
    const x = hi + y;
    if (y === x - hi) hi = x;
  }
  return hi;
}

/**
 * Sizes as percentages, normalised as the server normalises them (layout.normalize_sizes).
 * @param {number[]} values  positive numbers
 */
function normalize(values) {
  const largest = Math.max(...values);
  const scaled = values.map((v) => v / largest);
  const total = fsum(scaled);
  return scaled.map((v) => (v / total) * 100);
}

/**
 * @param {unknown} node
 * @returns {{kind: "row" | "column", children: unknown[], sizes: number[]} | null}  null for a leaf
 */
function splitOf(node) {
  if (!node || typeof node !== "object") return null;
  const o = /** @type {Record<string, unknown>} */ (node);
  const kind = Array.isArray(o.row) ? "row" : Array.isArray(o.column) ? "column" : null;
  if (kind === null) return null;
  const children = /** @type {unknown[]} */ (o[kind]);
  const raw = Array.isArray(o.sizes) && o.sizes.length === children.length ? o.sizes.map(Number) : children.map(() => 1);
  const sizes = normalize(raw.every((v) => Number.isFinite(v) && v > 0) ? raw : children.map(() => 1));
  return { kind, children, sizes };
}

/**
 * The smallest area a subtree fits in: a pane needs one column, its title row and one row.
 * @param {unknown} node
 * @returns {[number, number]}
 */
function minSize(node) {
  const s = splitOf(node);
  if (s === null) return [1, 2];
  const mins = s.children.map(minSize);
  if (s.kind === "row") return [mins.reduce((a, m) => a + m[0], 0) + mins.length - 1, Math.max(...mins.map((m) => m[1]))];
  return [Math.max(...mins.map((m) => m[0])), mins.reduce((a, m) => a + m[1], 0)];
}

/**
 * Share `total` cells by `weights`, each part at least its minimum (largest remainder), as the server does.
 * @param {number} total
 * @param {number[]} weights
 * @param {number[]} minimums
 * @returns {number[]}
 */
export function distribute(total, weights, minimums) {
  if (total <= minimums.reduce((a, b) => a + b, 0)) return minimums.slice();
  /** @type {Map<number, number>} */
  const pinned = new Map();
  let free = weights.map((_, i) => i);
  let remaining = total;
  let weight = 0;
  for (;;) {
    free = weights.map((_, i) => i).filter((i) => !pinned.has(i));
    remaining = total - [...pinned.values()].reduce((a, b) => a + b, 0);
    weight = fsum(free.map((i) => weights[i]));
    const short = free.filter((i) => (remaining * weights[i]) / weight < minimums[i]);
    if (short.length === 0) break;
    for (const i of short) pinned.set(i, minimums[i]);
  }
  const parts = weights.map((_, i) => pinned.get(i) ?? 0);
  /** @type {Map<number, number>} */
  const ideal = new Map();
  for (const i of free) {
    const v = (remaining * weights[i]) / weight;
    ideal.set(i, v);
    parts[i] = Math.floor(v + EPSILON);
  }
  let leftover = total - parts.reduce((a, b) => a + b, 0);
  const byRemainder = free.slice().sort((a, b) => {
    const d = (/** @type {number} */ (ideal.get(b)) - parts[b]) - (/** @type {number} */ (ideal.get(a)) - parts[a]);
    return d !== 0 ? d : a - b;
  });
  for (const i of byRemainder) {
    if (leftover-- <= 0) break;
    parts[i] += 1;
  }
  return parts;
}

/** @param {number} v */
const clampCells = (v) => Math.max(1, Math.min(MAX_CELLS, v));

/**
 * The content rect of every slot of a layout tree in a cols x rows window, in slot order.
 * @param {unknown} tree   the layout's JSON tree ("pane", {"row": [...], "sizes": [...]}, {"column": [...]})
 * @param {number} cols
 * @param {number} rows
 * @returns {Rect[]}
 */
export function treeGeometry(tree, cols, rows) {
  /** @type {Rect[]} */
  const out = [];
  /**
   * @param {unknown} node
   * @param {number} x
   * @param {number} y
   * @param {number} w
   * @param {number} h
   * @param {number} depth
   */
  const place = (node, x, y, w, h, depth) => {
    const s = depth > 8 ? null : splitOf(node);
    if (s === null) {
      out.push([x, y + 1, clampCells(w), clampCells(h - 1)]);
      return;
    }
    const mins = s.children.map(minSize);
    const row = s.kind === "row";
    const parts = row ? distribute(w - (mins.length - 1), s.sizes, mins.map((m) => m[0]))
      : distribute(h, s.sizes, mins.map((m) => m[1]));
    let offset = 0;
    s.children.forEach((child, i) => {
      if (row) place(child, x + offset, y, parts[i], h, depth + 1);
      else place(child, x, y + offset, w, parts[i], depth + 1);
      offset += parts[i] + (row ? 1 : 0);
    });
  };
  place(tree, 0, 0, clampCells(cols), clampCells(rows), 0);
  return out;
}

/**
 * The window size (cols, rows) whose slot `slot` has the content size closest to want (never larger when
 * a smaller one exists), using a size function per axis.
 * @param {(total: number) => number} part  the slot's length for a window length
 * @param {number} want
 */
function bestLength(part, want) {
  let best = -1;
  let bestLen = 0;
  for (let total = 1; total <= MAX_CELLS; total++) {
    const got = part(total);
    if (got > want) continue;
    if (got >= bestLen) {
      bestLen = got;
      best = total;
    }
  }
  return best > 0 ? best : 1;
}

/**
 * The window size a phone master asks for: its focused pane's content gets `screenCols` columns and
 * `screenRows - 1` rows (the screen shows the pane and its title row).
 * @param {any} win              the active window of the layout
 * @param {number | null} pane   the pane the phone shows
 * @param {number} screenCols    cells that fit the phone's screen
 * @param {number} screenRows
 * @returns {[number, number] | null}  null when the pane is not in the window
 */
export function phoneWindowSize(win, pane, screenCols, screenRows) {
  const slots = Array.isArray(win?.slots) ? win.slots : [];
  const rects = Array.isArray(win?.rects) ? win.rects : [];
  const i = pane === null ? -1 : slots.indexOf(pane);
  /** @type {Rect | null} */
  const actual = i >= 0 ? rects[i] ?? null : null;
  if (!actual) return null;
  const wantCols = Math.max(1, screenCols);
  const wantRows = Math.max(1, screenRows - 1);
  const cols = Number(win.cols) || 1;
  const rows = Number(win.rows) || 1;
  // The pane alone in the window (one slot, or zoomed): the window is the pane and its title row.
  if (actual[0] === 0 && actual[1] === 1 && actual[2] === cols && actual[3] === rows - 1) {
    return [clampCells(wantCols), clampCells(wantRows + 1)];
  }
  const model = treeGeometry(win.tree, cols, rows);
  const agrees = model.length === rects.length && model.every((r, j) => {
    const a = rects[j];
    return a === null || (a && r.every((v, k) => v === a[k]));
  });
  if (!agrees) {
    return [clampCells(Math.round((cols * wantCols) / Math.max(1, actual[2]))),
      clampCells(Math.round((rows * wantRows) / Math.max(1, actual[3])))];
  }
  return [bestLength((c) => treeGeometry(win.tree, c, rows)[i][2], wantCols),
    bestLength((r) => treeGeometry(win.tree, cols, r)[i][3], wantRows)];
}

/**
 * The window sizes a phone master asks for, one target at a time: nothing while its pane already has the
 * screen's size, and never the same size twice for one target. The layout message carries split sizes
 * rounded to two decimals, so for some user layouts the model is a cell off from the server; then the
 * sizer tries the model's answer and a scaled one, and settles for the nearest it got, instead of
 * resizing back and forth.
 */
export class PhoneSizer {
  constructor() {
    this.target = "";
    /** @type {Set<string>} */
    this.tried = new Set();
  }

  /**
   * @param {any} win
   * @param {number | null} pane
   * @param {number} screenCols
   * @param {number} screenRows
   * @returns {[number, number] | null}  the size to ask for, or null to leave the window as it is
   */
  next(win, pane, screenCols, screenRows) {
    const i = pane === null || !Array.isArray(win?.slots) ? -1 : win.slots.indexOf(pane);
    const actual = i >= 0 && Array.isArray(win.rects) ? win.rects[i] : null;
    if (!actual) return null;
    if (actual[2] === screenCols && actual[3] === screenRows - 1) return null;
    const target = JSON.stringify([win.id, pane, screenCols, screenRows, win.tree, win.slots]);
    if (target !== this.target) {
      this.target = target;
      this.tried.clear();
    }
    this.tried.add(`${win.cols}x${win.rows}`);
    const size = phoneWindowSize(win, pane, screenCols, screenRows);
    if (!size || this.tried.has(`${size[0]}x${size[1]}`)) return null;
    this.tried.add(`${size[0]}x${size[1]}`);
    return size;
  }
}

/**
 * The panes a phone swipes through, in order: the shown panes of each window (slot order), window by
 * window; only the active window's when windows cannot be switched (a viewer sees only that one).
 * @param {any} layout
 * @param {boolean} allWindows
 * @returns {Array<{window: number, pane: number}>}
 */
export function swipeOrder(layout, allWindows) {
  const windows = Array.isArray(layout?.windows) ? layout.windows : [];
  /** @type {Array<{window: number, pane: number}>} */
  const out = [];
  for (const w of windows) {
    if (!allWindows && w.id !== layout.active) continue;
    const slots = Array.isArray(w.slots) ? w.slots : [];
    const rects = Array.isArray(w.rects) ? w.rects : [];
    slots.forEach((/** @type {number | null} */ id, /** @type {number} */ i) => {
      if (typeof id === "number" && rects[i]) out.push({ window: w.id, pane: id });
    });
  }
  return out;
}

/**
 * Where a swipe goes from `pane`: the next (`dir` 1) or previous (-1) entry of the order, or null at its end.
 * @param {Array<{window: number, pane: number}>} order
 * @param {number | null} pane
 * @param {1 | -1} dir
 */
export function swipeTarget(order, pane, dir) {
  const i = order.findIndex((e) => e.pane === pane);
  if (i < 0) return order.length > 0 ? order[0] : null;
  return order[i + dir] ?? null;
}

/**
 * A scroll position (px) that shows the span [start, start + size) in a view of `view` px, moving as
 * little as possible; `max` is the largest scroll position.
 * @param {number} scroll
 * @param {number} view
 * @param {number} start
 * @param {number} size
 * @param {number} max
 */
export function scrollToShow(scroll, view, start, size, max) {
  let next = scroll;
  if (start + size > next + view) next = start + size - view;
  if (start < next) next = start;
  return Math.max(0, Math.min(max, next));
}
