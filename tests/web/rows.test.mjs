// Row layout: cells, style runs and pieces (what becomes spans), wide characters, clusters and links.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  cellAt, cellsText, isPlain, rowCells, rowPieces, safeHref, styleColumns, textColumns, wordAt,
} from "../../src/dullahan/web/js/rows.js";
import { decodeRow } from "../../src/dullahan/web/js/sync.js";

/** @param {any[]} payload */
const row = (payload) => decodeRow(payload);

test("plain rows pad to the width", () => {
  const r = row(["$ ls"]);
  assert.equal(isPlain(r), true);
  assert.deepEqual(rowCells(r, 6).map((c) => c[0]).join(""), "$ ls  ");
  assert.equal(textColumns(r), 4);
});

test("wide characters take two columns and the rest of the row stays in place", () => {
  // "a中b": 中 at x=1 is one codepoint two columns wide; b lands at x=3.
  const r = row(["a中b", [], [1, 1, 2]]);
  assert.equal(isPlain(r), false);
  const cells = rowCells(r, 6);
  assert.deepEqual(cells, [["a", 1], ["中", 2], ["", 0], ["b", 1], [" ", 1], [" ", 1]]);
  assert.equal(textColumns(r), 4);
  const pieces = rowPieces(r, 6);
  assert.deepEqual(pieces.map((p) => [p.x, p.cols, p.text, p.wide]), [[0, 1, "a", false], [1, 2, "中", true], [3, 1, "b", false]]);
  assert.deepEqual(cellAt(r, 6, 2), { x: 1, text: "中", width: 2 }, "the spacer belongs to the wide character");
});

test("grapheme clusters: several codepoints in one cell (emoji with a skin tone, e + combining accent)", () => {
  // 👍🏽 is two codepoints (four UTF-16 units) in two columns; é (e + U+0301) two codepoints in one column.
  const r = row(["x👍🏽e\u0301e", [], [1, 2, 2, 3, 2, 1]]);
  const cells = rowCells(r, 7);
  assert.deepEqual(cells.slice(0, 5), [["x", 1], ["👍🏽", 2], ["", 0], ["e\u0301", 1], ["e", 1]]);
  const pieces = rowPieces(r, 7);
  assert.deepEqual(pieces.map((p) => [p.x, p.cols, p.text, p.wide]),
    [[0, 1, "x", false], [1, 2, "👍🏽", true], [3, 1, "e\u0301", true], [4, 1, "e", false]]);
  assert.equal(textColumns(r), 5);
});

test("unicode placeholder cells (kitty graphics) are drawn and copied as blanks, in their style", () => {
  // "a", then two placeholder cells with row/column diacritics (clusters), one bare, in style 6; then "z".
  const p0 = "\u{10EEEE}\u0305\u0305";
  const p1 = "\u{10EEEE}\u0305\u030D";
  const r = row([`a${p0}${p1}\u{10EEEE}z`, [1, 3, 6], [1, 3, 1, 2, 3, 1]]);
  const pieces = rowPieces(r, 6);
  assert.ok(pieces.every((p) => !p.text.includes("\u{10EEEE}")), JSON.stringify(pieces));
  assert.deepEqual(pieces.map((p) => [p.x, p.cols, p.text, p.sid]), [[0, 1, "a", 0], [1, 3, "   ", 6], [4, 1, "z", 0]]);
  assert.equal(cellsText(r, 6, 0, 6), "a   z ");
});

test("an astral character that is one codepoint in one column is not split", () => {
  const r = row(["𝐀b"]);
  assert.deepEqual(rowCells(r, 3), [["𝐀", 1], ["b", 1], [" ", 1]]);
  assert.equal(isPlain(r), false, "non-ASCII rows take the piece path");
  assert.deepEqual(rowPieces(r, 3).map((p) => [p.x, p.cols, p.text]), [[0, 2, "𝐀b"]]);
});

test("style runs split pieces and runs past the end of the text colour blank cells", () => {
  // "ab" then a run of style 4 over x=1..5 (beyond the text: a coloured background to x=5).
  const r = row(["ab", [1, 5, 4]]);
  assert.deepEqual(Array.from(styleColumns(r, 8)), [0, 4, 4, 4, 4, 4, 0, 0]);
  const pieces = rowPieces(r, 8);
  assert.deepEqual(pieces.map((p) => [p.x, p.cols, p.text, p.sid]), [[0, 1, "a", 0], [1, 5, "b    ", 4]]);
});

test("runs are clipped to the pane width", () => {
  const r = row(["", [2, 50, 7]]);
  const pieces = rowPieces(r, 5);
  assert.deepEqual(pieces.map((p) => [p.x, p.cols, p.sid]), [[0, 2, 0], [2, 3, 7]]);
});

test("a gap of default cells between runs stays one piece of blanks", () => {
  const r = row(["a   b", [0, 1, 1, 4, 1, 2]]);
  const pieces = rowPieces(r, 5);
  assert.deepEqual(pieces.map((p) => [p.x, p.cols, p.text, p.sid]), [[0, 1, "a", 1], [1, 3, "   ", 0], [4, 1, "b", 2]]);
});

test("links become their own pieces and only http, https and mailto are clickable", () => {
  const r = row(["go here now", [], [], [[3, 4, "https://example.org/a?b=1"]]]);
  const pieces = rowPieces(r, 11);
  assert.deepEqual(pieces.map((p) => [p.x, p.cols, p.text, p.link]),
    [[0, 3, "go ", null], [3, 4, "here", "https://example.org/a?b=1"], [7, 4, " now", null]]);
  assert.equal(safeHref("https://example.org/a?b=1"), "https://example.org/a?b=1");
  assert.equal(safeHref("http://x.test"), "http://x.test/");
  assert.equal(safeHref("mailto:me@example.org"), "mailto:me@example.org");
  assert.equal(safeHref("javascript:alert(1)"), null);
  assert.equal(safeHref(" JavaScript:alert(1)"), null);
  assert.equal(safeHref("data:text/html,<script>"), null);
  assert.equal(safeHref("file:///etc/passwd"), null);
  assert.equal(safeHref("not a url"), null);
  assert.equal(safeHref(""), null);
});

test("a link over a style run keeps both", () => {
  const r = row(["abcd", [0, 4, 2], [], [[1, 2, "https://x.test/"]]]);
  assert.deepEqual(rowPieces(r, 4).map((p) => [p.x, p.cols, p.sid, p.link]),
    [[0, 1, 2, null], [1, 2, 2, "https://x.test/"], [3, 1, 2, null]]);
});

test("cell text for copy leaves spacer cells out", () => {
  const r = row(["a中b", [], [1, 1, 2]]);
  assert.equal(cellsText(r, 6, 0, 6), "a中b  ");
  assert.equal(cellsText(r, 6, 2, 4), "b");
});

test("double-click words: paths and URLs are one word; blanks and brackets separate", () => {
  const r = row(["ls /usr/lib (x) https://a.b/c?d=1"]);
  assert.deepEqual(wordAt(r, 40, 5), [3, 11]);
  assert.deepEqual(wordAt(r, 40, 0), [0, 2]);
  assert.deepEqual(wordAt(r, 40, 12), [12, 13], "a bracket alone");
  assert.deepEqual(wordAt(r, 40, 20), [16, 33]);
  assert.deepEqual(wordAt(r, 40, 2), [2, 3], "a blank selects the run of blanks");
  const wide = row(["中文 x", [], [0, 1, 2, 2, 1, 2]]);
  assert.deepEqual(wordAt(wide, 8, 1), [0, 4], "wide characters form words too");
});
