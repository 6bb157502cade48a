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
import { bounds, isEmpty, ranges, selectionText, Selector } from "../../src/dullahan/web/js/selection.js";
import { DEFAULTS, loadSettings, sanitize, saveSettings, STORAGE_KEY } from "../../src/dullahan/web/js/settings.js";
import { decodeRow } from "../../src/dullahan/web/js/sync.js";

/** @param {any[][]} payloads */
const rows = (payloads) => payloads.map((p) => decodeRow(p));

// -- selection ------------------------------------------------------------------------------------
test("a drag selects cells in reading order; trailing blanks are dropped per line", () => {
  const lines = rows([["hello world"], ["second line"], ["third"]]);
  /** @type {import("../../src/dullahan/web/js/selection.js").Selection} */
  const sel = { pane: 1, anchor: [6, 0], head: [5, 1], mode: "char" };
  assert.deepEqual(ranges(sel, lines, 20), [[0, 6, 20], [1, 0, 6]]);
  assert.equal(selectionText(sel, lines, 20), "world\nsecond");
  const back = { ...sel, anchor: /** @type {[number, number]} */ ([5, 1]), head: /** @type {[number, number]} */ ([6, 0]) };
  assert.equal(selectionText(back, lines, 20), "world\nsecond", "dragging backwards selects the same");
  assert.equal(isEmpty({ pane: 1, anchor: [2, 2], head: [2, 2], mode: "char" }), true);
});

test("soft-wrapped rows join without a newline", () => {
  const lines = rows([["aaaaa", [], [], [], 1], ["bbb"], ["ccc"]]);
  const sel = { pane: 1, anchor: /** @type {[number, number]} */ ([0, 0]), head: /** @type {[number, number]} */ ([2, 2]), mode: /** @type {const} */ ("char") };
  assert.equal(selectionText(sel, lines, 5), "aaaaabbb\nccc");
});

test("word and line selections", () => {
  const lines = rows([["cd /usr/lib && ls", [], [], [], 1], ["more"], ["next"]]);
  const word = { pane: 1, anchor: /** @type {[number, number]} */ ([5, 0]), head: /** @type {[number, number]} */ ([5, 0]), mode: /** @type {const} */ ("word") };
  assert.equal(selectionText(word, lines, 17), "/usr/lib");
  assert.equal(isEmpty(word), false, "a double-click selects without a drag");
  const line = { ...word, mode: /** @type {const} */ ("line") };
  assert.equal(selectionText(line, lines, 17), "cd /usr/lib && lsmore", "a triple-click takes the whole wrapped line");
  assert.deepEqual(bounds(line, lines, 17), { start: [0, 0], end: [16, 1] });
});

test("selections over wide characters take whole characters", () => {
  const lines = rows([["a中文b", [], [1, 1, 2, 3, 1, 2]]]);
  const sel = { pane: 1, anchor: /** @type {[number, number]} */ ([2, 0]), head: /** @type {[number, number]} */ ([3, 0]), mode: /** @type {const} */ ("char") };
  assert.equal(selectionText(sel, lines, 8), "中文");
  assert.deepEqual(ranges(sel, lines, 8), [[0, 1, 5]]);
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

test("the selector: drag, text, output over the selected rows ends it, elsewhere it stays", () => {
  const rowsById = new Map([[1, decodeRow(["one two"])], [2, decodeRow(["three"])], [3, decodeRow(["four"])], [4, decodeRow(["new"])]]);
  const pane = { cols: 10, ids: [1, 2, 3] };
  /** @type {Array<[number, Array<[number, number, number]>]>} */
  const drawn = [];
  const sel = new Selector(() => pane, () => pane.ids.map((id) => rowsById.get(id)), (p, r) => { drawn.push([p, r]); });
  sel.start(7, 4, 0, "char");
  assert.equal(sel.text, "");
  sel.move(2, 1);
  assert.equal(sel.text, "two\nthr");
  assert.deepEqual(drawn.at(-1), [7, [[0, 4, 10], [1, 0, 3]]]);
  assert.equal(sel.end(), true);
  pane.ids = [1, 2, 4];               // a row below the selection changed: it stays
  sel.paneChanged(7);
  assert.equal(sel.text, "two\nthr");
  pane.ids = [2, 3, 4];               // the screen scrolled: the selected rows moved, it ends
  sel.paneChanged(7);
  assert.equal(sel.text, "");
  assert.deepEqual(drawn.at(-1), [7, []]);
  sel.start(7, 1, 1, "char");
  assert.equal(sel.end(), false, "a click without a drag selects nothing");
});
