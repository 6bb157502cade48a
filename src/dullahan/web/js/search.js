// Search in a pane's scrollback, the pure part: the matches the server found (`search-pane`), which one is
// current, where this page's view must go to show it, and which matches the view shows. Pure (no DOM).
//
// Rows are the server's: 0 is the oldest history row, the live screen is the last `rows` rows. A frame says
// how many rows of history the pane has (`sb`) and how far this page looks back (`offset`), so the view
// shows rows `sb - offset` … `sb - offset + rows - 1`.

/** @typedef {[number, number, number]} Match  row, column, length in cells */

/**
 * The first row the view shows.
 * @param {{sb: number, offset: number}} st
 */
export function viewTop(st) {
  return Math.max(0, st.sb - st.offset);
}

/**
 * The scroll offset that shows `row`: the current one when the row is in view already, else the one that puts
 * it in the middle of the view (as near as the ends of the history allow).
 * @param {number} row
 * @param {{sb: number, offset: number, rows: number}} st
 */
export function offsetShowing(row, st) {
  const top = viewTop(st);
  if (row >= top && row < top + st.rows) return st.offset;
  const wantTop = row - Math.floor(st.rows / 2);
  return Math.max(0, Math.min(st.sb, st.sb - wantTop));
}

/**
 * The `scroll` messages that put a pane's view at `offset` rows above the live screen whatever it shows now:
 * the history row that is then at the top, as an absolute position (relative moves computed from a frame
 * would add up wrongly while earlier moves are still on their way).
 * @param {number} pane
 * @param {number} offset
 * @param {{sb: number}} st
 * @returns {object[]}
 */
export function scrollMessages(pane, offset, st) {
  return offset > 0 ? [{ t: "scroll", p: pane, row: Math.max(0, st.sb - offset) }] : [{ t: "scroll", p: pane, to: "bottom" }];
}

/**
 * The matches a view shows, as [y, x0, x1, current] ranges in the view's cells.
 * @param {Match[]} matches
 * @param {number} current  index of the current match (-1: none)
 * @param {{sb: number, offset: number, rows: number, cols: number}} st
 * @returns {Array<[number, number, number, boolean]>}
 */
export function visibleMatches(matches, current, st) {
  const top = viewTop(st);
  /** @type {Array<[number, number, number, boolean]>} */
  const out = [];
  matches.forEach(([row, col, len], i) => {
    const y = row - top;
    if (y < 0 || y >= st.rows || col >= st.cols) return;
    out.push([y, col, Math.min(st.cols, col + Math.max(1, len)), i === current]);
  });
  return out;
}

/**
 * The matches of one search: newest first, as the server sends them, with a current one. "Older" moves
 * towards the top of the history (the way a search from the bottom goes), "newer" back down; both wrap.
 */
export class SearchResults {
  constructor() {
    /** @type {Match[]} */
    this.matches = [];
    this.more = false;
    this.current = -1;
  }

  /**
   * A new search's first batch; the current match is the newest one at or above `fromRow` (the bottom of
   * the view), else the newest.
   * @param {Match[]} matches
   * @param {boolean} more
   * @param {number} fromRow
   */
  reset(matches, more, fromRow) {
    this.matches = matches.slice();
    this.more = more;
    const i = this.matches.findIndex((m) => m[0] <= fromRow);
    this.current = this.matches.length === 0 ? -1 : Math.max(0, i);
  }

  /**
   * The next batch (older matches) of the same search.
   * @param {Match[]} matches
   * @param {boolean} more
   */
  append(matches, more) {
    this.matches.push(...matches);
    this.more = more;
  }

  /** True when moving older needs the next batch first. */
  needsMore() {
    return this.more && this.current === this.matches.length - 1;
  }

  /** Where the next batch starts: the last match found. @returns {[number, number] | null} */
  continueFrom() {
    const last = this.matches[this.matches.length - 1];
    return last ? [last[0], last[1]] : null;
  }

  /** @param {1 | -1} step  1 older, -1 newer */
  move(step) {
    const n = this.matches.length;
    if (n === 0) return null;
    this.current = (this.current + step + n) % n;
    return this.matches[this.current];
  }

  /** "3 of 120", "3 of 1000+", "no matches". */
  label() {
    if (this.matches.length === 0) return "no matches";
    return `${this.current + 1} of ${this.matches.length}${this.more ? "+" : ""}`;
  }

  clear() {
    this.matches = [];
    this.more = false;
    this.current = -1;
  }
}
