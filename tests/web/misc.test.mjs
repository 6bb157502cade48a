// Selection, layout geometry, reconnect backoff and settings.
import assert from "node:assert/strict";
import { test } from "node:test";

import { BACKOFF_BASE_MS, BACKOFF_MAX_MS, backoffDelay, socketUrl } from "../../src/dullahan/web/js/connection.js";
import {
  baseDirectory, explainRefusal, refusalReason, SIGNED_OUT_REASONS,
} from "../../src/dullahan/web/js/refusal.js";
import {
  BUILTIN_TREES, dividers, fitCells, neighbour, sizesFromDivider, templateBoxes,
} from "../../src/dullahan/web/js/layout.js";
import { bounds, isEmpty, ranges, selectionText, Selector, spanAt, viewBounds } from "../../src/dullahan/web/js/selection.js";
import { DEFAULTS, loadSettings, sanitize, saveSettings, STORAGE_KEY } from "../../src/dullahan/web/js/settings.js";
import { decodeRow } from "../../src/dullahan/web/js/sync.js";

/** @param {any[][]} payloads */
const rows = (payloads) => payloads.map((p) => decodeRow(p));

// -- selection ------------------------------------------------------------------------------------
/**
 * A view of rows starting at history row `top`.
 * @param {any[][]} payloads
 * @param {number} cols
 * @param {number} [top]
 * @returns {import("../../src/dullahan/web/js/selection.js").View}
 */
const view = (payloads, cols, top = 0) => ({ top, lines: rows(payloads), ids: payloads.map((_, i) => i + 1), cols });

/**
 * A selection from a press at (ax, ay) of the view to (hx, hy), as the Selector makes it.
 * @param {import("../../src/dullahan/web/js/selection.js").View} v
 * @param {"char" | "word" | "line"} mode
 * @param {number} ax
 * @param {number} ay
 * @param {number} [hx]
 * @param {number} [hy]
 * @returns {import("../../src/dullahan/web/js/selection.js").Selection}
 */
const select = (v, mode, ax, ay, hx = ax, hy = ay) => ({ pane: 1, mode, anchor: spanAt(v, ax, ay, mode), head: spanAt(v, hx, hy, mode) });

test("a drag selects cells in reading order; trailing blanks are dropped per line", () => {
  const v = view([["hello world"], ["second line"], ["third"]], 20);
  const sel = select(v, "char", 6, 0, 5, 1);
  assert.deepEqual(ranges(sel, 0, 3, 20), [[0, 6, 20], [1, 0, 6]]);
  assert.equal(selectionText(sel, v), "world\nsecond");
  assert.equal(selectionText(select(v, "char", 5, 1, 6, 0), v), "world\nsecond", "dragging backwards selects the same");
  assert.equal(isEmpty(select(v, "char", 2, 2)), true);
});

test("soft-wrapped rows join without a newline", () => {
  const v = view([["aaaaa", [], [], [], 1], ["bbb"], ["ccc"]], 5);
  assert.equal(selectionText(select(v, "char", 0, 0, 2, 2), v), "aaaaabbb\nccc");
});

test("word and line selections", () => {
  const v = view([["cd /usr/lib && ls", [], [], [], 1], ["more"], ["next"]], 17);
  const word = select(v, "word", 5, 0);
  assert.equal(selectionText(word, v), "/usr/lib");
  assert.equal(isEmpty(word), false, "a double-click selects without a drag");
  const line = select(v, "line", 5, 0);
  assert.equal(selectionText(line, v), "cd /usr/lib && lsmore", "a triple-click takes the whole wrapped line");
  assert.deepEqual(bounds(line), { start: [0, 0], end: [16, 1] });
  assert.equal(selectionText(select(v, "word", 5, 0, 1, 2), v), "/usr/lib && lsmore\nnext", "a word drag extends by words");
});

test("selections over wide characters take whole characters", () => {
  const v = view([["a中文b", [], [1, 1, 2, 3, 1, 2]]], 8);
  const sel = select(v, "char", 2, 0, 3, 0);
  assert.equal(selectionText(sel, v), "中文");
  assert.deepEqual(ranges(sel, 0, 1, 8), [[0, 1, 5]]);
});

