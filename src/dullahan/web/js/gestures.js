// Touch gestures on the terminal, pure: what a finger on the screen means. The DOM side is touch.js.
//
// One finger:
// - held still for LONG_PRESS_MS: selects the word under it; moving on (without lifting) extends the
//   selection word by word;
// - moved past SLOP_PX: the gesture locks to an axis. Along that axis the drag first pans the view (a pane
//   larger than the screen: a viewer reading a desktop master's grid); what panning cannot take
//   vertically scrolls this client's own scrollback (finger down = older lines), and horizontally, in the
//   narrow layout, a drag that could not pan at all from its start is a swipe to the next or previous pane
//   once it is long enough.
// Two fingers: pinch, which changes the font size (and so, for a phone master, the shell's grid).

export const SLOP_PX = 10;
export const LONG_PRESS_MS = 500;
/** A horizontal drag switches panes when it is this long (px), or this share of the screen's width. */
export const SWIPE_MIN_PX = 60;
export const SWIPE_SHARE = 0.18;
export const MIN_FONT_PX = 6;
export const MAX_FONT_PX = 48;

/**
 * Which axis a drag locks to, once it has moved past the slop; null while it has not.
 * @param {number} dx
 * @param {number} dy
 * @param {number} [slop]
 * @returns {"h" | "v" | null}
 */
export function lockAxis(dx, dy, slop = SLOP_PX) {
  if (Math.hypot(dx, dy) < slop) return null;
  return Math.abs(dx) > Math.abs(dy) ? "h" : "v";
}

/**
 * Split a drag step between panning and what lies beyond the pan's edge. `delta` is the finger's motion
 * (px, positive = right or down); panning moves the scroll position the other way.
 * @param {number} delta
 * @param {number} scroll  the current scroll position (px)
 * @param {number} max     the largest scroll position (0: nothing to pan)
 * @returns {{scroll: number, rest: number}}  the new scroll position, and the part of delta left over
 */
export function panStep(delta, scroll, max) {
  const want = scroll - delta;
  const next = Math.max(0, Math.min(Math.max(0, max), want));
  return { scroll: next, rest: next - want };
}

/**
 * Rows of scrollback for a vertical drag beyond the pan: [rows, remainder px]. The content follows the
 * finger: moving down shows older lines (negative rows, as the `scroll` message counts them).
 * @param {number} acc    px carried from earlier steps
 * @param {number} delta  px the finger moved (positive = down)
 * @param {number} cellH  row height (px)
 * @returns {[number, number]}
 */
export function scrollRows(acc, delta, cellH) {
  const total = acc + delta;
  const h = Math.max(1, cellH);
  const rows = Math.trunc(total / h);
  return [rows === 0 ? 0 : -rows, total - rows * h];
}

/**
 * Whether a horizontal drag that ended is a pane swipe, and which way: 1 the next pane (the finger moved
 * left, as pages turn), -1 the previous, 0 none.
 * @param {number} dx     total horizontal motion (px)
 * @param {number} dy     total vertical motion (px)
 * @param {number} width  the screen's width (px)
 * @returns {1 | -1 | 0}
 */
export function swipeDirection(dx, dy, width) {
  const needed = Math.min(SWIPE_MIN_PX * 2, Math.max(SWIPE_MIN_PX, width * SWIPE_SHARE));
  if (Math.abs(dx) < needed || Math.abs(dx) < Math.abs(dy) * 1.5) return 0;
  return dx < 0 ? 1 : -1;
}

/**
 * Whether a finger that has not moved past the slop has been down long enough for a long press.
 * @param {number} heldMs
 * @param {number} moved  px from where it went down
 */
export function isLongPress(heldMs, moved) {
  return heldMs >= LONG_PRESS_MS && moved < SLOP_PX;
}

/**
 * The font size for a pinch: the size when the pinch began, scaled by how far the fingers spread,
 * rounded to whole pixels and kept within the settings' bounds.
 * @param {number} startSize  px
 * @param {number} startDistance  px between the fingers when the pinch began
 * @param {number} distance       px between them now
 */
export function pinchFontSize(startSize, startDistance, distance) {
  if (!(startDistance > 0) || !(distance > 0)) return startSize;
  const size = Math.round(startSize * (distance / startDistance));
  return Math.max(MIN_FONT_PX, Math.min(MAX_FONT_PX, size));
}

/**
 * The scroll position that keeps the point under the pinch's centre in place when cells grow by `ratio`.
 * @param {number} scroll  px
 * @param {number} centre  px from the view's edge
 * @param {number} ratio   new cell size / old cell size
 */
export function zoomScroll(scroll, centre, ratio) {
  return Math.max(0, (scroll + centre) * ratio - centre);
}
