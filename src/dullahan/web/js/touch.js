// Touch on the terminal (phones, tablets): pan a pane larger than the screen, scroll this client's own
// scrollback, swipe to the next or previous pane, long-press to select a word (then drag, or drag its
// handles, to extend it) and copy it, pinch to change the font size. What a gesture means is decided in
// gestures.js; this module feeds it touch events and carries the result out.
//
// A tap is left alone: the browser turns it into mouse events, which focus the terminal (bringing up the
// phone's keyboard), focus the pane and clear a selection as a click does.

import {
  isLongPress, LONG_PRESS_MS, lockAxis, panStep, pinchFontSize, scrollRows, swipeDirection, zoomScroll,
} from "./gestures.js";
import { el } from "./pane.js";
import { viewTop } from "./search.js";
import { viewBounds } from "./selection.js";

/** @typedef {import("./view.js").Screen} Screen */
/** @typedef {import("./selection.js").Selector} Selector */
/** @typedef {import("./sync.js").PaneState} PaneState */

/**
 * @typedef {object} TouchHost
 * @property {Screen} screen
 * @property {Selector} selector
 * @property {(id: number) => PaneState | undefined} paneState
 * @property {(msg: object) => boolean} send
 * @property {() => boolean} isMaster
 * @property {() => boolean} narrow
 * @property {(dir: 1 | -1) => void} swipe          show the next (1) or previous (-1) pane
 * @property {() => number} fontSize
 * @property {(px: number) => void} setFontSize
 * @property {(text: string) => boolean} copy
 */

/**
 * @typedef {object} Drag
 * @property {number} id        the touch's identifier
 * @property {number} pane
 * @property {number} x0
 * @property {number} y0
 * @property {number} x         last position
 * @property {number} y
 * @property {number} t0        performance.now() at the start
 * @property {"pending" | "h" | "v" | "select"} mode
 * @property {number} panned    px the view panned horizontally during the drag
 * @property {number} acc       px of vertical motion not yet a whole row of scrollback
 * @property {[number, number]} cell  the cell where it started
 */

/**
 * @typedef {object} Pinch
 * @property {number} distance
 * @property {number} font
 */

const MODE_ALT_SCREEN = 2;

export class TouchGestures {
  /** @param {TouchHost} host */
  constructor(host) {
    this.host = host;
    this.root = host.screen.root;
    /** @type {Drag | null} */
    this.drag = null;
    /** @type {Pinch | null} */
    this.pinch = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.pressTimer = null;
    /** When a finger last moved the view (ms): the view does not follow the cursor meanwhile. */
    this.lastTouch = -Infinity;
    // On the document, not the screen: the browser may give a touch on the terminal to a clickable
    // element nearby (touch adjustment), such as the textarea at the cursor. What is under the finger decides.
    document.addEventListener("touchstart", (e) => this.onStart(e), { passive: true });
    document.addEventListener("touchmove", (e) => this.onMove(e), { passive: false });
    document.addEventListener("touchend", (e) => this.onEnd(e), { passive: false });
    document.addEventListener("touchcancel", () => this.cancel());
    // A long press is ours, not the browser's context menu.
    document.addEventListener("contextmenu", (e) => {
      if (this.drag || performance.now() - this.lastTouch < 1000) e.preventDefault();
    });
    const root = this.root;
    this.selUi = new SelectionUi(host);
    root.addEventListener("scroll", () => this.selUi.update(), { passive: true });
  }

  /**
   * Whether a point is on the terminal (and not on its title bars, badges and exit notices).
   * @param {number} x
   * @param {number} y
   */
  onTerminal(x, y) {
    const under = document.elementFromPoint(x, y);
    return under !== null && this.root.contains(under) && under.closest(".pexit, .pbadge, .ptitle") === null;
  }

