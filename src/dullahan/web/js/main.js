// The app: connects the connection, the replica, the screen, the input and the chrome.
//
// Frames are applied as they arrive (cheap) and drawn once per animation frame; the acknowledgement of
// the last applied frame goes out right after it was drawn. That ack is the end-to-end flow control: a
// tab that draws slowly (or not at all, in the background) acknowledges slowly and the server coalesces.

import { Connection, socketUrl } from "./connection.js";
import { FindBar } from "./findbar.js";
import { Input } from "./input.js";
import { decodeImage } from "./images.js";
import { fitCells, neighbour, sizesFromDivider } from "./layout.js";
import { urlAt } from "./links.js";
import { ClipboardBridge } from "./clipboard.js";
import { ContextMenu } from "./menu.js";
import { viewTop } from "./search.js";
import { Selector } from "./selection.js";
import { loadSettings, sanitize, saveSettings } from "./settings.js";
import { Phone } from "./phone.js";
import { StyleRules, themeByName, themeVariables } from "./style.js";
import { activeWindow, MODE_ALT_SCREEN, Replica } from "./sync.js";
import { Ui } from "./ui.js";
import { measureCell, Screen } from "./view.js";
import { Workspace } from "./workspace.js";

/** @typedef {import("./settings.js").Settings} Settings */
/** @typedef {import("./keys.js").Action} Action */
/** @typedef {import("./layout.js").Divider} Divider */
/** @typedef {import("./pane.js").PaneAction} PaneAction */

/** The most answers one copy may take (each holds up to 2000 rows). */
const MAX_COPY_ANSWERS = 1000;

const NARROW_QUERY = "(max-width: 600px)";

