// Kitty graphics in the browser, the pure part: placement records checked as they arrive, the pixel
// rectangles they cover on the page (scaled to the page's cell size, clipped to the pane, ordered
// below or above the text), image data checked before anything is allocated and decoded only as image
// data (a PNG through createImageBitmap, or raw RGBA through ImageData; never markup), and the cache of
// decoded images, which evicts only when the server says so (like the row cache).
//
// Geometry: the server lays images out in the terminal's pixels (its cell size, `termCell`); the page
// draws them at its own cell size, so an image covers the same cells whatever font the page uses.

/** Kitty's (and Ghostty's) limit on either side of an image. */
export const MAX_IMAGE_DIMENSION = 10000;
/** z below this is drawn under the cell backgrounds (kitty: INT32_MIN / 2). */
export const BELOW_BACKGROUND_Z = -1073741824;

/**
 * A placement: where (a part of) an image is drawn.
 * @typedef {object} ImagePlacement
 * @property {string} key    the image's content key
 * @property {number} col    first cell column (viewport)
 * @property {number} row    first cell row (viewport; negative when partly scrolled above)
 * @property {number} cols   cells covered
 * @property {number} rows
 * @property {number} x      pixel offset into the first cell (terminal pixels)
 * @property {number} y
 * @property {number} w      size drawn (terminal pixels)
 * @property {number} h
 * @property {[number, number, number, number]} src  source rectangle in the image (x, y, width, height)
 * @property {number} z
 */

/** @typedef {{w: number, h: number}} CellSize  pixels */
/** @typedef {{width: number, height: number}} ImageSize */
/** @typedef {"below_bg" | "below_text" | "above_text"} Layer */

/**
 * One image drawn on the page: destination in page pixels (relative to the pane's content), source in
 * image pixels.
 * @typedef {object} DrawRect
 * @property {string} key
 * @property {Layer} layer
 * @property {number} z
 * @property {number} dx
 * @property {number} dy
 * @property {number} dw
 * @property {number} dh
 * @property {number} sx
 * @property {number} sy
 * @property {number} sw
 * @property {number} sh
 */

/**
 * What the page may hold and decode.
 * @typedef {object} ImageLimits
 * @property {number} maxDimension    either side, pixels
 * @property {number} maxDecodedBytes one image, decoded as RGBA
 * @property {number} maxDataBytes    one image as sent
 */

/** @type {ImageLimits} */
export const DEFAULT_LIMITS = {
  maxDimension: MAX_IMAGE_DIMENSION,
  maxDecodedBytes: 64 << 20,
  maxDataBytes: 64 << 20,
};

/**
 * Kitty's layers: under the cell backgrounds, between them and the text, above the text.
 * @param {number} z
 * @returns {Layer}
 */
export function layerOf(z) {
  if (z < BELOW_BACKGROUND_Z) return "below_bg";
  return z < 0 ? "below_text" : "above_text";
}

/**
 * @param {unknown} v
 * @param {number} lo
 * @param {number} hi
 */
const intIn = (v, lo, hi) => typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const CELLS = 100000;     // generous bounds on positions: beyond them a record is broken
const PIXELS = 1 << 24;

/**
 * A placement from its wire record `[key, col, row, cols, rows, x, y, w, h, sx, sy, sw, sh, z]`, or null
 * when anything in it is out of range (the record is dropped, never half-used).
 * @param {unknown} raw
 * @returns {ImagePlacement | null}
 */
