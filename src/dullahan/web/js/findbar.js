// The find bar: search the focused pane's whole history as you type (the server's `search-pane`), every
// match in view highlighted, Enter/Shift+Enter (or the arrows) jump to the older/newer match by moving this
// page's own view. Open to viewers (searching changes nothing but their view).

import { el } from "./pane.js";
import { offsetShowing, scrollMessages, SearchResults, viewTop, visibleMatches } from "./search.js";

/** @typedef {import("./sync.js").PaneState} PaneState */
/** @typedef {import("./pane.js").PaneView} PaneView */
/** @typedef {import("./search.js").Match} Match */

/**
 * @typedef {object} FindHost
 * @property {(name: string, args: object) => Promise<any>} request   a command whose answer is awaited
 * @property {() => number | null} activePane
 * @property {(pane: number) => PaneState | undefined} paneState
 * @property {(pane: number) => PaneView | undefined} paneView
 * @property {(msg: object) => boolean} send
 * @property {() => void} refocus
 */

const BATCH = 1000;

export class FindBar {
  /** @param {FindHost} host */
  constructor(host) {
    this.host = host;
    this.results = new SearchResults();
    /** @type {number | null} the pane searched */
    this.pane = null;
    /** The query of the search in flight (null: none); a newer query waits for it to end. */
    this.inFlight = /** @type {string | null} */ (null);
    /** The view offset last asked for, until a frame shows it (null: none on its way). */
    this.asked = /** @type {number | null} */ (null);
    this.el = el("div", "findbar");
    this.el.id = "findbar";
    this.el.hidden = true;
    this.el.setAttribute("role", "search");
    this.input = /** @type {HTMLInputElement} */ (el("input", "find-query"));
    this.input.type = "text";
    this.input.maxLength = 256;
    this.input.placeholder = "Search the scrollback";
    this.input.setAttribute("aria-label", "Search the scrollback");
    this.caseBtn = el("button", "find-case", "Aa");
    this.caseBtn.title = "Match case";
    this.caseBtn.setAttribute("aria-pressed", "false");
    this.countEl = el("span", "find-count");
    const older = el("button", "find-older", "↑");
    older.title = "Older match (Enter)";
    const newer = el("button", "find-newer", "↓");
    newer.title = "Newer match (Shift+Enter)";
    const close = el("button", "find-close", "×");
    close.title = "Close (Escape)";
    this.el.append(this.input, this.caseBtn, this.countEl, older, newer, close);
    document.body.appendChild(this.el);
    this.input.addEventListener("input", () => this.search());
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        this.step(e.shiftKey ? -1 : 1);
      } else if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        this.close();
      } else if (e.key === "F" && e.ctrlKey && e.shiftKey) {
        e.preventDefault();
        this.input.select();
      }
    });
    /** @param {HTMLElement} b @param {() => void} act */
    const onClick = (b, act) => b.addEventListener("click", () => {
      act();
      if (!this.el.hidden) this.input.focus();
    });
    onClick(this.caseBtn, () => {
      this.caseBtn.setAttribute("aria-pressed", this.caseSensitive ? "false" : "true");
      this.caseBtn.classList.toggle("on", this.caseSensitive);
      this.search();
    });
    onClick(older, () => this.step(1));
    onClick(newer, () => this.step(-1));
    close.addEventListener("click", () => this.close());
  }

  get caseSensitive() {
    return this.caseBtn.getAttribute("aria-pressed") === "true";
  }

  get isOpen() {
    return !this.el.hidden;
  }

  /**
   * Open on the focused pane (or, when open, select the query to type a new one). Without `focus` (copy
   * mode's n/N with the bar closed) the keyboard stays with the terminal.
   * @param {boolean} [focus]
   */
  open(focus = true) {
    const pane = this.host.activePane();
    if (pane === null) return;
    const again = this.isOpen && this.pane === pane;
    if (!again) {
      this.clearMarks();
      this.pane = pane;
      this.el.hidden = false;
      const pv = this.host.paneView(pane);
      if (pv) this.place(pv);
      this.results.clear();
      if (this.input.value) this.search();
      else this.showCount();
    }
    if (!focus) return;
    this.input.focus();
    this.input.select();
  }

  close() {
    if (!this.isOpen) return;
    this.el.hidden = true;
    this.clearMarks();
    this.results.clear();
    this.pane = null;
    this.asked = null;
    this.host.refocus();
  }

  /** The query changed (or the case option): search again, once the search in flight is answered. */
  search() {
    const pane = this.pane;
    const query = this.input.value;
    if (pane === null) return;
    if (!query) {
      this.results.clear();
      this.showCount();
      this.paint();
      return;
    }
    if (this.inFlight !== null) return;   // its answer starts the next search if the query changed
    const key = `${this.caseSensitive}\0${query}`;
    this.inFlight = key;
    this.host.request("search-pane", { query, target: pane, case_sensitive: this.caseSensitive, limit: BATCH })
      .then((r) => {
        this.inFlight = null;
        if (this.pane !== pane) return;
        if (key !== `${this.caseSensitive}\0${this.input.value}`) {
          this.search();
          return;
        }
        const st = this.host.paneState(pane);
        const bottom = st ? viewTop(st) + st.rows - 1 : Infinity;
        this.results.reset(/** @type {Match[]} */ (r.matches ?? []), Boolean(r.more), bottom);
        this.input.classList.toggle("none", this.results.matches.length === 0);
        this.jump();
      })
      .catch((/** @type {any} */ err) => {
        this.inFlight = null;
        this.results.clear();
        this.input.classList.add("none");
        this.countEl.textContent = String(err?.msg ?? err?.message ?? "search failed").slice(0, 120);
        this.paint();
      });
  }

  /**
   * The next match: 1 older, -1 newer (fetching the next batch when the older end of the list is reached).
   * @param {1 | -1} dir
   */
  step(dir) {
    if (!this.isOpen) {
      // Copy mode's n/N after the bar was closed: the last search again, from the view.
      if (this.input.value) this.open(false);
      return;
    }
    if (this.pane === null) return;
    if (dir === 1 && this.results.needsMore()) {
      const pane = this.pane;
      const from = this.results.continueFrom();
      this.host.request("search-pane", { query: this.input.value, target: pane, case_sensitive: this.caseSensitive,
        limit: BATCH, before: from }).then((r) => {
        if (this.pane !== pane) return;
        this.results.append(/** @type {Match[]} */ (r.matches ?? []), Boolean(r.more));
        this.results.move(1);
        this.jump();
      }).catch(() => {
        this.results.more = false;
      });
      return;
    }
    this.results.move(dir);
    this.jump();
  }

  /**
   * Move this page's view so the current match shows, and redraw the marks. While an earlier move is on its
   * way, the view it asked for is the one judged, and the move is sent again (moves are absolute).
   */
  jump() {
    const pane = this.pane;
    const m = this.results.matches[this.results.current];
    const st = pane === null ? undefined : this.host.paneState(pane);
    if (pane !== null && m && st) {
      if (this.asked !== null && st.offset === this.asked) this.asked = null;
      const want = offsetShowing(m[0], { ...st, offset: this.asked ?? st.offset });
      if (want !== st.offset || this.asked !== null) {
        for (const msg of scrollMessages(pane, want, st)) this.host.send(msg);
        this.asked = want;
      }
    }
    this.showCount();
    this.paint();
  }

  showCount() {
    this.countEl.textContent = this.input.value ? this.results.label() : "";
  }

  /**
   * Draw the matches the pane's view shows (after every update of that pane: its view may have moved).
   * @param {number} [pane]
   */
  paint(pane) {
    if (this.pane === null || (pane !== undefined && pane !== this.pane)) return;
    const pv = this.host.paneView(this.pane);
    const st = this.host.paneState(this.pane);
    if (!pv || !st) return;
    if (this.asked !== null && st.offset === this.asked) this.asked = null;
    this.place(pv);
    pv.showMatches(visibleMatches(this.results.matches, this.results.current, st));
  }

  /**
   * Over the searched pane's top right corner (so it shows which pane it searches, and covers no buttons).
   * @param {PaneView} pv
   */
  place(pv) {
    const r = pv.body.getBoundingClientRect();
    if (r.width === 0) return;
    this.el.style.top = `${Math.round(r.top + 4)}px`;
    this.el.style.right = `${Math.round(Math.max(4, innerWidth - r.right + 14))}px`;
  }

  clearMarks() {
    if (this.pane !== null) this.host.paneView(this.pane)?.showMatches([]);
  }

  /** The layout changed: a searched pane no longer shown ends the search. @param {(pane: number) => boolean} shown */
  layoutChanged(shown) {
    if (this.pane !== null && !shown(this.pane)) this.close();
  }
}
