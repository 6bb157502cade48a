// The DOM of one pane: its title bar (with the pane's buttons), one element per row (spans per style run),
// its images (kitty graphics, drawn after the rows: imagelayer.js), the cursor, the selection and
// search-match overlays, the scrollbar, the "lines above" badge and the exit notice.
//
// Rows are keyed by row id: a row whose id did not change is never touched, a row that moved (the
// screen scrolled) is moved, not rebuilt. Everything from the terminal goes in as text (textContent,
// text nodes); links only for http, https and mailto, OSC 8 ones and URLs found in the text alike.

import { ImageLayer } from "./imagelayer.js";
import { mayHaveUrl, rowUrls } from "./links.js";
import { cellAt, isPlain, rowPieces, safeHref } from "./rows.js";
import { Scrollbar } from "./scrollbar.js";
import { paneVariables } from "./style.js";

/** @typedef {import("./sync.js").Row} Row */
/** @typedef {import("./sync.js").PaneState} PaneState */
/** @typedef {import("./sync.js").Style} Style */
/** @typedef {import("./style.js").StyleRules} StyleRules */

/** @typedef {"resync" | "close" | "respawn" | "bottom" | "focus" | "split-right" | "split-down" | "zoom"} PaneAction */

/**
 * What a pane needs from the app to draw and to act.
 * @typedef {object} PaneHost
 * @property {StyleRules} styleRules
 * @property {Map<number, Style>} styles
 * @property {(id: number) => Array<Row | undefined>} lines
 * @property {(action: PaneAction, pane: number) => void} paneAction
 * @property {(pane: number, delta: number) => void} scroll   move this page's view (rows; negative: older)
 * @property {() => {cursorStyle: string, cursorBlink: string}} cursorPrefs
 * @property {import("./imagelayer.js").ImageSource} images  the decoded images, by key
 * @property {() => {w: number, h: number, dpr: number}} pageCell  the page's cell size (CSS px) and pixel ratio
 */

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * Position an element on the character grid (cells; CSS variables --cw/--ch hold the cell size).
 * @param {HTMLElement} e
 * @param {number} x
 * @param {number} y
 * @param {number} [w]
 * @param {number} [h]
 */
export function placeCells(e, x, y, w, h) {
  e.style.left = `calc(var(--cw) * ${x})`;
  e.style.top = `calc(var(--ch) * ${y})`;
  if (w !== undefined) e.style.width = `calc(var(--cw) * ${w})`;
  if (h !== undefined) e.style.height = `calc(var(--ch) * ${h})`;
}

/**
 * Fill a row element from a row payload.
 * @param {HTMLElement} rowEl
 * @param {Row} row
 * @param {number} cols
 * @param {StyleRules} rules
 * @param {Map<number, Style>} styles
 */
export function renderRow(rowEl, row, cols, rules, styles) {
  const urls = mayHaveUrl(row) ? rowUrls(row, cols) : [];
  if (isPlain(row) && urls.length === 0) {
    rowEl.textContent = row.text;
    return;
  }
  rowEl.textContent = "";
  let x = 0;
  for (const p of rowPieces(row, cols, urls)) {
    if (p.x > x) rowEl.appendChild(document.createTextNode(" ".repeat(p.x - x)));
    const href = p.link !== null ? safeHref(p.link) : null;
    /** @type {HTMLElement} */
    let span;
    if (href !== null) {
      const a = document.createElement("a");
      a.href = href;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.title = href;
      span = a;
    } else {
      span = document.createElement("span");
    }
    let cls = p.wide ? "c w" : "c";
    if (p.sid !== 0) {
      const sc = rules.className(p.sid, styles.get(p.sid));
      if (sc) cls += " " + sc;
    }
    if (href !== null) cls += p.auto ? " link auto" : " link";
    span.className = cls;
    span.style.width = `calc(var(--cw) * ${p.cols})`;
    span.textContent = p.text;
    rowEl.appendChild(span);
    x = p.x + p.cols;
  }
}

