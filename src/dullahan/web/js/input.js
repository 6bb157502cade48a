// Input wiring: keyboard and IME (through a hidden textarea), paste and copy, mouse (reported to the
// program or driving the selection) and wheel scrolling. Decisions live in keys.js; this module only
// connects browser events to them. Touch gestures are touch.js's.

import { SelectionDrag } from "./dragselect.js";
import { ALT, CTRL, decideKey, isModifierKey, keyMessage, modsOf, tapKey, wheelRows } from "./keys.js";
import { MODE_MOUSE } from "./sync.js";

/** @typedef {import("./keys.js").Action} Action */
/** @typedef {import("./keys.js").KeyContext} KeyContext */
/** @typedef {import("./sync.js").PaneState} PaneState */
/** @typedef {import("./view.js").Screen} Screen */

/**
 * @typedef {object} InputHost
 * @property {() => number | null} activePane
 * @property {() => boolean} isMaster
 * @property {(msg: object) => boolean} send
 * @property {(action: Action) => void} action
 * @property {() => KeyContext} keyContext
 * @property {(text: string) => void} paste
 * @property {() => string} selectedText
 * @property {(pane: number) => PaneState | undefined} paneState
 * @property {() => void} refused          a viewer tried to give input
 * @property {(pane: number) => void} focusPane
 * @property {(pane: number, x: number, y: number, mode: "char" | "word" | "line") => void} selectStart
 * @property {(x: number, y: number) => void} selectMove
 * @property {(pane: number, x: number, y: number) => void} selectExtend   Shift+click
 * @property {(pane: number, delta: number) => void} scroll   move this page's view (rows; negative: older)
 * @property {(e: KeyboardEvent) => boolean} prefixKey   the prefix key and copy mode took the key
 * @property {(pane: number) => boolean} middleClick     a middle click in a pane was taken (paste)
 * @property {(pane: number, x: number, y: number) => string | null} urlAt   a URL in the text under a cell
 * @property {() => boolean} selectEnd      true when a selection was made
 * @property {() => void} clearSelection
 * @property {() => boolean} overlayOpen
 * @property {Screen} screen
 * @property {() => number} stickyMods      the key bar's armed modifiers (CTRL, ALT bits), used up by a key
 * @property {(pane: number, text: string) => boolean} typed  text the key bar's modifiers turned into a key
 */

const BUTTONS = /** @type {const} */ ([0, 1, 2, 3, 4]);

export class Input {
  /**
   * @param {InputHost} host
   * @param {HTMLTextAreaElement} ta  the hidden textarea that holds keyboard focus
   */
  constructor(host, ta) {
    this.host = host;
    this.ta = ta;
    this.composing = false;
    /** @type {Set<string>} codes whose press went to the terminal (their release goes too) */
    this.sent = new Set();
    this.wheelAcc = 0;
    /** @type {{pane: number, button: number} | null} a button held down that the program sees */
    this.reportedDrag = null;
    /** @type {string} the last reported motion cell */
    this.lastMotion = "";
    this.drag = new SelectionDrag({
      screen: host.screen, selectStart: host.selectStart, selectExtend: host.selectExtend, selectMove: host.selectMove,
      selectEnd: host.selectEnd, scroll: host.scroll,
    });
    this.suppressClick = false;
    const doc = document;
    doc.addEventListener("keydown", (e) => this.onKeyDown(e), true);
    doc.addEventListener("keyup", (e) => this.onKeyUp(e), true);
    ta.addEventListener("compositionstart", () => this.onCompositionStart());
    ta.addEventListener("compositionupdate", (e) => this.onCompositionUpdate(e));
    ta.addEventListener("compositionend", (e) => this.onCompositionEnd(e));
    ta.addEventListener("input", (e) => this.onInput(/** @type {InputEvent} */ (e)));
    doc.addEventListener("paste", (e) => this.onPaste(e));
    doc.addEventListener("copy", (e) => this.onCopy(e));
    const root = host.screen.root;
    root.addEventListener("mousedown", (e) => this.onMouseDown(e));
    root.addEventListener("mousemove", (e) => this.onHover(e));
    root.addEventListener("wheel", (e) => this.onWheel(e), { passive: false });
    root.addEventListener("contextmenu", (e) => {
      if (this.reportsMouse(e)) e.preventDefault();
    });
    root.addEventListener("click", (e) => this.onClick(e), true);
    // Clicks on the chrome (tabs, buttons) give the keyboard back to the terminal afterwards.
    doc.addEventListener("mouseup", (e) => {
      if (!host.overlayOpen() && !this.isFormField(e.target) && !this.isFormField(document.activeElement)) this.focus();
    });
    addEventListener("focus", () => this.focusReport(true));
    addEventListener("blur", () => this.focusReport(false));
  }

