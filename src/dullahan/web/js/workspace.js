// The keyboard's workspace commands: the prefix key and copy mode (decided in prefix.js), carried out through
// the server's command table, with their indicator in the bar (prefix armed, a y/n question, copy mode) and
// the pane numbers shown over the panes.

import { decideKey, tapKey } from "./keys.js";
import { el } from "./pane.js";
import { IDLE, parsePrefix, prefixLabel, prefixStep, stepPane } from "./prefix.js";
import { activeWindow } from "./sync.js";

/** @typedef {import("./prefix.js").PrefixCommand} PrefixCommand */
/** @typedef {import("./prefix.js").PrefixState} PrefixState */
/** @typedef {import("./keys.js").Action} Action */
/** @typedef {import("./keys.js").KeyContext} KeyContext */
/** @typedef {import("./sync.js").PaneState} PaneState */
/** @typedef {import("./view.js").Screen} Screen */

/**
 * @typedef {object} WorkspaceHost
 * @property {() => string} prefixSetting
 * @property {(name: string, args?: object) => void} command
 * @property {() => any} layout
 * @property {() => number | null} activePane
 * @property {(pane: number) => PaneState | undefined} paneState
 * @property {(pane: number) => void} focusPane
 * @property {(msg: object) => boolean} send
 * @property {() => boolean} isMaster
 * @property {() => void} refused
 * @property {(action: Action) => void} action
 * @property {() => KeyContext} keyContext
 * @property {() => boolean} overlayOpen
 * @property {(window: number) => void} renameWindow
 * @property {() => void} openSearch
 * @property {(step: 1 | -1) => void} searchStep
 * @property {() => void} closeSearch
 * @property {Screen} screen
 */

export class Workspace {
  /** @param {WorkspaceHost} host */
  constructor(host) {
    this.host = host;
    /** @type {PrefixState} */
    this.state = IDLE;
    this.modeEl = /** @type {HTMLElement} */ (document.getElementById("mode"));
    /** @type {number | null} the window shown before the current one (prefix l) */
    this.lastWindow = null;
    /** @type {number | null} */
    this.shownWindow = null;
    /** @type {HTMLElement[]} */
    this.numberEls = [];
  }

  /**
   * A keydown, before anything else sees it: true when the prefix machine took it.
   * @param {KeyboardEvent} e
   */
  onKey(e) {
    if (this.host.overlayOpen()) return false;
    const { state, outcome } = prefixStep(this.state, e, { prefix: parsePrefix(this.host.prefixSetting()), now: performance.now() });
    const wasCopy = this.state.copy;
    this.state = state;
    let taken = true;
    if (outcome.kind === "pass") {
      taken = false;
      // A key that goes to the program from copy mode ends it (the server shows the live screen again).
      if (wasCopy && decideKey(e, this.host.keyContext()).kind === "send") this.state = IDLE;
    } else if (outcome.kind === "send-prefix") {
      this.sendPrefix(e);
    } else if (outcome.kind === "command") {
      this.carryOut(outcome.command);
    }
    this.show();
    return taken;
  }

  /**
   * The prefix typed twice: the program gets it once (press and release; the key's own release is not sent).
   * @param {KeyboardEvent} e
   */
  sendPrefix(e) {
    const pane = this.host.activePane();
    if (pane === null) return;
    tapKey(this.host, e, pane);
  }

