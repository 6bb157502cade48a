// The user's settings, kept in the browser (localStorage) and checked on load. Pure apart from the
// storage object handed in.

import { parsePrefix } from "./prefix.js";
import { THEMES } from "./style.js";

/**
 * @typedef {object} Settings
 * @property {string} theme            a theme name, or "auto" (light or dark as the system prefers)
 * @property {string} fontFamily
 * @property {number} fontSize         px
 * @property {number} lineHeight       multiple of the font size
 * @property {"app" | "block" | "bar" | "underline"} cursorStyle   "app": as the program asks
 * @property {"app" | "on" | "off"} cursorBlink
 * @property {boolean} clipboardWrites  programs may set the clipboard (OSC 52), master only
 * @property {boolean} guardUnload     ask before closing or leaving the page while a session is attached
 * @property {string} prefixKey        the prefix chord as tmux writes it ("C-b", "C-a", "C-Space" ...), or "off"
 * @property {boolean} copyOnSelect     a selection is copied as soon as it is made
 * @property {boolean} middleClickPaste the middle button pastes the selection (else the clipboard)
 */

export const STORAGE_KEY = "dullahan.settings.v1";
export const DEFAULT_FONT = '"DejaVu Sans Mono", "Menlo", "Consolas", "Liberation Mono", monospace';

/** @type {Settings} */
export const DEFAULTS = {
  theme: "auto",
  fontFamily: DEFAULT_FONT,
  fontSize: 14,
  lineHeight: 1.2,
  cursorStyle: "app",
  cursorBlink: "app",
  clipboardWrites: true,
  guardUnload: true,
  prefixKey: "C-b",
  copyOnSelect: false,
  middleClickPaste: true,
};

/**
 * A valid settings object from anything (unknown keys dropped, bad values replaced by defaults).
 * @param {unknown} raw
 * @returns {Settings}
 */
export function sanitize(raw) {
  const o = raw && typeof raw === "object" ? /** @type {Record<string, unknown>} */ (raw) : {};
  const num = (/** @type {string} */ k, /** @type {number} */ lo, /** @type {number} */ hi, /** @type {number} */ d) => {
    const v = o[k];
    return typeof v === "number" && Number.isFinite(v) && v >= lo && v <= hi ? v : d;
  };
  /**
   * @template {string} T
   * @param {string} k
   * @param {readonly T[]} options
   * @param {T} d
   * @returns {T}
   */
  const pick = (k, options, d) => {
    const v = o[k];
    return typeof v === "string" && options.includes(/** @type {T} */ (v)) ? /** @type {T} */ (v) : d;
  };
  const family = typeof o.fontFamily === "string" && o.fontFamily.trim() && o.fontFamily.length <= 300 &&
    !/[;{}<>]/.test(o.fontFamily) ? o.fontFamily.trim() : DEFAULTS.fontFamily;
  return {
    theme: pick("theme", ["auto", ...THEMES.map((t) => t.name)], DEFAULTS.theme),
    fontFamily: family,
    fontSize: num("fontSize", 6, 48, DEFAULTS.fontSize),
    lineHeight: num("lineHeight", 1, 2.5, DEFAULTS.lineHeight),
    cursorStyle: pick("cursorStyle", /** @type {const} */ (["app", "block", "bar", "underline"]), DEFAULTS.cursorStyle),
    cursorBlink: pick("cursorBlink", /** @type {const} */ (["app", "on", "off"]), DEFAULTS.cursorBlink),
    clipboardWrites: typeof o.clipboardWrites === "boolean" ? o.clipboardWrites : DEFAULTS.clipboardWrites,
    guardUnload: typeof o.guardUnload === "boolean" ? o.guardUnload : DEFAULTS.guardUnload,
    prefixKey: o.prefixKey === "off" || parsePrefix(o.prefixKey) ? /** @type {string} */ (o.prefixKey) : DEFAULTS.prefixKey,
    copyOnSelect: typeof o.copyOnSelect === "boolean" ? o.copyOnSelect : DEFAULTS.copyOnSelect,
    middleClickPaste: typeof o.middleClickPaste === "boolean" ? o.middleClickPaste : DEFAULTS.middleClickPaste,
  };
}

/**
 * @param {Pick<Storage, "getItem"> | null} storage
 * @returns {Settings}
 */
export function loadSettings(storage) {
  try {
    const text = storage?.getItem(STORAGE_KEY);
    return sanitize(text ? JSON.parse(text) : {});
  } catch {
    return sanitize({});
  }
}

/**
 * @param {Pick<Storage, "setItem"> | null} storage
 * @param {Settings} settings
 * @returns {boolean} whether it was stored
 */
export function saveSettings(storage, settings) {
  try {
    storage?.setItem(STORAGE_KEY, JSON.stringify(sanitize(settings)));
    return storage != null;
  } catch {
    return false;
  }
}
