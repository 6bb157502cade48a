// Keyboard decisions, pure: which keys go to the terminal (as full events, encoded by the server),
// which are the client's own shortcuts, and which the browser keeps. Also paste chunking and wheel steps.
//
// Rules that keep applications working (lessons: shortcuts on bare Alt or Ctrl+V stole editor keys):
// - no shortcut on bare Alt, bare Ctrl or bare Ctrl+V; the client's shortcuts use Ctrl+Shift;
// - Ctrl+C copies only while there is a selection, otherwise it is the terminal's interrupt;
// - keys that belong to an IME composition are never sent as keys (the composition's text is).

export const SHIFT = 1, CTRL = 2, ALT = 4, META = 8;
const MAX_KEY_FIELD = 32;

/**
 * The parts of a KeyboardEvent that matter here (a real KeyboardEvent fits).
 * @typedef {object} KeyLike
 * @property {string} key
 * @property {string} code
 * @property {boolean} shiftKey
 * @property {boolean} ctrlKey
 * @property {boolean} altKey
 * @property {boolean} metaKey
 * @property {boolean} [repeat]
 * @property {boolean} [isComposing]
 * @property {number} [keyCode]
 */

/**
 * @typedef {"copy" | "copy-clear" | "help" | "settings" | "new-window" | "prev-window" | "next-window" | "focus-left" |
 *   "focus-right" | "focus-up" | "focus-down" | "scroll-page-up" | "scroll-page-down" | "scroll-top" |
 *   "scroll-bottom" | "close-overlay" | "search"} Action
 */

/**
 * @typedef {{kind: "send"} | {kind: "browser"} | {kind: "ignore"} | {kind: "action", action: Action}} Decision
 *   send: to the terminal (prevent the default); browser: let the browser act (paste, its own shortcuts);
 *   ignore: part of an IME composition, do nothing; action: one of the client's shortcuts.
 */

/**
 * @typedef {object} KeyContext
 * @property {boolean} mac           Cmd is the copy/paste modifier
 * @property {boolean} hasSelection
 * @property {boolean} altScreen     the focused pane shows the alternate screen (Shift+PageUp goes to it)
 * @property {boolean} overlay       a dialog is open (Escape closes it)
 */

/** The client's shortcuts, for the help overlay and for `decideKey`. Ctrl+Shift+<code>. */
export const SHORTCUTS = /** @type {const} */ ([
  ["Slash", "help", "Ctrl+Shift+?", "Show this help"],
  ["Comma", "settings", "Ctrl+Shift+,", "Settings"],
  ["KeyE", "new-window", "Ctrl+Shift+E", "New window (layout picker)"],
  ["PageUp", "prev-window", "Ctrl+Shift+PageUp", "Previous window"],
  ["PageDown", "next-window", "Ctrl+Shift+PageDown", "Next window"],
  ["ArrowLeft", "focus-left", "Ctrl+Shift+←", "Focus the pane to the left"],
  ["ArrowRight", "focus-right", "Ctrl+Shift+→", "Focus the pane to the right"],
  ["ArrowUp", "focus-up", "Ctrl+Shift+↑", "Focus the pane above"],
  ["ArrowDown", "focus-down", "Ctrl+Shift+↓", "Focus the pane below"],
  ["Home", "scroll-top", "Ctrl+Shift+Home", "Scroll to the top of the scrollback"],
  ["End", "scroll-bottom", "Ctrl+Shift+End", "Back to the live screen"],
  ["KeyF", "search", "Ctrl+Shift+F", "Search the scrollback (Enter: older match, Shift+Enter: newer, Escape: close)"],
]);

