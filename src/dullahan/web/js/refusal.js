// Why the server refused this page's WebSocket, in words, and whether retrying can help.
//
// A page cannot read the HTTP status of a refused WebSocket upgrade. After a failed upgrade it asks the
// server (`GET <base>refusal`, relative to the page) for the reason of its last refusal; a refused Host
// never reaches that handler, so every refusal response also names its reason in the X-Dullahan-Refused
// header. This module turns the answer into what the page shows.

export const REFUSAL_PATH = "refusal";
export const REFUSAL_HEADER = "X-Dullahan-Refused";

/**
 * @typedef {object} Refusal
 * @property {string} code      the server's reason (origin_rejected, host_rejected, too_many_connections ...)
 * @property {string} label     a few words for the connection indicator
 * @property {string} title     the headline of the notice
 * @property {string} text      what happened and what to do
 * @property {boolean} retry    whether retrying by itself can help
 */

/** @type {Record<string, Omit<Refusal, "code">>} */
const REFUSALS = {
  origin_rejected: {
    label: "origin refused",
    title: "Connection refused: origin",
    text: "The server refused this page's origin: the scheme, host or port the browser used is not the one "
      + "the server expects. Behind a reverse proxy, start the server with --trusted-proxy <the proxy's address> "
      + "and have the proxy send X-Forwarded-Proto and X-Forwarded-Host.",
    retry: false,
  },
  host_rejected: {
    label: "host refused",
    title: "Connection refused: host name",
    text: "The server does not answer to this host name. Start it with --allowed-host <name> to allow it.",
    retry: false,
  },
  too_many_connections: {
    label: "server full",
    title: "Server full",
    text: "The server has as many connections as it allows; the page keeps retrying.",
    retry: true,
  },
};

/** Reasons that mean the session itself is gone: the page shows "signed out". */
export const SIGNED_OUT_REASONS = new Set(["signed_out", "auth_failed"]);

/**
 * The refusal for a reason code, or null for an unknown or absent one.
 * @param {string | null | undefined} code
 * @param {string} [detail]  the server's detail, appended to the text
 * @returns {Refusal | null}
 */
export function explainRefusal(code, detail = "") {
  if (!code || !Object.hasOwn(REFUSALS, code)) return null;
  const r = REFUSALS[code];
  const extra = detail ? ` (${detail.slice(0, 300)})` : "";
  return { code, ...r, text: r.text + extra };
}

/**
 * The reason code in the answer to the refusal query: the header of a refused request wins over the body.
 * @param {string | null} header
 * @param {unknown} body  the parsed JSON body, if any
 * @returns {string | null}
 */
export function refusalReason(header, body) {
  if (header) return header;
  if (body && typeof body === "object" && "reason" in body) {
    const reason = /** @type {{reason: unknown}} */ (body).reason;
    return typeof reason === "string" ? reason : null;
  }
  return null;
}

/**
 * The directory of a page's path: where its WebSocket and refusal query live ("/a/b/" for "/a/b/" and "/a/b/x").
 * @param {string} pathname
 */
export function baseDirectory(pathname) {
  const path = pathname.startsWith("/") ? pathname : `/${pathname}`;
  return path.slice(0, path.lastIndexOf("/") + 1);
}