test("a selection is in history rows: it stays put while the view scrolls and may reach past it", () => {
  const v = view([["r10"], ["r11"], ["r12"]], 10, 10);       // the view shows history rows 10 … 12
  const sel = select(v, "char", 1, 1, 2, 2);
  assert.deepEqual(bounds(sel), { start: [1, 11], end: [2, 12] });
  assert.deepEqual(viewBounds(sel, 12), { start: [1, -1], end: [2, 0] }, "in the rows of a view further down");
  assert.equal(selectionText(sel, v), "11\nr12");
  assert.deepEqual(ranges(sel, 12, 3, 10), [[0, 0, 3]], "seen from a view two rows further down");
  assert.deepEqual(ranges(sel, 0, 3, 10), [], "out of view");
  const far = { ...sel, head: /** @type {[[number, number], [number, number]]} */ ([[4, 40], [4, 40]]) };
  assert.equal(selectionText(far, v), null, "row 40 is not in the page: the server has its text");
});

// -- layout ---------------------------------------------------------------------------------------
test("the window area that fits a viewport", () => {
  assert.deepEqual(fitCells(800, 400, 8, 16), [100, 25]);
  assert.deepEqual(fitCells(805, 415, 8, 16), [100, 25]);
  assert.deepEqual(fitCells(994.5, 569, 8.4281, 17), [117, 33]);
  assert.deepEqual(fitCells(0, 0, 8, 16), [1, 1]);
  assert.deepEqual(fitCells(100000, 100000, 1, 1), [1000, 1000]);
});

test("divider drags compute the same sizes as the server", () => {
  // Values from dullahan.session.layout.sizes_from_divider.
  assert.deepEqual(sizesFromDivider(120, [50, 50], 0, 30, "row"), [25.21, 74.79]);
  assert.deepEqual(sizesFromDivider(41, [50, 50], 0, 10, "column"), [24.39, 75.61]);
  assert.deepEqual(sizesFromDivider(100, [33.33, 33.33, 33.34], 1, 80, "row"), [33.33, 47.28, 19.39]);
  assert.deepEqual(sizesFromDivider(100, [50, 50], 0, 1, "row"), [5, 95], "each keeps at least 5 %");
  assert.deepEqual(sizesFromDivider(100, [50, 50], 0, 200, "row"), [95, 5]);
});

const WIN_2X2 = {
  slots: [4, 5, 6, 7],
  rects: /** @type {Array<[number, number, number, number]>} */ ([[0, 1, 60, 19], [61, 1, 59, 19], [0, 21, 60, 20], [61, 21, 59, 20]]),
  splits: [
    { path: [], kind: /** @type {const} */ ("column"), rect: /** @type {[number, number, number, number]} */ ([0, 0, 120, 41]), sizes: [50, 50], offsets: [0, 20] },
    { path: [0], kind: /** @type {const} */ ("row"), rect: /** @type {[number, number, number, number]} */ ([0, 0, 120, 20]), sizes: [50, 50], offsets: [0, 61] },
    { path: [1], kind: /** @type {const} */ ("row"), rect: /** @type {[number, number, number, number]} */ ([0, 20, 120, 21]), sizes: [50, 50], offsets: [0, 61] },
  ],
};

test("dividers: a column between row children, the lower title bar between column children", () => {
  const ds = dividers(WIN_2X2.splits);
  assert.deepEqual(ds.map((d) => [d.kind, d.path, d.index, d.x, d.y, d.w, d.h, d.start, d.length]), [
    ["column", [], 0, 0, 20, 120, 1, 0, 41],
    ["row", [0], 0, 60, 0, 1, 20, 0, 120],
    ["row", [1], 0, 60, 20, 1, 21, 0, 120],
  ]);
});

test("focus movement finds the neighbouring pane", () => {
  const { slots, rects } = WIN_2X2;
  assert.equal(neighbour(slots, rects, 4, "right"), 5);
  assert.equal(neighbour(slots, rects, 4, "down"), 6);
  assert.equal(neighbour(slots, rects, 7, "left"), 6);
  assert.equal(neighbour(slots, rects, 7, "up"), 5);
  assert.equal(neighbour(slots, rects, 4, "left"), null);
  assert.equal(neighbour(slots, rects, 4, "up"), null);
});

test("template previews", () => {
  assert.deepEqual(templateBoxes("pane"), [[0, 0, 1, 1]]);
  assert.deepEqual(templateBoxes(BUILTIN_TREES["2x2"]), [[0, 0, 0.5, 0.5], [0.5, 0, 0.5, 0.5], [0, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5]]);
  const ms = templateBoxes({ row: ["pane", "pane"], sizes: [70, 30] });
  assert.equal(ms.length, 2);
  assert.ok(Math.abs(ms[0][2] - 0.7) < 1e-9);
  assert.equal(templateBoxes(BUILTIN_TREES["3x3"]).length, 9);
  assert.deepEqual(templateBoxes({ bogus: 1 }), [[0, 0, 1, 1]], "odd user templates still preview");
});