export class App {
  constructor() {
    this.settings = loadSettings(safeStorage());
    this.replica = new Replica();
    this.styleRules = new StyleRules(document);
    this.role = "view";
    this.canMaster = false;
    this.clientId = 0;
    this.limits = { message: 1 << 20, paste: 16 << 20, paste_chunk: 1 << 20 };
    this.lastApplied = 0;
    this.lastAcked = 0;
    this.rafPending = false;
    this.layoutDirty = false;
    /** @type {Set<number>} */
    this.dirty = new Set();
    /** @type {Set<number>} panes with a resync request in flight */
    this.resyncing = new Set();
    this.lastSizes = "";
    /** A bell rang while the tab was in the background: the tab's title shows it until it is back. */
    this.bellWhileHidden = false;
    this.connState = "connecting";
    /** @type {{pane: number, at: number} | null} a pane clicked, not yet confirmed by a layout */
    this.pendingFocus = null;
    this.lastResize = "";
    this.lastResizeAt = 0;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.resizeTimer = null;
    this.firstLayout = true;
    this.narrowQuery = matchMedia(NARROW_QUERY);
    this.lightQuery = matchMedia("(prefers-color-scheme: light)");
    /** @type {Map<number, {resolve: (result: any) => void, reject: (error: any) => void}>} commands awaiting answers */
    this.requests = new Map();
    this.requestSeq = 0;
    /** @type {{generation: number, promise: Promise<string>} | null} the server's text of the selection, on its way */
    this.selectionFetch = null;
    /** What was selected last (middle click pastes it, as X's primary selection). */
    this.lastSelected = "";
    this.framesRendered = 0;
    /** When the first frame was drawn (ms since the page started loading). */
    this.firstRenderAt = 0;
    this.probe = /** @type {HTMLElement} */ (document.getElementById("measure"));
    const ta = /** @type {HTMLTextAreaElement} */ (document.getElementById("ime"));
    const root = /** @type {HTMLElement} */ (document.getElementById("screen"));

    this.screen = new Screen(root, {
      styleRules: this.styleRules,
      styles: this.replica.styles,
      lines: (id) => this.replica.lines(id),
      paneAction: (action, pane) => this.paneAction(action, pane),
      scroll: (pane, delta) => this.conn.send({ t: "scroll", p: pane, delta }),
      cursorPrefs: () => this.settings,
      images: this.replica.images,
      pageCell: () => this.pageCell(),
    }, {
      dividerMoved: (d, pos, done) => this.dividerMoved(d, pos, done),
      canDrag: () => this.isMaster(),
    });
    this.selector = new Selector((id) => this.selectionView(id), (id, r) => this.screen.panes.get(id)?.showSelection(r));
    this.ui = new Ui({
      command: (name, args) => this.command(name, args),
      requestMaster: () => this.conn.send({ t: "request_master" }),
      retryNow: () => this.conn.retryNow("clicked"),
      applySettings: (s) => this.applySettings(s),
      settings: () => this.settings,
      refocus: () => this.input.focus(),
      newPane: () => this.splitActive(null),
    });
    this.conn = new Connection(socketUrl(location), {
      onHello: (m) => this.onHello(m),
      onFrame: (m) => this.onFrame(m),
      onImage: (meta, bytes) => this.onImage(meta, bytes),
      onRole: (m) => this.onRole(m),
      onError: (m) => this.onError(m),
      onResult: (m) => this.onResult(m),
      onState: (state, d) => {
        if (state === "signed-out" && this.connState !== "signed-out") {
          this.ui.toast("Signed out", "The server no longer accepts this session (its tokens were rotated?). "
            + "Open the URL printed by 'dullahan url' to sign in again.", "error");
        }
        if (state === "refused" && this.connState !== "refused" && d.refusal) {
          this.ui.toast(d.refusal.title, d.refusal.text, "error");
        }
        this.connState = state;
        this.ui.setConnection(state, d);
        document.body.classList.toggle("disconnected", state !== "open");
      },
    });
    this.clipboard = new ClipboardBridge({
      send: (msg) => this.conn.send(msg),
      isMaster: () => this.isMaster(),
      activePane: () => this.activePane(),
      limits: () => this.limits,
      programWritesAllowed: () => this.settings.clipboardWrites,
      toast: (title, body, kind, button) => this.ui.toast(title, body, kind, button),
      refused: () => this.ui.refused(),
    });
    this.input = new Input({
      activePane: () => this.activePane(),
      isMaster: () => this.isMaster(),
      send: (msg) => this.conn.send(msg),
      action: (a) => this.action(a),
      keyContext: () => this.keyContext(),
      paste: (text) => {
        this.selector.clear();
        this.clipboard.paste(text);
      },
      selectedText: () => this.clipboard.pending ?? this.selector.text,
      paneState: (id) => this.replica.panes.get(id),
      refused: () => this.ui.refused(),
      focusPane: (id) => this.focusPane(id),
      selectStart: (p, x, y, mode) => this.selector.start(p, x, y, mode),
      selectMove: (x, y) => this.selector.move(x, y),
      selectExtend: (p, x, y) => this.selector.extend(p, x, y),
      selectEnd: () => {
        const made = this.selector.end();
        if (made) this.selectionMade();
        return made;
      },
      scroll: (pane, delta) => this.conn.send({ t: "scroll", p: pane, delta }),
      prefixKey: (e) => /** @type {boolean} */ (this.workspace.onKey(e)),
      middleClick: () => this.middleClick(),
      urlAt: (pane, x, y) => {
        const st = this.replica.panes.get(pane);
        return st ? urlAt(this.replica.lines(pane), st.cols, x, y) : null;
      },
      clearSelection: () => this.selector.clear(),
      overlayOpen: () => this.ui.openOverlay !== null,
      screen: this.screen,
      stickyMods: () => this.phone.keyMods(),
      typed: (pane, text) => this.phone.typed(pane, text),
    }, ta);
    this.phone = new Phone({
      send: (msg) => this.conn.send(msg),
      isMaster: () => this.isMaster(),
      attached: () => this.conn.open,
      activePane: () => this.activePane(),
      layout: () => this.replica.layout,
      paneState: (id) => this.replica.panes.get(id),
      screen: this.screen,
      selector: this.selector,
      copy: (text) => this.clipboard.write(text),
      paste: (text) => {
        this.selector.clear();
        this.clipboard.paste(text);
      },
      settings: () => this.settings,
      applySettings: (s) => this.applySettings(s),
      toast: (title, body, kind) => this.ui.toast(title, body, kind),
      focusPane: (id) => this.focusPane(id),
      refused: () => this.ui.refused(),
      relayout: () => this.applyLayout(),
      narrow: () => this.narrowQuery.matches,
      refocus: () => this.input.focus(),
    });
    this.findbar = new FindBar({
      request: (name, args) => this.request(name, args),
      activePane: () => this.activePane(),
      paneState: (id) => this.replica.panes.get(id),
      paneView: (id) => this.screen.panes.get(id),
      send: (msg) => this.conn.send(msg),
      refocus: () => this.input.focus(),
    });
    this.workspace = new Workspace({
      prefixSetting: () => this.settings.prefixKey,
      command: (name, args) => this.command(name, args),
      layout: () => this.replica.layout,
      activePane: () => this.activePane(),
      paneState: (id) => this.replica.panes.get(id),
      focusPane: (id) => this.focusPane(id),
      send: (msg) => this.conn.send(msg),
      isMaster: () => this.isMaster(),
      refused: () => this.ui.refused(),
      action: (a) => this.action(a),
      keyContext: () => this.keyContext(),
      overlayOpen: () => this.ui.openOverlay !== null,
      renameWindow: (id) => this.ui.renameWindow(id),
      openSearch: () => this.findbar.open(),
      searchStep: (step) => this.findbar.step(step),
      closeSearch: () => this.findbar.close(),
      screen: this.screen,
    });
    this.menu = new ContextMenu({
      root: this.screen.root,
      hasSelection: () => this.selector.hasSelection(),
      copy: () => this.copy(true),
      paste: () => this.pasteClipboard(),
      isMaster: () => this.isMaster(),
      linkAt: (e) => this.linkAt(e),
      copyText: (text) => this.clipboard.write(text),
      openSearch: () => this.findbar.open(),
      refocus: () => this.input.focus(),
    });
  }

