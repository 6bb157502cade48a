// Kitty graphics in the browser, the pure part: placement records, rectangles on the page (scaling,
// clipping, scrolling, z-order), checks before decoding, PNG headers, decoding only as image data, and the
// cache that evicts only on the server's word.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  BELOW_BACKGROUND_Z, DEFAULT_LIMITS, ImageCache, decodeImage, drawRects, imageRefusal, isPlaceholder, layerOf,
  parseImageMessage, parsePlacement, pngSize,
} from "../../src/dullahan/web/js/images.js";

const KEY = "00112233445566778899aabbccddeeff";
const TERM = { w: 8, h: 16 };

/**
 * @param {Partial<import("../../src/dullahan/web/js/images.js").ImagePlacement>} over
 * @returns {import("../../src/dullahan/web/js/images.js").ImagePlacement}
 */
const placement = (over) => ({
  key: KEY, col: 0, row: 0, cols: 5, rows: 3, x: 0, y: 0, w: 40, h: 40, src: [0, 0, 40, 40], z: 0, ...over,
});
const sizes = (/** @type {Record<string, [number, number]>} */ table) =>
  (/** @type {string} */ key) => (table[key] ? { width: table[key][0], height: table[key][1] } : undefined);

test("a placement record is taken whole or not at all", () => {
  const p = parsePlacement([KEY, 3, -1, 5, 3, 2, 4, 38, 36, 0, 0, 40, 40, -5]);
  assert.deepEqual(p, { key: KEY, col: 3, row: -1, cols: 5, rows: 3, x: 2, y: 4, w: 38, h: 36, src: [0, 0, 40, 40], z: -5 });
  assert.equal(parsePlacement([KEY, 3, -1, 5, 3, 2, 4, 38, 36, 0, 0, 40, 40]), null, "too short");
  assert.equal(parsePlacement(["<img onerror=x>", 0, 0, 1, 1, 0, 0, 8, 16, 0, 0, 8, 16, 0]), null, "key is not hex");
  assert.equal(parsePlacement([KEY, 0, 0, 0, 1, 0, 0, 8, 16, 0, 0, 8, 16, 0]), null, "no cells");
  assert.equal(parsePlacement([KEY, 0, 0, 1, 1, 0, 0, 8, 16, 0, 0, 20000, 16, 0]), null, "source too wide");
  assert.equal(parsePlacement([KEY, 0.5, 0, 1, 1, 0, 0, 8, 16, 0, 0, 8, 16, 0]), null, "not an integer");
  assert.equal(parsePlacement([KEY, 0, 0, 1, 1, 0, 0, 8, 16, 0, 0, 8, 16, 2 ** 31]), null, "z beyond int32");
  assert.equal(parsePlacement({ key: KEY }), null);
});

test("layers follow kitty's z rules", () => {
  assert.equal(layerOf(0), "above_text");
  assert.equal(layerOf(-1), "below_text");
  assert.equal(layerOf(BELOW_BACKGROUND_Z), "below_text");
  assert.equal(layerOf(BELOW_BACKGROUND_Z - 1), "below_bg");
});

test("rectangles are scaled from the terminal's cells to the page's", () => {
  // Page cells of 10x20 px are 1.25 times the terminal's 8x16.
  const rects = drawRects([placement({ col: 2, row: 1, x: 4, y: 8 })], sizes({ [KEY]: [40, 40] }), TERM,
    { w: 10, h: 20 }, 80, 24);
  assert.deepEqual(rects, [{ key: KEY, layer: "above_text", z: 0, dx: 25, dy: 30, dw: 50, dh: 50, sx: 0, sy: 0, sw: 40, sh: 40 }]);
});