  /** @param {TouchEvent} e */
  onStart(e) {
    const first = e.touches[0];
    if (!this.drag && !this.pinch && (!first || !this.onTerminal(first.clientX, first.clientY))) return;
    this.lastTouch = performance.now();
    if (e.touches.length >= 2) {
      this.cancelPress();
      this.drag = null;
      const [a, b] = [e.touches[0], e.touches[1]];
      this.pinch = { distance: Math.hypot(a.clientX - b.clientX, a.clientY - b.clientY), font: this.host.fontSize() };
      return;
    }
    const t = e.changedTouches[0];
    if (!t) return;
    const hit = this.host.screen.cellAt(t.clientX, t.clientY);
    if (!hit) return;
    this.drag = {
      id: t.identifier, pane: hit.pane.id, x0: t.clientX, y0: t.clientY, x: t.clientX, y: t.clientY,
      t0: performance.now(), mode: "pending", panned: 0, acc: 0, cell: [hit.x, hit.y],
    };
    this.cancelPress();
    this.pressTimer = setTimeout(() => this.longPress(), LONG_PRESS_MS);
  }

  longPress() {
    this.pressTimer = null;
    const d = this.drag;
    if (!d || d.mode !== "pending") return;
    if (!isLongPress(performance.now() - d.t0, Math.hypot(d.x - d.x0, d.y - d.y0))) return;
    d.mode = "select";
    this.host.selector.start(d.pane, d.cell[0], d.cell[1], "word");
    this.selUi.own();
    navigator.vibrate?.(10);
    this.selUi.update();
  }

  /** @param {TouchEvent} e */
  onMove(e) {
    if (!this.drag && !this.pinch) return;
    this.lastTouch = performance.now();
    if (this.pinch) {
      e.preventDefault();
      if (e.touches.length >= 2) this.pinchTo(e.touches[0], e.touches[1]);
      return;
    }
    const d = this.drag;
    const t = d ? [...e.changedTouches].find((c) => c.identifier === d.id) : undefined;
    if (!d || !t) return;
    e.preventDefault();
    const dx = t.clientX - d.x;
    const dy = t.clientY - d.y;
    d.x = t.clientX;
    d.y = t.clientY;
    if (d.mode === "pending") {
      const axis = lockAxis(t.clientX - d.x0, t.clientY - d.y0);
      if (axis === null) return;
      this.cancelPress();
      d.mode = axis;
      // The motion so far counts (the slop is not lost).
      if (axis === "h") this.moveH(d, t.clientX - d.x0);
      else this.moveV(d, t.clientY - d.y0, t.clientX, t.clientY);
      return;
    }
    if (d.mode === "select") {
      const hit = this.host.screen.cellAt(t.clientX, t.clientY, d.pane);
      if (hit) this.host.selector.move(hit.x, hit.y);
      this.selUi.update();
    } else if (d.mode === "h") this.moveH(d, dx);
    else this.moveV(d, dy, t.clientX, t.clientY);
  }

  /**
   * @param {Drag} d
   * @param {number} dx
   */
  moveH(d, dx) {
    const root = this.root;
    const before = root.scrollLeft;
    root.scrollLeft = panStep(dx, before, root.scrollWidth - root.clientWidth).scroll;
    d.panned += Math.abs(root.scrollLeft - before);
  }

  /**
   * @param {Drag} d
   * @param {number} dy
   * @param {number} x  where the finger is (for a wheel report)
   * @param {number} y
   */
  moveV(d, dy, x, y) {
    const root = this.root;
    const step = panStep(dy, root.scrollTop, root.scrollHeight - root.clientHeight);
    root.scrollTop = step.scroll;
    if (step.rest === 0) return;
    const screen = this.host.screen;
    const [rows, acc] = scrollRows(d.acc, step.rest, screen.cellH * screen.scale);
    d.acc = acc;
    if (rows === 0) return;
    const st = this.host.paneState(d.pane);
    if (this.host.isMaster() && st && st.modes & MODE_ALT_SCREEN) {
      // A full-screen program has no scrollback: it gets the motion as the mouse wheel would give it.
      const hit = screen.cellAt(x, y, d.pane);
      this.host.send({ t: "wheel", p: d.pane, dy: rows, dx: 0, x: hit?.x ?? 0, y: hit?.y ?? 0, m: 0 });
    } else {
      this.host.send({ t: "scroll", p: d.pane, delta: rows });
    }
  }

