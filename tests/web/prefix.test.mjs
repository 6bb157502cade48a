// The prefix key machine: the prefix chord, the commands after it, confirmations, pane numbers, repeats and
// copy mode.
import assert from "node:assert/strict";
import { test } from "node:test";

import { decideKey } from "../../src/dullahan/web/js/keys.js";
import {
  IDLE, isPrefix, parsePrefix, PREFIX_KEYS, prefixLabel, prefixStep, REPEAT_MS, stepPane,
} from "../../src/dullahan/web/js/prefix.js";
import { sanitize } from "../../src/dullahan/web/js/settings.js";

/** @typedef {import("../../src/dullahan/web/js/prefix.js").PrefixState} PrefixState */

/**
 * @param {string} key
 * @param {string} code
 * @param {{shift?: boolean, ctrl?: boolean, alt?: boolean, meta?: boolean}} [m]
 */
function ev(key, code, m = {}) {
  return { key, code, shiftKey: !!m.shift, ctrlKey: !!m.ctrl, altKey: !!m.alt, metaKey: !!m.meta };
}

const CTRL_B = ev("b", "KeyB", { ctrl: true });
const CTX = { prefix: parsePrefix("C-b"), now: 1000 };

/**
 * Feed keys from a state; the outcomes and the last state.
 * @param {PrefixState} st
 * @param {Array<ReturnType<typeof ev>>} keys
 * @param {{prefix: import("../../src/dullahan/web/js/prefix.js").Chord | null, now: number}} [ctx]
 */
function feed(st, keys, ctx = CTX) {
  const outcomes = [];
  for (const k of keys) {
    const r = prefixStep(st, k, ctx);
    st = r.state;
    outcomes.push(r.outcome);
  }
  return { st, outcomes };
}

test("the prefix setting: tmux's names, labels, and off", () => {
  assert.deepEqual(parsePrefix("C-b"), { key: "b", code: "KeyB" });
  assert.deepEqual(parsePrefix("C-Space"), { key: " ", code: "Space" });
  assert.deepEqual(parsePrefix("C-]"), { key: "]", code: "BracketRight" });
  assert.equal(parsePrefix("off"), null);
  assert.equal(parsePrefix("M-a"), null, "never a bare Alt chord");
  assert.equal(parsePrefix("C-bb"), null);
  assert.equal(parsePrefix(7), null);
  assert.equal(prefixLabel("C-a"), "Ctrl+A");
  assert.equal(prefixLabel("C-Space"), "Ctrl+Space");
  assert.equal(prefixLabel("off"), "off");
  assert.equal(sanitize({}).prefixKey, "C-b", "Ctrl+B by default");
  assert.equal(sanitize({ prefixKey: "off" }).prefixKey, "off");
  assert.equal(sanitize({ prefixKey: "C-a" }).prefixKey, "C-a");
  assert.equal(sanitize({ prefixKey: "<script>" }).prefixKey, "C-b");
});

test("the prefix chord is Ctrl and the key; by position where the layout's letters are not Latin", () => {
  const chord = parsePrefix("C-b");
  assert.equal(isPrefix(CTRL_B, chord), true);
  assert.equal(isPrefix(ev("B", "KeyB", { ctrl: true, shift: true }), chord), false, "Ctrl+Shift+B is not it");
  assert.equal(isPrefix(ev("b", "KeyB", { ctrl: true, alt: true }), chord), false);
  assert.equal(isPrefix(ev("b", "KeyB"), chord), false);
  assert.equal(isPrefix(ev("и", "KeyB", { ctrl: true }), chord), true, "a Cyrillic layout");
  assert.equal(isPrefix(ev("x", "KeyB", { ctrl: true }), chord), false, "Dvorak: the key says x");
  assert.equal(isPrefix(CTRL_B, null), false, "off");
  assert.equal(isPrefix(ev(" ", "Space", { ctrl: true }), parsePrefix("C-Space")), true);
});