test("a placement partly scrolled above the top is clipped, and its source with it", () => {
  // Rows -1..1 of a 3-row placement; the page's cells are the terminal's. The top 16 px of 48 are cut.
  const rects = drawRects([placement({ row: -1, h: 48, src: [0, 0, 40, 96] })], sizes({ [KEY]: [40, 96] }), TERM,
    TERM, 80, 24);
  assert.equal(rects.length, 1);
  const r = rects[0];
  assert.deepEqual([r.dx, r.dy, r.dw, r.dh], [0, 0, 40, 32]);
  assert.deepEqual([r.sx, r.sy, r.sw, r.sh], [0, 32, 40, 64]);   // a third of the height is above the pane
});

test("clipping on the right and bottom edges of the pane", () => {
  // A 40x40 image at column 8 of a 10x2-cell pane (80x32 px): 16 px wide and 32 px high are visible.
  const [r] = drawRects([placement({ col: 8 })], sizes({ [KEY]: [40, 40] }), TERM, TERM, 10, 2);
  assert.deepEqual([r.dx, r.dy, r.dw, r.dh, r.sx, r.sy, r.sw, r.sh], [64, 0, 16, 32, 0, 0, 16, 32]);
  assert.deepEqual(drawRects([placement({ col: 10 })], sizes({ [KEY]: [40, 40] }), TERM, TERM, 10, 2), [], "outside");
  assert.deepEqual(drawRects([placement({ row: -3 })], sizes({ [KEY]: [40, 40] }), TERM, TERM, 10, 2), [], "above");
});

test("a source rectangle beyond the image is cut to the image, or draws nothing", () => {
  const [r] = drawRects([placement({ src: [20, 0, 40, 40], w: 40 })], sizes({ [KEY]: [40, 40] }), TERM, TERM, 80, 24);
  assert.deepEqual([r.sx, r.sw, r.dw], [20, 20, 40]);   // half the image stretched over the placement's width
  assert.deepEqual(drawRects([placement({ src: [40, 0, 8, 8] })], sizes({ [KEY]: [40, 40] }), TERM, TERM, 80, 24), []);
});

test("images the page does not hold yet are left out", () => {
  assert.deepEqual(drawRects([placement({})], sizes({}), TERM, TERM, 80, 24), []);
});

test("drawing order: by z, then the server's order", () => {
  const other = "ffeeddccbbaa99887766554433221100";
  const list = [
    placement({ key: KEY, z: 3 }),
    placement({ key: other, z: -2 }),
    placement({ key: other, z: 3, col: 6 }),
    placement({ key: KEY, z: BELOW_BACKGROUND_Z - 5 }),
  ];
  const rects = drawRects(list, sizes({ [KEY]: [40, 40], [other]: [40, 40] }), TERM, TERM, 80, 24);
  assert.deepEqual(rects.map((r) => [r.key === KEY ? "a" : "b", r.z, r.layer]),
    [["a", BELOW_BACKGROUND_Z - 5, "below_bg"], ["b", -2, "below_text"], ["a", 3, "above_text"], ["b", 3, "above_text"]]);
});

test("no cell size, no rectangles", () => {
  assert.deepEqual(drawRects([placement({})], sizes({ [KEY]: [40, 40] }), { w: 0, h: 16 }, TERM, 80, 24), []);
});

test("image sizes are checked before anything is decoded", () => {
  const png = { key: KEY, mime: /** @type {const} */ ("image/png"), width: 100, height: 50 };
  assert.equal(imageRefusal(png, 1000), null);
  assert.match(String(imageRefusal({ ...png, width: 10001 }, 1000)), /outside 1..10000/);
  assert.match(String(imageRefusal({ ...png, width: 0 }, 1000)), /outside/);
  assert.match(String(imageRefusal({ ...png, width: 5000, height: 5000 }, 1000)), /decodes to more than/);
  assert.match(String(imageRefusal(png, DEFAULT_LIMITS.maxDataBytes + 1)), /bytes of data exceed/);
  assert.match(String(imageRefusal({ ...png, mime: /** @type {any} */ ("image/svg+xml") }, 10)), /unsupported type/);
  const rgba = { key: KEY, mime: /** @type {const} */ ("rgba"), width: 2, height: 2 };
  assert.equal(imageRefusal(rgba, 16), null);
  assert.match(String(imageRefusal(rgba, 15)), /bytes of RGBA/);
});