export class PaneView {
  /**
   * @param {number} id
   * @param {PaneHost} host
   */
  constructor(id, host) {
    this.id = id;
    this.host = host;
    this.el = el("div", "pane");
    this.el.dataset.pane = String(id);
    // Title bar.
    this.titleBar = el("div", "ptitle");
    this.idEl = el("span", "pid", `#${id}`);
    this.titleEl = el("span", "pname");
    this.sizeEl = el("span", "psize");
    this.bellEl = el("span", "pbell", "🔔");
    this.bellEl.title = "bell";
    this.progressEl = el("div", "pprogress");
    this.progressBar = el("div", "bar");
    this.progressEl.appendChild(this.progressBar);
    const resync = el("button", "pbtn resync", "⟳");
    resync.title = "Resync this pane (redraw from the server's state)";
    resync.addEventListener("click", (e) => {
      e.stopPropagation();
      host.paneAction("resync", id);
    });
    /**
     * @param {string} glyph
     * @param {string} cls
     * @param {string} title
     * @param {PaneAction} action
     */
    const button = (glyph, cls, title, action) => {
      const b = el("button", `pbtn master ${cls}`, glyph);
      b.title = title;
      b.addEventListener("mousedown", (e) => e.stopPropagation());
      b.addEventListener("click", (e) => {
        e.stopPropagation();
        host.paneAction(action, id);
      });
      return b;
    };
    const splitRight = button("◫", "split-right", "Split: a new shell on the right (prefix %)", "split-right");
    const splitDown = button("⊟", "split-down", 'Split: a new shell below (prefix ")', "split-down");
    this.zoomBtn = button("⤢", "zoom", "Zoom this pane to the whole window (prefix z)", "zoom");
    this.closeBtn = el("button", "pbtn master close", "×");
    this.closeBtn.title = "Close this pane (click twice; prefix x)";
    this.closeBtn.addEventListener("click", (e) => {
      e.stopPropagation();
      confirmClick(this.closeBtn, () => host.paneAction("close", id));
    });
    this.titleBar.append(this.idEl, this.titleEl, this.bellEl, this.sizeEl, resync, splitRight, splitDown, this.zoomBtn,
      this.closeBtn, this.progressEl);
    this.titleBar.addEventListener("mousedown", () => host.paneAction("focus", id));
    // Content.
    this.body = el("div", "pbody");
    this.rowsEl = el("div", "prows");
    this.selEl = el("div", "psel");
    this.marksEl = el("div", "pmarks");
    this.cursorEl = el("div", "cursor");
    this.badge = el("button", "pbadge");
    this.badge.title = "Back to the live screen";
    this.badge.addEventListener("mousedown", (e) => e.stopPropagation());
    this.badge.addEventListener("click", (e) => {
      e.stopPropagation();
      host.paneAction("bottom", id);
    });
    this.exitEl = el("div", "pexit");
    this.exitText = el("span", "pexit-text");
    const respawn = el("button", "master", "Restart");
    respawn.addEventListener("click", () => host.paneAction("respawn", id));
    const close = el("button", "master", "Close");
    close.addEventListener("click", () => host.paneAction("close", id));
    this.exitEl.append(this.exitText, respawn, close);
    this.exitEl.addEventListener("mousedown", (e) => e.stopPropagation());
    this.body.append(this.rowsEl, this.marksEl, this.selEl, this.cursorEl, this.badge, this.exitEl);
    this.images = new ImageLayer(document);
    this.images.attach(this.body, this.rowsEl);
    this.el.append(this.titleBar, this.body);
    this.scrollbar = new Scrollbar(this.el, (delta) => host.scroll(id, delta));
    /** @type {number[]} ids of the rows drawn, per line (-1: not drawn) */
    this.drawn = [];
    /** @type {HTMLElement[]} */
    this.rowEls = [];
    this.cols = 0;
    this.rows = 0;
    this.bellSeen = 0;
    /** @type {string} */
    this.varsKey = "";
    /** @type {string[]} */
    this.varNames = [];
    /** @type {[number, number] | null} where the cursor is drawn (cells) */
    this.cursorCell = null;
  }

  /** Forget what is drawn: the next update redraws every row. */
  invalidate() {
    this.drawn = this.drawn.map(() => -1);
  }

