// Frame application: the browser's replica must follow the same rules as wire/replica.py.
import assert from "node:assert/strict";
import { test } from "node:test";

import { rowCells } from "../../src/dullahan/web/js/rows.js";
import { decodeRow, Replica, unpackIds, visiblePanes } from "../../src/dullahan/web/js/sync.js";

/** @param {Replica} r @param {number} pane */
function screenText(r, pane) {
  const st = r.panes.get(pane);
  assert.ok(st, `pane ${pane} is known`);
  return r.lines(pane).map((row) => {
    assert.ok(row, "every row is in the cache");
    return rowCells(row, st.cols).map((c) => c[0]).join("");
  });
}

test("packed id lists unpack: plain, consecutive runs and repeats", () => {
  assert.deepEqual(unpackIds([5, [10, 3], [7, 4, 0], 2]), [5, 10, 11, 12, 7, 7, 7, 7, 2]);
  assert.deepEqual(unpackIds([]), []);
  assert.deepEqual(unpackIds(undefined), []);
  assert.deepEqual(unpackIds([[0, 2]]), [0, 1], "id 0 is a valid id, never a sentinel");
});

test("row payloads decode with trailing parts omitted", () => {
  assert.deepEqual(decodeRow(["$ ls"]), { text: "$ ls", runs: [], cells: [], links: [], wrapped: false });
  assert.deepEqual(decodeRow(["ab", [0, 2, 3], [], [[0, 2, "https://x.org/"]], 1]),
    { text: "ab", runs: [0, 2, 3], cells: [], links: [[0, 2, "https://x.org/"]], wrapped: true });
  assert.deepEqual(decodeRow([]), { text: "", runs: [], cells: [], links: [], wrapped: false });
});

const LAYOUT = {
  active: 1,
  windows: [{ id: 1, name: "", layout: "single", cols: 10, rows: 4, slots: [3], hidden: [], active: 3,
    rects: [[0, 1, 10, 3]], splits: [] }],
  templates: { builtin: ["single"], user: {} },
  templates_error: null,
};

test("a first frame builds the pane; later frames change only what they carry", () => {
  const r = new Replica();
  const res = r.apply({
    t: "f", n: 1, layout: LAYOUT, styles: [[1, 1, -1, 1, -1]],
    rows: [901, ["hello", [0, 5, 1]], 902, ["world"], 0, [""]],
    panes: [{ id: 3, size: [10, 3], lines: [901, 902, 0], cursor: [5, 1, "block", true, false], title: "vim",
      modes: 0, sb: 0, offset: 0, pal: [], fg: -1, bg: -1, exit: null, progress: null }],
  });
  assert.equal(res.layout, true);
  assert.deepEqual([...res.panes], [3]);
  assert.deepEqual(res.holes, []);
  assert.deepEqual(res.bells, []);
  assert.deepEqual(screenText(r, 3), ["hello     ", "world     ", "          "]);
  assert.deepEqual(r.styles.get(1), [1, -1, 1, -1]);
  const pane = r.panes.get(3);
  assert.equal(pane?.title, "vim");
  // A second frame: only the cursor and one row change.
  r.apply({ t: "f", n: 2, rows: [903, ["hello!"]], panes: [{ id: 3, lines: [903, 902, 0], cursor: [6, 0, "bar", true, true] }] });
  assert.deepEqual(screenText(r, 3), ["hello!    ", "world     ", "          "]);
  assert.equal(r.panes.get(3)?.title, "vim", "fields not sent keep their value");
  assert.deepEqual(r.panes.get(3)?.cursor, [6, 0, "bar", true, true]);
  assert.equal(r.lastFrame, 2);
  assert.equal(r.outOfOrder, 0);
});

