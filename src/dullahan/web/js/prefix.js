// The prefix key, as in tmux: a chord (Ctrl+B by default) after which the next key is a Dullahan command
// rather than input for the program, and copy mode, where keys move this page's view of the scrollback.
// Pure: `prefixStep` takes a state and a key and returns the next state and what to do; the DOM glue
// (workspace.js) carries it out and shows the state.

import { CTRL, isModifierKey, modsOf } from "./keys.js";

/** @typedef {import("./keys.js").KeyLike} KeyLike */
/** @typedef {"left" | "right" | "up" | "down"} Direction */

/**
 * What a prefix sequence asks for.
 * @typedef {{name: "split-right" | "split-down" | "zoom" | "close-pane" | "kill-window" | "new-window" |
 *     "next-window" | "prev-window" | "last-window" | "next-pane" | "rename-window" | "copy-mode" |
 *     "pane-numbers" | "break-pane" | "swap-prev" | "swap-next" | "help" | "search" |
 *     "copy-exit" | "copy-top" | "copy-bottom" | "copy-next" | "copy-prev"}
 *   | {name: "select-pane" | "resize-pane", direction: Direction, cells: number}
 *   | {name: "select-window" | "select-pane-number", index: number}
 *   | {name: "copy-scroll", rows: number, pages: number}} PrefixCommand
 */

/**
 * - idle: keys are not ours (unless `copy`);
 * - prefix: the prefix was pressed, the next key is a command;
 * - confirm: a command waits for `y` (closing a pane or a window);
 * - pane-number: pane numbers are shown, a digit selects one;
 * - repeat: a resize may follow without the prefix again until `until` (ms).
 * `copy` (copy mode) lasts across the others until it is left.
 * @typedef {{mode: "idle" | "prefix" | "pane-number", copy: boolean}
 *   | {mode: "confirm", copy: boolean, command: PrefixCommand}
 *   | {mode: "repeat", copy: boolean, until: number}} PrefixState
 */

/**
 * - pass: not a prefix matter, handle the key as usual;
 * - swallow: taken (the prefix itself, a modifier, an unbound key after the prefix, a cancelled prompt);
 * - send-prefix: the prefix typed twice: send it to the program;
 * - command: carry out `command`.
 * @typedef {{kind: "pass"} | {kind: "swallow"} | {kind: "send-prefix"} | {kind: "command", command: PrefixCommand}} PrefixOutcome
 */

/** @typedef {{key: string, code: string}} Chord  a Ctrl+<key> chord; `code` for layouts whose letters differ */

/** How long after a resize another one is taken without the prefix (tmux's repeat-time). */
export const REPEAT_MS = 500;

/** @type {PrefixState} */
export const IDLE = { mode: "idle", copy: false };

/** The chords that can be a prefix: Ctrl with a letter, Space, ], \ (tmux writes C-b, C-a, C-Space ...). */
const PUNCTUATION = /** @type {Record<string, string>} */ ({ "Space": "Space", "]": "BracketRight", "\\": "Backslash" });

/**
 * The chord a setting names, or null for "off" or anything unusable.
 * @param {unknown} spec  "C-b", "C-a", "C-Space", "C-]", "C-\\", "off"
 * @returns {Chord | null}
 */
export function parsePrefix(spec) {
  if (typeof spec !== "string") return null;
  const m = /^C-(.+)$/.exec(spec);
  if (!m) return null;
  const name = m[1];
  if (/^[a-z]$/.test(name)) return { key: name, code: `Key${name.toUpperCase()}` };
  if (name in PUNCTUATION) return { key: name === "Space" ? " " : name, code: PUNCTUATION[name] };
  return null;
}

/**
 * The setting as people read it: "Ctrl+B", "Ctrl+Space", "off".
 * @param {unknown} spec
 */
export function prefixLabel(spec) {
  const chord = parsePrefix(spec);
  if (!chord) return "off";
  return `Ctrl+${chord.key === " " ? "Space" : chord.key.toUpperCase()}`;
}

/**
 * Whether a key is the prefix chord: Ctrl and nothing else but (for letters) the key itself. The key's
 * character decides; its position (`code`) counts where the layout's letters are not Latin.
 * @param {KeyLike} ev
 * @param {Chord | null} chord
 */
export function isPrefix(ev, chord) {
  if (!chord || modsOf(ev) !== CTRL) return false;
  const key = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
  if (key === chord.key) return true;
  const latin = /^[\x20-\x7e]$/.test(key);
  return !latin && ev.code === chord.code;
}

