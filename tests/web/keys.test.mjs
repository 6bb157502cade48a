// Keyboard decisions, key messages, paste chunking and wheel steps.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  decideKey, isModifierKey, keyMessage, modsOf, SHORTCUTS, splitPaste, utf8Length, wheelRows,
} from "../../src/dullahan/web/js/keys.js";

/**
 * @param {string} key
 * @param {string} code
 * @param {{shift?: boolean, ctrl?: boolean, alt?: boolean, meta?: boolean, composing?: boolean, keyCode?: number, repeat?: boolean}} [m]
 */
function ev(key, code, m = {}) {
  return { key, code, shiftKey: !!m.shift, ctrlKey: !!m.ctrl, altKey: !!m.alt, metaKey: !!m.meta,
    isComposing: !!m.composing, keyCode: m.keyCode ?? 0, repeat: !!m.repeat };
}

const LINUX = { mac: false, hasSelection: false, altScreen: false, overlay: false };
const MAC = { ...LINUX, mac: true };

test("ordinary keys go to the terminal as full events", () => {
  assert.deepEqual(keyMessage(ev("a", "KeyA"), 3, "press"), { t: "key", p: 3, code: "KeyA", key: "a", a: "press", m: 0 });
  assert.deepEqual(keyMessage(ev("A", "KeyA", { shift: true, ctrl: true, alt: true, meta: true }), 1, "release"),
    { t: "key", p: 1, code: "KeyA", key: "A", a: "release", m: 15 });
  assert.equal(modsOf(ev("x", "KeyX", { ctrl: true, alt: true })), 6);
  for (const [key, code, mods] of /** @type {const} */ ([
    ["a", "KeyA", {}], ["Enter", "Enter", {}], ["ArrowUp", "ArrowUp", {}], ["Tab", "Tab", {}], ["Escape", "Escape", {}],
    ["F1", "F1", {}], ["c", "KeyC", { ctrl: true }], ["v", "KeyV", { ctrl: true }], ["d", "KeyD", { ctrl: true }],
    ["x", "KeyX", { alt: true }], ["b", "KeyB", { alt: true }], ["<", "Comma", { alt: true, shift: true }],
    ["_", "Minus", { ctrl: true, shift: true }], ["ArrowLeft", "ArrowLeft", { ctrl: true }],
    ["PageUp", "PageUp", {}], ["@", "KeyQ", { ctrl: true, alt: true }], ["Alt", "AltLeft", { alt: true }],
    ["Control", "ControlLeft", { ctrl: true }],
  ])) {
    assert.deepEqual(decideKey(ev(key, code, mods), LINUX), { kind: "send" }, `${JSON.stringify(mods)} ${code} goes to the program`);
  }
});

test("no shortcut on bare Ctrl+V or bare Alt; Ctrl+C copies only with a selection", () => {
  assert.deepEqual(decideKey(ev("v", "KeyV", { ctrl: true }), LINUX), { kind: "send" });
  assert.deepEqual(decideKey(ev("c", "KeyC", { ctrl: true }), LINUX), { kind: "send" });
  assert.deepEqual(decideKey(ev("c", "KeyC", { ctrl: true }), { ...LINUX, hasSelection: true }), { kind: "action", action: "copy-clear" },
    "Ctrl+C copies and clears the selection, so the next Ctrl+C interrupts");
  for (const code of ["KeyA", "KeyF", "KeyB", "Digit1", "Period", "ArrowLeft"]) {
    assert.deepEqual(decideKey(ev("x", code, { alt: true }), LINUX), { kind: "send" });
  }
});

test("copy and paste shortcuts", () => {
  assert.deepEqual(decideKey(ev("C", "KeyC", { ctrl: true, shift: true }), LINUX), { kind: "action", action: "copy" });
  assert.deepEqual(decideKey(ev("V", "KeyV", { ctrl: true, shift: true }), LINUX), { kind: "browser" });
  assert.deepEqual(decideKey(ev("Insert", "Insert", { shift: true }), LINUX), { kind: "browser" });
  assert.deepEqual(decideKey(ev("c", "KeyC", { meta: true }), MAC), { kind: "action", action: "copy" });
  assert.deepEqual(decideKey(ev("v", "KeyV", { meta: true }), MAC), { kind: "browser" });
  assert.deepEqual(decideKey(ev("c", "KeyC", { ctrl: true }), MAC), { kind: "send" }, "Ctrl+C on a Mac is the interrupt");
  assert.deepEqual(decideKey(ev("q", "KeyQ", { meta: true }), MAC), { kind: "browser" }, "Cmd shortcuts stay the browser's");
});

test("Ctrl+Shift shortcuts of the client, listed for the help overlay", () => {
  const cases = /** @type {const} */ ([
    ["?", "Slash", "help"], ["<", "Comma", "settings"], ["E", "KeyE", "new-window"], ["PageUp", "PageUp", "prev-window"],
    ["PageDown", "PageDown", "next-window"], ["ArrowLeft", "ArrowLeft", "focus-left"], ["ArrowDown", "ArrowDown", "focus-down"],
    ["Home", "Home", "scroll-top"], ["End", "End", "scroll-bottom"], ["F", "KeyF", "search"],
  ]);
  for (const [key, code, action] of cases) {
    assert.deepEqual(decideKey(ev(key, code, { ctrl: true, shift: true }), LINUX), { kind: "action", action });
    assert.ok(SHORTCUTS.some((s) => s[1] === action), `${action} is in the help`);
  }
  assert.deepEqual(decideKey(ev("I", "KeyI", { ctrl: true, shift: true }), LINUX), { kind: "browser" }, "developer tools");
  assert.deepEqual(decideKey(ev("?", "Slash", { ctrl: true, shift: true, alt: true }), LINUX), { kind: "send" });
});

