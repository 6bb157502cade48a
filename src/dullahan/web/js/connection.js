// The WebSocket to the server: hello, messages, RTT pings, and reconnecting by itself.
//
// A connection that drops is retried with exponential backoff and full jitter; a retry happens at once
// when the network comes back (`online`), the tab becomes visible, or the page returns from the
// back/forward cache (`pageshow`). A socket that stops answering pings (a laptop that slept, a network
// that changed under it) is closed and replaced. Tokens rotated on the server (close code 4001) or a
// session the server no longer accepts end the retries: the page must be opened with a URL again.
//
// Every reconnect presents the tab's resume secret (issued in the server's first hello, kept in
// sessionStorage so a reload keeps it too): the server recognises the same page, closes the connection it
// still holds for it, and keeps its role and its scroll positions. A connection closed with 4002 was
// superseded by another page presenting the same secret (a duplicated tab): this one forgets the secret
// and carries on as a new client.
//
// After a refused upgrade the page asks the server why (refusal.js): a refused origin or host name ends
// the retries with an explanation ("refused"); a full server is retried and said so. Every URL is
// relative to the page, so a server under a path prefix (--base-path) works unchanged.
//
// Binary messages carry images (images.js `parseImageMessage`); everything else is JSON text.

import { parseImageMessage } from "./images.js";
import {
  baseDirectory, explainRefusal, REFUSAL_HEADER, REFUSAL_PATH, refusalReason, SIGNED_OUT_REASONS,
} from "./refusal.js";

export const PROTOCOL_VERSION = 1;
export const BACKOFF_BASE_MS = 250;
export const BACKOFF_MAX_MS = 15000;
export const PING_EVERY_MS = 5000;
export const DEAD_AFTER_MS = 12000;
export const CLOSE_SIGNED_OUT = 4001;
export const CLOSE_SUPERSEDED = 4002;
export const PROBE_TIMEOUT_MS = 5000;
const RESUME_KEY = "dullahan.resume";

/**
 * Delay before retry number `attempt` (0-based): a random value in [cap/2, cap], cap = base·2^attempt
 * bounded by BACKOFF_MAX_MS.
 * @param {number} attempt
 * @param {() => number} [random]
 */
export function backoffDelay(attempt, random = Math.random) {
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(30, Math.max(0, attempt)));
  return Math.round(cap / 2 + random() * (cap / 2));
}

/**
 * The WebSocket URL for a page location: same host and path prefix (--base-path), ws or wss by its scheme.
 * @param {{protocol: string, host: string, pathname?: string}} loc
 */