  /**
   * Where the pane sits: content at (x, y) cells, its title bar on the row above.
   * @param {[number, number, number, number]} rect
   */
  place(rect) {
    const [x, y, w, h] = rect;
    placeCells(this.el, x, y - 1, w, h + 1);
  }

  /**
   * @param {boolean} active   the window's active pane
   * @param {boolean} focused  active and the page has keyboard focus
   */
  setActive(active, focused) {
    this.el.classList.toggle("active", active);
    this.el.classList.toggle("focused", focused);
    if (active) this.el.classList.remove("rang");
  }

  /**
   * Bring the DOM up to date with the pane's state.
   * @param {PaneState} st
   */
  update(st) {
    if (st.cols !== this.cols || st.rows !== this.rows) {
      if (st.cols !== this.cols) {
        this.invalidate();
        for (const r of this.rowEls) r.style.width = `calc(var(--cw) * ${st.cols})`;
      }
      this.cols = st.cols;
      this.rows = st.rows;
      this.sizeEl.textContent = `${st.cols}×${st.rows}`;
    }
    this.updateRows(st);
    this.updateImages(st);
    this.updateCursor(st);
    const title = st.title || `pane ${st.id}`;
    if (this.titleEl.textContent !== title) this.titleEl.textContent = title;
    this.titleBar.title = title;
    this.updateColors(st);
    // Scrollback position.
    this.scrollbar.update(st.sb, st.offset, st.rows);
    if (st.offset > 0) {
      this.badge.textContent = `${st.offset} line${st.offset === 1 ? "" : "s"} above ⤓`;
      this.badge.hidden = false;
    } else {
      this.badge.hidden = true;
    }
    // Exit.
    if (st.exit) {
      this.exitText.textContent = st.exit.text || "the program ended";
      this.exitEl.hidden = false;
    } else {
      this.exitEl.hidden = true;
    }
    // Progress (OSC 9;4).
    const pr = st.progress;
    if (pr && pr[0] >= 1 && pr[0] <= 4) {
      this.progressEl.hidden = false;
      this.progressEl.className = `pprogress state${pr[0]}`;
      this.progressBar.style.width = pr[0] === 3 ? "30%" : `${Math.max(0, Math.min(100, pr[1]))}%`;
      this.progressEl.title = pr[0] === 3 ? "working…" : `${pr[1]}%`;
    } else {
      this.progressEl.hidden = true;
    }
  }

  /** @param {PaneState} st */
  updateRows(st) {
    const { ids, cols } = st;
    const lines = this.host.lines(st.id);
    const n = ids.length;
    const drawn = this.drawn;
    const els = this.rowEls;
    if (drawn.length === n && drawn.every((id, y) => id === ids[y])) return;
    // Elements already showing an id, for reuse when rows moved (scrolling).
    /** @type {Map<number, HTMLElement[]>} */
    const byId = new Map();
    for (let y = 0; y < drawn.length; y++) {
      if (drawn[y] < 0) continue;
      const list = byId.get(drawn[y]);
      if (list) list.push(els[y]);
      else byId.set(drawn[y], [els[y]]);
    }
    /** @type {Array<HTMLElement | null>} */
    const next = new Array(n).fill(null);
    for (let y = 0; y < n; y++) {
      const list = byId.get(ids[y]);
      if (list && list.length) next[y] = /** @type {HTMLElement} */ (list.shift());
    }
    const used = new Set(next);
    const spare = els.filter((e) => !used.has(e));
    const { styleRules, styles } = this.host;
    /** @type {number[]} */
    const newDrawn = new Array(n);
    for (let y = 0; y < n; y++) {
      let rowEl = next[y];
      if (rowEl === null) {
        rowEl = spare.pop() ?? el("div", "row");
        rowEl.style.width = `calc(var(--cw) * ${cols})`;
        const row = lines[y];
        try {
          if (row) renderRow(rowEl, row, cols, styleRules, styles);
          else rowEl.textContent = "";
        } catch (e) {
          rowEl.textContent = row ? row.text : "";
          console.error("row render failed", e);
        }
        next[y] = rowEl;
      }
      newDrawn[y] = lines[y] ? ids[y] : -1;
    }
    for (const e of spare) e.remove();
    const parent = this.rowsEl;
    for (let y = 0; y < n; y++) {
      const want = /** @type {HTMLElement} */ (next[y]);
      if (parent.children[y] !== want) parent.insertBefore(want, parent.children[y] ?? null);
    }
    while (parent.children.length > n) /** @type {Element} */ (parent.lastChild).remove();
    this.rowEls = /** @type {HTMLElement[]} */ (next);
    this.drawn = newDrawn;
  }