  /** @param {PrefixCommand} c */
  carryOut(c) {
    const host = this.host;
    const layout = host.layout();
    const win = activeWindow(layout);
    const pane = host.activePane();
    const st = pane === null ? undefined : host.paneState(pane);
    const windows = Array.isArray(layout?.windows) ? layout.windows : [];
    /** @param {number | "top" | "bottom"} how */
    const scroll = (how) => {
      if (pane === null) return;
      host.send(typeof how === "number" ? { t: "scroll", p: pane, delta: how } : { t: "scroll", p: pane, to: how });
    };
    switch (c.name) {
      case "split-right": case "split-down":
        if (pane !== null) host.command("split-window", { direction: c.name === "split-right" ? "right" : "down", target: pane });
        break;
      case "zoom":
        if (pane !== null) host.command("resize-pane", { target: pane, zoom: true });
        break;
      case "close-pane":
        if (pane !== null) host.command("kill-pane", { pane });
        break;
      case "kill-window":
        if (win) host.command("kill-window", { window: win.id });
        break;
      case "new-window":
        host.command("new-window", { layout: "single" });
        break;
      case "next-window": case "prev-window": case "help":
        host.action(c.name);
        break;
      case "last-window":
        if (this.lastWindow !== null && windows.some((/** @type {any} */ w) => w.id === this.lastWindow)) {
          host.command("select-window", { window: this.lastWindow });
        }
        break;
      case "select-window": {
        const target = windows[c.index];
        if (target && target.id !== layout.active) host.command("select-window", { window: target.id });
        break;
      }
      case "next-pane": {
        const next = win ? stepPane(win.slots, pane, 1) : null;
        if (next !== null) host.focusPane(next);
        break;
      }
      case "swap-prev": case "swap-next": {
        const other = win ? stepPane(win.slots, pane, c.name === "swap-next" ? 1 : -1) : null;
        if (other !== null) host.command("swap-pane", { source: pane, target: other });
        break;
      }
      case "select-pane":
        if (win) host.command("select-pane", { direction: c.direction, window: win.id });
        break;
      case "resize-pane":
        if (pane !== null) host.command("resize-pane", { target: pane, direction: c.direction, cells: c.cells });
        break;
      case "pane-numbers":
        break;   // shown by `show` while the state waits for the digit
      case "select-pane-number":
        if (win && typeof win.slots[c.index] === "number") host.command("select-pane", { index: c.index, window: win.id });
        break;
      case "rename-window":
        if (win) host.renameWindow(win.id);
        break;
      case "break-pane":
        if (pane !== null) host.command("break-pane", { target: pane });
        break;
      case "copy-mode":
        break;   // the state says so; keys now move the view
      case "search":
        host.openSearch();
        break;
      case "copy-scroll":
        if (st) scroll(c.rows + c.pages * Math.max(1, st.rows - 1));
        break;
      case "copy-top":
        scroll("top");
        break;
      case "copy-bottom":
        scroll("bottom");
        break;
      case "copy-exit":
        host.closeSearch();
        scroll("bottom");
        break;
      case "copy-next": case "copy-prev":
        host.searchStep(c.name === "copy-next" ? 1 : -1);
        break;
    }
  }

  /** Leave copy mode (the find bar's Escape, a click on the indicator). */
  leaveCopyMode() {
    if (!this.state.copy) return;
    this.state = { ...this.state, copy: false };
    this.show();
  }

  /** A layout arrived: remember the window shown before (prefix l). Called for every layout, drawn or not. */
  noteLayout() {
    const active = this.host.layout()?.active ?? null;
    if (active !== this.shownWindow) {
      if (this.shownWindow !== null) this.lastWindow = this.shownWindow;
      this.shownWindow = active;
    }
  }

  /** The indicator in the bar, and the pane numbers while they are asked for. */
  show() {
    const st = this.state;
    const label = prefixLabel(this.host.prefixSetting());
    let text = "";
    let title = "";
    if (st.mode === "prefix") {
      text = `${label} …`;
      title = "The next key is a Dullahan command (? lists them, Escape cancels)";
    } else if (st.mode === "confirm") {
      const pane = this.host.activePane();
      text = st.command.name === "kill-window" ? "Close this window and its panes? y/n" : `Close pane #${pane}? y/n`;
      title = "y closes it; any other key does not";
    } else if (st.mode === "pane-number") {
      text = "pane number?";
      title = "A digit selects that pane";
    } else if (st.copy) {
      text = "copy mode";
      title = "Arrows, PageUp/PageDown, g/G move the view; / searches, n/N next/previous match; q or Escape leaves";
    }
    // Called on every key: the DOM is touched only when the indicator changes. A write per key would make
    // the browser start a rendering update at the keydown, and the echo's frame would then wait for the next
    // one (measured: keystroke to paint 4 -> 12 ms at an idle prompt in headless Chromium).
    const m = this.modeEl;
    const className = `mode ${st.mode}${st.copy ? " copy" : ""}`;
    if (m && (m.textContent !== text || m.title !== title || m.className !== className)) {
      m.hidden = text === "";
      m.textContent = text;
      m.title = title;
      m.className = className;
    }
    this.showPaneNumbers(st.mode === "pane-number");
  }

  /** @param {boolean} on */
  showPaneNumbers(on) {
    if (!on && this.numberEls.length === 0) return;
    for (const e of this.numberEls) e.remove();
    this.numberEls = [];
    if (!on) return;
    const win = activeWindow(this.host.layout());
    const slots = Array.isArray(win?.slots) ? win.slots : [];
    slots.forEach((/** @type {number | null} */ id, /** @type {number} */ i) => {
      const pv = id === null ? undefined : this.host.screen.panes.get(id);
      if (!pv || i > 9) return;
      const n = el("div", "pnum", String(i));
      pv.body.appendChild(n);
      this.numberEls.push(n);
    });
  }
}