/** Help lines that are not Ctrl+Shift+<code> shortcuts. */
export const OTHER_KEYS = [
  ["Ctrl+Shift+C, Cmd+C", "Copy the selection"],
  ["Ctrl+C", "Copy when text is selected; otherwise sent to the program (interrupt)"],
  ["Ctrl+Shift+V, Cmd+V, Shift+Insert", "Paste"],
  ["Shift+PageUp / Shift+PageDown", "Scroll back / forward (not on the alternate screen)"],
  ["Shift+drag", "Select text even when the program uses the mouse"],
  ["Double-click / triple-click", "Select a word / a line"],
  ["Shift+click", "Extend the selection to here"],
  ["Drag past the top or bottom, or wheel while dragging", "Select beyond the screen (the view scrolls along)"],
  ["Middle click", "Paste the selection (an option in Settings)"],
  ["Right click", "Copy, paste, open a link, search (Shift+right click: the browser's menu)"],
  ["Click a URL", "Open it in a new tab (http, https and OSC 8 links)"],
  ["Wheel", "Scroll this browser's own view of the scrollback"],
  ["Escape", "Close a dialog"],
  ["Ctrl+W, Ctrl+T, Ctrl+N", "Kept by the browser (a page cannot have them); install the page as an app to free them"],
];

/**
 * Modifier bits of an event: shift 1, ctrl 2, alt 4, meta 8.
 * @param {{shiftKey: boolean, ctrlKey: boolean, altKey: boolean, metaKey: boolean}} ev
 */
export function modsOf(ev) {
  return (ev.shiftKey ? SHIFT : 0) | (ev.ctrlKey ? CTRL : 0) | (ev.altKey ? ALT : 0) | (ev.metaKey ? META : 0);
}

/** @param {string} key */
export function isModifierKey(key) {
  return key === "Shift" || key === "Control" || key === "Alt" || key === "Meta" || key === "AltGraph" ||
    key === "CapsLock" || key === "NumLock" || key === "OS" || key === "Hyper" || key === "Super";
}

/**
 * The `key` message for an event.
 * @param {KeyLike} ev
 * @param {number} pane
 * @param {"press" | "repeat" | "release"} action
 */
export function keyMessage(ev, pane, action) {
  return {
    t: "key", p: pane, code: String(ev.code || "").slice(0, MAX_KEY_FIELD),
    key: String(ev.key || "").slice(0, MAX_KEY_FIELD), a: action, m: modsOf(ev),
  };
}

/**
 * A key pressed (or repeated) and released, as the master types it; a viewer is told it cannot.
 * @param {{isMaster: () => boolean, refused: () => void, send: (msg: any) => unknown}} host
 * @param {KeyLike} ev
 * @param {number} pane
 * @param {"press" | "repeat"} [action]
 * @returns {boolean} whether it was sent
 */
export function tapKey(host, ev, pane, action = "press") {
  if (!host.isMaster()) {
    host.refused();
    return false;
  }
  host.send(keyMessage(ev, pane, action));
  host.send(keyMessage(ev, pane, "release"));
  return true;
}

/**
 * What to do with a keydown.
 * @param {KeyLike} ev
 * @param {KeyContext} ctx
 * @returns {Decision}
 */
export function decideKey(ev, ctx) {
  const { key, code } = ev;
  if (ev.isComposing || key === "Process" || key === "Dead" || (key === "Unidentified" && ev.keyCode === 229)) {
    return { kind: "ignore" };
  }
  const m = modsOf(ev);
  if (ctx.overlay && key === "Escape") return { kind: "action", action: "close-overlay" };
  // Copy.
  if (m === (CTRL | SHIFT) && code === "KeyC") return { kind: "action", action: "copy" };
  if (ctx.mac && m === META && code === "KeyC") return { kind: "action", action: "copy" };
  if (m === CTRL && code === "KeyC" && ctx.hasSelection) return { kind: "action", action: "copy-clear" };
  if (m === CTRL && key === "Insert") return { kind: "action", action: "copy" };
  // Paste: the browser performs it and fires a `paste` event (never bare Ctrl+V: that is the program's).
  if (m === (CTRL | SHIFT) && code === "KeyV") return { kind: "browser" };
  if (ctx.mac && m === META && code === "KeyV") return { kind: "browser" };
  if (m === SHIFT && key === "Insert") return { kind: "browser" };
  // Our shortcuts.
  if (m === (CTRL | SHIFT)) {
    const hit = SHORTCUTS.find((s) => s[0] === code);
    if (hit) return { kind: "action", action: hit[1] };
    if (code === "KeyI" || code === "KeyJ") return { kind: "browser" };   // developer tools
  }
  if (m === SHIFT && !ctx.altScreen && (key === "PageUp" || key === "PageDown")) {
    return { kind: "action", action: key === "PageUp" ? "scroll-page-up" : "scroll-page-down" };
  }
  // The browser's own: F11 (full screen) and, on a Mac, Cmd shortcuts (Cmd+Q, Cmd+L, Cmd+R …).
  if (key === "F11" && m === 0) return { kind: "browser" };
  if (ctx.mac && (m & META)) return { kind: "browser" };
  return { kind: "send" };
}