/**
 * The keys after the prefix, for `prefixStep` and the help overlay: [key, command, what it does].
 * Digits, arrows and Ctrl/Alt+arrows are handled apart (listed in PREFIX_HELP).
 * @type {ReadonlyArray<[string, PrefixCommand, string]>}
 */
export const PREFIX_KEYS = [
  ["%", { name: "split-right" }, "Split the pane: a new shell on the right"],
  ['"', { name: "split-down" }, "Split the pane: a new shell below"],
  ["z", { name: "zoom" }, "Zoom the pane to the whole window, or back"],
  ["x", { name: "close-pane" }, "Close the pane (asks y/n)"],
  ["&", { name: "kill-window" }, "Close the window (asks y/n)"],
  ["c", { name: "new-window" }, "New window"],
  ["n", { name: "next-window" }, "Next window"],
  ["p", { name: "prev-window" }, "Previous window"],
  ["l", { name: "last-window" }, "The window shown before"],
  ["o", { name: "next-pane" }, "Next pane"],
  ["q", { name: "pane-numbers" }, "Show pane numbers; a digit then selects that pane"],
  [",", { name: "rename-window" }, "Rename the window"],
  ["!", { name: "break-pane" }, "Move the pane out into a window of its own"],
  ["{", { name: "swap-prev" }, "Swap the pane with the previous one"],
  ["}", { name: "swap-next" }, "Swap the pane with the next one"],
  ["[", { name: "copy-mode" }, "Copy mode: arrows, PageUp/PageDown, g/G move the view, / searches, n/N next/previous match, q or Escape leaves"],
  ["/", { name: "search" }, "Search the scrollback"],
  ["?", { name: "help" }, "Show this help"],
];

/** Help lines for the keys not in PREFIX_KEYS: [keys after the prefix, what they do]. */
export const PREFIX_HELP = [
  ["1 … 9, 0", "Select window 1 … 9, 10 (as the tabs number them)"],
  ["← → ↑ ↓", "Select the pane to the left, right, above, below"],
  ["Ctrl+← → ↑ ↓", "Resize the pane by one cell (repeats without the prefix for half a second)"],
  ["Alt+← → ↑ ↓", "Resize the pane by five cells (repeats likewise)"],
  ["the prefix again", "Send the prefix key itself to the program"],
  ["Escape", "Cancel"],
];

/** @type {Record<string, Direction>} */
const ARROWS = { ArrowLeft: "left", ArrowRight: "right", ArrowUp: "up", ArrowDown: "down" };

/**
 * @param {PrefixState} st
 * @param {PrefixState["mode"]} mode
 * @returns {PrefixState}
 */
function to(st, mode) {
  return /** @type {PrefixState} */ ({ mode, copy: st.copy });
}

/**
 * One key through the prefix machine.
 * @param {PrefixState} st
 * @param {KeyLike} ev
 * @param {{prefix: Chord | null, now: number}} ctx  the prefix chord (null: off) and the time in ms
 * @returns {{state: PrefixState, outcome: PrefixOutcome}}
 */