  /**
   * @param {Touch} a
   * @param {Touch} b
   */
  pinchTo(a, b) {
    const p = this.pinch;
    if (!p) return;
    const size = pinchFontSize(p.font, p.distance, Math.hypot(a.clientX - b.clientX, a.clientY - b.clientY));
    const screen = this.host.screen;
    const before = { w: screen.cellW, h: screen.cellH };
    if (size === this.host.fontSize()) return;
    this.host.setFontSize(size);
    // Keep the point between the fingers where it was.
    const r = this.root.getBoundingClientRect();
    const cx = (a.clientX + b.clientX) / 2 - r.left;
    const cy = (a.clientY + b.clientY) / 2 - r.top;
    this.root.scrollLeft = zoomScroll(this.root.scrollLeft, cx, screen.cellW / before.w);
    this.root.scrollTop = zoomScroll(this.root.scrollTop, cy, screen.cellH / before.h);
  }

  /** @param {TouchEvent} e */
  onEnd(e) {
    if (!this.drag && !this.pinch) return;
    this.lastTouch = performance.now();
    if (this.pinch) {
      e.preventDefault();
      if (e.touches.length === 0) this.pinch = null;
      return;
    }
    const d = this.drag;
    if (!d || ![...e.changedTouches].some((c) => c.identifier === d.id)) return;
    this.drag = null;
    this.cancelPress();
    if (d.mode === "pending") return;   // a tap: the browser's mouse events do what a click does
    e.preventDefault();                  // no click after a drag or a long press
    if (d.mode === "select") {
      if (!this.host.selector.end()) this.host.selector.clear();
      this.selUi.update();
    } else if (d.mode === "h" && d.panned < 1 && this.host.narrow()) {
      const dir = swipeDirection(d.x - d.x0, d.y - d.y0, this.root.clientWidth);
      if (dir !== 0) this.host.swipe(dir);
    }
  }

  cancel() {
    this.cancelPress();
    this.drag = null;
    this.pinch = null;
  }

  cancelPress() {
    if (this.pressTimer !== null) clearTimeout(this.pressTimer);
    this.pressTimer = null;
  }

  /** Whether a finger moved the view lately (then the view should not jump to the cursor). */
  recentlyTouched() {
    return this.drag !== null || this.pinch !== null || performance.now() - this.lastTouch < 3000;
  }
}

/**
 * The handles at both ends of a selection made by touch and a small bar with Copy, drawn over the page
 * (not inside the screen, whose touches are gestures). A selection made with the mouse has none.
 */
class SelectionUi {
  /** @param {TouchHost} host */
  constructor(host) {
    this.host = host;
    /** @type {import("./selection.js").Selection | null} the selection touch made */
    this.owned = null;
    this.el = el("div", "tsel");
    this.el.hidden = true;
    this.startHandle = el("div", "thandle start");
    this.endHandle = el("div", "thandle end");
    this.bar = el("div", "tbar");
    const copy = el("button", "tcopy", "Copy");
    copy.type = "button";
    const done = el("button", "tdone", "×");
    done.type = "button";
    done.title = "Clear the selection";
    this.bar.append(copy, done);
    this.el.append(this.startHandle, this.endHandle, this.bar);
    document.body.appendChild(this.el);
    this.bar.addEventListener("mousedown", (e) => e.preventDefault());   // the terminal keeps the focus
    copy.addEventListener("click", () => {
      const text = host.selector.text;
      if (text && host.copy(text)) host.selector.clear();
      this.update();
    });
    done.addEventListener("click", () => {
      host.selector.clear();
      this.update();
    });
    for (const [handle, which] of /** @type {const} */ ([[this.startHandle, "start"], [this.endHandle, "end"]])) {
      handle.addEventListener("touchstart", (e) => this.grab(e, which), { passive: false });
    }
    // Taps and clicks elsewhere end or change the selection: follow them.
    document.addEventListener("mouseup", () => queueMicrotask(() => this.update()));
  }