/** A PNG header (signature and IHDR) declaring width x height, followed by filler. */
function pngHeader(/** @type {number} */ width, /** @type {number} */ height) {
  const b = new Uint8Array(40);
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  new DataView(b.buffer).setUint32(16, width);
  new DataView(b.buffer).setUint32(20, height);
  return b;
}

test("a PNG's size comes from its header; other data is no PNG", () => {
  assert.deepEqual(pngSize(pngHeader(300, 4000000000)), { width: 300, height: 4000000000 });
  assert.equal(pngSize(new TextEncoder().encode("<svg xmlns='http://www.w3.org/2000/svg'></svg>")), null);
  assert.equal(pngSize(new Uint8Array([0x47, 0x49, 0x46, 0x38, 0x39, 0x61])), null);
});

/** A fake decoding API that records what it was given. */
function fakeApi() {
  /** @type {Array<{kind: string, type?: string, width: number, height: number}>} */
  const calls = [];
  const api = {
    createImageBitmap: async (/** @type {any} */ source) => {
      if (source instanceof Blob) {
        calls.push({ kind: "blob", type: source.type, width: 4, height: 2 });
        return /** @type {any} */ ({ width: 4, height: 2, close() { calls.push({ kind: "close", width: 0, height: 0 }); } });
      }
      calls.push({ kind: "imagedata", width: source.width, height: source.height });
      return /** @type {any} */ ({ width: source.width, height: source.height, close() {} });
    },
    makeImageData: (/** @type {Uint8ClampedArray<ArrayBuffer>} */ data, /** @type {number} */ width, /** @type {number} */ height) =>
      /** @type {any} */ ({ data, width, height }),
  };
  return { api, calls };
}

test("a PNG is decoded as image/png, only when its header matches what was announced", async () => {
  const { api, calls } = fakeApi();
  const meta = { key: KEY, mime: /** @type {const} */ ("image/png"), width: 4, height: 2 };
  const bitmap = await decodeImage(meta, pngHeader(4, 2), DEFAULT_LIMITS, api);
  assert.equal(bitmap.width, 4);
  assert.deepEqual(calls, [{ kind: "blob", type: "image/png", width: 4, height: 2 }]);
  await assert.rejects(decodeImage(meta, pngHeader(4000, 2), DEFAULT_LIMITS, api), /the PNG is 4000x2/);
  await assert.rejects(decodeImage(meta, new TextEncoder().encode("<svg></svg>".padEnd(40)), DEFAULT_LIMITS, api),
    /not a PNG/);
  await assert.rejects(decodeImage({ ...meta, width: 20000 }, pngHeader(20000, 2), DEFAULT_LIMITS, api), /outside/);
  assert.equal(calls.length, 1, "nothing else reached the decoder");
  // The decoder's result must have the announced size too.
  await assert.rejects(decodeImage({ ...meta, width: 5 }, pngHeader(5, 2), DEFAULT_LIMITS, api), /decoded 4x2/);
  assert.equal(calls.at(-1)?.kind, "close", "a bitmap of the wrong size is freed");
});

test("raw RGBA becomes ImageData of the announced size", async () => {
  const { api, calls } = fakeApi();
  const meta = { key: KEY, mime: /** @type {const} */ ("rgba"), width: 3, height: 2 };
  const bitmap = await decodeImage(meta, new Uint8Array(24), DEFAULT_LIMITS, api);
  assert.deepEqual([bitmap.width, bitmap.height], [3, 2]);
  assert.deepEqual(calls, [{ kind: "imagedata", width: 3, height: 2 }]);
  await assert.rejects(decodeImage(meta, new Uint8Array(23), DEFAULT_LIMITS, api), /bytes of RGBA/);
});