/**
 * JSON + UTF-8 bytes one UTF-16 code unit costs inside a JSON string (a surrogate pair costs 4 in all).
 * @param {string} s
 * @param {number} i
 */
function unitCost(s, i) {
  const c = s.charCodeAt(i);
  if (c < 0x20) return c === 8 || c === 9 || c === 10 || c === 12 || c === 13 ? 2 : 6;
  if (c === 0x22 || c === 0x5c) return 2;
  if (c < 0x80) return 1;
  if (c < 0x800) return 2;
  if (c >= 0xd800 && c <= 0xdbff) {
    const d = s.charCodeAt(i + 1);
    return d >= 0xdc00 && d <= 0xdfff ? 4 : 6;
  }
  if (c >= 0xdc00 && c <= 0xdfff) {
    const p = s.charCodeAt(i - 1);
    return i > 0 && p >= 0xd800 && p <= 0xdbff ? 0 : 6;
  }
  return 3;
}

/**
 * Split a paste into chunks that each fit one message: at most `maxBytes` of JSON-encoded UTF-8 and
 * `maxChars` codepoints, cut only at codepoint boundaries. Joined, the chunks are the original text.
 * @param {string} text
 * @param {number} maxBytes
 * @param {number} maxChars
 * @returns {string[]}
 */
export function splitPaste(text, maxBytes, maxChars) {
  /** @type {string[]} */
  const out = [];
  let start = 0;
  let bytes = 0;
  let chars = 0;
  for (let i = 0; i < text.length; i++) {
    const cost = unitCost(text, i);
    const low = cost === 0;   // second half of a surrogate pair: belongs to the codepoint already counted
    if (!low && (bytes + cost > maxBytes || chars + 1 > maxChars) && i > start) {
      out.push(text.slice(start, i));
      start = i;
      bytes = 0;
      chars = 0;
    }
    bytes += cost;
    if (!low) chars += 1;
  }
  if (start < text.length || out.length === 0) out.push(text.slice(start));
  return out;
}

/** UTF-8 length of a string (lone surrogates count 3, as the encoder replaces them). */
export function utf8Length(/** @type {string} */ s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * Turn wheel deltas into whole rows, carrying the remainder: returns [rows, remainder].
 * @param {number} acc        remainder carried from earlier events (in pixels)
 * @param {number} deltaY
 * @param {number} deltaMode  0 pixels, 1 lines, 2 pages
 * @param {number} cellH      row height in pixels
 * @param {number} pageRows
 * @returns {[number, number]}
 */
export function wheelRows(acc, deltaY, deltaMode, cellH, pageRows) {
  const px = deltaMode === 1 ? deltaY * cellH : deltaMode === 2 ? deltaY * cellH * pageRows : deltaY;
  const total = acc + px;
  const h = Math.max(1, cellH);
  const rows = Math.trunc(total / h);
  const clamped = Math.max(-100, Math.min(100, rows));
  return [clamped, total - rows * h];
}