  /**
   * Drag one end of the selection; the other end stays.
   * @param {TouchEvent} e
   * @param {"start" | "end"} which
   */
  grab(e, which) {
    e.preventDefault();
    e.stopPropagation();
    const selector = this.host.selector;
    const sel = selector.sel;
    const st = sel ? this.host.paneState(sel.pane) : undefined;
    const t = e.changedTouches[0];
    if (!sel || !st || !t) return;
    const { start, end } = viewBounds(sel, viewTop(st));
    const fixed = which === "start" ? end : start;
    const pane = sel.pane;
    selector.start(pane, fixed[0], fixed[1], "char");
    this.own();
    const handle = /** @type {HTMLElement} */ (e.currentTarget);
    const id = t.identifier;
    const move = (/** @type {TouchEvent} */ ev) => {
      const m = [...ev.changedTouches].find((c) => c.identifier === id);
      if (!m) return;
      ev.preventDefault();
      // The finger covers the text: aim a little above it.
      const hit = this.host.screen.cellAt(m.clientX, m.clientY - this.host.screen.cellH * this.host.screen.scale, pane);
      if (hit) selector.move(hit.x, hit.y);
      this.update();
    };
    const up = (/** @type {TouchEvent} */ ev) => {
      if (![...ev.changedTouches].some((c) => c.identifier === id)) return;
      ev.preventDefault();
      handle.removeEventListener("touchmove", move);
      handle.removeEventListener("touchend", up);
      handle.removeEventListener("touchcancel", up);
      if (!selector.end()) selector.clear();
      this.update();
    };
    // Seed the moving end where the handle was, so a touch without motion keeps the selection.
    selector.move(...(which === "start" ? start : end));
    handle.addEventListener("touchmove", move, { passive: false });
    handle.addEventListener("touchend", up, { passive: false });
    handle.addEventListener("touchcancel", up);
  }

  /** The selection now is touch's: it gets handles. */
  own() {
    this.owned = this.host.selector.sel;
  }

  /** Place the handles and the bar at the selection's ends, or hide them when touch's selection is gone. */
  update() {
    const sel = this.host.selector.sel;
    if (sel === null || sel !== this.owned) {
      this.owned = null;
      this.el.hidden = true;
      return;
    }
    const st = sel ? this.host.paneState(sel.pane) : undefined;
    const pv = sel ? this.host.screen.panes.get(sel.pane) : undefined;
    if (!sel || !st || !pv || pv.el.hidden || this.host.selector.text === "") {
      this.el.hidden = true;
      return;
    }
    const { start, end } = viewBounds(sel, viewTop(st));   // rows of the view: an end may be out of it
    const r = pv.body.getBoundingClientRect();
    const cw = r.width / Math.max(1, pv.cols);
    const ch = r.height / Math.max(1, pv.rows);
    this.el.hidden = false;
    place(this.startHandle, r.left + start[0] * cw, r.top + (start[1] + 1) * ch);
    place(this.endHandle, r.left + (end[0] + 1) * cw, r.top + (end[1] + 1) * ch);
    this.startHandle.hidden = start[1] < 0 || start[1] >= pv.rows;
    this.endHandle.hidden = end[1] < 0 || end[1] >= pv.rows;
    const top = r.top + start[1] * ch;
    const barH = this.bar.offsetHeight || 32;
    place(this.bar, Math.max(4, Math.min(innerWidth - this.bar.offsetWidth - 4, r.left + start[0] * cw)),
      top - barH - 6 >= 0 ? top - barH - 6 : r.top + (end[1] + 1) * ch + 24);
  }
}

/**
 * @param {HTMLElement} e
 * @param {number} x
 * @param {number} y
 */
function place(e, x, y) {
  e.style.left = `${Math.round(x)}px`;
  e.style.top = `${Math.round(y)}px`;
}
