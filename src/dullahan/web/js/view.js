// The screen: the active window's panes and dividers on one character grid, the cell measurement that
// keeps the grid aligned at any zoom, and the fit of the grid into the viewport.
//
// Everything is placed in cells with CSS variables (--cw, --ch): a font, size or zoom change updates
// two variables and the whole grid follows, without redrawing a row.

import { dividers } from "./layout.js";
import { el, PaneView, placeCells } from "./pane.js";

/** @typedef {import("./pane.js").PaneHost} PaneHost */
/** @typedef {import("./layout.js").Divider} Divider */

/**
 * @typedef {object} ScreenHost
 * @property {(d: Divider, position: number, done: boolean) => void} dividerMoved
 * @property {() => boolean} canDrag
 */

/**
 * Measure one cell of a font: the advance of a character (averaged over many, for sub-pixel accuracy)
 * and the line height rounded to whole device pixels (so rows tile without seams).
 * @param {HTMLElement} probe  a hidden element in the document
 * @param {string} family
 * @param {number} size       px
 * @param {number} lineHeight multiple of size
 * @returns {{w: number, h: number}}
 */
export function measureCell(probe, family, size, lineHeight) {
  probe.style.fontFamily = family;
  probe.style.fontSize = `${size}px`;
  probe.style.lineHeight = "normal";
  const n = 200;
  if (probe.textContent?.length !== n) probe.textContent = "W".repeat(n);
  const rect = probe.getBoundingClientRect();
  const dpr = window.devicePixelRatio || 1;
  const w = rect.width / n;
  const h = Math.max(1, Math.round(size * lineHeight * dpr) / dpr);
  return { w: w > 0 ? w : size * 0.6, h };
}

export class Screen {
  /**
   * @param {HTMLElement} root     the viewport element (#screen)
   * @param {PaneHost} paneHost
   * @param {ScreenHost} host
   */
  constructor(root, paneHost, host) {
    this.root = root;
    this.paneHost = paneHost;
    this.host = host;
    this.grid = el("div", "grid");
    root.appendChild(this.grid);
    /** @type {Map<number, PaneView>} */
    this.panes = new Map();
    /** @type {Map<string, {el: HTMLElement, d: Divider}>} */
    this.dividerEls = new Map();
    /** @type {any} */
    this.win = null;
    this.narrow = false;
    this.cellW = 8;
    this.cellH = 16;
    this.scale = 1;
    this.gridCols = 0;
    this.gridRows = 0;
    /** @type {number | null} */
    this.active = null;
  }

  /** Forget every pane's drawing (after reconnecting: ids from a restarted server may mean new rows). */
  invalidate() {
    for (const p of this.panes.values()) p.invalidate();
  }

  /**
   * Lay out a window: create, place and remove panes, draw dividers.
   * @param {any} win       the layout's active window (or null)
   * @param {boolean} narrow  phone-sized viewport: the active pane alone fills the screen
   * @param {number | null} [shown]  in the narrow layout, show this pane instead of the active one
   */
  setWindow(win, narrow, shown = null) {
    this.win = win;
    this.narrow = narrow;
    const slots = /** @type {Array<number | null>} */ (win?.slots ?? []);
    const rects = /** @type {Array<[number, number, number, number] | null>} */ (win?.rects ?? []);
    this.active = typeof win?.active === "number" ? win.active : slots.find((s) => s !== null) ?? null;
    if (narrow && shown !== null && slots.includes(shown)) this.active = shown;
    const keep = new Set();
    slots.forEach((id, i) => {
      const rect = rects[i];
      if (id === null || !rect) return;
      keep.add(id);
      let pv = this.panes.get(id);
      if (!pv) {
        pv = new PaneView(id, this.paneHost);
        this.panes.set(id, pv);
        this.grid.appendChild(pv.el);
      }
      pv.setZoomed(win?.zoomed === id);
      if (narrow) {
        pv.el.hidden = id !== this.active;
        pv.place([0, 1, rect[2], rect[3]]);
      } else {
        pv.el.hidden = false;
        pv.place(rect);
      }
    });
    for (const [id, pv] of this.panes) {
      if (!keep.has(id)) {
        pv.el.remove();
        this.panes.delete(id);
      }
    }
    this.drawDividers(narrow ? [] : dividers(win?.splits ?? []));
    if (narrow) {
      const i = slots.indexOf(this.active);
      const r = i >= 0 ? rects[i] : null;
      this.gridCols = r ? r[2] : 0;
      this.gridRows = r ? r[3] + 1 : 0;
    } else {
      this.gridCols = win?.cols ?? 0;
      this.gridRows = win?.rows ?? 0;
    }
    placeCells(this.grid, 0, 0, this.gridCols, this.gridRows);
    this.grid.style.left = "0";
    this.grid.style.top = "0";
    this.fit();
  }

