// Window geometry on the client, pure: the area that fits the viewport, dividers to draw and drag,
// the pane in a direction, and template previews. Mirrors src/dullahan/session/layout.py where it
// computes the same thing (sizes_from_divider).

/**
 * @typedef {object} SplitBox
 * @property {number[]} path
 * @property {"row" | "column"} kind
 * @property {[number, number, number, number]} rect  x, y, cols, rows
 * @property {number[]} sizes
 * @property {number[]} offsets
 */

/**
 * @typedef {object} Divider
 * @property {number[]} path    the split's path
 * @property {"row" | "column"} kind
 * @property {number} index     the divider follows child `index`
 * @property {number} x         cells
 * @property {number} y
 * @property {number} w
 * @property {number} h
 * @property {number} start     where the split starts along its axis (cells)
 * @property {number} length    the split's length along its axis (cells)
 * @property {number[]} sizes
 */

export const MIN_PERCENT = 5;
export const MAX_CELLS = 1000;

/**
 * The window area in whole cells that fits a viewport (each side within 1..1000).
 * @param {number} width   px
 * @param {number} height  px
 * @param {number} cellW
 * @param {number} cellH
 * @returns {[number, number]}
 */
export function fitCells(width, height, cellW, cellH) {
  const clamp = (/** @type {number} */ v) => Math.max(1, Math.min(MAX_CELLS, Math.floor(v)));
  // A hair of tolerance so that 800px / 8px is 100 columns despite float noise.
  return [clamp(width / cellW + 1e-6), clamp(height / cellH + 1e-6)];
}

/**
 * Dividers of a window: a row split's divider is a column between children; a column split's is the
 * lower child's title bar row.
 * @param {SplitBox[]} splits
 * @returns {Divider[]}
 */
export function dividers(splits) {
  /** @type {Divider[]} */
  const out = [];
  for (const s of splits || []) {
    const [x, y, w, h] = s.rect;
    for (let i = 0; i + 1 < s.offsets.length; i++) {
      if (s.kind === "row") {
        out.push({ path: s.path, kind: s.kind, index: i, x: x + s.offsets[i + 1] - 1, y, w: 1, h,
          start: x, length: w, sizes: s.sizes });
      } else {
        out.push({ path: s.path, kind: s.kind, index: i, x, y: y + s.offsets[i + 1], w, h: 1,
          start: y, length: h, sizes: s.sizes });
      }
    }
  }
  return out;
}

/**
 * New percentages after the divider following child `index` is dragged to `position` (cells from the
 * split's start); only children index and index+1 change, each keeps at least 5 %.
 * Same as layout.sizes_from_divider on the server.
 * @param {number} splitLength
 * @param {number[]} sizes
 * @param {number} index
 * @param {number} position
 * @param {"row" | "column"} kind
 * @returns {number[]}
 */
export function sizesFromDivider(splitLength, sizes, index, position, kind) {
  const total = sizes.reduce((a, b) => a + b, 0) || 1;
  const current = sizes.map((s) => (s / total) * 100);
  const gap = kind === "row" ? 1 : 0;
  const available = splitLength - gap * (current.length - 1);
  if (available <= 0 || index < 0 || index >= current.length - 1) return current;
  const boundary = ((position - gap * index) / available) * 100;
  const before = current.slice(0, index).reduce((a, b) => a + b, 0);
  const pair = current[index] + current[index + 1];
  const first = Math.min(Math.max(boundary - before, MIN_PERCENT), pair - MIN_PERCENT);
  const out = current.slice();
  out[index] = first;
  out[index + 1] = pair - first;
  return out.map((v) => Math.round(v * 100) / 100);
}

/**
 * The pane next to `active` in a direction: the nearest one beyond its edge that overlaps it across.
 * @param {Array<number | null>} slots
 * @param {Array<[number, number, number, number] | null>} rects
 * @param {number} active
 * @param {"left" | "right" | "up" | "down"} dir
 * @returns {number | null}
 */
