// The chrome around the terminal: window tabs (renamed in place), the layout picker, hidden panes, the role and
// connection indicators, toasts, the help overlay and the settings dialog. Terminal-supplied text
// (titles, notifications) is only ever set with textContent.

import { OTHER_KEYS, SHORTCUTS } from "./keys.js";
import { BUILTIN_TREES, templateBoxes } from "./layout.js";
import { confirmClick, el } from "./pane.js";
import { PREFIX_HELP, PREFIX_KEYS, prefixLabel } from "./prefix.js";
import { DEFAULT_FONT, DEFAULTS } from "./settings.js";
import { THEMES } from "./style.js";

/** @typedef {import("./settings.js").Settings} Settings */
/** @typedef {import("./connection.js").ConnState} ConnState */

/**
 * What the chrome asks the app to do.
 * @typedef {object} UiHost
 * @property {(name: string, args?: object) => void} command   run a command of the server's table
 * @property {() => void} requestMaster
 * @property {() => void} retryNow
 * @property {(s: Settings) => void} applySettings
 * @property {() => Settings} settings
 * @property {() => void} refocus                    give the keyboard back to the terminal
 * @property {() => void} newPane                    split the focused pane
 */

/** Prefix keys the settings offer (any Ctrl+letter is accepted from storage). */
const PREFIX_CHOICES = ["C-b", "C-a", "C-Space", "C-g", "C-q", "C-]", "C-\\", "off"];

