// Phones: the narrow layout's pane list and pane switching, the key bar and its sticky modifiers, touch
// gestures, the window size a phone master asks for, following the cursor in a panned view, the guard
// against closing an attached session by accident, and the service worker behind the offline page.
//
// Who sizes what (the decision, see README "From a phone"):
// - a phone that is the master drives the window size: the window is sized so that the pane it shows
//   fills its screen at its own (readable) font size, and the shell gets a phone-sized grid;
// - a phone that watches (a viewer) never resizes anything: it shows the master's pane at its own font
//   size, unshrunk, and the view pans (drag) across a pane larger than the screen.

import { tapKey } from "./keys.js";
import { KeyBar } from "./keybar.js";
import { charKey, StickyModifiers } from "./modifiers.js";
import { PhoneSizer, scrollToShow, swipeOrder, swipeTarget } from "./narrow.js";
import { el } from "./pane.js";
import { TouchGestures } from "./touch.js";

/** @typedef {import("./keys.js").KeyLike} KeyLike */
/** @typedef {import("./settings.js").Settings} Settings */
/** @typedef {import("./sync.js").PaneState} PaneState */
/** @typedef {import("./view.js").Screen} Screen */
/** @typedef {import("./selection.js").Selector} Selector */

/** Touch screens (phones, tablets): the key bar shows and the page follows the on-screen keyboard. */
export const COARSE_QUERY = "(pointer: coarse)";

/**
 * @typedef {object} PhoneHost
 * @property {(msg: object) => boolean} send
 * @property {() => boolean} isMaster
 * @property {() => boolean} attached          a session is attached (the connection is open)
 * @property {() => number | null} activePane
 * @property {() => any} layout
 * @property {(id: number) => PaneState | undefined} paneState
 * @property {Screen} screen
 * @property {Selector} selector
 * @property {(text: string) => boolean} copy
 * @property {(text: string) => void} paste
 * @property {() => Settings} settings
 * @property {(s: Settings) => void} applySettings
 * @property {(title: string, body?: string, kind?: "info" | "warn" | "error" | "notify") => void} toast
 * @property {(pane: number) => void} focusPane
 * @property {() => void} refused
 * @property {() => void} relayout            lay the window out again (the pane shown changed)
 * @property {() => boolean} narrow
 * @property {() => void} refocus
 */

export class Phone {
  /** @param {PhoneHost} host */
  constructor(host) {
    this.host = host;
    this.mods = new StickyModifiers();
    /** @type {number | null} the pane a viewer chose to look at (a master's choice is the server's) */
    this.viewerPane = null;
    /** @type {string} the cursor position the view last followed */
    this.followed = "";
    /** @type {number | null} the pane shown when the layout was last applied */
    this.lastShown = null;
    this.guarding = false;
    this.sizer = new PhoneSizer();
    this.coarse = matchMedia(COARSE_QUERY);
    this.keybar = new KeyBar({ key: (ev, action) => this.barKey(ev, action), paste: () => this.pasteClipboard() }, this.mods);
    host.screen.root.after(this.keybar.el);
    this.touch = new TouchGestures({
      screen: host.screen,
      selector: host.selector,
      paneState: host.paneState,
      send: host.send,
      isMaster: host.isMaster,
      narrow: host.narrow,
      swipe: (dir) => this.swipe(dir),
      fontSize: () => host.settings().fontSize,
      setFontSize: (px) => host.applySettings({ ...host.settings(), fontSize: px }),
      copy: (text) => {
        const ok = host.copy(text);
        if (ok) host.toast("Copied", `${Array.from(text).length} characters`, "info");
        return ok;
      },
    });
    // The pane list: a menu at the start of the bar (narrow layout only).
    this.menuWrap = el("div", "menuwrap panes-wrap");
    this.menuBtn = el("button", "barbtn", "☰");
    this.menuBtn.id = "panes-btn";
    this.menuBtn.title = "Panes (swipe left or right to move between them)";
    this.menu = el("div", "menu panes-menu");
    this.menu.id = "panes-menu";
    this.menu.hidden = true;
    this.menuWrap.append(this.menuBtn, this.menu);
    document.getElementById("bar")?.prepend(this.menuWrap);
    this.menuBtn.addEventListener("click", (e) => {
      e.stopPropagation();
      this.menu.hidden = !this.menu.hidden;
      if (!this.menu.hidden) this.buildMenu();
    });
    document.addEventListener("click", (e) => {
      if (!this.menu.hidden && !this.menu.contains(/** @type {Node} */ (e.target))) this.menu.hidden = true;
    });
    /** @param {BeforeUnloadEvent} e */
    this.guard = (e) => {
      if (!this.host.attached()) return;
      e.preventDefault();
      e.returnValue = "";   // older browsers ask for it
    };
  }