// -- connection -----------------------------------------------------------------------------------
test("reconnect backoff grows exponentially with jitter, within bounds", () => {
  for (let attempt = 0; attempt < 40; attempt++) {
    const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
    assert.equal(backoffDelay(attempt, () => 0), Math.round(cap / 2));
    assert.equal(backoffDelay(attempt, () => 1), cap);
    const d = backoffDelay(attempt);
    assert.ok(d >= cap / 2 && d <= cap, `attempt ${attempt}: ${d}`);
  }
  assert.equal(backoffDelay(0, () => 0), BACKOFF_BASE_MS / 2, "the first retry is quick");
  assert.equal(backoffDelay(1000, () => 1), BACKOFF_MAX_MS, "never longer than the maximum");
  const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(6)));
  assert.ok(seen.size > 10, "jitter spreads retries");
});

test("the socket URL follows the page's scheme and host", () => {
  assert.equal(socketUrl({ protocol: "http:", host: "127.0.0.1:7681" }), "ws://127.0.0.1:7681/ws");
  assert.equal(socketUrl({ protocol: "https:", host: "example.org" }), "wss://example.org/ws");
});

test("the socket URL keeps the page's path prefix (--base-path)", () => {
  assert.equal(socketUrl({ protocol: "https:", host: "h", pathname: "/dullahan/" }), "wss://h/dullahan/ws");
  assert.equal(socketUrl({ protocol: "http:", host: "h:1", pathname: "/a/b/" }), "ws://h:1/a/b/ws");
  assert.equal(socketUrl({ protocol: "http:", host: "h", pathname: "/a/index.html" }), "ws://h/a/ws");
  assert.equal(baseDirectory("/"), "/");
  assert.equal(baseDirectory(""), "/");
});

test("a refusal becomes words, and only a full server is retried", () => {
  const origin = explainRefusal("origin_rejected", "origin 'https://h' does not match http://h:80");
  assert.ok(origin && !origin.retry && origin.label === "origin refused");
  assert.ok(origin.text.includes("--trusted-proxy") && origin.text.includes("does not match"));
  const host = explainRefusal("host_rejected");
  assert.ok(host && !host.retry && host.text.includes("--allowed-host"));
  const full = explainRefusal("too_many_connections");
  assert.ok(full && full.retry && full.label === "server full");
  assert.equal(explainRefusal("toString"), null, "no inherited keys");
  assert.equal(explainRefusal(null), null);
  assert.equal(explainRefusal("something_new"), null);
  assert.ok(SIGNED_OUT_REASONS.has("signed_out") && SIGNED_OUT_REASONS.has("auth_failed"));
});

test("the reason comes from the refusal header first, then the body", () => {
  assert.equal(refusalReason("host_rejected", { reason: "origin_rejected" }), "host_rejected");
  assert.equal(refusalReason(null, { reason: "origin_rejected" }), "origin_rejected");
  assert.equal(refusalReason(null, { reason: null }), null);
  assert.equal(refusalReason(null, { reason: 3 }), null);
  assert.equal(refusalReason(null, null), null);
  assert.equal(refusalReason(null, "text"), null);
});

// -- settings -------------------------------------------------------------------------------------
test("settings are validated and kept in storage", () => {
  assert.deepEqual(sanitize(null), DEFAULTS);
  assert.deepEqual(sanitize({ fontSize: 1000, lineHeight: "x", theme: "nope", cursorStyle: "bar", extra: 1 }),
    { ...DEFAULTS, cursorStyle: "bar" });
  assert.equal(sanitize({ fontFamily: "x; } body { display:none" }).fontFamily, DEFAULTS.fontFamily);
  /** @type {Map<string, string>} */
  const store = new Map();
  const storage = { getItem: (/** @type {string} */ k) => store.get(k) ?? null, setItem: (/** @type {string} */ k, /** @type {string} */ v) => { store.set(k, v); } };
  assert.deepEqual(loadSettings(storage), DEFAULTS);
  assert.equal(saveSettings(storage, { ...DEFAULTS, theme: "light", fontSize: 18 }), true);
  assert.ok(store.has(STORAGE_KEY));
  assert.deepEqual(loadSettings(storage), { ...DEFAULTS, theme: "light", fontSize: 18 });
  store.set(STORAGE_KEY, "{broken");
  assert.deepEqual(loadSettings(storage), DEFAULTS);
  assert.deepEqual(loadSettings({ getItem: () => { throw new Error("denied"); } }), DEFAULTS);
});