/** @param {string} id */
function byId(id) {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} missing from index.html`);
  return e;
}

export class Ui {
  /** @param {UiHost} host */
  constructor(host) {
    this.host = host;
    this.tabs = byId("tabs");
    this.hiddenBtn = /** @type {HTMLButtonElement} */ (byId("hidden-btn"));
    this.hiddenMenu = byId("hidden-menu");
    this.roleEl = byId("role");
    this.takeBtn = /** @type {HTMLButtonElement} */ (byId("take-master"));
    this.connEl = byId("conn");
    this.toasts = byId("toasts");
    this.picker = byId("picker");
    this.help = byId("help");
    this.settingsDlg = byId("settings");
    /** @type {HTMLElement | null} */
    this.openOverlay = null;
    /** @type {any} */
    this.layout = null;
    this.role = "view";
    this.canMaster = false;
    /** @type {Map<string, number>} */
    this.recentToasts = new Map();
    /** @type {Set<number>} windows whose panes rang while another window was shown */
    this.bellWindows = new Set();
    /** @type {{window: number, input: HTMLInputElement, tab: HTMLElement} | null} a tab being renamed */
    this.renaming = null;
    byId("new-window").addEventListener("click", () => this.showPicker());
    byId("new-pane").addEventListener("click", () => host.newPane());
    byId("help-btn").addEventListener("click", () => this.toggle(this.help));
    byId("settings-btn").addEventListener("click", () => this.showSettings());
    this.takeBtn.addEventListener("click", () => host.requestMaster());
    this.connEl.addEventListener("click", () => host.retryNow());
    this.hiddenBtn.addEventListener("click", (e) => {
      e.stopPropagation();
      this.hiddenMenu.hidden = !this.hiddenMenu.hidden;
    });
    document.addEventListener("click", (e) => {
      if (!this.hiddenMenu.hidden && !this.hiddenMenu.contains(/** @type {Node} */ (e.target))) this.hiddenMenu.hidden = true;
    });
    for (const o of [this.picker, this.help, this.settingsDlg]) {
      o.addEventListener("mousedown", (e) => {
        if (e.target === o) this.close();
      });
      o.querySelector(".close")?.addEventListener("click", () => this.close());
    }
    this.buildHelp();
  }

  // -- overlays ----------------------------------------------------------------------------------
  /** @param {HTMLElement} o */
  toggle(o) {
    if (this.openOverlay === o) this.close();
    else this.open(o);
  }

  /** @param {HTMLElement} o */
  open(o) {
    this.close();
    if (o === this.help) this.buildHelp();
    o.hidden = false;
    this.openOverlay = o;
    const first = /** @type {HTMLElement | null} */ (o.querySelector("button, select, input"));
    first?.focus();
  }

  close() {
    if (this.openOverlay) this.openOverlay.hidden = true;
    this.openOverlay = null;
    this.host.refocus();
  }

  buildHelp() {
    const list = byId("help-list");
    list.textContent = "";
    /** @param {string} keys @param {string} what */
    const add = (keys, what) => {
      const tr = el("tr");
      const k = el("td");
      k.appendChild(el("kbd", "", keys));
      tr.append(k, el("td", "", what));
      list.appendChild(tr);
    };
    for (const [, , keys, what] of SHORTCUTS) add(keys, what);
    for (const [keys, what] of OTHER_KEYS) add(keys, what);
    const prefix = prefixLabel(this.host.settings().prefixKey);
    const head = el("tr", "help-section");
    const cell = el("td", "", prefix === "off" ? "Prefix key: off (Settings turns it on)"
      : `After the prefix key ${prefix} (like tmux; change it in Settings)`);
    cell.colSpan = 2;
    head.appendChild(cell);
    list.appendChild(head);
    if (prefix === "off") return;
    for (const [key, , what] of PREFIX_KEYS) add(`${prefix} ${key}`, what);
    for (const [keys, what] of PREFIX_HELP) add(`${prefix} ${keys}`, what);
  }

  // -- tabs and hidden panes ---------------------------------------------------------------------
  /** @param {any} layout */
  setLayout(layout) {
    this.layout = layout;
    const windows = Array.isArray(layout?.windows) ? layout.windows : [];
    this.bellWindows.delete(layout?.active);
    // A tab being renamed stays in the document (its input keeps the focus and what was typed).
    const keep = this.renaming && windows.some((/** @type {any} */ w) => w.id === this.renaming?.window) ? this.renaming.tab : null;
    if (!keep) this.renaming = null;
    for (const child of [...this.tabs.children]) if (child !== keep) child.remove();
    /** @type {HTMLElement[]} */
    const before = [];
    /** @type {HTMLElement[]} */
    const after = [];
    windows.forEach((/** @type {any} */ w, /** @type {number} */ i) => {
      if (keep && w.id === this.renaming?.window) return;
      const cls = "tab" + (w.id === layout.active ? " active" : "") + (this.bellWindows.has(w.id) ? " bell" : "")
        + (typeof w.zoomed === "number" ? " zoomed" : "");
      const tab = el("div", cls);
      tab.dataset.window = String(w.id);
      const label = el("button", "tab-label", `${i + 1}: ${tabTitle(w)}`);
      label.title = `window ${w.id} · layout ${w.layout} · ${w.cols}×${w.rows} (double-click to rename)`;
      label.addEventListener("click", () => {
        if (w.id !== layout.active) this.host.command("select-window", { window: w.id });
        this.host.refocus();
      });
      label.addEventListener("dblclick", () => this.renameWindow(w.id));
      const close = el("button", "tab-close", "×");
      close.title = "Close this window and its panes (click twice)";
      close.addEventListener("click", () => confirmClick(close, () => this.host.command("kill-window", { window: w.id })));
      tab.append(label, close);
      (keep && windows.findIndex((/** @type {any} */ x) => x.id === this.renaming?.window) < i ? after : before).push(tab);
    });
    if (keep) {
      keep.before(...before);
      keep.after(...after);
    } else {
      this.tabs.append(...before);
    }
    const win = windows.find((/** @type {any} */ w) => w.id === layout.active);
    const hidden = Array.isArray(win?.hidden) ? win.hidden : [];
    this.hiddenBtn.hidden = hidden.length === 0;
    this.hiddenBtn.textContent = `hidden: ${hidden.length}`;
    this.hiddenMenu.textContent = "";
    const slot = win ? Math.max(0, win.slots.indexOf(win.active)) : 0;
    for (const pid of hidden) {
      const b = el("button", "", `Show pane #${pid} here`);
      b.title = "Swap it into the focused pane's place (that pane is hidden, not closed)";
      b.addEventListener("click", () => {
        this.hiddenMenu.hidden = true;
        this.host.command("show-pane", { pane: pid, slot, window: win.id });
        this.host.command("select-pane", { target: pid });
        this.host.refocus();
      });
      this.hiddenMenu.appendChild(b);
    }
    const add = el("button", "", "New pane (in an empty slot, else hidden)");
    add.addEventListener("click", () => {
      this.hiddenMenu.hidden = true;
      this.host.command("new-pane", win ? { window: win.id } : {});
    });
    this.hiddenMenu.appendChild(add);
    if (this.openOverlay === this.picker) this.buildPicker();
  }

  /**
   * Rename a window in its tab: Enter (or leaving the field) renames it, Escape keeps the name. Viewers
   * cannot rename (the server would refuse it).
   * @param {number} id
   */
  renameWindow(id) {
    if (this.role !== "master") return;
    const tab = /** @type {HTMLElement | null} */ (this.tabs.querySelector(`.tab[data-window="${Number(id)}"]`));
    const win = (this.layout?.windows ?? []).find((/** @type {any} */ w) => w.id === id);
    if (!tab || !win) return;
    if (this.renaming?.window === id) {
      this.renaming.input.select();
      return;
    }
    const input = /** @type {HTMLInputElement} */ (el("input", "tab-rename"));
    input.type = "text";
    input.maxLength = 64;
    input.value = String(win.name ?? "");
    input.placeholder = tabTitle(win);
    input.setAttribute("aria-label", "Window name");
    tab.textContent = "";
    tab.appendChild(input);
    this.renaming = { window: id, input, tab };
    let finished = false;
    const finish = (/** @type {boolean} */ commit) => {
      if (finished) return;
      finished = true;
      if (commit && input.value !== String(win.name ?? "")) this.host.command("rename-window", { window: id, name: input.value });
      this.renaming = null;
      this.setLayout(this.layout);
      this.host.refocus();
    };
    input.addEventListener("keydown", (e) => {
      e.stopPropagation();
      if (e.key === "Enter") finish(true);
      else if (e.key === "Escape") finish(false);
    });
    input.addEventListener("blur", () => finish(true));
    input.focus();
    input.select();
  }

  /**
   * A pane of a window not shown rang its bell: mark that window's tab until it is shown.
   * @param {number} pane
   */
  markBell(pane) {
    const windows = Array.isArray(this.layout?.windows) ? this.layout.windows : [];
    const win = windows.find((/** @type {any} */ w) => w.id !== this.layout.active
      && ((Array.isArray(w.slots) && w.slots.includes(pane)) || (Array.isArray(w.hidden) && w.hidden.includes(pane))));
    if (!win || this.bellWindows.has(win.id)) return;
    this.bellWindows.add(win.id);
    this.tabs.querySelector(`.tab[data-window="${Number(win.id)}"]`)?.classList.add("bell");
  }

  // -- layout picker -----------------------------------------------------------------------------
  showPicker() {
    this.buildPicker();
    this.open(this.picker);
  }

  buildPicker() {
    const list = byId("picker-list");
    list.textContent = "";
    const templates = this.layout?.templates ?? { builtin: Object.keys(BUILTIN_TREES), user: {} };
    const win = (this.layout?.windows ?? []).find((/** @type {any} */ w) => w.id === this.layout?.active);
    /** @param {string} name @param {unknown} tree @param {boolean} user */
    const add = (name, tree, user) => {
      const card = el("div", "template");
      card.dataset.layout = name;
      const preview = el("div", "preview");
      for (const [x, y, w, h] of templateBoxes(tree)) {
        const b = el("div", "box");
        b.style.left = `${x * 100}%`;
        b.style.top = `${y * 100}%`;
        b.style.width = `${w * 100}%`;
        b.style.height = `${h * 100}%`;
        preview.appendChild(b);
      }
      const open = el("button", "tpl-new", user ? `${name} (yours)` : name);
      open.title = "Open a new window with this layout";
      open.prepend(preview);
      open.addEventListener("click", () => {
        this.host.command("new-window", { layout: name });
        this.close();
      });
      const apply = el("button", "tpl-apply", "apply here");
      apply.title = "Switch the current window to this layout (panes that do not fit are hidden, not closed)";
      apply.addEventListener("click", () => {
        this.host.command("layout", win ? { window: win.id, layout: name } : { layout: name });
        this.close();
      });
      card.append(open, apply);
      list.appendChild(card);
    };
    for (const name of templates.builtin ?? []) add(String(name), BUILTIN_TREES[name] ?? "pane", false);
    for (const [name, tree] of Object.entries(templates.user ?? {})) add(name, tree, true);
    const err = byId("picker-error");
    err.textContent = this.layout?.templates_error ? String(this.layout.templates_error) : "";
    err.hidden = !this.layout?.templates_error;
  }

  // -- indicators --------------------------------------------------------------------------------
  /**
   * @param {string} role
   * @param {boolean} canMaster
   */
  setRole(role, canMaster) {
    this.role = role;
    this.canMaster = canMaster;
    this.roleEl.textContent = role === "master" ? "master" : "view only";
    this.roleEl.className = `role ${role}`;
    this.roleEl.title = role === "master" ? "This browser drives the session" : "This browser watches; input is refused";
    this.takeBtn.hidden = role === "master" || !canMaster;
    document.body.classList.toggle("viewer", role !== "master");
  }

  /** Make the role indicator shake: input was refused. */
  refused() {
    this.roleEl.classList.remove("refused");
    void this.roleEl.offsetWidth;
    this.roleEl.classList.add("refused");
  }

  /**
   * @param {ConnState} state
   * @param {{rtt: number | null, retryIn: number | null, attempt: number, reason: string, refusal: import("./refusal.js").Refusal | null}} d
   */
  setConnection(state, d) {
    const c = this.connEl;
    c.className = `conn ${state}`;
    let text;
    if (state === "open") text = d.rtt === null ? "connected" : `${d.rtt < 10 ? d.rtt.toFixed(1) : Math.round(d.rtt)} ms`;
    else if (state === "reconnecting") text = d.retryIn !== null ? `reconnecting… (${Math.ceil(d.retryIn / 1000)} s)` : "reconnecting…";
    else if (state === "offline") text = "offline";
    else if (state === "signed-out") text = "signed out";
    else if (state === "refused") text = d.refusal ? d.refusal.label : "refused";
    else text = "connecting…";
    if (state === "reconnecting" && d.refusal && d.refusal.retry) text = `${d.refusal.label}: ${text}`;
    c.textContent = text;
    c.title = state === "signed-out" ? "Open the URL printed by 'dullahan url' again to sign in"
      : state === "refused" && d.refusal ? `${d.refusal.text} Click to retry.`
        : state === "open" ? "Connected; round-trip time to the server" : `Not connected (${d.reason}); click to retry now`;
  }

  // -- toasts ------------------------------------------------------------------------------------
  /**
   * Show a small notice. Repeats of the same text within two seconds are dropped.
   * @param {string} title
   * @param {string} [body]
   * @param {"info" | "warn" | "error" | "notify"} [kind]
   * @param {{label: string, action: () => void}} [button]
   */
  toast(title, body = "", kind = "info", button) {
    const key = `${kind}\0${title}\0${body}`;
    const now = Date.now();
    if ((this.recentToasts.get(key) ?? 0) > now - 2000) return;
    this.recentToasts.set(key, now);
    if (this.recentToasts.size > 50) this.recentToasts.clear();
    const t = el("div", `toast ${kind}`);
    t.setAttribute("role", "status");
    t.appendChild(el("strong", "", title.slice(0, 200)));
    if (body) t.appendChild(el("div", "body", body.slice(0, 1000)));
    if (button) {
      const b = el("button", "", button.label);
      b.addEventListener("click", (e) => {
        e.stopPropagation();
        button.action();
        t.remove();
      });
      t.appendChild(b);
    }
    t.addEventListener("click", () => t.remove());
    this.toasts.appendChild(t);
    while (this.toasts.children.length > 5) this.toasts.firstChild?.remove();
    setTimeout(() => t.remove(), kind === "error" ? 10000 : 6000);
  }

  // -- settings ----------------------------------------------------------------------------------
  showSettings() {
    const s = this.host.settings();
    const form = /** @type {HTMLFormElement} */ (byId("settings-form"));
    const theme = /** @type {HTMLSelectElement} */ (form.elements.namedItem("theme"));
    if (theme.options.length === 0) {
      theme.appendChild(new Option("Auto (follow the system)", "auto"));
      for (const t of THEMES) theme.appendChild(new Option(t.label, t.name));
    }
    const set = (/** @type {string} */ name, /** @type {string} */ value) => {
      const f = /** @type {HTMLInputElement | HTMLSelectElement} */ (form.elements.namedItem(name));
      f.value = value;
    };
    set("theme", s.theme);
    set("fontFamily", s.fontFamily);
    set("fontSize", String(s.fontSize));
    set("lineHeight", String(s.lineHeight));
    set("cursorStyle", s.cursorStyle);
    set("cursorBlink", s.cursorBlink);
    const prefixField = /** @type {HTMLSelectElement} */ (form.elements.namedItem("prefixKey"));
    if (prefixField.options.length === 0 || ![...prefixField.options].some((o) => o.value === s.prefixKey)) {
      prefixField.textContent = "";
      const choices = PREFIX_CHOICES.includes(s.prefixKey) ? PREFIX_CHOICES : [s.prefixKey, ...PREFIX_CHOICES];
      for (const c of choices) prefixField.appendChild(new Option(c === "off" ? "off" : prefixLabel(c), c));
    }
    set("prefixKey", s.prefixKey);
    const check = (/** @type {string} */ name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name));
    check("clipboardWrites").checked = s.clipboardWrites;
    check("copyOnSelect").checked = s.copyOnSelect;
    check("middleClickPaste").checked = s.middleClickPaste;
    check("guardUnload").checked = s.guardUnload;
    if (!form.dataset.wired) {
      form.dataset.wired = "1";
      const apply = () => {
        const get = (/** @type {string} */ name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name)).value;
        this.host.applySettings({
          theme: get("theme"),
          fontFamily: get("fontFamily") || DEFAULT_FONT,
          fontSize: Number(get("fontSize")),
          lineHeight: Number(get("lineHeight")),
          cursorStyle: /** @type {Settings["cursorStyle"]} */ (get("cursorStyle")),
          cursorBlink: /** @type {Settings["cursorBlink"]} */ (get("cursorBlink")),
          clipboardWrites: check("clipboardWrites").checked,
          guardUnload: check("guardUnload").checked,
          prefixKey: get("prefixKey"),
          copyOnSelect: check("copyOnSelect").checked,
          middleClickPaste: check("middleClickPaste").checked,
        });
      };
      form.addEventListener("input", apply);
      form.addEventListener("change", apply);
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        this.close();
      });
      byId("settings-reset").addEventListener("click", () => {
        this.host.applySettings({ ...DEFAULTS });
        this.showSettings();
      });
    }
    this.open(this.settingsDlg);
  }
}

/**
 * What a window's tab says: the layout's `title` (the window's name, else its active pane's title), else its
 * number. Never the layout's name.
 * @param {any} w
 */
export function tabTitle(w) {
  const title = typeof w?.title === "string" && w.title ? w.title : typeof w?.name === "string" && w.name ? w.name : "";
  return title || `window ${w?.id}`;
}