  start() {
    this.coarse.addEventListener("change", () => this.applyClasses());
    this.applyClasses();
    const vv = window.visualViewport;
    if (vv) {
      // The on-screen keyboard shrinks the visual viewport: the page (and the key bar at its bottom) follows.
      const follow = () => document.documentElement.style.setProperty("--vvh", `${Math.round(vv.height)}px`);
      vv.addEventListener("resize", follow);
      follow();
    }
    if ("serviceWorker" in navigator && window.isSecureContext) {
      // Relative to the page: the worker's scope is the app's own path, whatever it is served under.
      navigator.serviceWorker.register("sw.js").catch((/** @type {unknown} */ e) => console.warn("service worker not registered", e));
    }
  }

  applyClasses() {
    document.body.classList.toggle("touch", this.coarse.matches);
  }

  // -- hooks for the app -------------------------------------------------------------------------------
  /**
   * The settings changed: guard against closing the page while attached when asked to.
   * @param {Settings} s
   */
  settingsChanged(s) {
    if (s.guardUnload && !this.guarding) addEventListener("beforeunload", this.guard);
    if (!s.guardUnload && this.guarding) removeEventListener("beforeunload", this.guard);
    this.guarding = s.guardUnload;
  }

  /**
   * The pane the narrow layout shows instead of the window's active one (a viewer's own choice), or null.
   * @param {any} win
   */
  shownPane(win) {
    if (this.host.isMaster() || this.viewerPane === null) return null;
    if (!Array.isArray(win?.slots) || !win.slots.includes(this.viewerPane)) {
      this.viewerPane = null;
      return null;
    }
    return this.viewerPane;
  }

  /** The layout was applied: the pane list's label and contents follow. */
  layoutChanged() {
    const shown = this.host.screen.active;
    if (shown !== this.lastShown) {
      // Another pane: start at its top left corner (the cursor is followed from there).
      this.lastShown = shown;
      this.followed = "";
      this.host.screen.root.scrollLeft = 0;
      this.host.screen.root.scrollTop = 0;
    }
    const order = swipeOrder(this.host.layout(), this.host.isMaster());
    const i = order.findIndex((e) => e.pane === this.host.screen.active);
    this.menuBtn.textContent = order.length > 1 && i >= 0 ? `☰ ${i + 1}/${order.length}` : "☰";
    if (!this.menu.hidden) this.buildMenu();
  }

  /**
   * The window size a phone master asks for (its shown pane fills the screen), or null to leave it.
   * @param {any} win
   * @param {number} screenCols  cells that fit the screen element
   * @param {number} screenRows
   * @returns {[number, number] | null}
   */
  windowSize(win, screenCols, screenRows) {
    return this.sizer.next(win, this.host.screen.active, screenCols, screenRows);
  }

  /** After a frame was drawn: keep the cursor in a panned view as it moves, and the selection's handles placed. */
  afterRender() {
    this.touch.selUi.update();
    if (!this.host.narrow()) return;
    const screen = this.host.screen;
    const id = screen.active;
    const pv = id === null ? undefined : screen.panes.get(id);
    const cell = pv?.cursorCell;
    if (!pv || !cell) return;
    const key = `${id}:${cell[0]}:${cell[1]}`;
    if (key === this.followed || this.touch.recentlyTouched()) return;
    this.followed = key;
    const root = screen.root;
    const cw = screen.cellW * screen.scale;
    const ch = screen.cellH * screen.scale;
    // The pane's content starts one row down (its title bar), at the grid's origin.
    root.scrollLeft = scrollToShow(root.scrollLeft, root.clientWidth, cell[0] * cw, cw, root.scrollWidth - root.clientWidth);
    root.scrollTop = scrollToShow(root.scrollTop, root.clientHeight, (cell[1] + 1) * ch, ch, root.scrollHeight - root.clientHeight);
  }

  /**
   * The sticky modifiers for a key typed on a keyboard (used up by it).
   * @returns {number}
   */
  keyMods() {
    const m = this.mods.consume();
    if (m) this.keybar.showMods();
    return m;
  }