test("drop is applied after panes: a row dropped in the same frame that stops using it", () => {
  const r = new Replica();
  r.apply({ t: "f", n: 1, layout: LAYOUT, rows: [1, ["a"], 2, ["b"]], panes: [{ id: 3, size: [4, 2], lines: [[1, 2]] }] });
  const res = r.apply({ t: "f", n: 2, rows: [3, ["c"]], drop: [[1, 1]], panes: [{ id: 3, lines: [3, 2] }] });
  assert.deepEqual(res.holes, []);
  assert.equal(r.rows.has(1), false);
  assert.deepEqual(screenText(r, 3), ["c   ", "b   "]);
});

test("rows arrive before panes in the same frame and a row referenced but never sent is a hole", () => {
  const r = new Replica();
  const res = r.apply({ t: "f", n: 1, layout: LAYOUT, rows: [1, ["x"]], panes: [{ id: 3, size: [2, 2], lines: [1, 99] }] });
  assert.deepEqual(res.holes, [3]);
  assert.equal(r.lines(3)[1], undefined);
});

test("events: notifications, clipboard writes and bells are reported as the server sends them", () => {
  const r = new Replica();
  r.apply({ t: "f", n: 1, layout: LAYOUT, rows: [1, [""]], panes: [{ id: 3, size: [2, 1], lines: [1] }] });
  const res = r.apply({ t: "f", n: 2, events: [[3, "bell", 1], [3, "notify", "<b>t</b>", "body"], [3, "clip", "c", "copied"],
    [9, "bell", 2], [9, "notify", "hidden pane", "done"]] });
  assert.deepEqual(res.bells, [3, 9], "a bell of a pane in another window is reported too (its tab shows it)");
  assert.deepEqual(res.notify, [{ pane: 3, title: "<b>t</b>", body: "body" }, { pane: 9, title: "hidden pane", body: "done" }]);
  assert.deepEqual(res.clip, [{ pane: 3, location: "c", text: "copied" }]);
  const again = r.apply({ t: "f", n: 3, panes: [{ id: 3, title: "x" }] });
  assert.deepEqual(again.bells, []);
  assert.deepEqual(again.notify, []);
  const odd = r.apply({ t: "f", n: 4, events: [null, "x", [1], ["3", "bell", 1], [3, "unknown"]] });
  assert.deepEqual([odd.bells, odd.notify, odd.clip], [[], [], []], "malformed events are ignored");
});

test("a layout that no longer shows a pane forgets it", () => {
  const r = new Replica();
  r.apply({ t: "f", n: 1, layout: LAYOUT, rows: [1, [""]], panes: [{ id: 3, size: [2, 1], lines: [1] }] });
  const other = { ...LAYOUT, active: 2, windows: [...LAYOUT.windows, { ...LAYOUT.windows[0], id: 2, slots: [4], active: 4 }] };
  r.apply({ t: "f", n: 2, layout: other, panes: [{ id: 4, size: [2, 1], lines: [1] }] });
  assert.deepEqual(visiblePanes(other), [4]);
  assert.equal(r.panes.has(3), false);
});

test("reset empties everything but keeps the same style map object (the renderer holds it)", () => {
  const r = new Replica();
  const styles = r.styles;
  r.apply({ t: "f", n: 1, layout: LAYOUT, styles: [[5, 1, 2, 0, -1]], rows: [1, ["a"]], panes: [{ id: 3, size: [1, 1], lines: [1] }] });
  r.reset();
  assert.equal(r.styles, styles);
  assert.deepEqual([...styles.keys()], [0]);
  assert.equal(r.rows.size, 0);
  assert.equal(r.panes.size, 0);
  assert.equal(r.lastFrame, 0);
});

const IMG_A = "0123456789abcdef0123456789abcdef";
const IMG_B = "fedcba9876543210fedcba9876543210";
/** @param {string} key */
const png = (key) => ({ key, mime: /** @type {const} */ ("image/png"), width: 40, height: 40 });
/** @param {string} key @param {number} col */
const record = (key, col) => [key, col, 0, 5, 3, 0, 0, 40, 40, 0, 0, 40, 40, 0];

