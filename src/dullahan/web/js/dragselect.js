// Selecting with the mouse beyond one screen: a drag past the top or bottom of a pane scrolls this page's
// view while the button is held (faster the further away the pointer is), the wheel scrolls it too, and the
// selection's end follows the pointer over whatever rows the view shows then.

/** @typedef {import("./view.js").Screen} Screen */

/**
 * @typedef {object} DragHost
 * @property {Screen} screen
 * @property {(pane: number, x: number, y: number, mode: "char" | "word" | "line") => void} selectStart
 * @property {(pane: number, x: number, y: number) => void} selectExtend   Shift+click
 * @property {(x: number, y: number) => void} selectMove
 * @property {() => boolean} selectEnd      true when a selection was made
 * @property {(pane: number, delta: number) => void} scroll
 */

const AUTOSCROLL_MS = 50;
const MAX_ROWS_PER_STEP = 20;

/**
 * Rows to scroll per step for a pointer `distance` px beyond a pane's edge (negative: above it).
 * @param {number} distance
 * @param {number} cellH
 */
export function autoscrollRows(distance, cellH) {
  if (distance === 0) return 0;
  const rows = Math.min(MAX_ROWS_PER_STEP, 1 + Math.floor(Math.abs(distance) / Math.max(1, cellH)));
  return distance < 0 ? -rows : rows;
}

export class SelectionDrag {
  /** @param {DragHost} host */
  constructor(host) {
    this.host = host;
    /** @type {{pane: number, x: number, y: number} | null} the pane and the pointer while a drag lasts */
    this.drag = null;
    /** @type {ReturnType<typeof setInterval> | null} */
    this.timer = null;
  }

  get active() {
    return this.drag !== null;
  }

  /**
   * A left press in a pane that does not get the mouse: start (or with Shift, extend) a selection and follow
   * the pointer until the button goes up.
   * @param {MouseEvent} e
   * @param {number} pane
   * @param {number} x
   * @param {number} y
   * @param {(made: boolean, mode: "char" | "word" | "line") => void} done
   */
  begin(e, pane, x, y, done) {
    const mode = e.detail >= 3 ? "line" : e.detail === 2 ? "word" : "char";
    if (e.shiftKey && mode === "char") this.host.selectExtend(pane, x, y);
    else this.host.selectStart(pane, x, y, mode);
    this.drag = { pane, x: e.clientX, y: e.clientY };
    const move = (/** @type {MouseEvent} */ ev) => {
      if (!this.drag) return;
      this.drag.x = ev.clientX;
      this.drag.y = ev.clientY;
      this.follow();
      this.autoscroll();
    };
    const up = () => {
      document.removeEventListener("mousemove", move, true);
      document.removeEventListener("mouseup", up, true);
      this.stopAutoscroll();
      this.drag = null;
      done(this.host.selectEnd(), mode);
    };
    document.addEventListener("mousemove", move, true);
    document.addEventListener("mouseup", up, true);
  }

  /** The selection's end to the cell under the pointer (clamped to the pane): after a move, or a scroll. */
  follow() {
    const d = this.drag;
    if (!d) return;
    const h = this.host.screen.cellAt(d.x, d.y, d.pane);
    if (h) this.host.selectMove(h.x, h.y);
  }

  /** How far the pointer is above (negative) or below the pane's rows, in px; 0 inside. */
  overflow() {
    const d = this.drag;
    const pv = d ? this.host.screen.panes.get(d.pane) : undefined;
    if (!d || !pv) return 0;
    const r = pv.body.getBoundingClientRect();
    if (d.y < r.top) return d.y - r.top;
    if (d.y >= r.bottom) return d.y - r.bottom + 1;
    return 0;
  }

  autoscroll() {
    if (this.overflow() === 0) {
      this.stopAutoscroll();
      return;
    }
    if (this.timer !== null) return;
    const step = () => {
      const d = this.drag;
      const distance = this.overflow();
      if (!d || distance === 0) {
        this.stopAutoscroll();
        return;
      }
      this.host.scroll(d.pane, autoscrollRows(distance, this.host.screen.cellH * this.host.screen.scale));
    };
    step();
    this.timer = setInterval(step, AUTOSCROLL_MS);
  }

  stopAutoscroll() {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