export function parsePlacement(raw) {
  if (!Array.isArray(raw) || raw.length !== 14) return null;
  const [key, col, row, cols, rows, x, y, w, h, sx, sy, sw, sh, z] = raw;
  if (typeof key !== "string" || !KEY_PATTERN.test(key)) return null;
  if (!intIn(col, -CELLS, CELLS) || !intIn(row, -CELLS, CELLS) || !intIn(cols, 1, CELLS) || !intIn(rows, 1, CELLS)) {
    return null;
  }
  if (!intIn(x, 0, PIXELS) || !intIn(y, 0, PIXELS) || !intIn(w, 1, PIXELS) || !intIn(h, 1, PIXELS)) return null;
  if (!intIn(sx, 0, MAX_IMAGE_DIMENSION) || !intIn(sy, 0, MAX_IMAGE_DIMENSION) ||
      !intIn(sw, 1, MAX_IMAGE_DIMENSION) || !intIn(sh, 1, MAX_IMAGE_DIMENSION) || !intIn(z, INT32_MIN, INT32_MAX)) {
    return null;
  }
  return { key, col, row, cols, rows, x, y, w, h, src: [sx, sy, sw, sh], z };
}

/**
 * The rectangles to draw for a pane's placements, bottom to top, clipped to the pane.
 *
 * A placement's pixel sizes are in the terminal's pixels: they are scaled by the page's cell size over
 * the terminal's. Parts outside the pane (a placement partly scrolled above the top, or wider than the
 * pane) are cut off, and the source rectangle is cut in proportion. Placements of images the page does
 * not hold (yet), or whose source falls outside the image, draw nothing.
 *
 * @param {ImagePlacement[]} placements
 * @param {(key: string) => ImageSize | undefined} imageSize
 * @param {CellSize} termCell
 * @param {CellSize} pageCell
 * @param {number} paneCols
 * @param {number} paneRows
 * @returns {DrawRect[]}
 */
export function drawRects(placements, imageSize, termCell, pageCell, paneCols, paneRows) {
  if (!(termCell.w > 0 && termCell.h > 0 && pageCell.w > 0 && pageCell.h > 0)) return [];
  const scaleX = pageCell.w / termCell.w;
  const scaleY = pageCell.h / termCell.h;
  const paneW = paneCols * pageCell.w;
  const paneH = paneRows * pageCell.h;
  /** @type {Array<DrawRect & {order: number}>} */
  const out = [];
  placements.forEach((p, order) => {
    const size = imageSize(p.key);
    if (!size) return;
    // The source rectangle, kept inside the image.
    let [sx, sy, sw, sh] = p.src;
    sw = Math.min(sw, size.width - sx);
    sh = Math.min(sh, size.height - sy);
    if (!(sw > 0 && sh > 0)) return;
    let dx = p.col * pageCell.w + p.x * scaleX;
    let dy = p.row * pageCell.h + p.y * scaleY;
    let dw = p.w * scaleX;
    let dh = p.h * scaleY;
    // Clip to the pane, cutting the source in proportion.
    const left = Math.max(dx, 0);
    const top = Math.max(dy, 0);
    const right = Math.min(dx + dw, paneW);
    const bottom = Math.min(dy + dh, paneH);
    if (right - left <= 0 || bottom - top <= 0) return;
    const perX = sw / dw;
    const perY = sh / dh;
    sx += (left - dx) * perX;
    sy += (top - dy) * perY;
    sw = (right - left) * perX;
    sh = (bottom - top) * perY;
    dx = left;
    dy = top;
    dw = right - left;
    dh = bottom - top;
    out.push({ key: p.key, layer: layerOf(p.z), z: p.z, dx, dy, dw, dh, sx, sy, sw, sh, order });
  });
  // Stable: equal z keeps the server's order (image id, then placement).
  out.sort((a, b) => a.z - b.z || a.order - b.order);
  return out.map(({ order: _order, ...rect }) => rect);
}

// -- image data ------------------------------------------------------------------------------------

/**
 * An image as announced by the server, before its data is decoded.
 * @typedef {object} ImageMeta
 * @property {string} key
 * @property {"image/png" | "rgba"} mime
 * @property {number} width
 * @property {number} height
 */

/**
 * Why this image must not be decoded, or null: sizes are checked before anything is allocated.
 * @param {ImageMeta} meta
 * @param {number} dataBytes
 * @param {ImageLimits} [limits]
 * @returns {string | null}
 */