test("keys without the prefix pass; the prefix is taken and the next key is a command", () => {
  assert.deepEqual(prefixStep(IDLE, ev("a", "KeyA"), CTX), { state: IDLE, outcome: { kind: "pass" } });
  assert.deepEqual(prefixStep(IDLE, ev("%", "Digit5", { shift: true }), CTX).outcome, { kind: "pass" });
  const cases = /** @type {const} */ ([
    [ev("%", "Digit5", { shift: true }), { name: "split-right" }],
    [ev('"', "Quote", { shift: true }), { name: "split-down" }],
    [ev("z", "KeyZ"), { name: "zoom" }],
    [ev("c", "KeyC"), { name: "new-window" }],
    [ev("n", "KeyN"), { name: "next-window" }],
    [ev("p", "KeyP"), { name: "prev-window" }],
    [ev(",", "Comma"), { name: "rename-window" }],
    [ev("o", "KeyO"), { name: "next-pane" }],
    [ev("!", "Digit1", { shift: true }), { name: "break-pane" }],
    [ev("ArrowLeft", "ArrowLeft"), { name: "select-pane", direction: "left", cells: 1 }],
    [ev("ArrowDown", "ArrowDown"), { name: "select-pane", direction: "down", cells: 1 }],
    [ev("3", "Digit3"), { name: "select-window", index: 2 }],
    [ev("0", "Digit0"), { name: "select-window", index: 9 }],
  ]);
  for (const [key, command] of cases) {
    const { st, outcomes } = feed(IDLE, [CTRL_B, key]);
    assert.deepEqual(outcomes, [{ kind: "swallow" }, { kind: "command", command }], `prefix ${key.key}`);
    assert.deepEqual(st, IDLE);
  }
  for (const [key] of PREFIX_KEYS) assert.equal(key.length, 1);
});

test("a modifier pressed on the way to a chord keeps the prefix armed", () => {
  const { outcomes } = feed(IDLE, [CTRL_B, ev("Shift", "ShiftLeft", { shift: true }), ev("%", "Digit5", { shift: true })]);
  assert.deepEqual(outcomes, [{ kind: "swallow" }, { kind: "swallow" }, { kind: "command", command: { name: "split-right" } }]);
});

test("prefix prefix sends the prefix; an unbound key or Escape cancels without reaching the program", () => {
  assert.deepEqual(feed(IDLE, [CTRL_B, CTRL_B]).outcomes, [{ kind: "swallow" }, { kind: "send-prefix" }]);
  for (const k of [ev("Escape", "Escape"), ev("y", "KeyY"), ev("F5", "F5"), ev("x", "KeyX", { ctrl: true })]) {
    const { st, outcomes } = feed(IDLE, [CTRL_B, k, ev("a", "KeyA")]);
    assert.deepEqual(outcomes, [{ kind: "swallow" }, { kind: "swallow" }, { kind: "pass" }], k.key);
    assert.deepEqual(st, IDLE);
  }
});

test("closing a pane or a window asks y/n first", () => {
  let r = feed(IDLE, [CTRL_B, ev("x", "KeyX")]);
  assert.deepEqual(r.st, { mode: "confirm", copy: false, command: { name: "close-pane" } });
  assert.deepEqual(feed(r.st, [ev("y", "KeyY")]).outcomes, [{ kind: "command", command: { name: "close-pane" } }]);
  assert.deepEqual(feed(r.st, [ev("Shift", "ShiftLeft", { shift: true }), ev("Y", "KeyY", { shift: true })]).outcomes,
    [{ kind: "swallow" }, { kind: "command", command: { name: "close-pane" } }]);
  r = feed(r.st, [ev("n", "KeyN"), ev("y", "KeyY")]);
  assert.deepEqual(r.outcomes, [{ kind: "swallow" }, { kind: "pass" }], "no: nothing is closed, the next y is the program's");
  assert.deepEqual(feed(IDLE, [CTRL_B, ev("&", "Digit7", { shift: true }), ev("y", "KeyY")]).outcomes.at(-1),
    { kind: "command", command: { name: "kill-window" } });
});

test("pane numbers: the prefix q shows them, a digit selects one, another key only hides them", () => {
  let r = feed(IDLE, [CTRL_B, ev("q", "KeyQ")]);
  assert.deepEqual(r.outcomes[1], { kind: "command", command: { name: "pane-numbers" } });
  assert.equal(r.st.mode, "pane-number");
  assert.deepEqual(feed(r.st, [ev("2", "Digit2")]), {
    st: IDLE, outcomes: [{ kind: "command", command: { name: "select-pane-number", index: 2 } }] });
  r = feed(r.st, [ev("a", "KeyA")]);
  assert.deepEqual(r, { st: IDLE, outcomes: [{ kind: "swallow" }] });
});

