// The right-click menu over a pane: copy the terminal's selection, paste, open or copy the link under the
// pointer, search. Not when the program gets the mouse (it gets the right button), and Shift+right click
// leaves the browser's own menu.

import { el } from "./pane.js";

/**
 * @typedef {object} MenuHost
 * @property {HTMLElement} root                              the screen (#screen)
 * @property {() => boolean} hasSelection
 * @property {() => void} copy
 * @property {() => void} paste                              from the clipboard, into the focused pane
 * @property {() => boolean} isMaster
 * @property {(e: MouseEvent) => string | null} linkAt       the link (OSC 8 or a URL in the text) under the pointer
 * @property {(text: string) => void} copyText
 * @property {() => void} openSearch
 * @property {() => void} refocus
 */

export class ContextMenu {
  /** @param {MenuHost} host */
  constructor(host) {
    this.host = host;
    this.el = el("div", "ctxmenu");
    this.el.id = "ctxmenu";
    this.el.hidden = true;
    this.el.setAttribute("role", "menu");
    document.body.appendChild(this.el);
    host.root.addEventListener("contextmenu", (e) => this.onContextMenu(e));
    document.addEventListener("mousedown", (e) => {
      if (!this.el.hidden && !this.el.contains(/** @type {Node} */ (e.target))) this.close();
    }, true);
    document.addEventListener("keydown", (e) => {
      if (!this.el.hidden && e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        this.close();
      }
    }, true);
    addEventListener("blur", () => this.close());
  }

  /** @param {MouseEvent} e */
  onContextMenu(e) {
    if (e.defaultPrevented || e.shiftKey) return;   // the program's right button, or the browser's menu
    const target = /** @type {HTMLElement} */ (e.target);
    if (!target.closest(".pbody")) return;
    e.preventDefault();
    const host = this.host;
    const link = host.linkAt(e);
    this.el.textContent = "";
    /** @param {string} label @param {boolean} enabled @param {() => void} act */
    const item = (label, enabled, act) => {
      const b = el("button", "ctxitem", label);
      b.setAttribute("role", "menuitem");
      b.disabled = !enabled;
      b.addEventListener("click", () => {
        this.close();
        act();
      });
      this.el.appendChild(b);
    };
    item("Copy", host.hasSelection(), () => host.copy());
    if (host.isMaster()) item("Paste", true, () => host.paste());
    if (link) {
      item("Open link", true, () => window.open(link, "_blank", "noopener,noreferrer"));
      item("Copy link", true, () => host.copyText(link));
    }
    item("Search…", true, () => host.openSearch());
    this.el.hidden = false;
    const w = this.el.offsetWidth;
    const h = this.el.offsetHeight;
    this.el.style.left = `${Math.max(0, Math.min(e.clientX, innerWidth - w - 4))}px`;
    this.el.style.top = `${Math.max(0, Math.min(e.clientY, innerHeight - h - 4))}px`;
  }

  close() {
    if (this.el.hidden) return;
    this.el.hidden = true;
    this.host.refocus();
  }
}
