// The key bar above a phone's keyboard: Esc, Tab, sticky Ctrl and Alt, arrows, the symbols phone
// keyboards bury, and paste (BAR_KEYS in modifiers.js). Its buttons never take the focus from the
// terminal's textarea, so the phone's keyboard stays up while they are tapped.

import { BAR_KEYS, charKey } from "./modifiers.js";
import { ALT, CTRL } from "./keys.js";
import { el } from "./pane.js";

/** @typedef {import("./modifiers.js").StickyModifiers} StickyModifiers */
/** @typedef {import("./modifiers.js").BarKey} BarKey */
/** @typedef {import("./keys.js").KeyLike} KeyLike */

/**
 * @typedef {object} KeyBarHost
 * @property {(ev: KeyLike, action: "press" | "repeat") => void} key   a key for the focused pane (its release follows a press)
 * @property {() => void} paste
 */

const REPEAT_AFTER_MS = 400;
const REPEAT_EVERY_MS = 60;

export class KeyBar {
  /**
   * @param {KeyBarHost} host
   * @param {StickyModifiers} mods
   */
  constructor(host, mods) {
    this.host = host;
    this.mods = mods;
    this.el = el("div", "keybar");
    this.el.id = "keybar";
    this.el.setAttribute("role", "toolbar");
    this.el.setAttribute("aria-label", "Keys");
    /** @type {Map<number, HTMLButtonElement>} */
    this.modButtons = new Map();
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.repeatTimer = null;
    /** A held key already repeated: the click that ends the hold sends nothing more. */
    this.repeated = false;
    for (const k of BAR_KEYS) this.el.appendChild(this.button(k));
    // Keep the focus (and the phone's keyboard) on the terminal's textarea.
    this.el.addEventListener("mousedown", (e) => e.preventDefault());
  }

  /** @param {BarKey} k */
  button(k) {
    const b = el("button", `kb kb-${k.kind}`, k.label);
    b.type = "button";
    b.tabIndex = -1;
    b.title = k.title;
    b.dataset.key = k.id;
    if (k.kind === "mod" && k.bit !== undefined) {
      this.modButtons.set(k.bit, b);
      b.setAttribute("aria-pressed", "false");
    }
    b.addEventListener("click", (e) => {
      e.preventDefault();
      this.stopRepeat();
      if (this.repeated) {
        this.repeated = false;
        return;
      }
      this.activate(k, "press");
    });
    if (k.repeats) {
      b.addEventListener("pointerdown", () => this.startRepeat(k));
      for (const type of ["pointerup", "pointercancel", "pointerleave"]) b.addEventListener(type, () => this.stopRepeat());
    }
    return b;
  }

  /**
   * @param {BarKey} k
   * @param {"press" | "repeat"} action
   */
  activate(k, action) {
    if (k.kind === "mod" && k.bit !== undefined) {
      this.mods.tap(k.bit);
      this.showMods();
      return;
    }
    if (k.kind === "paste") {
      this.host.paste();
      return;
    }
    const mods = action === "repeat" ? this.mods.peek() : this.mods.consume();
    /** @type {KeyLike} */
    const ev = k.kind === "char" ? charKey(k.ch ?? "", mods)
      : { key: k.key ?? "", code: k.code ?? "", shiftKey: false, ctrlKey: Boolean(mods & CTRL), altKey: Boolean(mods & ALT), metaKey: false };
    this.host.key(ev, action);
    this.showMods();
  }

  /** @param {BarKey} k */
  startRepeat(k) {
    this.stopRepeat();
    this.repeated = false;
    const tick = () => {
      this.repeated = true;
      this.activate(k, "repeat");
      this.repeatTimer = setTimeout(tick, REPEAT_EVERY_MS);
    };
    this.repeatTimer = setTimeout(() => {
      // The first key of a hold is a press (it uses up a one-shot modifier); the rest repeat it.
      this.activate(k, "press");
      this.repeated = true;
      this.repeatTimer = setTimeout(tick, REPEAT_EVERY_MS);
    }, REPEAT_AFTER_MS);
  }

  stopRepeat() {
    if (this.repeatTimer !== null) clearTimeout(this.repeatTimer);
    this.repeatTimer = null;
  }

  /** Show each sticky modifier's state (armed for one key, or locked). */
  showMods() {
    for (const [bit, b] of this.modButtons) {
      const s = this.mods.state(bit);
      b.classList.toggle("once", s === "once");
      b.classList.toggle("locked", s === "locked");
      b.setAttribute("aria-pressed", s === "off" ? "false" : "true");
    }
  }
}
