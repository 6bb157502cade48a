// Phones: gesture classification, the key bar's sticky modifiers and typed characters as keys, the narrow
// layout's window size, swipe order and cursor following.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  isLongPress, LONG_PRESS_MS, lockAxis, MAX_FONT_PX, MIN_FONT_PX, panStep, pinchFontSize, scrollRows, SLOP_PX,
  swipeDirection, zoomScroll,
} from "../../src/dullahan/web/js/gestures.js";
import { ALT, CTRL, keyMessage } from "../../src/dullahan/web/js/keys.js";
import { BAR_KEYS, charKey, StickyModifiers } from "../../src/dullahan/web/js/modifiers.js";
import {
  distribute, fsum, phoneWindowSize, PhoneSizer, scrollToShow, swipeOrder, swipeTarget, treeGeometry,
} from "../../src/dullahan/web/js/narrow.js";
import { DEFAULTS, sanitize } from "../../src/dullahan/web/js/settings.js";

// -- gestures ---------------------------------------------------------------------------------------
test("a drag locks to the axis it mostly moves along, once past the slop", () => {
  assert.equal(lockAxis(3, 4), null, "5 px is within the slop");
  assert.equal(lockAxis(SLOP_PX, 0), "h");
  assert.equal(lockAxis(-30, 12), "h");
  assert.equal(lockAxis(5, -11), "v");
  assert.equal(lockAxis(8, 8), "v", "a diagonal counts as vertical (scrolling is the common case)");
});

test("panning takes what it can and leaves the rest for the scrollback or a swipe", () => {
  // The finger moves left 50 px: the view scrolls right by 50 when there is room.
  assert.deepEqual(panStep(-50, 100, 400), { scroll: 150, rest: 0 });
  // Only 20 px of room left: the other 30 px are left over, in the finger's direction.
  assert.deepEqual(panStep(-50, 380, 400), { scroll: 400, rest: -30 });
  // Finger down 40 px at the top of the pan: all of it is left over (for older lines).
  assert.deepEqual(panStep(40, 0, 300), { scroll: 0, rest: 40 });
  assert.deepEqual(panStep(40, 25, 300), { scroll: 0, rest: 15 });
  // Nothing to pan (a pane that fits the screen).
  assert.deepEqual(panStep(-12, 0, 0), { scroll: 0, rest: -12 });
  assert.deepEqual(panStep(-12, 0, -5), { scroll: 0, rest: -12 }, "a negative room is no room");
});

test("vertical motion becomes whole rows of scrollback, content following the finger", () => {
  assert.deepEqual(scrollRows(0, 40, 17), [-2, 6], "finger down 40 px: 2 rows older, 6 px carried");
  assert.deepEqual(scrollRows(6, 11, 17), [-1, 0], "the carried pixels complete a row");
  assert.deepEqual(scrollRows(0, -35, 17), [2, -1], "finger up: newer");
  assert.deepEqual(scrollRows(0, 10, 17), [0, 10]);
  assert.deepEqual(scrollRows(0, 5, 0), [-5, 0], "a zero row height counts as one pixel");
});

test("a horizontal drag long enough is a swipe to the next or previous pane", () => {
  assert.equal(swipeDirection(-100, 10, 390), 1, "finger to the left: next pane");
  assert.equal(swipeDirection(100, -10, 390), -1, "finger to the right: previous pane");
  assert.equal(swipeDirection(-50, 0, 390), 0, "too short for a 390 px screen (needs 70 px)");
  assert.equal(swipeDirection(-65, 0, 200), 1, "a narrow screen needs at least 60 px");
  assert.equal(swipeDirection(-119, 0, 2000), 0, "a wide screen needs at most 120 px");
  assert.equal(swipeDirection(-120, 0, 2000), 1);
  assert.equal(swipeDirection(-100, 80, 390), 0, "too steep: not a sideways swipe");
});

test("a long press is a finger held still", () => {
  assert.equal(isLongPress(LONG_PRESS_MS, 0), true);
  assert.equal(isLongPress(LONG_PRESS_MS - 1, 0), false);
  assert.equal(isLongPress(LONG_PRESS_MS * 3, SLOP_PX), false, "a finger that moved is dragging");
});

