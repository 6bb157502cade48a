// The client's copy of the server's state: a row cache, the style table and every shown pane.
//
// This is the browser's twin of src/dullahan/wire/replica.py and applies frames by exactly the same
// rules (docs/PROTOCOL.md, "Frames"): layout, styles, rows, panes, then drop and drop_img. Images arrive
// in binary messages before the frames that place them (`applyImage`); decoding them is the app's job.
// It is pure (no DOM), so the unit tests run it under Node.

import { ImageCache, parsePlacement } from "./images.js";

/** @typedef {import("./images.js").ImagePlacement} ImagePlacement */
/** @typedef {import("./images.js").ImageMeta} ImageMeta */
/** @typedef {import("./images.js").HeldImage<ImageBitmap>} HeldImage */

/**
 * A decoded row payload (see PROTOCOL.md, "Row payload").
 * @typedef {object} Row
 * @property {string} text      one codepoint per cell except the cells listed in `cells`
 * @property {number[]} runs    flat x, ncols, style id triples
 * @property {number[]} cells   flat x, ncodepoints, width triples
 * @property {Array<[number, number, string]>} links  x, ncols, uri
 * @property {boolean} wrapped  the row continues on the next one
 */

/**
 * A style: [fg, bg, flags, underline colour] (colours: -1 default, 0..255 palette, 1<<24 | rgb).
 * @typedef {[number, number, number, number]} Style
 */

/** @typedef {[number, number, string, boolean, boolean]} Cursor  x, y, shape, visible, blinking */

/**
 * @typedef {object} PaneState
 * @property {number} id
 * @property {number} cols
 * @property {number} rows
 * @property {number[]} ids          row ids, top to bottom
 * @property {Cursor | null} cursor
 * @property {number} modes
 * @property {number} sb             rows of scrollback
 * @property {number} offset         this client's scroll position (0 = live)
 * @property {Array<[number, number]>} pal
 * @property {number} fg
 * @property {number} bg
 * @property {string} title
 * @property {{code?: number|null, signal?: number|string|null, text?: string} | null} exit
 * @property {[number, number] | null} progress
 * @property {ImagePlacement[]} img   kitty graphics, in drawing order
 * @property {[number, number]} cell  the terminal's cell size in pixels (what placements are measured in)
 */

/**
 * What one frame changed, for the renderer and the UI.
 * @typedef {object} FrameResult
 * @property {boolean} layout                   the layout was replaced
 * @property {Set<number>} panes                 panes with any change
 * @property {number[]} holes                    panes that reference rows or images the cache lacks (ask for a resync)
 * @property {Array<{pane: number, title: string, body: string}>} notify
 * @property {Array<{pane: number, location: string, text: string}>} clip
 * @property {number[]} bells                    panes that rang (any pane of the session, shown or not)
 */

export const MODE_MOUSE = 1;
export const MODE_ALT_SCREEN = 2;
export const MODE_BRACKETED_PASTE = 4;
export const MODE_FOCUS = 8;
export const MODE_APP_CURSOR = 16;

/** @type {Style} */
export const DEFAULT_STYLE = [-1, -1, 0, -1];

/**
 * Unpack a packed id list: an integer is one id, [first, n] is n consecutive ids, [id, n, 0] repeats id.
 * @param {unknown} packed
 * @returns {number[]}
 */
export function unpackIds(packed) {
  /** @type {number[]} */
  const out = [];
  if (!Array.isArray(packed)) return out;
  for (const item of packed) {
    if (typeof item === "number") {
      out.push(item);
    } else if (Array.isArray(item) && item.length === 2) {
      const [first, n] = item;
      for (let i = 0; i < n; i++) out.push(first + i);
    } else if (Array.isArray(item) && item.length === 3) {
      const [id, n] = item;
      for (let i = 0; i < n; i++) out.push(id);
    }
  }
  return out;
}

/**
 * Decode a row payload `[text, runs, cells, links, wrapped]` (trailing parts may be missing).
 * @param {unknown} payload
 * @returns {Row}
 */