test("images: placed once held, a placement of an image never sent is a hole, drop_img after panes", () => {
  const r = new Replica();
  r.apply({ t: "f", n: 1, layout: LAYOUT, rows: [1, [""]], panes: [{ id: 3, size: [10, 3], lines: [1, 1, 1], cell: [8, 16], img: [] }] });
  assert.deepEqual(r.panes.get(3)?.cell, [8, 16]);
  r.applyImage(png(IMG_A));
  let res = r.apply({ t: "f", n: 2, panes: [{ id: 3, img: [record(IMG_A, 0), record(IMG_A, 5)] }] });
  assert.deepEqual(res.holes, []);
  assert.deepEqual(r.panes.get(3)?.img.map((p) => [p.key, p.col]), [[IMG_A, 0], [IMG_A, 5]]);
  res = r.apply({ t: "f", n: 3, panes: [{ id: 3, img: [record(IMG_B, 0)] }] });
  assert.deepEqual(res.holes, [3], "an image the client does not hold: ask for a resync");
  r.applyImage(png(IMG_B));
  res = r.apply({ t: "f", n: 4, drop_img: [IMG_A], panes: [{ id: 3, img: [record(IMG_B, 2)] }] });
  assert.deepEqual(res.holes, []);
  assert.deepEqual([r.images.has(IMG_A), r.images.has(IMG_B)], [false, true]);
  r.apply({ t: "f", n: 5, panes: [{ id: 3, img: [record(IMG_B, 2), ["<script>", 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0]] }] });
  assert.deepEqual(r.panes.get(3)?.img.map((p) => p.key), [IMG_B], "a malformed record is dropped, never half-used");
  r.apply({ t: "f", n: 6, panes: [{ id: 3, img: [] }] });
  assert.deepEqual(r.panes.get(3)?.img, []);
  r.reset();
  assert.equal(r.images.images.size, 0, "a new connection starts with no images");
});

test("a frame with reset (new style epoch) drops cached rows and styles, then applies its own", () => {
  const r = new Replica();
  r.apply({ t: "f", n: 1, layout: LAYOUT, styles: [[5, 1, 2, 0, -1]], rows: [1, ["a", [0, 1, 5]], 2, ["b"]],
    panes: [{ id: 3, size: [1, 1], lines: [1] }] });
  const res = r.apply({ t: "f", n: 2, reset: true, styles: [[1, 4, -1, 0, -1]], rows: [7, ["c", [0, 1, 1]]],
    panes: [{ id: 3, lines: [7] }] });
  assert.deepEqual(res.holes, []);
  assert.deepEqual([...r.rows.keys()], [7]);
  assert.deepEqual([...r.styles.keys()].sort(), [0, 1]);
  assert.deepEqual(r.styles.get(1), [4, -1, 0, -1]);
  assert.equal(r.styles.get(5), undefined, "old-epoch style ids are gone");
  assert.deepEqual(screenText(r, 3), ["c"]);
});

// -- a randomized model check against a miniature server ------------------------------------------------
// The server side below follows wire/sync.py: a mirror of the client's cache with a capacity, LRU
// eviction that never drops a row a shown pane uses, payloads only for rows the client lacks, packed
// id lists. After every frame the client must show exactly the server's screen.

/** @param {number[]} ids */
function packIds(ids) {
  /** @type {Array<number | number[]>} */
  const out = [];
  let i = 0;
  while (i < ids.length) {
    const first = ids[i];
    let j = i + 1;
    if (j < ids.length && ids[j] === first) {
      while (j < ids.length && ids[j] === first) j++;
      out.push([first, j - i, 0]);
    } else if (j < ids.length && ids[j] === first + 1) {
      while (j < ids.length && ids[j] === ids[j - 1] + 1) j++;
      out.push([first, j - i]);
    } else {
      out.push(first);
    }
    i = j;
  }
  return out;
}