test("resizing repeats without the prefix for a moment, then keys are the program's again", () => {
  const up = ev("ArrowUp", "ArrowUp", { ctrl: true });
  let r = feed(IDLE, [CTRL_B, up]);
  assert.deepEqual(r.outcomes[1], { kind: "command", command: { name: "resize-pane", direction: "up", cells: 1 } });
  assert.deepEqual(r.st, { mode: "repeat", copy: false, until: 1000 + REPEAT_MS });
  r = feed(r.st, [ev("ArrowLeft", "ArrowLeft", { alt: true })], { ...CTX, now: 1400 });
  assert.deepEqual(r.outcomes, [{ kind: "command", command: { name: "resize-pane", direction: "left", cells: 5 } }]);
  assert.deepEqual(r.st, { mode: "repeat", copy: false, until: 1400 + REPEAT_MS }, "each repeat extends the time");
  assert.deepEqual(feed(r.st, [up], { ...CTX, now: 1400 + REPEAT_MS + 1 }).outcomes, [{ kind: "pass" }], "too late");
  assert.deepEqual(feed(r.st, [ev("ArrowUp", "ArrowUp")], { ...CTX, now: 1500 }).outcomes, [{ kind: "pass" }],
    "a plain arrow is the program's");
  assert.deepEqual(feed(r.st, [CTRL_B, ev("z", "KeyZ")], { ...CTX, now: 1500 }).outcomes.at(-1),
    { kind: "command", command: { name: "zoom" } }, "the prefix works during a repeat");
});

test("copy mode: keys move the view until q or Escape; copy shortcuts and the prefix still work", () => {
  let r = feed(IDLE, [CTRL_B, ev("[", "BracketLeft")]);
  assert.deepEqual(r.outcomes[1], { kind: "command", command: { name: "copy-mode" } });
  assert.deepEqual(r.st, { mode: "idle", copy: true });
  const copy = r.st;
  const moves = /** @type {const} */ ([
    [ev("ArrowUp", "ArrowUp"), { name: "copy-scroll", rows: -1, pages: 0 }],
    [ev("j", "KeyJ"), { name: "copy-scroll", rows: 1, pages: 0 }],
    [ev("PageUp", "PageUp"), { name: "copy-scroll", rows: 0, pages: -1 }],
    [ev("PageDown", "PageDown"), { name: "copy-scroll", rows: 0, pages: 1 }],
    [ev("g", "KeyG"), { name: "copy-top" }],
    [ev("G", "KeyG", { shift: true }), { name: "copy-bottom" }],
    [ev("/", "Slash"), { name: "search" }],
    [ev("n", "KeyN"), { name: "copy-next" }],
    [ev("N", "KeyN", { shift: true }), { name: "copy-prev" }],
  ]);
  for (const [key, command] of moves) {
    assert.deepEqual(prefixStep(copy, key, CTX), { state: copy, outcome: { kind: "command", command } }, key.key);
  }
  assert.deepEqual(prefixStep(copy, ev("a", "KeyA"), CTX).outcome, { kind: "swallow" }, "other keys do not type");
  assert.deepEqual(prefixStep(copy, ev("C", "KeyC", { ctrl: true, shift: true }), CTX).outcome, { kind: "pass" });
  r = feed(copy, [CTRL_B, ev("%", "Digit5", { shift: true })]);
  assert.deepEqual(r.outcomes[1], { kind: "command", command: { name: "split-right" } });
  assert.equal(r.st.copy, true, "still in copy mode after a prefix command");
  for (const k of [ev("q", "KeyQ"), ev("Escape", "Escape")]) {
    assert.deepEqual(prefixStep(copy, k, CTX), { state: IDLE, outcome: { kind: "command", command: { name: "copy-exit" } } });
  }
});

test("with the prefix off only the existing keys remain", () => {
  const off = { prefix: null, now: 0 };
  assert.deepEqual(feed(IDLE, [CTRL_B, ev("%", "Digit5", { shift: true })], off).outcomes, [{ kind: "pass" }, { kind: "pass" }]);
  const LINUX = { mac: false, hasSelection: false, altScreen: false, overlay: false };
  assert.deepEqual(decideKey(CTRL_B, LINUX), { kind: "send" }, "Ctrl+B reaches the program");
});

test("next and previous panes wrap around the window's slots", () => {
  assert.equal(stepPane([4, 5, 6], 6, 1), 4);
  assert.equal(stepPane([4, null, 6], 4, 1), 6);
  assert.equal(stepPane([4, 5, 6], 4, -1), 6);
  assert.equal(stepPane([4], 4, 1), null);
  assert.equal(stepPane([4, 5], 9, 1), null);
});