  /**
   * Draw the dividers, reusing their elements: a divider being dragged keeps its element (and its
   * pointer capture) while the layout changes under it.
   * @param {Divider[]} list
   */
  drawDividers(list) {
    /** @type {Map<string, {el: HTMLElement, d: Divider}>} */
    const next = new Map();
    for (const d of list) {
      const key = `${d.kind}:${d.path.join(".")}:${d.index}`;
      let entry = this.dividerEls.get(key);
      if (!entry) {
        const e = el("div", `divider ${d.kind}`);
        e.dataset.path = d.path.join(".");
        e.dataset.index = String(d.index);
        const created = { el: e, d };
        e.addEventListener("pointerdown", (ev) => this.startDrag(ev, created));
        this.grid.appendChild(e);
        entry = created;
      }
      entry.d = d;
      if (!entry.el.classList.contains("dragging")) placeCells(entry.el, d.x, d.y, d.w, d.h);
      next.set(key, entry);
    }
    for (const [key, entry] of this.dividerEls) {
      if (!next.has(key)) entry.el.remove();
    }
    this.dividerEls = next;
  }

  /**
   * @param {PointerEvent} ev
   * @param {{el: HTMLElement, d: Divider}} entry
   */
  startDrag(ev, entry) {
    const handle = entry.el;
    const d = entry.d;   // the split as it was when the drag began (start and length do not change)
    if (ev.button !== 0 || !this.host.canDrag()) return;
    ev.preventDefault();
    ev.stopPropagation();
    handle.setPointerCapture(ev.pointerId);
    handle.classList.add("dragging");
    let last = -1;
    const position = (/** @type {PointerEvent} */ e) => {
      const g = this.grid.getBoundingClientRect();
      const cell = d.kind === "row" ? (e.clientX - g.left) / (this.cellW * this.scale)
        : (e.clientY - g.top) / (this.cellH * this.scale);
      return Math.round(cell) - d.start;
    };
    const move = (/** @type {PointerEvent} */ e) => {
      const pos = position(e);
      if (pos === last) return;
      last = pos;
      const x = d.kind === "row" ? d.start + pos : d.x;
      const y = d.kind === "row" ? d.y : d.start + pos;
      placeCells(handle, x, y);
      this.host.dividerMoved(d, pos, false);
    };
    const up = (/** @type {PointerEvent} */ e) => {
      handle.removeEventListener("pointermove", move);
      handle.removeEventListener("pointerup", up);
      handle.removeEventListener("pointercancel", up);
      handle.classList.remove("dragging");
      this.host.dividerMoved(d, position(e), true);
      placeCells(handle, entry.d.x, entry.d.y, entry.d.w, entry.d.h);
    };
    handle.addEventListener("pointermove", move);
    handle.addEventListener("pointerup", up);
    handle.addEventListener("pointercancel", up);
  }

  /**
   * New cell size: set the grid's CSS variables (everything placed in cells follows).
   * @param {number} w
   * @param {number} h
   */
  setCell(w, h) {
    this.cellW = w;
    this.cellH = h;
    const s = document.documentElement.style;
    s.setProperty("--cw", `${w}px`);
    s.setProperty("--ch", `${h}px`);
    this.fit();
  }

  /**
   * Scale the grid down when it is larger than the viewport (a viewer on a smaller screen); never in the
   * narrow layout, where a pane larger than the screen is panned at a readable size instead.
   */
  fit() {
    const w = this.gridCols * this.cellW;
    const h = this.gridRows * this.cellH;
    const vw = this.root.clientWidth;
    const vh = this.root.clientHeight;
    let scale = 1;
    if (w > 0 && h > 0 && vw > 0 && vh > 0) {
      scale = this.narrow ? 1 : Math.min(1, vw / w, vh / h);
    }
    // Below 1 % of slack, do not scale: it only blurs the text.
    if (scale > 0.99) scale = 1;
    this.scale = scale;
    this.grid.style.transform = scale === 1 ? "" : `scale(${scale})`;
    this.root.classList.toggle("scaled", scale !== 1);
  }

  /**
   * The pane and cell under a point, or null. x/y may fall outside the pane when `clamp` is set.
   * @param {number} clientX
   * @param {number} clientY
   * @param {number | null} [only]  look at this pane only (a drag stays in its pane)
   * @returns {{pane: PaneView, x: number, y: number, inside: boolean} | null}
   */
  cellAt(clientX, clientY, only = null) {
    for (const pv of this.panes.values()) {
      if (pv.el.hidden || (only !== null && pv.id !== only)) continue;
      const r = pv.body.getBoundingClientRect();
      const cw = r.width / Math.max(1, pv.cols);
      const ch = r.height / Math.max(1, pv.rows);
      const inside = clientX >= r.left && clientX < r.right && clientY >= r.top && clientY < r.bottom;
      if (!inside && only === null) continue;
      const x = Math.max(0, Math.min(pv.cols - 1, Math.floor((clientX - r.left) / cw)));
      const y = Math.max(0, Math.min(pv.rows - 1, Math.floor((clientY - r.top) / ch)));
      return { pane: pv, x, y, inside };
    }
    return null;
  }
}