  focus() {
    if (document.activeElement !== this.ta) this.ta.focus({ preventScroll: true });
  }

  /** @param {EventTarget | null} t */
  isFormField(t) {
    return t instanceof HTMLElement && t !== this.ta &&
      (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA" || t.isContentEditable);
  }

  // -- keyboard ----------------------------------------------------------------------------------
  /** @param {KeyboardEvent} e */
  onKeyDown(e) {
    const host = this.host;
    if (this.isFormField(e.target)) {
      if (e.key === "Escape" && host.overlayOpen()) host.action("close-overlay");
      return;
    }
    if (this.composing || e.isComposing) return;
    if (host.prefixKey(e)) {
      e.preventDefault();
      e.stopPropagation();
      return;
    }
    const d = decideKey(e, host.keyContext());
    if (d.kind === "ignore") return;
    if (d.kind === "browser") {
      this.focus();   // a paste shortcut pastes into the focused textarea, which fires our paste event
      return;
    }
    if (d.kind === "action") {
      e.preventDefault();
      e.stopPropagation();
      host.action(d.action);
      return;
    }
    if (host.overlayOpen()) return;   // keys belong to the dialog
    const pane = host.activePane();
    if (pane === null) return;
    e.preventDefault();
    this.focus();
    if (!host.isMaster()) {
      if (!isModifierKey(e.key)) {
        host.send(keyMessage(e, pane, "press"));   // the server refuses it, visibly (error not_master)
        host.refused();
      }
      return;
    }
    // A modifier alone is sent too (kitty-protocol programs may ask for it); the server does not jump a
    // scrolled-back view to the live screen for modifiers or releases, only for keys that type.
    if (!isModifierKey(e.key)) host.clearSelection();
    const sticky = isModifierKey(e.key) ? 0 : host.stickyMods();
    const ev = sticky ? { ...keyFields(e), ctrlKey: e.ctrlKey || Boolean(sticky & CTRL), altKey: e.altKey || Boolean(sticky & ALT) } : e;
    host.send(keyMessage(ev, pane, e.repeat ? "repeat" : "press"));
    this.sent.add(e.code || e.key);
  }

  /** @param {KeyboardEvent} e */
  onKeyUp(e) {
    const id = e.code || e.key;
    if (!this.sent.has(id)) return;
    this.sent.delete(id);
    const pane = this.host.activePane();
    if (pane !== null && this.host.isMaster()) this.host.send(keyMessage(e, pane, "release"));
  }

  onCompositionStart() {
    this.composing = true;
    this.ta.classList.add("composing");
  }

  /** @param {CompositionEvent} e */
  onCompositionUpdate(e) {
    // The textarea shows the preedit text at the cursor; size it to the text.
    this.ta.style.width = `calc(var(--cw) * ${Math.max(1, Array.from(e.data || "").length * 2)})`;
  }

  /** @param {CompositionEvent} e */
  onCompositionEnd(e) {
    this.composing = false;
    this.ta.classList.remove("composing");
    this.ta.style.width = "";
    const text = e.data || "";
    this.ta.value = "";
    if (text) this.sendText(text);
  }

  /** @param {InputEvent} e */
  onInput(e) {
    // Text that arrives without a keydown we handled: on-screen keyboards, dictation, some IMEs.
    // Composition text is sent once, at compositionend, never here.
    if (this.composing || e.isComposing || e.inputType.startsWith("insertComposition")) return;
    const pane = this.host.activePane();
    if (e.inputType === "insertText" && e.data) this.sendText(e.data);
    else if (e.inputType === "insertLineBreak" && pane !== null) this.sendKey(pane, "Enter", "Enter");
    else if (e.inputType === "deleteContentBackward" && pane !== null) this.sendKey(pane, "Backspace", "Backspace");
    this.ta.value = "";
  }

  /**
   * @param {number} pane
   * @param {string} code
   * @param {string} key
   */
  sendKey(pane, code, key) {
    const ev = { code, key, shiftKey: false, ctrlKey: false, altKey: false, metaKey: false };
    tapKey(this.host, ev, pane);
  }

  /** @param {string} text */
  sendText(text) {
    const pane = this.host.activePane();
    if (pane === null) return;
    if (!this.host.isMaster()) {
      this.host.send({ t: "text", p: pane, d: text.slice(0, 1000) });
      this.host.refused();
      return;
    }
    this.host.clearSelection();
    if (this.host.typed(pane, text)) return;
    for (let i = 0; i < text.length; i += 60000) this.host.send({ t: "text", p: pane, d: text.slice(i, i + 60000) });
  }

  // -- clipboard ---------------------------------------------------------------------------------
  /** @param {ClipboardEvent} e */
  onPaste(e) {
    if (this.isFormField(e.target)) return;
    e.preventDefault();
    const text = e.clipboardData?.getData("text/plain") ?? "";
    if (text) this.host.paste(text);
  }

  /** @param {ClipboardEvent} e */
  onCopy(e) {
    if (this.isFormField(e.target)) return;
    const text = this.host.selectedText();
    if (!text || !e.clipboardData) return;
    e.clipboardData.setData("text/plain", text);
    e.preventDefault();
  }

  // -- mouse -------------------------------------------------------------------------------------
  /**
   * Whether this mouse event goes to the program: the master, a pane tracking the mouse, no Shift.
   * @param {MouseEvent} e
   */
  reportsMouse(e) {
    if (e.shiftKey || !this.host.isMaster()) return false;
    const hit = this.host.screen.cellAt(e.clientX, e.clientY);
    const st = hit ? this.host.paneState(hit.pane.id) : undefined;
    return Boolean(st && st.modes & MODE_MOUSE && st.offset === 0);
  }

  /** @param {MouseEvent} e */
  onMouseDown(e) {
    const target = /** @type {HTMLElement} */ (e.target);
    if (!target.closest(".pbody") || target.closest(".pexit, .pbadge")) return;
    const hit = this.host.screen.cellAt(e.clientX, e.clientY);
    if (!hit) return;
    const paneId = hit.pane.id;
    e.preventDefault();   // no native selection, keep focus in the textarea
    this.focus();
    this.suppressClick = false;
    if (paneId !== this.host.activePane()) this.host.focusPane(paneId);
    if (this.reportsMouse(e)) {
      const b = BUTTONS.includes(/** @type {any} */ (e.button)) ? e.button : 0;
      this.host.send({ t: "mouse", p: paneId, a: "press", b, x: hit.x, y: hit.y, m: modsOf(e) });
      this.reportedDrag = { pane: paneId, button: b };
      this.suppressClick = true;
      const move = (/** @type {MouseEvent} */ ev) => this.reportMotion(ev, paneId, b);
      const up = (/** @type {MouseEvent} */ ev) => {
        document.removeEventListener("mousemove", move, true);
        document.removeEventListener("mouseup", up, true);
        const h = this.host.screen.cellAt(ev.clientX, ev.clientY, paneId);
        if (h) this.host.send({ t: "mouse", p: paneId, a: "release", b, x: h.x, y: h.y, m: modsOf(ev) });
        this.reportedDrag = null;
      };
      document.addEventListener("mousemove", move, true);
      document.addEventListener("mouseup", up, true);
      return;
    }
    if (e.button === 1 && this.host.middleClick(paneId)) {
      // Linux browsers paste their own primary selection on the middle button's release: not this time.
      const up = (/** @type {MouseEvent} */ ev) => {
        if (ev.button !== 1) return;
        ev.preventDefault();
        document.removeEventListener("mouseup", up, true);
      };
      document.addEventListener("mouseup", up, true);
      return;
    }
    if (e.button !== 0) return;
    this.drag.begin(e, paneId, hit.x, hit.y, (made, mode) => {
      if (made && mode === "char") this.suppressClick = true;
    });
  }

  /**
   * @param {MouseEvent} ev
   * @param {number} paneId
   * @param {number | null} button
   */
  reportMotion(ev, paneId, button) {
    const h = this.host.screen.cellAt(ev.clientX, ev.clientY, paneId);
    if (!h) return;
    const key = `${paneId}:${h.x}:${h.y}`;
    if (key === this.lastMotion) return;
    this.lastMotion = key;
    this.host.send({ t: "mouse", p: paneId, a: "motion", b: button, x: h.x, y: h.y, m: modsOf(ev) });
  }

  /** Motion without a button (reported only when the program asked for any-motion tracking). @param {MouseEvent} e */
  onHover(e) {
    if (this.reportedDrag || this.drag.active || e.buttons !== 0 || !this.reportsMouse(e)) return;
    const hit = this.host.screen.cellAt(e.clientX, e.clientY);
    if (hit) this.reportMotion(e, hit.pane.id, null);
  }

  /**
   * Links open on a plain click; not at the end of a drag, and not when the program gets the mouse. A URL
   * found in the text is read across the rows it wraps over, so the whole of it opens.
   * @param {MouseEvent} e
   */
  onClick(e) {
    const a = /** @type {HTMLAnchorElement | null} */ (/** @type {HTMLElement} */ (e.target).closest("a"));
    if (this.suppressClick) {
      if (a) e.preventDefault();
      this.suppressClick = false;
      return;
    }
    if (a && !a.classList.contains("auto")) return;
    if (e.button !== 0 || e.shiftKey || this.reportsMouse(e)) return;
    const hit = this.host.screen.cellAt(e.clientX, e.clientY);
    const url = hit ? this.host.urlAt(hit.pane.id, hit.x, hit.y) : null;
    if (a) {
      if (url) a.href = url;
    } else if (url) {
      window.open(url, "_blank", "noopener,noreferrer");
    }
  }

  /** @param {WheelEvent} e */
  onWheel(e) {
    if (e.ctrlKey) return;   // the browser's zoom
    const hit = this.host.screen.cellAt(e.clientX, e.clientY);
    if (!hit) return;
    e.preventDefault();
    const st = this.host.paneState(hit.pane.id);
    const [rows, rest] = wheelRows(this.wheelAcc, e.deltaY, e.deltaMode, this.host.screen.cellH * this.host.screen.scale, st?.rows ?? 24);
    this.wheelAcc = rest;
    if (rows === 0) return;
    if (e.shiftKey || this.drag.active) {   // during a selection drag the view scrolls and the selection follows
      this.host.send({ t: "scroll", p: hit.pane.id, delta: rows });   // rows < 0: the wheel went up, older rows
    } else {
      this.host.send({ t: "wheel", p: hit.pane.id, dy: rows, dx: 0, x: hit.x, y: hit.y, m: modsOf(e) });
    }
  }

  /** @param {boolean} on */
  focusReport(on) {
    const pane = this.host.activePane();
    const st = pane !== null ? this.host.paneState(pane) : undefined;
    if (pane !== null && st && st.modes & 8 && this.host.isMaster()) this.host.send({ t: "focus", p: pane, on });
  }
}

/**
 * The fields of a KeyboardEvent that a key message carries (a copy, to add modifiers to).
 * @param {KeyboardEvent} e
 */
function keyFields(e) {
  return { key: e.key, code: e.code, shiftKey: e.shiftKey, ctrlKey: e.ctrlKey, altKey: e.altKey, metaKey: e.metaKey };
}