test("a pinch scales the font size, in whole pixels, within the settings' bounds", () => {
  assert.equal(pinchFontSize(14, 100, 200), 28);
  assert.equal(pinchFontSize(14, 100, 150), 21);
  assert.equal(pinchFontSize(14, 200, 100), 7);
  assert.equal(pinchFontSize(14, 100, 10), MIN_FONT_PX);
  assert.equal(pinchFontSize(14, 10, 1000), MAX_FONT_PX);
  assert.equal(pinchFontSize(14, 0, 100), 14, "no distance to start from: unchanged");
  assert.equal(MIN_FONT_PX, 6);
  assert.equal(MAX_FONT_PX, 48, "the same bounds as the settings");
  assert.equal(sanitize({ fontSize: MAX_FONT_PX }).fontSize, MAX_FONT_PX);
  assert.equal(sanitize({ fontSize: MIN_FONT_PX }).fontSize, MIN_FONT_PX);
});

test("zooming keeps the point under the pinch in place", () => {
  // A point 100 px into the view, scrolled 50: it is at 150 in the content; doubled, at 300.
  assert.equal(zoomScroll(50, 100, 2), 200);
  assert.equal(zoomScroll(0, 100, 0.5), 0, "never a negative scroll position");
});

test("the default font is readable on a phone, and leaving the page asks first by default", () => {
  assert.ok(DEFAULTS.fontSize >= 12);
  assert.equal(DEFAULTS.guardUnload, true);
  assert.equal(sanitize({ guardUnload: false }).guardUnload, false);
  assert.equal(sanitize({ guardUnload: "no" }).guardUnload, true, "a wrong type falls back to the default");
});

// -- sticky modifiers and the key bar ---------------------------------------------------------------
test("a sticky modifier: one tap for the next key, two to lock, three to release", () => {
  const m = new StickyModifiers();
  assert.equal(m.consume(), 0);
  assert.equal(m.tap(CTRL), "once");
  assert.equal(m.peek(), CTRL);
  assert.equal(m.peek(), CTRL, "peeking does not use it up");
  assert.equal(m.consume(), CTRL);
  assert.equal(m.consume(), 0, "a one-shot modifier is used up by one key");
  m.tap(CTRL);
  assert.equal(m.tap(CTRL), "locked");
  assert.equal(m.consume(), CTRL);
  assert.equal(m.consume(), CTRL, "a locked modifier stays");
  m.tap(ALT);
  assert.equal(m.consume(), CTRL | ALT, "both at once");
  assert.equal(m.consume(), CTRL, "the one-shot Alt went, the locked Ctrl stays");
  assert.equal(m.tap(CTRL), "off");
  assert.equal(m.consume(), 0);
  m.tap(ALT);
  m.reset();
  assert.equal(m.peek(), 0);
});

test("a typed character becomes the key event a keyboard would send", () => {
  assert.deepEqual(keyMessage(charKey("c", CTRL), 4, "press"), { t: "key", p: 4, code: "KeyC", key: "c", a: "press", m: CTRL });
  assert.deepEqual(keyMessage(charKey("b", ALT), 4, "press"), { t: "key", p: 4, code: "KeyB", key: "b", a: "press", m: ALT });
  assert.deepEqual(keyMessage(charKey("D", CTRL), 1, "press"), { t: "key", p: 1, code: "KeyD", key: "D", a: "press", m: CTRL | 1 });
  assert.deepEqual(keyMessage(charKey("7", 0), 1, "press"), { t: "key", p: 1, code: "Digit7", key: "7", a: "press", m: 0 });
  assert.deepEqual(keyMessage(charKey("|", 0), 1, "press"), { t: "key", p: 1, code: "Backslash", key: "|", a: "press", m: 1 });
  assert.deepEqual(keyMessage(charKey("~", 0), 1, "press"), { t: "key", p: 1, code: "Backquote", key: "~", a: "press", m: 1 });
  assert.deepEqual(keyMessage(charKey("_", 0), 1, "press"), { t: "key", p: 1, code: "Minus", key: "_", a: "press", m: 1 });
  assert.deepEqual(keyMessage(charKey("/", CTRL), 1, "press"), { t: "key", p: 1, code: "Slash", key: "/", a: "press", m: CTRL });
  assert.deepEqual(keyMessage(charKey("é", ALT), 1, "press"), { t: "key", p: 1, code: "", key: "é", a: "press", m: ALT },
    "a character no US key gives still goes out as its text");
});

