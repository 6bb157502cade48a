// The key bar's keys and its sticky modifiers, pure. The DOM side is keybar.js.
//
// Ctrl and Alt on the key bar are sticky: a tap arms one for the next key only (one-shot), a second tap
// locks it until a third tap releases it. Whatever key comes next, from the key bar or from the phone's
// own keyboard (which sends text, not keys), goes out as a `key` message with the modifier, so the
// server's encoder (Ghostty's) turns Ctrl+C into ^C and Alt+B into ESC b as it does for a real keyboard.

import { ALT, CTRL } from "./keys.js";

/** @typedef {"off" | "once" | "locked"} StickyState */

export class StickyModifiers {
  constructor() {
    /** @type {Map<number, StickyState>} modifier bit -> state */
    this.states = new Map([[CTRL, /** @type {StickyState} */ ("off")], [ALT, /** @type {StickyState} */ ("off")]]);
  }

  /**
   * A tap on a modifier's key: off -> once -> locked -> off.
   * @param {number} bit  CTRL or ALT
   * @returns {StickyState} the new state
   */
  tap(bit) {
    const now = this.states.get(bit) ?? "off";
    /** @type {StickyState} */
    const next = now === "off" ? "once" : now === "once" ? "locked" : "off";
    this.states.set(bit, next);
    return next;
  }

  /** @param {number} bit */
  state(bit) {
    return this.states.get(bit) ?? "off";
  }

  /** The modifier bits armed now, without using them up. */
  peek() {
    let m = 0;
    for (const [bit, s] of this.states) if (s !== "off") m |= bit;
    return m;
  }

  /** The modifier bits for the next key; one-shot modifiers are used up. */
  consume() {
    const m = this.peek();
    for (const [bit, s] of this.states) if (s === "once") this.states.set(bit, "off");
    return m;
  }

  reset() {
    for (const bit of this.states.keys()) this.states.set(bit, "off");
  }
}

// US-layout codes of the symbols, for the encoder (the key's text is what counts; the code helps with
// Ctrl and Alt combinations). [code, shifted]
/** @type {Record<string, [string, boolean]>} */
const SYMBOL_CODES = {
  "`": ["Backquote", false], "~": ["Backquote", true], "-": ["Minus", false], "_": ["Minus", true],
  "=": ["Equal", false], "+": ["Equal", true], "[": ["BracketLeft", false], "{": ["BracketLeft", true],
  "]": ["BracketRight", false], "}": ["BracketRight", true], "\\": ["Backslash", false], "|": ["Backslash", true],
  ";": ["Semicolon", false], ":": ["Semicolon", true], "'": ["Quote", false], "\"": ["Quote", true],
  ",": ["Comma", false], "<": ["Comma", true], ".": ["Period", false], ">": ["Period", true],
  "/": ["Slash", false], "?": ["Slash", true], " ": ["Space", false],
  "!": ["Digit1", true], "@": ["Digit2", true], "#": ["Digit3", true], "$": ["Digit4", true], "%": ["Digit5", true],
  "^": ["Digit6", true], "&": ["Digit7", true], "*": ["Digit8", true], "(": ["Digit9", true], ")": ["Digit0", true],
};

/**
 * A key event (as keys.js's `keyMessage` takes it) for one typed character with modifier bits `mods`.
 * @param {string} ch   one character
 * @param {number} mods  CTRL | ALT bits
 * @returns {import("./keys.js").KeyLike}
 */
export function charKey(ch, mods) {
  let code = "";
  let shift = false;
  if (/^[a-z]$/.test(ch)) code = `Key${ch.toUpperCase()}`;
  else if (/^[A-Z]$/.test(ch)) {
    code = `Key${ch}`;
    shift = true;
  } else if (/^[0-9]$/.test(ch)) code = `Digit${ch}`;
  else if (ch in SYMBOL_CODES) [code, shift] = SYMBOL_CODES[ch];
  return { key: ch, code, shiftKey: shift, ctrlKey: Boolean(mods & CTRL), altKey: Boolean(mods & ALT), metaKey: false };
}

/**
 * @typedef {object} BarKey
 * @property {string} id        stable name (data-key in the DOM)
 * @property {string} label
 * @property {string} title
 * @property {"key" | "char" | "mod" | "paste"} kind
 * @property {string} [key]     KeyboardEvent.key (kind key)
 * @property {string} [code]    KeyboardEvent.code (kind key)
 * @property {string} [ch]      the character (kind char)
 * @property {number} [bit]     the modifier (kind mod)
 * @property {boolean} [repeats] held down, it repeats
 */

/** The key bar, left to right: what phones' keyboards lack first. */
/** @type {BarKey[]} */
export const BAR_KEYS = [
  { id: "esc", label: "Esc", title: "Escape", kind: "key", key: "Escape", code: "Escape" },
  { id: "tab", label: "Tab", title: "Tab", kind: "key", key: "Tab", code: "Tab" },
  { id: "ctrl", label: "Ctrl", title: "Ctrl for the next key (tap twice to lock)", kind: "mod", bit: CTRL },
  { id: "alt", label: "Alt", title: "Alt for the next key (tap twice to lock)", kind: "mod", bit: ALT },
  { id: "left", label: "←", title: "Left", kind: "key", key: "ArrowLeft", code: "ArrowLeft", repeats: true },
  { id: "down", label: "↓", title: "Down", kind: "key", key: "ArrowDown", code: "ArrowDown", repeats: true },
  { id: "up", label: "↑", title: "Up", kind: "key", key: "ArrowUp", code: "ArrowUp", repeats: true },
  { id: "right", label: "→", title: "Right", kind: "key", key: "ArrowRight", code: "ArrowRight", repeats: true },
  { id: "pipe", label: "|", title: "|", kind: "char", ch: "|" },
  { id: "tilde", label: "~", title: "~", kind: "char", ch: "~" },
  { id: "slash", label: "/", title: "/", kind: "char", ch: "/" },
  { id: "dash", label: "-", title: "-", kind: "char", ch: "-" },
  { id: "underscore", label: "_", title: "_", kind: "char", ch: "_" },
  { id: "paste", label: "Paste", title: "Paste the clipboard", kind: "paste" },
];