export function imageRefusal(meta, dataBytes, limits = DEFAULT_LIMITS) {
  if (meta.mime !== "image/png" && meta.mime !== "rgba") return `unsupported type ${String(meta.mime)}`;
  const { width, height } = meta;
  if (!intIn(width, 1, limits.maxDimension) || !intIn(height, 1, limits.maxDimension)) {
    return `${width}x${height} is outside 1..${limits.maxDimension} pixels`;
  }
  if (width * height * 4 > limits.maxDecodedBytes) return `${width}x${height} decodes to more than ${limits.maxDecodedBytes} bytes`;
  if (dataBytes > limits.maxDataBytes) return `${dataBytes} bytes of data exceed ${limits.maxDataBytes}`;
  if (meta.mime === "rgba" && dataBytes !== width * height * 4) return `${dataBytes} bytes of RGBA for ${width}x${height}`;
  return null;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const IHDR = [0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52];

/**
 * Width and height from a PNG's header, or null when the bytes do not start like a PNG.
 * @param {Uint8Array} bytes
 * @returns {ImageSize | null}
 */
export function pngSize(bytes) {
  if (bytes.length < 33) return null;
  for (let i = 0; i < 8; i++) {
    if (bytes[i] !== PNG_SIGNATURE[i] || bytes[8 + i] !== IHDR[i]) return null;
  }
  const u32 = (/** @type {number} */ at) => ((bytes[at] << 24) >>> 0) + (bytes[at + 1] << 16) + (bytes[at + 2] << 8) + bytes[at + 3];
  return { width: u32(16), height: u32(20) };
}

/**
 * What decoding needs from the browser (injectable for tests).
 * @typedef {object} DecodeApi
 * @property {(source: Blob | ImageData) => Promise<ImageBitmap>} createImageBitmap
 * @property {(data: Uint8ClampedArray<ArrayBuffer>, width: number, height: number) => ImageData} makeImageData
 */

/** @returns {DecodeApi} */
function browserApi() {
  return {
    createImageBitmap: (source) => createImageBitmap(source),
    makeImageData: (data, width, height) => new ImageData(data, width, height),
  };
}

/**
 * Decode an image's data as image data only: a PNG (its header must match what was announced) or raw
 * RGBA. Rejects with an Error saying why; nothing is decoded when a check fails.
 * @param {ImageMeta} meta
 * @param {Uint8Array<ArrayBuffer>} bytes
 * @param {ImageLimits} [limits]
 * @param {DecodeApi} [api]
 * @returns {Promise<ImageBitmap>}
 */
export async function decodeImage(meta, bytes, limits = DEFAULT_LIMITS, api = browserApi()) {
  const why = imageRefusal(meta, bytes.length, limits);
  if (why !== null) throw new Error(`image ${meta.key} refused: ${why}`);
  /** @type {ImageBitmap} */
  let bitmap;
  if (meta.mime === "image/png") {
    const size = pngSize(bytes);
    if (size === null) throw new Error(`image ${meta.key} refused: not a PNG`);
    if (size.width !== meta.width || size.height !== meta.height) {
      throw new Error(`image ${meta.key} refused: the PNG is ${size.width}x${size.height}, not ${meta.width}x${meta.height}`);
    }
    bitmap = await api.createImageBitmap(new Blob([bytes], { type: "image/png" }));
  } else {
    const pixels = new Uint8ClampedArray(bytes.buffer, bytes.byteOffset, bytes.length);
    bitmap = await api.createImageBitmap(api.makeImageData(pixels, meta.width, meta.height));
  }
  if (bitmap.width !== meta.width || bitmap.height !== meta.height) {
    bitmap.close();
    throw new Error(`image ${meta.key} refused: decoded ${bitmap.width}x${bitmap.height}, not ${meta.width}x${meta.height}`);
  }
  return bitmap;
}

/**
 * An image the client holds: announced by an image message, decoded a moment later (or refused).
 * @template B
 * @typedef {object} HeldImage
 * @property {ImageMeta} meta
 * @property {B | null} bitmap    null while decoding, or when decoding failed
 * @property {string | null} error why decoding failed
 */

/**
 * The images a client holds, by key: decoded, being decoded, or refused by the decoder. It never evicts on
 * its own: the server keeps a mirror of it and says what to drop (as for rows), so a placement never names
 * an image the client threw away. `bytes` counts every held image as decoded RGBA, what the server's mirror
 * bounds.
 * @template {{width: number, height: number, close(): void}} B
 */
export class ImageCache {
  constructor() {
    /** @type {Map<string, HeldImage<B>>} */
    this.images = new Map();
    this.bytes = 0;
  }

  /**
   * An image message arrived: the client holds its key from now on (it replaces one held under it).
   * @param {ImageMeta} meta
   * @returns {HeldImage<B>}
   */
  hold(meta) {
    this.drop([meta.key]);
    /** @type {HeldImage<B>} */
    const entry = { meta, bitmap: null, error: null };
    this.images.set(meta.key, entry);
    this.bytes += meta.width * meta.height * 4;
    return entry;
  }

  /**
   * Its decoding finished. False (and the bitmap freed) when the image was dropped or replaced meanwhile.
   * @param {HeldImage<B>} entry
   * @param {B} bitmap
   */
  decoded(entry, bitmap) {
    if (this.images.get(entry.meta.key) !== entry) {
      bitmap.close();
      return false;
    }
    entry.bitmap = bitmap;
    return true;
  }

  /**
   * Its decoding failed: it stays held (the server counts it) and draws nothing.
   * @param {HeldImage<B>} entry
   * @param {string} why
   */
  failed(entry, why) {
    entry.error = why;
  }

  /** @param {string} key */
  has(key) {
    return this.images.has(key);
  }

  /**
   * The decoded image, once it is.
   * @param {string} key
   */
  get(key) {
    return this.images.get(key)?.bitmap ?? undefined;
  }

  /** @param {string} key */
  size(key) {
    const b = this.get(key);
    return b ? { width: b.width, height: b.height } : undefined;
  }

  /** @param {Iterable<string>} keys */
  drop(keys) {
    for (const key of keys) {
      const entry = this.images.get(key);
      if (!entry) continue;
      this.images.delete(key);
      this.bytes -= entry.meta.width * entry.meta.height * 4;
      entry.bitmap?.close();
    }
  }

  clear() {
    this.drop([...this.images.keys()]);
  }
}

// -- the binary image message ------------------------------------------------------------------------

const MAX_HEADER_BYTES = 4096;
const KEY_PATTERN = /^[0-9a-f]{8,64}$/;

/**
 * An image message from the server: `u32 big-endian header length, JSON header, image bytes`, header
 * `{"t":"img","k":key,"m":"image/png","w":width,"h":height}`. Null when anything in it is malformed.
 * @param {ArrayBuffer} buffer
 * @returns {{meta: ImageMeta, bytes: Uint8Array<ArrayBuffer>} | null}
 */
export function parseImageMessage(buffer) {
  if (buffer.byteLength < 4) return null;
  const length = new DataView(buffer).getUint32(0);
  if (length > MAX_HEADER_BYTES || 4 + length > buffer.byteLength) return null;
  let header;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array(buffer, 4, length)));
  } catch {
    return null;
  }
  if (!header || typeof header !== "object" || header.t !== "img") return null;
  const { k: key, m: mime, w: width, h: height } = header;
  if (typeof key !== "string" || !KEY_PATTERN.test(key) || (mime !== "image/png" && mime !== "rgba")) return null;
  if (!intIn(width, 1, MAX_IMAGE_DIMENSION) || !intIn(height, 1, MAX_IMAGE_DIMENSION)) return null;
  return { meta: { key, mime, width, height }, bytes: new Uint8Array(buffer, 4 + length) };
}

// -- unicode placeholders in rows -----------------------------------------------------------------

const PLACEHOLDER = 0x10eeee;

/**
 * Whether a cell's text is a unicode-placeholder cell (U+10EEEE and its diacritics): the image drawn
 * there stands for it, so the row shows a blank instead of the character.
 * @param {string} text
 */
export function isPlaceholder(text) {
  return text.codePointAt(0) === PLACEHOLDER;
}
