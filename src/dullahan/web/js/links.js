// Plain URLs in a pane's text (`https://…`, `http://…`), found so they can be clicked like OSC 8 links.
// Pure. The text is the program's, so untrusted: a URL is only ever used through `safeHref` (http, https
// and mailto only) and reaches the DOM as an attribute and text, never as markup.

import { rowCells, safeHref } from "./rows.js";

/** @typedef {import("./sync.js").Row} Row */

const URL_RE = /\bhttps?:\/\/[^\s<>"'`\u0000-\u001f\u007f]+/g;
const TRAILING = /[.,;:!?]+$/;
const PAIRS = /** @type {Record<string, string>} */ ({ ")": "(", "]": "[", "}": "{" });

/**
 * A URL as text ends before trailing punctuation and before a closing bracket it did not open
 * ("(see https://x.org/a)" links https://x.org/a).
 * @param {string} url
 */
function trimUrl(url) {
  for (;;) {
    const before = url;
    url = url.replace(TRAILING, "");
    const last = url[url.length - 1];
    if (last in PAIRS) {
      const open = PAIRS[last];
      let depth = 0;
      for (const ch of url) {
        if (ch === open) depth++;
        else if (ch === last) depth--;
      }
      if (depth < 0) url = url.slice(0, -1);
    }
    if (url === before) return url;
  }
}

/**
 * URLs in a text whose characters sit in known columns: [first column, columns, url].
 * @param {string[]} chars   one entry per character (a cell's text split into code units is fine: only
 *                           ASCII can be part of a URL here)
 * @param {number[]} colOf   the column of each entry
 * @param {number[]} widthOf the width of each entry's cell
 * @returns {Array<[number, number, string]>}
 */
function urlsIn(chars, colOf, widthOf) {
  const text = chars.join("");
  /** @type {number[]} start of each entry in `text` */
  const starts = [];
  let pos = 0;
  for (const c of chars) {
    starts.push(pos);
    pos += c.length;
  }
  /** @type {Array<[number, number, string]>} */
  const out = [];
  for (const m of text.matchAll(URL_RE)) {
    const url = trimUrl(m[0]);
    if (safeHref(url) === null || url.length < 10) continue;
    const first = entryAt(starts, m.index ?? 0);
    const last = entryAt(starts, (m.index ?? 0) + url.length - 1);
    out.push([colOf[first], colOf[last] + widthOf[last] - colOf[first], url]);
  }
  return out;
}

/**
 * @param {number[]} starts
 * @param {number} offset
 */
function entryAt(starts, offset) {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** True when a row may hold a URL (the cheap test before looking). @param {Row} row */
export function mayHaveUrl(row) {
  return row.text.includes("://");
}

/**
 * The URLs of one row: [x, ncols, url] (the form of a row's OSC 8 `links`). A URL cut by the row's end
 * (a soft wrap) is the part on this row; `urlAt` joins the rows.
 * @param {Row} row
 * @param {number} cols
 * @returns {Array<[number, number, string]>}
 */
export function rowUrls(row, cols) {
  if (!mayHaveUrl(row)) return [];
  /** @type {string[]} */
  const chars = [];
  /** @type {number[]} */
  const colOf = [];
  /** @type {number[]} */
  const widthOf = [];
  rowCells(row, cols).forEach(([text, width], x) => {
    if (width === 0) return;
    chars.push(text);
    colOf.push(x);
    widthOf.push(width);
  });
  return urlsIn(chars, colOf, widthOf);
}

/**
 * The URL under cell (x, y) of a view, read across soft-wrapped rows (a long URL the terminal wrapped is
 * one URL), or null.
 * @param {Array<Row | undefined>} lines
 * @param {number} cols
 * @param {number} x
 * @param {number} y
 * @returns {string | null}
 */
export function urlAt(lines, cols, x, y) {
  if (!lines[y]) return null;
  let y0 = y;
  while (y0 > 0 && lines[y0 - 1]?.wrapped) y0--;
  let y1 = y;
  while (y1 + 1 < lines.length && lines[y1]?.wrapped) y1++;
  /** @type {string[]} */
  const chars = [];
  /** @type {number[]} */
  const colOf = [];
  /** @type {number[]} */
  const widthOf = [];
  for (let r = y0; r <= y1; r++) {
    const row = lines[r];
    if (!row) continue;
    rowCells(row, cols).forEach(([text, width], cx) => {
      if (width === 0) return;
      chars.push(text);
      colOf.push((r - y0) * cols + cx);
      widthOf.push(width);
    });
  }
  const at = (y - y0) * cols + x;
  const hit = urlsIn(chars, colOf, widthOf).find(([start, n]) => at >= start && at < start + n);
  return hit ? safeHref(hit[2]) : null;
}