test("Shift+PageUp scrolls back, except on the alternate screen where the program gets it", () => {
  assert.deepEqual(decideKey(ev("PageUp", "PageUp", { shift: true }), LINUX), { kind: "action", action: "scroll-page-up" });
  assert.deepEqual(decideKey(ev("PageDown", "PageDown", { shift: true }), LINUX), { kind: "action", action: "scroll-page-down" });
  assert.deepEqual(decideKey(ev("PageUp", "PageUp", { shift: true }), { ...LINUX, altScreen: true }), { kind: "send" });
});

test("IME composition keys are never sent as keys", () => {
  assert.deepEqual(decideKey(ev("Process", "KeyA"), LINUX), { kind: "ignore" });
  assert.deepEqual(decideKey(ev("a", "KeyA", { composing: true }), LINUX), { kind: "ignore" });
  assert.deepEqual(decideKey(ev("Unidentified", "", { keyCode: 229 }), LINUX), { kind: "ignore" });
  assert.deepEqual(decideKey(ev("Dead", "Quote"), LINUX), { kind: "ignore" });
});

test("Escape closes a dialog when one is open, otherwise it is the program's", () => {
  assert.deepEqual(decideKey(ev("Escape", "Escape"), { ...LINUX, overlay: true }), { kind: "action", action: "close-overlay" });
  assert.deepEqual(decideKey(ev("Escape", "Escape"), LINUX), { kind: "send" });
});

test("modifier keys are recognised", () => {
  assert.ok(isModifierKey("Shift") && isModifierKey("Control") && isModifierKey("AltGraph"));
  assert.equal(isModifierKey("a"), false);
  assert.equal(isModifierKey("Enter"), false);
});

test("key fields are cut to the server's limit", () => {
  const m = keyMessage(ev("x".repeat(40), "y".repeat(40)), 1, "press");
  assert.equal(m.key.length, 32);
  assert.equal(m.code.length, 32);
});

test("paste chunks fit a message, join to the original and never split a codepoint", () => {
  const text = "ab\u00e9\u4e2d😀\n\"\\\u0001".repeat(1000);
  for (const maxBytes of [7, 16, 100, 4096]) {
    const chunks = splitPaste(text, maxBytes, 1 << 20);
    assert.equal(chunks.join(""), text);
    for (const c of chunks) {
      const bytes = new TextEncoder().encode(JSON.stringify(c)).length - 2;
      assert.ok(bytes <= maxBytes, `chunk of ${bytes} JSON bytes > ${maxBytes}`);
      assert.equal(/^[\udc00-\udfff]/.test(c), false, "no chunk starts with a low surrogate");
      assert.equal(/[\ud800-\udbff]$/.test(c), false, "no chunk ends with a high surrogate");
    }
  }
  const byChars = splitPaste("😀".repeat(10), 1000, 3);
  assert.deepEqual(byChars.map((c) => Array.from(c).length), [3, 3, 3, 1], "at most maxChars codepoints each");
  assert.deepEqual(splitPaste("", 10, 10), [""]);
});

test("a 1 MiB paste splits into messages under the 1 MiB message limit", () => {
  const line = "Grüße, 世界! 😀 " + "x".repeat(80) + "\n";
  const text = line.repeat(Math.ceil((1 << 20) / utf8Length(line)));
  assert.ok(utf8Length(text) >= 1 << 20);
  const chunks = splitPaste(text, (1 << 20) - 256, 1 << 20);
  assert.ok(chunks.length >= 2);
  assert.equal(chunks.join(""), text);
  for (const c of chunks) {
    const msg = JSON.stringify({ t: "paste", p: 123456, d: c, more: true });
    assert.ok(new TextEncoder().encode(msg).length <= 1 << 20);
  }
});

test("UTF-8 length", () => {
  assert.equal(utf8Length("a"), 1);
  assert.equal(utf8Length("é"), 2);
  assert.equal(utf8Length("中"), 3);
  assert.equal(utf8Length("😀"), 4);
  assert.equal(utf8Length("a😀é"), new TextEncoder().encode("a😀é").length);
});

test("wheel deltas become whole rows with the remainder carried", () => {
  assert.deepEqual(wheelRows(0, 100, 0, 20, 24), [5, 0]);
  assert.deepEqual(wheelRows(0, 30, 0, 20, 24), [1, 10]);
  assert.deepEqual(wheelRows(10, 30, 0, 20, 24), [2, 0]);
  assert.deepEqual(wheelRows(0, -45, 0, 20, 24), [-2, -5]);
  assert.deepEqual(wheelRows(0, 3, 1, 20, 24), [3, 0], "line mode");
  assert.deepEqual(wheelRows(0, 1, 2, 20, 24), [24, 0], "page mode");
  assert.equal(wheelRows(0, 100000, 0, 20, 24)[0], 100, "clamped to the protocol's range");
});