  start() {
    this.applySettings(this.settings);
    new ResizeObserver(() => {
      this.measure();
      this.screen.fit();
      this.scheduleResize(100);
    }).observe(this.screen.root);
    this.watchPixelRatio();
    document.fonts?.ready.then(() => this.measure());
    document.fonts?.addEventListener?.("loadingdone", () => this.measure());
    this.narrowQuery.addEventListener("change", () => this.applyLayout());
    this.lightQuery.addEventListener("change", () => this.applyTheme());
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && this.bellWhileHidden) {
        this.bellWhileHidden = false;
        this.scheduleRender();
      }
    });
    addEventListener("focus", () => this.markFocus());
    addEventListener("blur", () => this.markFocus());
    this.ui.setRole("view", false);
    this.phone.start();
    this.conn.start();
    this.input.focus();
  }

  // -- state -------------------------------------------------------------------------------------
  isMaster() {
    return this.role === "master";
  }

  /** The focused pane: the one just clicked (until the server confirms it), else the window's active pane. */
  activePane() {
    const win = activeWindow(this.replica.layout);
    const pending = this.pendingFocus;
    if (pending !== null && performance.now() - pending.at < 2000 && win?.slots?.includes(pending.pane)) return pending.pane;
    return typeof win?.active === "number" ? win.active : null;
  }

  activeState() {
    const id = this.activePane();
    return id === null ? undefined : this.replica.panes.get(id);
  }

  /** @returns {import("./keys.js").KeyContext} */
  keyContext() {
    return {
      mac: /Mac|iPhone|iPad/.test(navigator.platform),
      hasSelection: this.selector.hasSelection(),
      altScreen: Boolean((this.activeState()?.modes ?? 0) & MODE_ALT_SCREEN),
      overlay: this.ui.openOverlay !== null,
    };
  }

  // -- connection events -------------------------------------------------------------------------
  /** @param {any} m */
  onHello(m) {
    // A new connection is a fresh cache on the server: start from nothing.
    this.replica.reset();
    this.styleRules.reset();
    this.screen.invalidate();
    this.lastApplied = 0;
    this.lastAcked = 0;
    this.resyncing.clear();
    // Answers to the old connection's commands never come.
    for (const r of this.requests.values()) r.reject({ code: "disconnected", msg: "the connection was replaced" });
    this.requests.clear();
    this.clientId = m.client;
    if (m.limits && typeof m.limits === "object") this.limits = { ...this.limits, ...m.limits };
    // A resumed page keeps its role; only a real change is worth a word (and only if someone else drives).
    const lost = this.role === "master" && m.role !== "master" && m.master !== null && m.master !== undefined;
    this.setRole(m.role, Boolean(m.can_master), lost);
    this.lastResize = "";
    this.firstLayout = true;
    this.tellRestart(m.restart);
  }

  /**
   * Say once, in a page that was already connected, that the server it comes back to continues an earlier one.
   * @param {any} notice  the hello's `restart`: {kind, from, to, at}
   */
  tellRestart(notice) {
    if (!notice || typeof notice !== "object" || !this.conn.resumed) return;
    const seen = safeSession()?.getItem("dullahan.restart");
    if (seen === String(notice.at)) return;
    safeSession()?.setItem("dullahan.restart", String(notice.at));
    const versions = notice.from && notice.from !== notice.to ? `version ${notice.from} → ${notice.to}` : `version ${notice.to}`;
    if (notice.kind === "restart") this.ui.toast(`Server restarted (${versions})`, "Every shell kept running.", "info");
    else if (notice.kind === "crash") {
      this.ui.toast(`Server recovered after a crash (${versions})`, "The shells kept running; what they printed "
        + "in the last seconds before the crash may be missing from the screens.", "warn");
    } else if (notice.kind === "reboot") {
      this.ui.toast("Session restored after a reboot", "Windows, layouts and screens are back; each pane runs a "
        + "new shell in its last directory.", "warn");
    }
  }

  /** @param {any} m */
  onRole(m) {
    this.setRole(m.role, this.canMaster, this.role === "master" && m.role !== "master");
  }

  /**
   * @param {string} role
   * @param {boolean} canMaster
   * @param {boolean} taken  another client took the master role from this one
   */
  setRole(role, canMaster, taken) {
    const was = this.role;
    this.role = role === "master" ? "master" : "view";
    this.canMaster = canMaster;
    this.ui.setRole(this.role, canMaster);
    if (this.role === "master" && was !== "master") {
      this.lastResize = "";
      this.scheduleResize(0);
    }
    if (taken) this.ui.toast("Another browser took control", "This one now watches.", "warn");
  }

  /** @param {any} m */
  onResult(m) {
    const waiting = this.requests.get(m.id);
    if (!waiting) return;
    this.requests.delete(m.id);
    waiting.resolve(m.result);
  }

  /** @param {any} m */
  onError(m) {
    const waiting = typeof m.id === "number" ? this.requests.get(m.id) : undefined;
    if (waiting) {
      // Whoever awaited the command handles its failure (a view-only client's refusal still shows).
      this.requests.delete(m.id);
      waiting.reject(m);
      if (m.code === "not_master") this.ui.refused();
      return;
    }
    const code = String(m.code ?? "");
    if (code === "not_master") {
      this.ui.refused();
      this.ui.toast("View only: input refused", "This browser watches the session.", "warn",
        this.canMaster ? { label: "Take control", action: () => this.conn.send({ t: "request_master" }) } : undefined);
      return;
    }
    this.ui.toast(`Refused: ${code}`, String(m.msg ?? ""), code === "failed" ? "warn" : "error");
  }

  /** @param {any} frame */
  onFrame(frame) {
    try {
      const res = this.replica.apply(frame);
      if (res.layout) {
        this.layoutDirty = true;
        this.workspace.noteLayout();
      }
      for (const id of res.panes) this.dirty.add(id);
      for (const id of res.panes) if (!res.holes.includes(id)) this.resyncing.delete(id);
      for (const id of res.holes) this.resync(id);
      for (const n of res.notify) this.notify(n.title, n.body);
      for (const c of res.clip) this.clipboard.programWrite(c.text);
      for (const id of res.bells) {
        const pv = this.screen.panes.get(id);
        if (pv) pv.ring();
        else this.ui.markBell(id);   // a pane of another window: its tab shows it
        if (document.hidden) this.bellWhileHidden = true;
      }
    } catch (e) {
      console.error("frame failed", e);
    }
    this.lastApplied = Number(frame.n) || this.lastApplied;
    this.scheduleRender();
  }

  /**
   * An image message: the image is held at once (the frames after it may place it), drawn once decoded.
   * Decoded only as image data, its sizes checked first (images.js `decodeImage`).
   * @param {import("./images.js").ImageMeta} meta
   * @param {Uint8Array<ArrayBuffer>} bytes
   */
  onImage(meta, bytes) {
    const entry = this.replica.applyImage(meta);
    decodeImage(meta, bytes).then((bitmap) => {
      if (!this.replica.images.decoded(entry, bitmap)) return;
      for (const [id, st] of this.replica.panes) if (st.img.some((p) => p.key === meta.key)) this.dirty.add(id);
      this.scheduleRender();
    }, (/** @type {unknown} */ e) => {
      this.replica.images.failed(entry, String(e));
      console.error("image not shown", meta.key, e);
    });
  }

  /** @param {number} pane */
  resync(pane) {
    if (this.resyncing.has(pane)) return;
    this.resyncing.add(pane);
    this.screen.panes.get(pane)?.invalidate();
    this.conn.send({ t: "resync", p: pane });
  }

  // -- drawing -----------------------------------------------------------------------------------
  scheduleRender() {
    if (this.rafPending) return;
    this.rafPending = true;
    requestAnimationFrame(() => this.render());
  }

  render() {
    this.rafPending = false;
    try {
      if (this.layoutDirty) {
        this.layoutDirty = false;
        this.applyLayout();
      }
      for (const id of this.dirty) {
        const pv = this.screen.panes.get(id);
        const st = this.replica.panes.get(id);
        if (!pv || !st) continue;
        try {
          pv.update(st);
        } catch (e) {
          console.error("pane render failed", e);
        }
        this.selector.paneChanged(id);
        this.findbar.paint(id);
      }
      if (this.dirty.size) this.input.drag.follow();
      this.dirty.clear();
      const title = this.activeState()?.title;
      const want = (this.bellWhileHidden ? "🔔 " : "") + (title ? `${title} — Dullahan` : "Dullahan");
      if (document.title !== want) document.title = want;
      this.markFocus();
      this.placeTextarea();
      this.phone.afterRender();
      if (this.framesRendered++ === 0) this.firstRenderAt = performance.now();
    } catch (e) {
      console.error("render failed", e);
    } finally {
      if (this.lastApplied > this.lastAcked && this.conn.send({ t: "ack", f: this.lastApplied })) {
        this.lastAcked = this.lastApplied;
      }
    }
  }

  applyLayout() {
    const layout = this.replica.layout;
    if (this.pendingFocus && activeWindow(layout)?.active === this.pendingFocus.pane) this.pendingFocus = null;
    this.ui.setLayout(layout);
    const win = activeWindow(layout);
    this.screen.setWindow(win, this.narrowQuery.matches, this.phone.shownPane(win));
    document.body.classList.toggle("narrow", this.narrowQuery.matches);
    for (const id of this.screen.panes.keys()) this.dirty.add(id);
    for (const [id, pv] of this.screen.panes) {
      const st = this.replica.panes.get(id);
      if (st) pv.update(st);
    }
    if (this.selector.sel && !this.screen.panes.has(this.selector.sel.pane)) this.selector.clear();
    this.phone.layoutChanged();
    this.findbar.layoutChanged((id) => this.screen.panes.has(id));
    this.workspace.show();
    this.scheduleResize(this.firstLayout ? 0 : 100);
    this.firstLayout = false;
  }

  markFocus() {
    const active = this.activePane();
    const focused = document.hasFocus();
    for (const [id, pv] of this.screen.panes) pv.setActive(id === active, id === active && focused);
  }

  /** Keep the hidden textarea at the cursor, so an IME shows its window there. */
  placeTextarea() {
    const id = this.activePane();
    const pv = id === null ? undefined : this.screen.panes.get(id);
    const ta = this.input.ta;
    if (!pv || !pv.cursorCell) return;
    const r = pv.body.getBoundingClientRect();
    const s = this.screen.scale;
    ta.style.left = `${r.left + pv.cursorCell[0] * this.screen.cellW * s}px`;
    ta.style.top = `${r.top + pv.cursorCell[1] * this.screen.cellH * s}px`;
  }

  // -- size --------------------------------------------------------------------------------------
  measure() {
    const { w, h } = measureCell(this.probe, this.settings.fontFamily, this.settings.fontSize, this.settings.lineHeight);
    if (Math.abs(w - this.screen.cellW) > 1e-3 || Math.abs(h - this.screen.cellH) > 1e-3) {
      this.screen.setCell(w, h);
      this.scheduleResize(100);
      this.placeTextarea();
      this.redrawImages();
    }
  }

  watchPixelRatio() {
    const q = matchMedia(`(resolution: ${window.devicePixelRatio}dppx)`);
    q.addEventListener("change", () => {
      this.measure();
      this.redrawImages();
      this.watchPixelRatio();
    }, { once: true });
  }

  /**
   * The page's cell size (CSS px) and pixel ratio, what images are drawn at.
   * @returns {{w: number, h: number, dpr: number}}
   */
  pageCell() {
    return { w: this.screen.cellW, h: this.screen.cellH, dpr: window.devicePixelRatio || 1 };
  }

  /** Images are drawn at the page's cell size and pixel ratio: a change redraws every pane's. */
  redrawImages() {
    for (const id of this.screen.panes.keys()) this.dirty.add(id);
    this.scheduleRender();
  }

  /** @param {number} delay ms */
  scheduleResize(delay) {
    if (this.resizeTimer !== null) clearTimeout(this.resizeTimer);
    this.resizeTimer = setTimeout(() => {
      this.resizeTimer = null;
      this.sendResize();
    }, delay);
  }

  /**
   * The master sizes the active window to its viewport (deduplicated: no resize loops); on a phone, so
   * that the pane it shows fills the screen.
   */
  sendResize() {
    if (!this.isMaster() || !this.conn.open) return;
    const win = activeWindow(this.replica.layout);
    if (!win) return;
    const root = this.screen.root;
    let [cols, rows] = fitCells(root.clientWidth, root.clientHeight, this.screen.cellW, this.screen.cellH);
    if (this.narrowQuery.matches) {
      const size = this.phone.windowSize(win, cols, rows);
      if (!size) return;
      [cols, rows] = size;
    }
    const key = `${win.id}:${cols}:${rows}`;
    if (win.cols === cols && win.rows === rows) {
      this.lastResize = key;
      return;
    }
    const now = performance.now();
    if (key === this.lastResize && now - this.lastResizeAt < 1000) return;
    this.lastResize = key;
    this.lastResizeAt = now;
    this.conn.send({ t: "cmd", c: "resize-window", a: { window: win.id, cols, rows } });
  }

  /**
   * @param {Divider} d
   * @param {number} pos
   * @param {boolean} done
   */
  dividerMoved(d, pos, done) {
    const win = activeWindow(this.replica.layout);
    if (!win || !this.isMaster()) return;
    const sizes = sizesFromDivider(d.length, d.sizes, d.index, pos, d.kind);
    const key = `${d.path.join(".")}:${sizes.join(",")}`;
    if (key === this.lastSizes && !done) return;
    this.lastSizes = key;
    this.conn.send({ t: "cmd", c: "set-split-sizes", a: { window: win.id, path: d.path, sizes } });
  }

  // -- commands ----------------------------------------------------------------------------------
  /**
   * A command of the server's table (split-window, select-pane ...); a viewer's is refused by the server.
   * @param {string} name
   * @param {object} [args]
   */
  command(name, args = {}) {
    this.conn.send({ t: "cmd", c: name, a: args });
    if (!this.isMaster()) this.ui.refused();
  }

  /**
   * A command whose answer is wanted: resolves with its result, rejects with the server's error (`code`, `msg`).
   * @param {string} name
   * @param {object} [args]
   * @returns {Promise<any>}
   */
  request(name, args = {}) {
    const id = ++this.requestSeq;
    return new Promise((resolve, reject) => {
      if (!this.conn.send({ t: "cmd", c: name, a: args, id })) {
        reject({ code: "disconnected", msg: "not connected" });
        return;
      }
      this.requests.set(id, { resolve, reject });
    });
  }

  /**
   * Split the focused pane: `direction`, or (null) along its longer side on the screen.
   * @param {"right" | "down" | null} direction
   */
  splitActive(direction) {
    const pane = this.activePane();
    const st = this.activeState();
    if (pane === null) return;
    const dir = direction ?? (st && st.cols * this.screen.cellW >= st.rows * this.screen.cellH * 1.6 ? "right" : "down");
    this.command("split-window", { direction: dir, target: pane });
  }

  /** @param {number} id */
  focusPane(id) {
    if (id === this.activePane() || !this.isMaster()) return;
    // Keys typed right after the click go to this pane, even before the server's layout says so.
    this.pendingFocus = { pane: id, at: performance.now() };
    this.conn.send({ t: "cmd", c: "select-pane", a: { target: id } });
    this.markFocus();
  }

  /**
   * @param {PaneAction} action
   * @param {number} pane
   */
  paneAction(action, pane) {
    if (action === "resync") {
      this.resyncing.delete(pane);
      this.screen.panes.get(pane)?.invalidate();   // redraw every row when the full state arrives
      this.conn.send({ t: "resync", p: pane });
      this.ui.toast(`Pane #${pane} resynced`, "", "info");
    } else if (action === "close") this.command("kill-pane", { pane });
    else if (action === "respawn") this.command("respawn", { pane });
    else if (action === "bottom") this.conn.send({ t: "scroll", p: pane, to: "bottom" });
    else if (action === "focus") this.focusPane(pane);
    else if (action === "split-right" || action === "split-down") {
      this.command("split-window", { direction: action === "split-right" ? "right" : "down", target: pane });
    } else if (action === "zoom") this.command("resize-pane", { target: pane, zoom: true });
    if (action !== "focus") this.input.focus();
  }

  /** @param {Action} a */
  action(a) {
    const layout = this.replica.layout;
    const win = activeWindow(layout);
    const pane = this.activePane();
    const st = this.activeState();
    switch (a) {
      case "copy": this.copy(true); break;
      case "copy-clear": this.copy(false); break;
      case "help": this.ui.toggle(this.ui.help); break;
      case "settings": this.ui.showSettings(); break;
      case "new-window":
        if (this.isMaster()) this.ui.showPicker();
        else this.ui.refused();
        break;
      case "search": this.findbar.open(); break;
      case "close-overlay": this.ui.close(); break;
      case "prev-window":
      case "next-window": {
        const ws = layout?.windows ?? [];
        const i = ws.findIndex((/** @type {any} */ w) => w.id === layout?.active);
        if (ws.length > 1 && i >= 0) {
          const j = (i + (a === "next-window" ? 1 : ws.length - 1)) % ws.length;
          this.command("select-window", { window: ws[j].id });
        }
        break;
      }
      case "focus-left": case "focus-right": case "focus-up": case "focus-down": {
        if (!win || pane === null) break;
        const dir = /** @type {"left" | "right" | "up" | "down"} */ (a.slice(6));
        const next = neighbour(win.slots, win.rects, pane, dir);
        if (next !== null) this.focusPane(next);
        break;
      }
      case "scroll-page-up": case "scroll-page-down":
        if (pane !== null && st) this.conn.send({ t: "scroll", p: pane, delta: (a === "scroll-page-up" ? -1 : 1) * Math.max(1, st.rows - 1) });
        break;
      case "scroll-top": case "scroll-bottom":
        if (pane !== null) this.conn.send({ t: "scroll", p: pane, to: a === "scroll-top" ? "top" : "bottom" });
        break;
    }
  }

  // -- clipboard and selection -------------------------------------------------------------------
  /**
   * What the selector needs of a pane: the history row its view starts at, its rows and their ids.
   * @param {number} id
   * @returns {import("./selection.js").View | undefined}
   */
  selectionView(id) {
    const st = this.replica.panes.get(id);
    return st ? { top: viewTop(st), lines: this.replica.lines(id), ids: st.ids, cols: st.cols } : undefined;
  }

  /**
   * Copy the selection; a selection reaching beyond the rows this page holds is copied with the server's text.
   * @param {boolean} keep  keep the selection (Ctrl+Shift+C) or clear it (Ctrl+C)
   */
  async copy(keep) {
    const sel = this.selector;
    if (!sel.hasSelection()) return;
    const generation = sel.generation;
    let text = sel.text;
    if (!text) {
      try {
        text = await this.selectionText();
      } catch (e) {
        this.ui.toast("Copy failed", String(/** @type {any} */ (e)?.msg ?? e), "error");
        return;
      }
    }
    if (text) this.clipboard.write(text);
    if (!keep && sel.generation === generation) sel.clear();
  }

  /** The selection's text, asked of the server (`copy-text`, answer after answer) when the page lacks rows. */
  selectionText() {
    const ask = this.selector.needsServer();
    if (!ask) return Promise.resolve(this.selector.text);
    if (this.selectionFetch?.generation === ask.generation) return this.selectionFetch.promise;
    const fetch = async () => {
      let text = "";
      /** @type {[number, number]} rows and columns as the server takes them */
      let start = [ask.start[1], ask.start[0]];
      const end = [ask.end[1], ask.end[0]];
      for (let i = 0; i < MAX_COPY_ANSWERS; i++) {
        const r = await this.request("copy-text", { target: ask.pane, start, end });
        text += String(r.text ?? "");
        if (!r.more || !Array.isArray(r.next)) break;
        start = [Number(r.next[0]), Number(r.next[1])];
      }
      this.selector.setServerText(ask.generation, text);
      if (this.selector.generation === ask.generation) this.lastSelected = text;
      return text;
    };
    const promise = fetch();
    this.selectionFetch = { generation: ask.generation, promise };
    return promise;
  }

  /** A selection was just made: fetch its text if the page lacks rows of it; copy it when the setting says so. */
  selectionMade() {
    if (this.selector.text) this.lastSelected = this.selector.text;
    else this.selectionText().catch(() => {});
    if (this.settings.copyOnSelect) void this.copy(true);
  }

  /** Middle click: paste what was selected last (X's primary selection), when the setting allows. */
  middleClick() {
    if (!this.settings.middleClickPaste) return false;
    const text = this.selector.text || this.lastSelected;
    if (text) {
      this.selector.clear();
      this.clipboard.paste(text);
    }
    return true;
  }

  /** Paste from the clipboard (the right-click menu): the browser may ask, or refuse. */
  pasteClipboard() {
    const refused = () => this.ui.toast("The browser did not allow reading the clipboard", "Paste with Ctrl+Shift+V.", "warn");
    if (!navigator.clipboard?.readText) {
      refused();
      return;
    }
    navigator.clipboard.readText().then((text) => {
      if (text) this.clipboard.paste(text);
    }, refused);
  }

  /**
   * The link under the pointer: an OSC 8 link's target or a URL in the text.
   * @param {MouseEvent} e
   */
  linkAt(e) {
    const a = /** @type {HTMLAnchorElement | null} */ (/** @type {HTMLElement} */ (e.target).closest?.("a.link"));
    const hit = this.screen.cellAt(e.clientX, e.clientY);
    if (hit && (!a || a.classList.contains("auto"))) {
      const st = this.replica.panes.get(hit.pane.id);
      const url = st ? urlAt(this.replica.lines(hit.pane.id), st.cols, hit.x, hit.y) : null;
      if (url) return url;
    }
    return a ? a.href : null;
  }

  /**
   * @param {string} title
   * @param {string} body
   */
  notify(title, body) {
    this.ui.toast(title || "Notification", body, "notify");
  }

  // -- settings ----------------------------------------------------------------------------------
  /** @param {Settings} s */
  applySettings(s) {
    this.settings = sanitize(s);
    saveSettings(safeStorage(), this.settings);
    const root = document.documentElement.style;
    root.setProperty("--font", this.settings.fontFamily);
    root.setProperty("--font-size", `${this.settings.fontSize}px`);
    this.applyTheme();
    this.measure();
    this.phone.settingsChanged(this.settings);
    for (const [id, pv] of this.screen.panes) {
      const st = this.replica.panes.get(id);
      if (st) pv.updateCursor(st);
    }
  }

  applyTheme() {
    const name = this.settings.theme === "auto" ? (this.lightQuery.matches ? "light" : "dark") : this.settings.theme;
    const theme = themeByName(name);
    const root = document.documentElement;
    for (const [k, v] of themeVariables(theme)) root.style.setProperty(k, v);
    root.dataset.theme = theme.name;
    root.classList.toggle("light", !theme.dark);
  }
}

/** sessionStorage (this tab's), or null where the browser forbids it. */
function safeSession() {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

/** localStorage, or null where the browser forbids it. */
function safeStorage() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

const app = new App();
/** For debugging from the console and for the end-to-end tests. */
/** @type {any} */ (window).dullahan = app;
app.start();