test("the selector: drag, text, scrolling keeps it, output over the selected rows ends it", () => {
  const rowsById = new Map([[1, decodeRow(["one two"])], [2, decodeRow(["three"])], [3, decodeRow(["four"])], [4, decodeRow(["new"])],
    [5, decodeRow(["five"])]]);
  const pane = { top: 0, ids: [1, 2, 3] };
  /** @type {Array<[number, Array<[number, number, number]>]>} */
  const drawn = [];
  const sel = new Selector(() => ({ top: pane.top, ids: pane.ids, cols: 10, lines: pane.ids.map((id) => rowsById.get(id)) }),
    (p, r) => { drawn.push([p, r]); });
  sel.start(7, 4, 0, "char");
  assert.equal(sel.text, "");
  sel.move(2, 1);
  assert.equal(sel.text, "two\nthr");
  assert.deepEqual(drawn.at(-1), [7, [[0, 4, 10], [1, 0, 3]]]);
  assert.equal(sel.end(), true);
  assert.equal(sel.needsServer(), null, "the page holds its rows");
  pane.ids = [1, 2, 4];               // a row below the selection changed: it stays
  sel.paneChanged(7);
  assert.equal(sel.text, "two\nthr");
  pane.top = 1;                        // the screen scrolled by one (new output): the selection moves with its rows
  pane.ids = [2, 4, 5];
  sel.paneChanged(7);
  assert.equal(sel.text, "two\nthr");
  assert.deepEqual(drawn.at(-1), [7, [[0, 0, 3]]]);
  pane.top = 0;
  pane.ids = [1, 3, 4];               // row 1 (selected) holds something else now: it ends
  sel.paneChanged(7);
  assert.equal(sel.text, "");
  assert.deepEqual(drawn.at(-1), [7, []]);
  sel.start(7, 1, 1, "char");
  assert.equal(sel.end(), false, "a click without a drag selects nothing");
});

test("the selector: extending past the view asks the server for the text, Shift+click extends", () => {
  const pane = { top: 100, ids: [1, 2] };
  const lines = [decodeRow(["abc"]), decodeRow(["def"])];
  const sel = new Selector(() => ({ top: pane.top, ids: pane.ids, cols: 5, lines }), () => {});
  sel.start(3, 1, 0, "char");
  pane.top = 50;                       // scrolled up 50 rows while dragging
  sel.move(0, 0);
  assert.equal(sel.text, "");
  const ask = sel.needsServer();
  assert.deepEqual(ask && [ask.pane, ask.start, ask.end], [3, [0, 50], [1, 100]]);
  sel.setServerText((ask?.generation ?? 0) - 1, "stale");
  assert.equal(sel.text, "", "an answer for an older selection is ignored");
  sel.setServerText(ask?.generation ?? 0, "all of it");
  assert.equal(sel.text, "all of it");
  assert.equal(sel.needsServer(), null);
  pane.top = 100;
  sel.extend(3, 2, 1);                 // Shift+click below the selection: its end moves there, its start stays
  assert.deepEqual(sel.sel && bounds(sel.sel), { start: [0, 50], end: [2, 101] });
  sel.extend(3, 2, 0);                 // inside, nearer the end: the end moves back
  assert.deepEqual(sel.sel && bounds(sel.sel), { start: [0, 50], end: [2, 100] });
  pane.top = 40;
  sel.extend(3, 1, 0);                 // above it: the start moves up
  assert.deepEqual(sel.sel && bounds(sel.sel), { start: [1, 40], end: [2, 100] });
  sel.start(3, 0, 0, "char");          // a plain click (no drag) selects nothing, but a Shift+click selects from it
  assert.equal(sel.end(), false);
  pane.top = 41;
  sel.extend(3, 2, 1);
  assert.deepEqual(sel.sel && bounds(sel.sel), { start: [0, 40], end: [2, 42] });
  const fresh = new Selector(() => ({ top: 0, ids: [1, 2], cols: 5, lines }), () => {});
  fresh.extend(3, 1, 0);
  assert.equal(fresh.hasSelection(), false, "with no press before, a Shift+click starts from where it is");
});
