// The clipboard: copying the selection, pasting (in chunks that fit the protocol's messages), and
// clipboard writes requested by programs (OSC 52). Text from programs is untrusted and is only ever
// placed on the clipboard as plain text, for the master, when the user allows it.

import { splitPaste, utf8Length } from "./keys.js";

/**
 * @typedef {object} ClipboardHost
 * @property {(msg: object) => boolean} send
 * @property {() => boolean} isMaster
 * @property {() => number | null} activePane
 * @property {() => {message: number, paste: number, paste_chunk: number}} limits
 * @property {() => boolean} programWritesAllowed
 * @property {(title: string, body?: string, kind?: "info" | "warn" | "error" | "notify", button?: {label: string, action: () => void}) => void} toast
 * @property {() => void} refused
 */

export class ClipboardBridge {
  /** @param {ClipboardHost} host */
  constructor(host) {
    this.host = host;
    /** @type {string | null} the text for the copy event that `write` triggers */
    this.pending = null;
  }

  /**
   * Send a paste to the focused pane: chunks of at most one message each, `more` on all but the last.
   * @param {string} text
   */
  paste(text) {
    const host = this.host;
    const pane = host.activePane();
    if (pane === null || !text) return;
    if (!host.isMaster()) {
      host.send({ t: "paste", p: pane, d: text.slice(0, 100), more: false });   // refused, visibly
      host.refused();
      return;
    }
    const limits = host.limits();
    if (utf8Length(text) > limits.paste) {
      host.toast("Paste too large", `The server accepts at most ${limits.paste} bytes.`, "error");
      return;
    }
    const chunks = splitPaste(text, limits.message - 256, limits.paste_chunk);
    chunks.forEach((d, i) => host.send({ t: "paste", p: pane, d, more: i < chunks.length - 1 }));
  }

  /**
   * Put text on the clipboard: through a copy event (works inside a key or click handler in every
   * browser, no permission needed), else the async clipboard API.
   * @param {string} text
   * @returns {boolean}
   */
  write(text) {
    this.pending = text;
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch {
      ok = false;
    } finally {
      this.pending = null;
    }
    if (!ok && navigator.clipboard) {
      navigator.clipboard.writeText(text).catch(() => this.host.toast("Copy failed", "The browser refused the clipboard.", "error"));
      ok = true;
    }
    return ok;
  }

  /**
   * An OSC 52 write from a program: for the master only, when allowed; offered with a button when the
   * browser wants a click first.
   * @param {string} text
   */
  programWrite(text) {
    const host = this.host;
    if (!host.isMaster() || !host.programWritesAllowed() || !text) return;
    const offer = () => host.toast("A program wants to set the clipboard", `${text.length} characters`, "info",
      { label: "Copy", action: () => this.write(text) });
    if (navigator.clipboard && document.hasFocus()) navigator.clipboard.writeText(text).catch(offer);
    else offer();
  }
}