  /**
   * Text typed on the phone's keyboard while a key bar modifier is armed: one character goes out as a key
   * with the modifier (Ctrl + c is ^C). Returns true when it was sent so.
   * @param {number} pane
   * @param {string} text
   */
  typed(pane, text) {
    const chars = Array.from(text);
    if (chars.length !== 1 || this.mods.peek() === 0) return false;
    this.sendKey(pane, charKey(chars[0], this.keyMods()), "press");
    return true;
  }

  // -- the key bar ---------------------------------------------------------------------------------------
  /**
   * @param {KeyLike} ev
   * @param {"press" | "repeat"} action
   */
  barKey(ev, action) {
    const pane = this.host.activePane();
    if (pane !== null) this.sendKey(pane, ev, action);
  }

  /**
   * A key as the keyboard sends it: press (or repeat), then release.
   * @param {number} pane
   * @param {KeyLike} ev
   * @param {"press" | "repeat"} action
   */
  sendKey(pane, ev, action) {
    if (this.host.isMaster()) this.host.selector.clear();
    tapKey(this.host, ev, pane, action);
  }

  async pasteClipboard() {
    if (!this.host.isMaster()) {
      this.host.refused();
      return;
    }
    let text = null;
    try {
      text = await navigator.clipboard.readText();
    } catch {
      text = null;
    }
    if (text === null) this.pastePrompt();
    else if (text) this.host.paste(text);
    else this.host.toast("The clipboard is empty");
  }

  /** Where the browser does not let a page read the clipboard: a box to paste into with the phone's own menu. */
  pastePrompt() {
    let box = /** @type {HTMLElement | null} */ (document.getElementById("paste-box"));
    if (!box) {
      box = el("div", "overlay");
      box.id = "paste-box";
      const dlg = el("div", "dialog");
      dlg.setAttribute("role", "dialog");
      dlg.setAttribute("aria-label", "Paste");
      const hint = el("p", "hint", "This browser does not let the page read the clipboard. Paste here (long-press, Paste), then Send.");
      const area = el("textarea", "paste-area");
      area.setAttribute("aria-label", "Text to paste");
      const send = el("button", "paste-send", "Send");
      send.type = "button";
      const cancel = el("button", "paste-cancel", "Cancel");
      cancel.type = "button";
      const buttons = el("div", "buttons");
      buttons.append(cancel, send);
      dlg.append(hint, area, buttons);
      box.appendChild(dlg);
      document.body.appendChild(box);
      const close = () => {
        /** @type {HTMLElement} */ (box).hidden = true;
        area.value = "";
        this.host.refocus();
      };
      send.addEventListener("click", () => {
        const text = area.value;
        close();
        if (text) this.host.paste(text);
      });
      cancel.addEventListener("click", close);
    }
    box.hidden = false;
    /** @type {HTMLTextAreaElement | null} */ (box.querySelector("textarea"))?.focus();
  }

  // -- panes -----------------------------------------------------------------------------------------------
  /** @param {1 | -1} dir */
  swipe(dir) {
    const order = swipeOrder(this.host.layout(), this.host.isMaster());
    const target = swipeTarget(order, this.host.screen.active, dir);
    if (target) this.show(target.pane);
  }

  /**
   * Show a pane alone: a master focuses it (the server switches windows if need be), a viewer looks at it.
   * @param {number} pane
   */
  show(pane) {
    this.menu.hidden = true;
    this.host.selector.clear();
    if (this.host.isMaster()) {
      this.host.focusPane(pane);
    } else {
      this.viewerPane = pane;
      this.host.relayout();
    }
  }

  buildMenu() {
    const layout = this.host.layout();
    const order = swipeOrder(layout, this.host.isMaster());
    const windows = Array.isArray(layout?.windows) ? layout.windows : [];
    this.menu.textContent = "";
    let lastWindow = -1;
    for (const entry of order) {
      if (entry.window !== lastWindow) {
        lastWindow = entry.window;
        const i = windows.findIndex((/** @type {any} */ w) => w.id === entry.window);
        const w = windows[i];
        this.menu.appendChild(el("div", "menu-head", `${i + 1}: ${w?.name || w?.layout || "window"}`));
      }
      const title = this.host.paneState(entry.pane)?.title || "";
      const b = el("button", entry.pane === this.host.screen.active ? "current" : "", `#${entry.pane} ${title}`.trim());
      b.dataset.pane = String(entry.pane);
      b.addEventListener("click", (e) => {
        e.stopPropagation();
        this.show(entry.pane);
        this.host.refocus();
      });
      this.menu.appendChild(b);
    }
  }
}
