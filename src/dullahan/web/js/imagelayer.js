// The DOM of a pane's images: two layers inside the pane's body, one under the rows (negative z) and one
// over them (z >= 0), each holding one canvas per rectangle drawn (images.js computes them). A canvas is
// only as large as what it shows, so a pane with a small picture costs a small bitmap, not a pane-sized
// one. Canvases are redrawn only when what they show changed.
//
// The DOM draws a cell's background and its glyph in one element, so images below the text are also
// below the cell backgrounds (kitty's "below_bg" and "below_text" layers look the same here).

import { drawRects } from "./images.js";

/** @typedef {import("./images.js").ImagePlacement} ImagePlacement */
/** @typedef {import("./images.js").CellSize} CellSize */
/** @typedef {import("./images.js").DrawRect} DrawRect */

/**
 * What the layer draws with: the decoded images by key.
 * @typedef {object} ImageSource
 * @property {(key: string) => CanvasImageSource & {width: number, height: number} | undefined} get
 */

/**
 * Where the pane is: its size in cells, the terminal's and the page's cell size, the device pixel ratio.
 * @typedef {object} LayerGeometry
 * @property {number} cols
 * @property {number} rows
 * @property {CellSize} termCell
 * @property {CellSize} pageCell
 * @property {number} [dpr]
 */

/** @typedef {{canvas: HTMLCanvasElement, drawn: string}} CanvasEntry  what a canvas shows ("" if nothing yet) */

/**
 * @param {Document} doc
 * @param {string} className
 */
function layerElement(doc, className) {
  const e = doc.createElement("div");
  e.className = className;
  const s = e.style;
  s.position = "absolute";
  s.left = "0";
  s.top = "0";
  s.width = "0";
  s.height = "0";
  s.overflow = "visible";
  s.pointerEvents = "none";
  return e;
}

export class ImageLayer {
  /** @param {Document} [doc] */
  constructor(doc = document) {
    this.doc = doc;
    this.below = layerElement(doc, "pimages below");
    this.above = layerElement(doc, "pimages above");
    /** @type {Map<HTMLElement, CanvasEntry[]>} */
    this.canvases = new Map([[this.below, []], [this.above, []]]);
  }

  /**
   * Put the layers into a pane's body: one just before the rows element, one just after it.
   * @param {HTMLElement} body
   * @param {HTMLElement} rowsEl
   */
  attach(body, rowsEl) {
    body.insertBefore(this.below, rowsEl);
    rowsEl.after(this.above);
  }

  detach() {
    this.clear();
    this.below.remove();
    this.above.remove();
  }

  /** Draw nothing (free every canvas). */
  clear() {
    for (const [layer, list] of this.canvases) {
      for (const c of list) c.canvas.remove();
      list.length = 0;
      layer.hidden = true;
    }
  }

  /**
   * Draw a pane's placements. Placements of images not (yet) in `images` are left out.
   * @param {ImagePlacement[]} placements
   * @param {ImageSource} images
   * @param {LayerGeometry} geometry
   * @returns {DrawRect[]} what was drawn
   */
  update(placements, images, geometry) {
    const rects = drawRects(placements, (key) => images.get(key), geometry.termCell, geometry.pageCell,
      geometry.cols, geometry.rows);
    const dpr = geometry.dpr ?? 1;
    this.draw(this.below, rects.filter((r) => r.layer !== "above_text"), images, dpr);
    this.draw(this.above, rects.filter((r) => r.layer === "above_text"), images, dpr);
    return rects;
  }

  /**
   * Draw one layer's rectangles. A canvas already showing a rectangle keeps showing it (moved into place in
   * the drawing order, never redrawn): when a picture below goes away, the ones above it cost nothing.
   * @param {HTMLElement} layer
   * @param {DrawRect[]} rects   in drawing order
   * @param {ImageSource} images
   * @param {number} dpr
   */
  draw(layer, rects, images, dpr) {
    const old = /** @type {CanvasEntry[]} */ (this.canvases.get(layer));
    /** @type {Map<string, CanvasEntry[]>} */
    const bySignature = new Map();
    for (const entry of old) {
      const same = bySignature.get(entry.drawn);
      if (same) same.push(entry);
      else bySignature.set(entry.drawn, [entry]);
    }
    const signatures = rects.map((r) => `${r.key} ${r.dx} ${r.dy} ${r.dw} ${r.dh} ${r.sx} ${r.sy} ${r.sw} ${r.sh} ${dpr}`);
    /** @type {Array<CanvasEntry | undefined>} */
    const next = signatures.map((sig) => bySignature.get(sig)?.shift());
    const kept = new Set(next);
    const spare = old.filter((entry) => !kept.has(entry));
    /** @type {CanvasEntry[]} */
    const placed = rects.map((r, i) => {
      const found = next[i];
      if (found) return found;
      const entry = spare.pop() ?? { canvas: this.newCanvas(), drawn: "" };
      this.paint(entry, r, signatures[i], images, dpr);
      return entry;
    });
    for (const entry of spare) entry.canvas.remove();
    placed.forEach((entry, i) => {
      if (layer.children[i] !== entry.canvas) layer.insertBefore(entry.canvas, layer.children[i] ?? null);
    });
    this.canvases.set(layer, placed);
    layer.hidden = rects.length === 0;
  }

  /** @returns {HTMLCanvasElement} */
  newCanvas() {
    const canvas = this.doc.createElement("canvas");
    canvas.style.position = "absolute";
    return canvas;
  }

  /**
   * @param {CanvasEntry} entry
   * @param {DrawRect} r
   * @param {string} signature
   * @param {ImageSource} images
   * @param {number} dpr
   */
  paint(entry, r, signature, images, dpr) {
    const source = images.get(r.key);
    const c = entry.canvas;
    entry.drawn = "";
    if (!source) return;
    c.dataset.key = r.key;
    c.style.left = `${r.dx}px`;
    c.style.top = `${r.dy}px`;
    c.style.width = `${r.dw}px`;
    c.style.height = `${r.dh}px`;
    c.width = Math.max(1, Math.round(r.dw * dpr));
    c.height = Math.max(1, Math.round(r.dh * dpr));
    const ctx = c.getContext("2d");
    if (!ctx) return;
    ctx.clearRect(0, 0, c.width, c.height);
    ctx.drawImage(source, r.sx, r.sy, r.sw, r.sh, 0, 0, c.width, c.height);
    entry.drawn = signature;
  }
}