export function socketUrl(loc) {
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}${baseDirectory(loc.pathname ?? "/")}ws`;
}

/**
 * @typedef {"connecting" | "open" | "reconnecting" | "offline" | "signed-out" | "refused"} ConnState
 * @typedef {import("./refusal.js").Refusal} Refusal
 */

/**
 * @typedef {object} ConnHandlers
 * @property {(msg: any) => void} onHello
 * @property {(msg: any) => void} onFrame
 * @property {(meta: import("./images.js").ImageMeta, bytes: Uint8Array<ArrayBuffer>) => void} onImage
 * @property {(msg: any) => void} onRole
 * @property {(msg: any) => void} onError
 * @property {(msg: any) => void} onResult   the answer to a command sent with an `id`
 * @property {(state: ConnState, detail: {rtt: number | null, retryIn: number | null, attempt: number, reason: string, refusal: Refusal | null}) => void} onState
 */

export class Connection {
  /**
   * @param {string} url
   * @param {ConnHandlers} handlers
   */
  constructor(url, handlers) {
    this.url = url;
    this.h = handlers;
    /** @type {WebSocket | null} */
    this.ws = null;
    /** @type {ConnState} */
    this.state = "connecting";
    this.attempt = 0;
    /** @type {number | null} */
    this.rtt = null;
    this.helloDone = false;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.retryTimer = null;
    /** @type {ReturnType<typeof setInterval> | null} */
    this.pingTimer = null;
    this.retryAt = 0;
    /** @type {ReturnType<typeof setInterval> | null} */
    this.countdown = null;
    this.pingId = 0;
    this.lastHeard = 0;
    this.pingSentAt = 0;
    this.pingOutstanding = false;
    this.suspended = false;   // page hidden into the back/forward cache
    this.reason = "";
    /** @type {Refusal | null} */
    this.refusal = null;
    this.connects = 0;
    this.bytesIn = 0;
    /** @type {string | null} this tab's resume secret (never the token) */
    this.resume = readResume();
    /** Whether the last hello was a resumed session (the server knew this page). */
    this.resumed = false;
    this.probes = 0;
  }

  /** Connect, and follow the page's network and visibility events. */
  start() {
    addEventListener("online", () => this.retryNow("online"));
    addEventListener("offline", () => {
      if (this.state !== "open") this.setState("offline");
    });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState !== "visible") return;
      if (this.state === "open") this.ping();   // after sleep the socket may be dead: find out now
      else this.retryNow("visible");
    });
    addEventListener("pageshow", (e) => {
      this.suspended = false;
      if (e.persisted || this.state !== "open") this.retryNow("pageshow");
    });
    addEventListener("pagehide", (e) => {
      if (e.persisted) {
        // Into the back/forward cache: close cleanly; pageshow reconnects.
        this.suspended = true;
        this.drop(1001, "page hidden");
      }
    });
    this.connect();
  }

  connect() {
    this.clearRetry();
    if (this.suspended || this.state === "signed-out" || this.state === "refused") return;
    this.drop(1000, "reconnecting");
    this.setState(this.connects === 0 ? "connecting" : "reconnecting");
    if (this.connects++ === 0) this.openSocket();
    else this.probeThenOpen();
  }

  /**
   * Before a reconnect, ask the server over HTTP and open the WebSocket only once it answers. Firefox
   * delays each new WebSocket to a server by up to a minute after failed ones (RFC 6455 7.2.3; the delay
   * grows with every failure), so retries while the server is unreachable must not be WebSocket attempts.
   */
  probeThenOpen() {
    const probe = ++this.probes;
    const current = () => probe === this.probes && !this.ws && !this.suspended && this.state !== "signed-out"
      && this.state !== "refused";
    fetch("./", { method: "HEAD", cache: "no-store", credentials: "same-origin", signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })
      .then((r) => {
        if (!current()) return;
        if (r.status === 403) this.onRefusal(r.headers.get(REFUSAL_HEADER) || "signed_out", "");
        else this.openSocket();
      }, (/** @type {unknown} */ e) => {
        if (!current()) return;
        this.reason = "server unreachable";
        // No answer within the timeout (a stopped or overloaded server, a black hole) is not a refusal:
        // ask again at once, so the moment the server answers the page is back. Errors back off.
        if (e instanceof DOMException && e.name === "TimeoutError" && navigator.onLine !== false) this.probeThenOpen();
        else this.scheduleRetry();
      });
  }

  openSocket() {
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      this.reason = String(e);
      this.scheduleRetry();
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.helloDone = false;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.lastHeard = performance.now();
      /** @type {{t: string, v: number, resume?: string}} */
      const hello = { t: "hello", v: PROTOCOL_VERSION };
      if (this.resume) hello.resume = this.resume;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      this.lastHeard = performance.now();
      if (ev.data instanceof ArrayBuffer) {
        this.bytesIn += ev.data.byteLength;
        const image = this.helloDone ? parseImageMessage(ev.data) : null;
        if (image) this.h.onImage(image.meta, image.bytes);
        else console.error("malformed binary message", ev.data.byteLength);
        return;
      }
      const data = typeof ev.data === "string" ? ev.data : "";
      this.bytesIn += data.length;
      let msg;
      try {
        msg = JSON.parse(data);
      } catch {
        return;
      }
      this.dispatch(msg);
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.stopPings();
      this.reason = ev.code ? `closed (${ev.code}${ev.reason ? " " + ev.reason : ""})` : "closed";
      if (ev.code === CLOSE_SIGNED_OUT) {
        this.setState("signed-out");
        return;
      }
      if (ev.code === CLOSE_SUPERSEDED) {
        // Another page took over this one's identity (a duplicated tab): carry on as a new client.
        this.setResume(null);
        this.attempt = 0;
      }
      if (!opened) this.askWhyRefused();
      this.scheduleRetry();
    };
    ws.onerror = () => {
      /* onclose follows and decides */
    };
  }

  /** @param {any} msg */
  dispatch(msg) {
    switch (msg && msg.t) {
      case "hello":
        this.helloDone = true;
        this.attempt = 0;
        this.resumed = typeof msg.resume === "string" && msg.resume === this.resume;
        if (typeof msg.resume === "string") this.setResume(msg.resume);
        this.refusal = null;
        this.setState("open");
        this.startPings();
        this.h.onHello(msg);
        break;
      case "f":
        this.h.onFrame(msg);
        break;
      case "role":
        this.h.onRole(msg);
        break;
      case "pong":
        if (typeof msg.ts === "number") {
          this.rtt = Math.max(0, performance.now() - msg.ts);
          this.pingOutstanding = false;
          this.setState(this.state);
        }
        break;
      case "error":
        this.h.onError(msg);
        break;
      case "result":
        this.h.onResult(msg);
        break;
      default:
        break;
    }
  }

  /**
   * Send one message; false when not connected.
   * @param {object} msg
   */
  send(msg) {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !this.helloDone) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  get open() {
    return this.state === "open";
  }

  /** Close the socket as if the network dropped it (used by tests and by the liveness check). */
  /**
   * @param {number} code
   * @param {string} reason
   */
  drop(code, reason) {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    this.stopPings();
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close(code, reason);
    } catch {
      /* already closed */
    }
  }

  /** @param {string} why */
  retryNow(why) {
    if (this.state === "open" || this.state === "signed-out" || this.suspended) return;
    if (this.state === "refused") {
      if (why !== "clicked") return;   // only the user, having fixed the server, asks again
      this.state = "reconnecting";
    }
    if (this.ws && this.ws.readyState === WebSocket.CONNECTING) return;   // an attempt is under way
    this.reason = why;
    this.attempt = 0;
    this.connect();
  }

  scheduleRetry() {
    this.clearRetry();
    if (this.suspended) return;
    const delay = backoffDelay(this.attempt++);
    this.retryAt = performance.now() + delay;
    this.retryTimer = setTimeout(() => this.connect(), delay);
    this.setState(navigator.onLine === false ? "offline" : "reconnecting");
    // Keep the countdown in the indicator current.
    if (this.countdown === null) {
      this.countdown = setInterval(() => {
        if (this.retryTimer !== null) this.setState(this.state);
      }, 1000);
    }
  }

  clearRetry() {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.countdown !== null) clearInterval(this.countdown);
    this.countdown = null;
  }

  /** A refused upgrade looks like any network error: ask the server why (see refusal.js). */
  askWhyRefused() {
    fetch(REFUSAL_PATH, { cache: "no-store", credentials: "same-origin" }).then(async (r) => {
      let body = null;
      try {
        body = await r.json();
      } catch {
        body = null;
      }
      const detail = body && typeof body.detail === "string" ? body.detail : "";
      this.onRefusal(refusalReason(r.headers.get(REFUSAL_HEADER), body), detail);
    }).catch(() => {
      /* the network is down: keep retrying */
    });
  }

  /**
   * @param {string | null} reason
   * @param {string} detail
   */
  onRefusal(reason, detail) {
    if (this.state === "open" || !reason) return;
    if (SIGNED_OUT_REASONS.has(reason)) {
      this.clearRetry();
      this.setState("signed-out");
      return;
    }
    const refusal = explainRefusal(reason, detail);
    if (!refusal) return;
    this.refusal = refusal;
    this.reason = refusal.label;
    if (refusal.retry) {
      this.setState(this.state);
    } else {
      this.clearRetry();
      this.setState("refused");
    }
  }

  startPings() {
    this.stopPings();
    this.pingOutstanding = false;
    this.ping();
    this.pingTimer = setInterval(() => this.tick(), 1000);
  }

  stopPings() {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  tick() {
    const now = performance.now();
    if (this.pingOutstanding && now - this.pingSentAt > DEAD_AFTER_MS && now - this.lastHeard > DEAD_AFTER_MS) {
      this.reason = "no answer to pings";
      this.drop(4000, "ping timeout");
      this.scheduleRetry();
      return;
    }
    if (!this.pingOutstanding && now - this.pingSentAt >= PING_EVERY_MS) this.ping();
  }

  ping() {
    const now = performance.now();
    if (this.send({ t: "ping", id: ++this.pingId, ts: now })) {
      this.pingSentAt = now;
      this.pingOutstanding = true;
    }
  }

  /** @param {string | null} secret */
  setResume(secret) {
    this.resume = secret;
    try {
      if (secret) sessionStorage.setItem(RESUME_KEY, secret);
      else sessionStorage.removeItem(RESUME_KEY);
    } catch {
      /* storage forbidden: the secret lives as long as the page */
    }
  }

  /** @param {ConnState} state */
  setState(state) {
    this.state = state;
    const retryIn = this.retryTimer !== null ? Math.max(0, this.retryAt - performance.now()) : null;
    this.h.onState(state, { rtt: this.rtt, retryIn, attempt: this.attempt, reason: this.reason, refusal: this.refusal });
  }
}

/** The resume secret this tab kept across a reload, if the browser lets us store it. */
function readResume() {
  try {
    const v = sessionStorage.getItem(RESUME_KEY);
    return v && v.length <= 64 ? v : null;
  } catch {
    return null;
  }
}
