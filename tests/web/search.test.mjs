// Search results and where the view goes to show them; the scrollbar's geometry; URLs found in rows.
import assert from "node:assert/strict";
import { test } from "node:test";

import { autoscrollRows } from "../../src/dullahan/web/js/dragselect.js";
import { rowUrls, urlAt } from "../../src/dullahan/web/js/links.js";
import { rowPieces } from "../../src/dullahan/web/js/rows.js";
import { offsetAt, thumb } from "../../src/dullahan/web/js/scrollbar.js";
import {
  offsetShowing, scrollMessages, SearchResults, viewTop, visibleMatches,
} from "../../src/dullahan/web/js/search.js";
import { decodeRow } from "../../src/dullahan/web/js/sync.js";
import { tabTitle } from "../../src/dullahan/web/js/ui.js";

// -- search ---------------------------------------------------------------------------------------
test("the view shows history rows sb - offset on; a match out of view is brought to its middle", () => {
  const st = { sb: 1000, offset: 0, rows: 40, cols: 80 };
  assert.equal(viewTop(st), 1000);
  assert.equal(offsetShowing(1020, st), 0, "on the live screen already");
  assert.equal(offsetShowing(500, st), 520, "row 500 in the middle: the view starts at 480");
  assert.equal(viewTop({ ...st, offset: 520 }), 480);
  assert.equal(offsetShowing(3, st), 1000, "near the top: as far as the history goes");
  assert.equal(offsetShowing(990, { ...st, offset: 20 }), 20, "in view: the view stays");
});

test("a jump is absolute: the history row to show at the top, or the live screen", () => {
  assert.deepEqual(scrollMessages(3, 0, { sb: 1000 }), [{ t: "scroll", p: 3, to: "bottom" }]);
  assert.deepEqual(scrollMessages(3, 520, { sb: 1000 }), [{ t: "scroll", p: 3, row: 480 }]);
  assert.deepEqual(scrollMessages(3, 5000, { sb: 1000 }), [{ t: "scroll", p: 3, row: 0 }]);
});

test("matches in view, the current one marked, clipped to the pane", () => {
  const st = { sb: 100, offset: 10, rows: 5, cols: 20 };   // rows 90 … 94
  /** @type {Array<[number, number, number]>} */
  const matches = [[95, 0, 3], [94, 18, 5], [92, 2, 3], [89, 0, 3]];
  assert.deepEqual(visibleMatches(matches, 2, st), [[4, 18, 20, false], [2, 2, 5, true]]);
});

test("results: the current match starts at the bottom of the view and moves older or newer, wrapping", () => {
  const r = new SearchResults();
  assert.equal(r.label(), "no matches");
  assert.equal(r.move(1), null);
  r.reset([[300, 0, 4], [200, 1, 4], [100, 2, 4]], true, 250);
  assert.equal(r.current, 1, "the newest match at or above row 250");
  assert.equal(r.label(), "2 of 3+");
  assert.equal(r.needsMore(), false);
  assert.deepEqual(r.move(1), [100, 2, 4]);
  assert.equal(r.needsMore(), true, "older than the last one found: ask for the next batch");
  assert.deepEqual(r.continueFrom(), [100, 2]);
  r.append([[50, 0, 4]], false);
  assert.deepEqual(r.move(1), [50, 0, 4]);
  assert.deepEqual(r.move(1), [300, 0, 4], "past the oldest: back to the newest");
  assert.deepEqual(r.move(-1), [50, 0, 4]);
  assert.equal(r.label(), "4 of 4");
  r.reset([[300, 0, 4]], false, 10);
  assert.equal(r.current, 0, "nothing above the view: the newest");
});

// -- scrollbar ------------------------------------------------------------------------------------
test("the scrollbar's thumb: its place and size in the history, and back", () => {
  assert.equal(thumb(0, 0, 40), null, "no history, no scrollbar");
  assert.deepEqual(thumb(160, 0, 40), { top: 0.8, height: 0.2 });
  assert.deepEqual(thumb(160, 160, 40), { top: 0, height: 0.2 });
  assert.deepEqual(thumb(160, 500, 40), { top: 0, height: 0.2 }, "clamped");
  assert.equal(offsetAt(0, 160, 40), 160);
  assert.equal(offsetAt(0.8, 160, 40), 0);
  assert.equal(offsetAt(0.4, 160, 40), 80);
  assert.equal(offsetAt(-1, 160, 40), 160);
  assert.equal(offsetAt(2, 160, 40), 0);
});

// -- links ----------------------------------------------------------------------------------------
test("plain URLs in a row: http and https, without trailing punctuation or an unopened bracket", () => {
  const text = "see https://example.org/a?b=1. and (http://x.org/p_(1)) or ftp://no.org <https://y.org/z>";
  const at = (/** @type {string} */ s) => [text.indexOf(s), s.length, s];
  assert.deepEqual(rowUrls(decodeRow([text]), 100), [at("https://example.org/a?b=1"), at("http://x.org/p_(1)"), at("https://y.org/z")]);
  assert.deepEqual(rowUrls(decodeRow(["javascript://x.org/%0aalert(1) data://x"]), 60), []);
  assert.deepEqual(rowUrls(decodeRow(["plain text"]), 20), []);
});

test("URLs after wide characters are in their cells", () => {
  const row = decodeRow(["中 https://a.org/x", [], [0, 1, 2]]);
  assert.deepEqual(rowUrls(row, 30), [[3, 15, "https://a.org/x"]]);
});

test("a URL the terminal wrapped is one URL, from either of its rows", () => {
  const lines = [decodeRow(["go https://examp", [], [], [], 1]), decodeRow(["le.org/long/path", [], [], [], 1]),
    decodeRow([" now"]), decodeRow(["next"])];
  assert.equal(urlAt(lines, 16, 5, 0), "https://example.org/long/path");
  assert.equal(urlAt(lines, 16, 3, 1), "https://example.org/long/path");
  assert.equal(urlAt(lines, 16, 1, 0), null, "not on the URL");
  assert.equal(urlAt(lines, 16, 2, 2), null);
  assert.equal(urlAt(lines, 16, 0, 3), null);
});

test("found URLs become link pieces; OSC 8 links keep their own target", () => {
  const row = decodeRow(["a https://u.org b", [], [], [[0, 1, "https://osc8.org"]]]);
  const pieces = rowPieces(row, 20, rowUrls(row, 20));
  assert.deepEqual(pieces.map((p) => [p.text, p.link, p.auto]), [
    ["a", "https://osc8.org", false], [" ", null, false], ["https://u.org", "https://u.org", true], [" b", null, false]]);
});

// -- selection drags and tabs ---------------------------------------------------------------------
test("a drag past a pane's edge scrolls faster the further the pointer is", () => {
  assert.equal(autoscrollRows(0, 17), 0);
  assert.equal(autoscrollRows(-1, 17), -1, "just above: one row older per step");
  assert.equal(autoscrollRows(-40, 17), -3);
  assert.equal(autoscrollRows(40, 17), 3, "below: newer");
  assert.equal(autoscrollRows(-100000, 17), -20, "bounded");
});

test("a tab shows the window's title (its name, else its pane's title), never the layout's name", () => {
  assert.equal(tabTitle({ id: 2, name: "", title: "vim", layout: "2x2" }), "vim");
  assert.equal(tabTitle({ id: 2, name: "build", title: "build", layout: "custom" }), "build");
  assert.equal(tabTitle({ id: 2, name: "build", layout: "custom" }), "build", "an older server without titles");
  assert.equal(tabTitle({ id: 7, name: "", title: "", layout: "custom" }), "window 7");
});