/** A tiny deterministic PRNG (mulberry32). @param {number} seed */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class MiniServer {
  /** @param {number} capacity */
  constructor(capacity) {
    this.capacity = capacity;
    /** @type {Map<string, number>} content -> id (ids are never reused) */
    this.interned = new Map();
    this.next = 0;   // id 0 is valid
    /** @type {Map<number, null>} insertion order = LRU order */
    this.mirror = new Map();
    this.frame = 0;
    /** @type {number[] | null} */
    this.sentIds = null;
  }

  /** @param {string} text */
  intern(text) {
    let id = this.interned.get(text);
    if (id === undefined) {
      id = this.next++;
      this.interned.set(text, id);
    }
    return id;
  }

  /** @param {string[]} screen @param {number} cols */
  build(screen, cols) {
    const ids = screen.map((t) => this.intern(t));
    /** @type {any[]} */
    const rows = [];
    const inFrame = new Set(ids);
    for (let y = 0; y < ids.length; y++) {
      const id = ids[y];
      if (this.mirror.has(id)) {
        this.mirror.delete(id);
        this.mirror.set(id, null);
        continue;
      }
      this.mirror.set(id, null);
      rows.push(id, [screen[y]]);
    }
    /** @type {number[]} */
    const dropped = [];
    let excess = this.mirror.size - this.capacity;
    while (excess > 0) {
      const first = /** @type {number} */ (this.mirror.keys().next().value);
      this.mirror.delete(first);
      if (inFrame.has(first)) {
        this.mirror.set(first, null);
        if (dropped.length > 10000) break;
        continue;
      }
      dropped.push(first);
      excess--;
    }
    this.frame++;
    /** @type {any} */
    const frame = { t: "f", n: this.frame, rows, panes: [{ id: 3, size: [cols, screen.length], lines: packIds(ids) }] };
    if (this.frame === 1) frame.layout = LAYOUT;
    if (dropped.length) frame.drop = packIds(dropped.sort((a, b) => a - b));
    return frame;
  }
}

test("randomized: scrolling, repeats, alternate-screen returns and evictions reproduce the server's screen", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const rand = rng(seed);
    const cols = 12;
    const height = 6;
    const server = new MiniServer(14);
    const client = new Replica();
    /** @type {string[]} */
    let screen = Array.from({ length: height }, () => "");
    let saved = screen.slice();
    const word = () => Array.from({ length: Math.floor(rand() * cols) }, () => "ab c"[Math.floor(rand() * 4)]).join("");
    for (let step = 0; step < 400; step++) {
      const op = rand();
      if (op < 0.4) {
        screen = [...screen.slice(1), word()];                      // scroll
      } else if (op < 0.6) {
        screen[Math.floor(rand() * height)] = word();              // overwrite a row
      } else if (op < 0.7) {
        saved = screen.slice();                                     // alternate screen
        screen = Array.from({ length: height }, () => "");
      } else if (op < 0.8) {
        screen = saved.slice();                                     // and back
      } else if (op < 0.9) {
        screen = Array.from({ length: height }, () => "same");      // repeats of one row
      } else {
        screen = screen.slice();                                    // nothing changed
      }
      const frame = server.build(screen, cols);
      const res = client.apply(JSON.parse(JSON.stringify(frame)));
      assert.deepEqual(res.holes, [], `seed ${seed} step ${step}: no holes`);
      assert.deepEqual(screenText(client, 3), screen.map((t) => t.padEnd(cols)), `seed ${seed} step ${step}`);
      assert.ok(client.rows.size <= 14 + height, "the client cache follows the server's evictions");
      assert.deepEqual([...client.rows.keys()].sort((a, b) => a - b), [...server.mirror.keys()].sort((a, b) => a - b),
        "client cache equals the server's mirror of it");
    }
  }
});