export function decodeRow(payload) {
  const p = Array.isArray(payload) ? payload : [];
  const text = typeof p[0] === "string" ? p[0] : "";
  const runs = Array.isArray(p[1]) ? /** @type {number[]} */ (p[1]) : [];
  const cells = Array.isArray(p[2]) ? /** @type {number[]} */ (p[2]) : [];
  /** @type {Array<[number, number, string]>} */
  const links = [];
  if (Array.isArray(p[3])) {
    for (const l of p[3]) {
      if (Array.isArray(l) && l.length >= 3) links.push([Number(l[0]), Number(l[1]), String(l[2])]);
    }
  }
  return { text, runs, cells, links, wrapped: Boolean(p[4]) };
}

/** @returns {PaneState} */
function newPane(/** @type {number} */ id) {
  return {
    id, cols: 0, rows: 0, ids: [], cursor: null, modes: 0, sb: 0, offset: 0, pal: [], fg: -1, bg: -1,
    title: "", exit: null, progress: null, img: [], cell: [0, 0],
  };
}

/**
 * The panes the active window shows (the only ones frames are sent for).
 * @param {any} layout
 * @returns {number[]}
 */
export function visiblePanes(layout) {
  const win = activeWindow(layout);
  if (!win || !Array.isArray(win.slots)) return [];
  if (typeof win.zoomed === "number" && win.slots.includes(win.zoomed)) return [win.zoomed];
  return win.slots.filter((/** @type {unknown} */ id) => typeof id === "number");
}

/**
 * @param {any} layout
 * @returns {any}
 */
export function activeWindow(layout) {
  if (!layout || !Array.isArray(layout.windows)) return null;
  return layout.windows.find((/** @type {any} */ w) => w.id === layout.active) ?? null;
}

/**
 * One event of a frame (`[pane, kind, ...]`): the server sends each notification, clipboard write and
 * bell once, for any pane of the session (clipboard writes only from panes this client shows).
 * @param {unknown} ev
 * @param {FrameResult} result
 */
function applyEvent(ev, result) {
  if (!Array.isArray(ev) || typeof ev[0] !== "number") return;
  const [pane, kind, a, b] = ev;
  if (kind === "notify") result.notify.push({ pane, title: String(a ?? ""), body: String(b ?? "") });
  else if (kind === "clip") result.clip.push({ pane, location: String(a ?? "c"), text: String(b ?? "") });
  else if (kind === "bell" && !result.bells.includes(pane)) result.bells.push(pane);
}

export class Replica {
  constructor() {
    /** @type {Map<number, Row>} */
    this.rows = new Map();
    /** @type {Map<number, Style>} */
    this.styles = new Map([[0, DEFAULT_STYLE]]);
    /** @type {Map<number, PaneState>} */
    this.panes = new Map();
    /** @type {any} */
    this.layout = null;
    this.lastFrame = 0;
    /** Frames that arrived out of order (never expected; counted for diagnosis). */
    this.outOfOrder = 0;
    /** @type {ImageCache<ImageBitmap>} the images the server sent, by key (it says when to drop them) */
    this.images = new ImageCache();
  }

  /**
   * An image message arrived: the image is held from now on (decoding it is the caller's business).
   * @param {ImageMeta} meta
   * @returns {HeldImage}
   */
  applyImage(meta) {
    return this.images.hold(meta);
  }

  /** Forget everything: a new connection starts with an empty cache on the server too. */
  reset() {
    this.rows.clear();
    this.styles.clear();
    this.styles.set(0, DEFAULT_STYLE);
    this.panes.clear();
    this.layout = null;
    this.lastFrame = 0;
    this.images.clear();
  }