  /**
   * Draw the pane's images over (or under) its rows; redrawn only where a placement, an image or the cell
   * size changed.
   * @param {PaneState} st
   */
  updateImages(st) {
    if (st.img.length === 0 && this.images.below.hidden && this.images.above.hidden) return;
    const { w, h, dpr } = this.host.pageCell();
    this.images.update(st.img, this.host.images, {
      cols: st.cols, rows: st.rows, termCell: { w: st.cell[0], h: st.cell[1] }, pageCell: { w, h }, dpr,
    });
  }

  /** @param {PaneState} st */
  updateCursor(st) {
    const c = st.cursor;
    const ce = this.cursorEl;
    if (!c || !c[3] || st.offset > 0 || c[1] >= st.rows) {
      ce.hidden = true;
      this.cursorCell = null;
      return;
    }
    const prefs = this.host.cursorPrefs();
    const [x, y, appShape, , appBlink] = c;
    const shape = prefs.cursorStyle === "app" ? appShape : prefs.cursorStyle;
    const blink = prefs.cursorBlink === "app" ? appBlink : prefs.cursorBlink === "on";
    const row = this.host.lines(st.id)[y];
    const cell = cellAt(row, st.cols, Math.min(x, Math.max(0, st.cols - 1)));
    ce.hidden = false;
    ce.className = `cursor ${shape}${blink ? " blink" : ""}`;
    placeCells(ce, cell.x, y, cell.width, 1);
    const text = cell.text === " " ? "" : cell.text;
    if (ce.textContent !== text) ce.textContent = text;
    this.cursorCell = [cell.x, y];
  }

  /** @param {PaneState} st */
  updateColors(st) {
    const vars = paneVariables(st.pal, st.fg, st.bg);
    const key = JSON.stringify(vars);
    if (key === this.varsKey) return;
    this.varsKey = key;
    for (const name of this.varNames) this.el.style.removeProperty(name);
    for (const [name, value] of vars) this.el.style.setProperty(name, value);
    this.varNames = vars.map((v) => v[0]);
  }

  /**
   * The window shows this pane zoomed (its button then zooms back).
   * @param {boolean} zoomed
   */
  setZoomed(zoomed) {
    this.el.classList.toggle("zoomed", zoomed);
    this.zoomBtn.title = zoomed ? "Back to the window's layout (prefix z)" : "Zoom this pane to the whole window (prefix z)";
  }

  /** The bell rang: flash, and mark the title until the pane is focused. */
  ring() {
    this.el.classList.remove("ringing");
    void this.el.offsetWidth;
    this.el.classList.add("ringing", "rang");
  }

  /**
   * Draw the selection: [y, x0, x1) per row.
   * @param {Array<[number, number, number]>} ranges
   */
  showSelection(ranges) {
    this.selEl.textContent = "";
    for (const [y, x0, x1] of ranges) {
      const r = el("div", "selrange");
      placeCells(r, x0, y, x1 - x0, 1);
      this.selEl.appendChild(r);
    }
  }

  /**
   * Draw search matches: [y, x0, x1, current] per match in view.
   * @param {Array<[number, number, number, boolean]>} ranges
   */
  showMatches(ranges) {
    this.marksEl.textContent = "";
    for (const [y, x0, x1, current] of ranges) {
      const r = el("div", current ? "match current" : "match");
      placeCells(r, x0, y, x1 - x0, 1);
      this.marksEl.appendChild(r);
    }
  }
}

/**
 * Two-step confirmation on a button: the first click arms it for three seconds, the second acts.
 * @param {HTMLElement} button
 * @param {() => void} action
 */
export function confirmClick(button, action) {
  if (button.classList.contains("armed")) {
    button.classList.remove("armed");
    action();
    return;
  }
  button.classList.add("armed");
  setTimeout(() => button.classList.remove("armed"), 3000);
}