export function neighbour(slots, rects, active, dir) {
  const i = slots.indexOf(active);
  const a = i >= 0 ? rects[i] : null;
  if (!a) return null;
  // Compare whole boxes, title bar included.
  const box = (/** @type {[number, number, number, number]} */ r) => [r[0], r[1] - 1, r[0] + r[2], r[1] + r[3]];
  const [ax0, ay0, ax1, ay1] = box(a);
  let best = null;
  let bestDist = Infinity;
  for (let j = 0; j < slots.length; j++) {
    const r = rects[j];
    const id = slots[j];
    if (j === i || !r || id === null) continue;
    const [bx0, by0, bx1, by1] = box(r);
    let dist;
    let overlap;
    if (dir === "left" || dir === "right") {
      dist = dir === "left" ? ax0 - bx1 : bx0 - ax1;
      overlap = Math.min(ay1, by1) - Math.max(ay0, by0);
    } else {
      dist = dir === "up" ? ay0 - by1 : by0 - ay1;
      overlap = Math.min(ax1, bx1) - Math.max(ax0, bx0);
    }
    if (dist < -1 || overlap <= 0) continue;
    const score = dist * 1000 - overlap;
    if (score < bestDist) {
      bestDist = score;
      best = id;
    }
  }
  return best;
}

/**
 * Boxes of a layout tree in a unit square, for the layout picker's previews.
 * Tree JSON: "pane", {"row": [...], "sizes": [...]}, {"column": [...]}.
 * @param {unknown} tree
 * @returns {Array<[number, number, number, number]>}
 */
export function templateBoxes(tree) {
  /** @type {Array<[number, number, number, number]>} */
  const out = [];
  /**
   * @param {any} node
   * @param {number} x
   * @param {number} y
   * @param {number} w
   * @param {number} h
   * @param {number} depth
   */
  const walk = (node, x, y, w, h, depth) => {
    if (depth > 8 || out.length > 64) return;
    const kind = node && typeof node === "object" ? (Array.isArray(node.row) ? "row" : Array.isArray(node.column) ? "column" : null) : null;
    if (kind === null) {
      out.push([x, y, w, h]);
      return;
    }
    /** @type {any[]} */
    const children = node[kind];
    const raw = Array.isArray(node.sizes) && node.sizes.length === children.length ? node.sizes : children.map(() => 1);
    const total = raw.reduce((/** @type {number} */ a, /** @type {number} */ b) => a + Number(b), 0) || 1;
    let at = 0;
    children.forEach((child, i) => {
      const part = Number(raw[i]) / total;
      if (kind === "row") walk(child, x + at * w, y, part * w, h, depth + 1);
      else walk(child, x, y + at * h, w, part * h, depth + 1);
      at += part;
    });
  };
  walk(tree, 0, 0, 1, 1, 0);
  return out;
}

/** The built-in templates' trees, for previews (the server sends only their names). */
/** @type {Record<string, unknown>} */
export const BUILTIN_TREES = {
  "single": "pane",
  "2-col": { row: ["pane", "pane"] },
  "2-row": { column: ["pane", "pane"] },
  "3-col": { row: ["pane", "pane", "pane"] },
  "3-row": { column: ["pane", "pane", "pane"] },
  "2x2": { column: [{ row: ["pane", "pane"] }, { row: ["pane", "pane"] }] },
  "main-side": { row: ["pane", "pane"], sizes: [70, 30] },
  "side-main": { row: ["pane", "pane"], sizes: [33, 67] },
  "main-2side": { row: ["pane", { column: ["pane", "pane"] }], sizes: [70, 30] },
  "3x2": { column: [{ row: ["pane", "pane", "pane"] }, { row: ["pane", "pane", "pane"] }] },
  "3x3": { column: [{ row: ["pane", "pane", "pane"] }, { row: ["pane", "pane", "pane"] }, { row: ["pane", "pane", "pane"] }] },
};