  /**
   * Apply one frame. Never throws on odd content: a row the cache lacks is reported in `holes`.
   * @param {any} frame
   * @returns {FrameResult}
   */
  apply(frame) {
    /** @type {FrameResult} */
    const result = { layout: false, panes: new Set(), holes: [], notify: [], clip: [], bells: [] };
    const n = Number(frame.n);
    if (n !== this.lastFrame + 1) this.outOfOrder++;
    this.lastFrame = n;
    if (frame.reset === true) {
      // The server's style table started a new epoch: style ids change meaning, drop rows and styles.
      this.rows.clear();
      this.styles.clear();
      this.styles.set(0, DEFAULT_STYLE);
    }
    if (frame.layout !== undefined) {
      this.layout = frame.layout;
      result.layout = true;
      this.retain(visiblePanes(frame.layout));
    }
    if (Array.isArray(frame.styles)) {
      for (const s of frame.styles) {
        if (Array.isArray(s) && s.length >= 5) this.styles.set(s[0], [s[1], s[2], s[3], s[4]]);
      }
    }
    const rows = frame.rows;
    if (Array.isArray(rows)) {
      for (let i = 0; i + 1 < rows.length; i += 2) this.rows.set(rows[i], decodeRow(rows[i + 1]));
    }
    if (Array.isArray(frame.panes)) {
      for (const p of frame.panes) this.applyPane(p, result);
    }
    if (Array.isArray(frame.events)) {
      for (const ev of frame.events) applyEvent(ev, result);
    }
    for (const id of unpackIds(frame.drop)) this.rows.delete(id);
    if (Array.isArray(frame.drop_img)) this.images.drop(frame.drop_img.filter((/** @type {unknown} */ k) => typeof k === "string"));
    return result;
  }

  /**
   * @param {any} p
   * @param {FrameResult} result
   */
  applyPane(p, result) {
    const id = Number(p.id);
    let pane = this.panes.get(id);
    if (pane === undefined) {
      pane = newPane(id);
      this.panes.set(id, pane);
    }
    result.panes.add(id);
    if (Array.isArray(p.size)) [pane.cols, pane.rows] = p.size;
    if (p.lines !== undefined) {
      pane.ids = unpackIds(p.lines);
      if (pane.ids.some((rid) => !this.rows.has(rid))) result.holes.push(id);
    }
    if (p.cursor !== undefined) pane.cursor = p.cursor;
    if (typeof p.modes === "number") pane.modes = p.modes;
    if (typeof p.sb === "number") pane.sb = p.sb;
    if (typeof p.offset === "number") pane.offset = p.offset;
    if (Array.isArray(p.pal)) pane.pal = p.pal;
    if (typeof p.fg === "number") pane.fg = p.fg;
    if (typeof p.bg === "number") pane.bg = p.bg;
    if (typeof p.title === "string") pane.title = p.title;
    if (p.exit !== undefined) pane.exit = p.exit;
    if (p.progress !== undefined) pane.progress = p.progress;
    if (Array.isArray(p.cell) && p.cell.length === 2 && p.cell.every((/** @type {unknown} */ v) => Number.isInteger(v) && Number(v) >= 0)) {
      pane.cell = [p.cell[0], p.cell[1]];
    }
    if (Array.isArray(p.img)) {
      /** @type {ImagePlacement[]} */
      const img = [];
      for (const record of p.img) {
        const placement = parsePlacement(record);
        if (placement !== null) img.push(placement);
      }
      pane.img = img;
      if (img.some((pl) => !this.images.has(pl.key)) && !result.holes.includes(id)) result.holes.push(id);
    }
  }

  /**
   * Drop panes the layout no longer shows (the server forgets them too and resends them in full).
   * @param {Iterable<number>} visible
   */
  retain(visible) {
    const keep = new Set(visible);
    for (const id of [...this.panes.keys()]) if (!keep.has(id)) this.panes.delete(id);
  }

  /**
   * The rows of a pane, top to bottom (undefined for a row the cache lacks).
   * @param {number} paneId
   * @returns {Array<Row | undefined>}
   */
  lines(paneId) {
    const pane = this.panes.get(paneId);
    if (!pane) return [];
    return pane.ids.map((rid) => this.rows.get(rid));
  }
}