test("the cache holds what the server sent, drops only when told, counts decoded bytes and frees bitmaps", () => {
  /** @type {string[]} */
  const closed = [];
  const bitmap = (/** @type {string} */ name, /** @type {number} */ w, /** @type {number} */ h) =>
    ({ width: w, height: h, close() { closed.push(name); } });
  const meta = (/** @type {string} */ key, /** @type {number} */ w, /** @type {number} */ h) =>
    ({ key, mime: /** @type {const} */ ("image/png"), width: w, height: h });
  /** @type {ImageCache<{width: number, height: number, close(): void}>} */
  const cache = new ImageCache();
  const a = cache.hold(meta("a", 10, 10));
  const b = cache.hold(meta("b", 2, 3));
  assert.equal(cache.bytes, 424);                 // counted as soon as held, decoded or not
  assert.ok(cache.has("a") && cache.get("a") === undefined);
  assert.equal(cache.decoded(a, bitmap("a", 10, 10)), true);
  assert.equal(cache.decoded(b, bitmap("b", 2, 3)), true);
  assert.deepEqual(cache.size("b"), { width: 2, height: 3 });
  const a2 = cache.hold(meta("a", 1, 1));         // the same key again replaces (and frees) the old bitmap
  assert.deepEqual(closed, ["a"]);
  assert.equal(cache.bytes, 28);
  assert.equal(cache.decoded(a, bitmap("late", 10, 10)), false, "a decode of a replaced image is thrown away");
  assert.deepEqual(closed, ["a", "late"]);
  cache.decoded(a2, bitmap("a2", 1, 1));
  cache.drop(["b", "missing"]);
  assert.deepEqual(closed, ["a", "late", "b"]);
  assert.equal(cache.get("b"), undefined);
  const c = cache.hold(meta("c", 4, 4));
  cache.failed(c, "broken");
  assert.ok(cache.has("c") && cache.get("c") === undefined);   // held (the server counts it), draws nothing
  cache.drop(["c"]);
  assert.equal(cache.decoded(c, bitmap("c", 4, 4)), false);    // dropped while decoding
  cache.clear();
  assert.equal(cache.bytes, 0);
  assert.deepEqual(closed, ["a", "late", "b", "c", "a2"]);
});

test("an image message is read whole or refused", () => {
  const encode = (/** @type {unknown} */ header, /** @type {number[]} */ payload, /** @type {number} */ lengthOver = 0) => {
    const json = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(4 + json.length + payload.length);
    new DataView(out.buffer).setUint32(0, json.length + lengthOver);
    out.set(json, 4);
    out.set(payload, 4 + json.length);
    return out.buffer;
  };
  const header = { t: "img", k: KEY, m: "image/png", w: 3, h: 2 };
  const msg = parseImageMessage(encode(header, [1, 2, 3]));
  assert.ok(msg);
  assert.deepEqual(msg.meta, { key: KEY, mime: "image/png", width: 3, height: 2 });
  assert.deepEqual([...msg.bytes], [1, 2, 3]);
  assert.equal(parseImageMessage(new ArrayBuffer(2)), null, "too short");
  assert.equal(parseImageMessage(encode(header, [1], 50)), null, "header longer than the message");
  assert.equal(parseImageMessage(encode({ ...header, t: "f" }, [])), null);
  assert.equal(parseImageMessage(encode({ ...header, k: "<svg>" }, [])), null, "key is not hex");
  assert.equal(parseImageMessage(encode({ ...header, m: "image/svg+xml" }, [])), null, "only PNG or RGBA");
  assert.equal(parseImageMessage(encode({ ...header, w: 20000 }, [])), null, "over the dimension limit");
  assert.equal(parseImageMessage(encode({ ...header, h: 1.5 }, [])), null);
  const broken = new Uint8Array(encode(header, []));
  broken[6] = 0xff;                                            // not UTF-8 JSON
  assert.equal(parseImageMessage(broken.buffer), null);
});

test("placeholder cells are recognised by their first codepoint", () => {
  assert.equal(isPlaceholder("\u{10EEEE}\u0305\u030D"), true);
  assert.equal(isPlaceholder("\u{10EEEE}"), true);
  assert.equal(isPlaceholder("x"), false);
  assert.equal(isPlaceholder(""), false);
});