test("the key bar has what phone keyboards lack", () => {
  const ids = BAR_KEYS.map((k) => k.id);
  for (const id of ["esc", "tab", "ctrl", "alt", "left", "down", "up", "right", "pipe", "tilde", "slash", "dash", "underscore", "paste"]) {
    assert.ok(ids.includes(id), id);
  }
  assert.equal(new Set(ids).size, ids.length, "ids are unique");
  const chars = BAR_KEYS.filter((k) => k.kind === "char").map((k) => k.ch);
  assert.deepEqual(chars, ["|", "~", "/", "-", "_"]);
  for (const k of BAR_KEYS.filter((b) => b.kind === "key")) assert.ok(k.key && k.code, k.id);
  assert.deepEqual(BAR_KEYS.filter((k) => k.kind === "mod").map((k) => k.bit), [CTRL, ALT]);
});

// -- the narrow layout --------------------------------------------------------------------------------
const TWO_COL = { row: ["pane", "pane"], sizes: [50, 50] };
const MAIN_2SIDE = { row: ["pane", { column: ["pane", "pane"], sizes: [50, 50] }], sizes: [70, 30] };

test("shares are given out as the server gives them (largest remainder, minimums)", () => {
  assert.deepEqual(distribute(79, [50, 50], [1, 1]), [40, 39]);
  assert.deepEqual(distribute(98, [33.33, 33.33, 33.33], [1, 1, 1]), [33, 33, 32]);
  assert.deepEqual(distribute(10, [95, 5], [1, 4]), [6, 4], "a child below its minimum is pinned to it");
  assert.deepEqual(distribute(3, [50, 50], [2, 2]), [2, 2], "minimums win when they do not fit");
});

test("the layout tree's geometry is the server's", () => {
  // Values from session/layout.py's geometry (tests/test_narrow_geometry.py compares the two at large).
  assert.deepEqual(treeGeometry("pane", 80, 24), [[0, 1, 80, 23]]);
  assert.deepEqual(treeGeometry(TWO_COL, 80, 24), [[0, 1, 40, 23], [41, 1, 39, 23]]);
  assert.deepEqual(treeGeometry(MAIN_2SIDE, 100, 30), [[0, 1, 69, 29], [70, 1, 30, 14], [70, 16, 30, 14]]);
});

/**
 * A window as the layout message describes it.
 * @param {unknown} tree
 * @param {number} cols
 * @param {number} rows
 * @param {number[]} slots
 */
function windowOf(tree, cols, rows, slots) {
  return { id: 1, tree, cols, rows, slots, rects: treeGeometry(tree, cols, rows), active: slots[0] };
}

test("a phone master asks for the window in which its pane fills the screen", () => {
  // One pane: the window is the screen (the pane and its title row).
  assert.deepEqual(phoneWindowSize(windowOf("pane", 151, 44, [1]), 1, 46, 35), [46, 35]);
  // Two columns: the shown pane gets the screen's columns, the other one what the layout gives it.
  for (const pane of [1, 2]) {
    const win = windowOf(TWO_COL, 151, 44, [1, 2]);
    const size = /** @type {[number, number]} */ (phoneWindowSize(win, pane, 46, 35));
    const rect = treeGeometry(TWO_COL, size[0], size[1])[pane - 1];
    assert.deepEqual([rect[2], rect[3]], [46, 34], `pane ${pane} in a ${size} window`);
  }
  // Nested splits: the small pane on the side.
  const side = windowOf(MAIN_2SIDE, 120, 40, [1, 2, 3]);
  const size = /** @type {[number, number]} */ (phoneWindowSize(side, 3, 48, 30));
  const rect = treeGeometry(MAIN_2SIDE, size[0], size[1])[2];
  assert.deepEqual([rect[2], rect[3]], [48, 29]);
  assert.equal(phoneWindowSize(side, 9, 48, 30), null, "a pane not in the window");
  assert.equal(phoneWindowSize(side, null, 48, 30), null);
});

test("rects the model cannot explain (a zoomed pane) are scaled instead", () => {
  // Pane 2 zoomed: it has the whole window, the others no rect.
  const zoomed = { id: 1, tree: TWO_COL, cols: 120, rows: 40, slots: [1, 2], rects: [null, [0, 1, 120, 39]] };
  assert.deepEqual(phoneWindowSize(zoomed, 2, 46, 35), [46, 35]);
  // A layout whose rects differ from the model: proportional.
  const odd = { id: 1, tree: TWO_COL, cols: 100, rows: 40, slots: [1, 2], rects: [[0, 1, 25, 39], [26, 1, 74, 39]] };
  assert.deepEqual(phoneWindowSize(odd, 1, 50, 35), [200, 35]);
});

