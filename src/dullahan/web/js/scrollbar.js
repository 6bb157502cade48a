// A pane's scrollbar: where this page's view is in the pane's history, and dragging or clicking it to move
// there. The geometry is pure (`thumb`, `offsetAt`); `Scrollbar` is the element.

/**
 * The thumb as fractions of the track, or null when there is no history to scroll.
 * @param {number} sb      rows of history
 * @param {number} offset  rows this view looks back (0: live)
 * @param {number} rows    rows of the screen
 * @returns {{top: number, height: number} | null}
 */
export function thumb(sb, offset, rows) {
  if (sb <= 0 || rows <= 0) return null;
  const total = sb + rows;
  const off = Math.max(0, Math.min(sb, offset));
  return { top: (sb - off) / total, height: rows / total };
}

/**
 * The offset that puts the thumb's top at `fraction` of the track.
 * @param {number} fraction
 * @param {number} sb
 * @param {number} rows
 */
export function offsetAt(fraction, sb, rows) {
  const top = Math.round(fraction * (sb + rows));
  return Math.max(0, Math.min(sb, sb - top));
}

const MIN_THUMB_PX = 16;

export class Scrollbar {
  /**
   * @param {HTMLElement} parent
   * @param {(delta: number) => void} scroll  move the view by `delta` rows (negative: older)
   */
  constructor(parent, scroll) {
    this.scroll = scroll;
    this.el = document.createElement("div");
    this.el.className = "pscroll";
    this.el.title = "Scrollback: drag, or click above or below the thumb to move a page";
    this.thumbEl = document.createElement("div");
    this.thumbEl.className = "thumb";
    this.el.appendChild(this.thumbEl);
    parent.appendChild(this.el);
    this.sb = 0;
    this.offset = 0;
    this.rows = 0;
    /** The offset asked for while dragging (frames with the new offset come later). */
    this.asked = 0;
    this.el.addEventListener("pointerdown", (e) => this.onDown(e));
    this.el.addEventListener("mousedown", (e) => e.stopPropagation());
    this.el.hidden = true;
  }

  /**
   * @param {number} sb
   * @param {number} offset
   * @param {number} rows
   */
  update(sb, offset, rows) {
    if (sb === this.sb && offset === this.offset && rows === this.rows) return;
    this.sb = sb;
    this.offset = offset;
    this.rows = rows;
    const t = thumb(sb, offset, rows);
    this.el.hidden = t === null;
    if (!t) return;
    this.el.classList.toggle("scrolled", offset > 0);
    this.thumbEl.style.top = `${(t.top * 100).toFixed(3)}%`;
    this.thumbEl.style.height = `max(${MIN_THUMB_PX}px, ${(t.height * 100).toFixed(3)}%)`;
  }

  /** @param {PointerEvent} e */
  onDown(e) {
    if (e.button !== 0) return;
    e.preventDefault();
    e.stopPropagation();
    const track = this.el.getBoundingClientRect();
    const th = this.thumbEl.getBoundingClientRect();
    if (e.target !== this.thumbEl) {
      // A page towards the click.
      const page = Math.max(1, this.rows - 1);
      this.scroll(e.clientY < th.top ? -page : page);
      return;
    }
    this.el.setPointerCapture(e.pointerId);
    this.el.classList.add("dragging");
    const grab = e.clientY - th.top;
    this.asked = this.offset;
    const move = (/** @type {PointerEvent} */ ev) => {
      const want = offsetAt((ev.clientY - grab - track.top) / Math.max(1, track.height), this.sb, this.rows);
      if (want !== this.asked) {
        this.scroll(this.asked - want);
        this.asked = want;
      }
    };
    const up = () => {
      this.el.removeEventListener("pointermove", move);
      this.el.removeEventListener("pointerup", up);
      this.el.removeEventListener("pointercancel", up);
      this.el.classList.remove("dragging");
    };
    this.el.addEventListener("pointermove", move);
    this.el.addEventListener("pointerup", up);
    this.el.addEventListener("pointercancel", up);
  }
}