export function prefixStep(st, ev, ctx) {
  const swallow = /** @type {PrefixOutcome} */ ({ kind: "swallow" });
  const pass = /** @type {PrefixOutcome} */ ({ kind: "pass" });
  // A modifier pressed on its way to a chord (Shift for %) changes nothing.
  if (isModifierKey(ev.key)) return { state: st, outcome: st.mode === "idle" || st.mode === "repeat" ? pass : swallow };
  const m = modsOf(ev);
  if (st.mode === "repeat") {
    const resize = st.until > ctx.now ? resizeCommand(ev, m) : null;
    if (resize) return { state: { mode: "repeat", copy: st.copy, until: ctx.now + REPEAT_MS }, outcome: { kind: "command", command: resize } };
    st = to(st, "idle");   // and the key is handled as if no prefix had been pressed
  }
  if (st.mode === "idle") {
    if (isPrefix(ev, ctx.prefix)) return { state: to(st, "prefix"), outcome: swallow };
    return st.copy ? copyModeKey(st, ev, m) : { state: st, outcome: pass };
  }
  if (st.mode === "confirm") {
    const yes = m === 0 || m === 1 ? ev.key === "y" || ev.key === "Y" : false;
    return { state: to(st, "idle"), outcome: yes ? { kind: "command", command: st.command } : swallow };
  }
  if (st.mode === "pane-number") {
    if (m === 0 && /^[0-9]$/.test(ev.key)) {
      return { state: to(st, "idle"), outcome: { kind: "command", command: { name: "select-pane-number", index: Number(ev.key) } } };
    }
    return { state: to(st, "idle"), outcome: swallow };
  }
  // st.mode === "prefix": this key is the command.
  if (isPrefix(ev, ctx.prefix)) return { state: to(st, "idle"), outcome: { kind: "send-prefix" } };
  const resize = resizeCommand(ev, m);
  if (resize) return { state: { mode: "repeat", copy: st.copy, until: ctx.now + REPEAT_MS }, outcome: { kind: "command", command: resize } };
  if (m === 0 && ev.key in ARROWS) {
    return { state: to(st, "idle"), outcome: { kind: "command", command: { name: "select-pane", direction: ARROWS[ev.key], cells: 1 } } };
  }
  // Printable keys: Shift is how %, ", &, {, } and ? are typed, so it does not count.
  if (m !== 0 && m !== 1) return { state: to(st, "idle"), outcome: swallow };
  if (/^[0-9]$/.test(ev.key)) {
    const n = Number(ev.key);
    return { state: to(st, "idle"), outcome: { kind: "command", command: { name: "select-window", index: n === 0 ? 9 : n - 1 } } };
  }
  const hit = PREFIX_KEYS.find(([key]) => key === ev.key);
  if (!hit) return { state: to(st, "idle"), outcome: swallow };
  const command = hit[1];
  if (command.name === "close-pane" || command.name === "kill-window") {
    return { state: { mode: "confirm", copy: st.copy, command }, outcome: swallow };
  }
  if (command.name === "pane-numbers") return { state: to(st, "pane-number"), outcome: { kind: "command", command } };
  if (command.name === "copy-mode") return { state: { mode: "idle", copy: true }, outcome: { kind: "command", command } };
  return { state: to(st, "idle"), outcome: { kind: "command", command } };
}

/**
 * Ctrl+arrow (one cell) or Alt+arrow (five) after the prefix: a resize.
 * @param {KeyLike} ev
 * @param {number} m
 * @returns {PrefixCommand | null}
 */
function resizeCommand(ev, m) {
  if (!(ev.key in ARROWS) || (m !== CTRL && m !== 4)) return null;
  return { name: "resize-pane", direction: ARROWS[ev.key], cells: m === CTRL ? 1 : 5 };
}

/**
 * A key in copy mode (no prefix pressed). Chords with Ctrl or Meta pass (copying with Ctrl+Shift+C, the
 * client's shortcuts); other keys that mean nothing here are swallowed, as tmux does.
 * @param {PrefixState} st
 * @param {KeyLike} ev
 * @param {number} m
 * @returns {{state: PrefixState, outcome: PrefixOutcome}}
 */
function copyModeKey(st, ev, m) {
  if (m & (CTRL | 8)) return { state: st, outcome: { kind: "pass" } };
  /** @param {PrefixCommand} command */
  const run = (command) => ({ state: st, outcome: /** @type {PrefixOutcome} */ ({ kind: "command", command }) });
  switch (ev.key) {
    case "q": case "Escape":
      return { state: IDLE, outcome: { kind: "command", command: { name: "copy-exit" } } };
    case "ArrowUp": case "k": return run({ name: "copy-scroll", rows: -1, pages: 0 });
    case "ArrowDown": case "j": return run({ name: "copy-scroll", rows: 1, pages: 0 });
    case "PageUp": return run({ name: "copy-scroll", rows: 0, pages: -1 });
    case "PageDown": return run({ name: "copy-scroll", rows: 0, pages: 1 });
    case "Home": case "g": return run({ name: "copy-top" });
    case "End": case "G": return run({ name: "copy-bottom" });
    case "/": case "?": return run({ name: "search" });
    case "n": return run({ name: "copy-next" });
    case "N": return run({ name: "copy-prev" });
    default: return { state: st, outcome: { kind: "swallow" } };
  }
}

/**
 * Where a window, pane or swap command lands among a window's panes, wrapping around: the pane `step` places
 * after `current` in `slots` (null slots skipped).
 * @param {Array<number | null>} slots
 * @param {number | null} current
 * @param {number} step  +1 next, -1 previous
 * @returns {number | null}
 */
export function stepPane(slots, current, step) {
  const panes = slots.filter((/** @type {number | null} */ s) => s !== null);
  if (panes.length < 2 || current === null) return null;
  const i = panes.indexOf(current);
  if (i < 0) return null;
  return /** @type {number} */ (panes[(i + step + panes.length) % panes.length]);
}