test("the sizer asks once, then not while the pane has the screen's size", () => {
  const sizer = new PhoneSizer();
  const mainSide = { row: ["pane", "pane"], sizes: [70, 30] };
  let win = windowOf(mainSide, 151, 44, [1, 2]);
  const size = /** @type {[number, number]} */ (sizer.next(win, 1, 46, 35));
  assert.ok(size);
  win = windowOf(mainSide, size[0], size[1], [1, 2]);
  assert.equal(sizer.next(win, 1, 46, 35), null, "the pane fills the screen: nothing to ask");
  const other = sizer.next(win, 2, 46, 35);
  assert.ok(other, "another pane shown: a new target");
  assert.equal(sizer.next(win, null, 46, 35), null);
});

test("when the server lays out a cell differently, the sizer settles instead of resizing back and forth", () => {
  // The server splits 1:2 exactly; the layout message says 33.33/66.67. Simulate the server's answers.
  const wire = { row: ["pane", "pane"], sizes: [33.33, 66.67] };
  const server = { row: ["pane", "pane"], sizes: [1, 2] };
  for (let cols = 20; cols <= 200; cols += 7) {
    for (const pane of [1, 2]) {
      const sizer = new PhoneSizer();
      let size = /** @type {[number, number]} */ ([151, 44]);
      let asked = 0;
      for (;;) {
        const win = { id: 1, tree: wire, cols: size[0], rows: size[1], slots: [1, 2], rects: treeGeometry(server, size[0], size[1]) };
        const next = sizer.next(win, pane, cols, 35);
        if (next === null) break;
        size = next;
        assert.ok(++asked <= 3, `a ${cols}-column screen, pane ${pane}: still resizing after ${asked} requests`);
      }
      const got = treeGeometry(server, size[0], size[1])[pane - 1];
      assert.ok(Math.abs(got[2] - cols) <= 1, `a ${cols}-column screen, pane ${pane}: ${got[2]} columns`);
    }
  }
});

test("floats are summed as Python's math.fsum sums them", () => {
  assert.equal(fsum([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]), 1);
  assert.equal(fsum([1e100, 1, -1e100]), 1);
  assert.equal(fsum([]), 0);
  assert.equal(fsum([1, 1e-16, 1e-16]), 1.0000000000000002, "rounded correctly, not left to right");
});

test("swipes go through the shown panes of each window in order; viewers stay in the active window", () => {
  const layout = {
    active: 1,
    windows: [
      { id: 1, slots: [3, null, 5], rects: [[0, 1, 10, 10], null, [11, 1, 10, 10]] },
      { id: 2, slots: [7], rects: [[0, 1, 20, 10]] },
    ],
  };
  const all = swipeOrder(layout, true);
  assert.deepEqual(all, [{ window: 1, pane: 3 }, { window: 1, pane: 5 }, { window: 2, pane: 7 }]);
  assert.deepEqual(swipeOrder(layout, false), all.slice(0, 2));
  assert.deepEqual(swipeTarget(all, 3, 1), { window: 1, pane: 5 });
  assert.deepEqual(swipeTarget(all, 5, 1), { window: 2, pane: 7 }, "past the last pane: the next window");
  assert.deepEqual(swipeTarget(all, 7, -1), { window: 1, pane: 5 });
  assert.equal(swipeTarget(all, 7, 1), null, "no wrapping around");
  assert.equal(swipeTarget(all, 3, -1), null);
  assert.deepEqual(swipeTarget(all, 99, 1), { window: 1, pane: 3 }, "from a pane not in the list: the first");
  assert.equal(swipeTarget([], 3, 1), null);
  assert.deepEqual(swipeOrder(null, true), []);
});

test("a panned view moves as little as it can to show the cursor", () => {
  assert.equal(scrollToShow(0, 400, 100, 8, 1000), 0, "already in view");
  assert.equal(scrollToShow(0, 400, 500, 8, 1000), 108, "to the right: just enough");
  assert.equal(scrollToShow(300, 400, 100, 8, 1000), 100, "to the left: its start");
  assert.equal(scrollToShow(0, 400, 1200, 8, 500), 500, "never past the end");
});
