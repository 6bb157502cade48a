// The service worker (served at the app's base path as sw.js, so its scope is the whole app): when a page
// of the app cannot reach the server at all, it gets the offline page, which says so and retries. Its
// URLs are relative to where it is served, as the offline page's own links are relative to the page.
//
// It caches nothing but the offline page's own public files, listed below and fetched without
// credentials when the worker installs. Every other request goes to the network untouched: the app
// page, its session cookie, the token in a sign-in URL and the WebSocket never pass through a cache.

/**
 * The parts of the service worker's scope used here (the DOM library that the client is checked against
 * has no service worker types).
 * @typedef {object} WorkerScope
 * @property {string} location
 * @property {() => Promise<void>} skipWaiting
 * @property {{claim: () => Promise<void>}} clients
 * @property {(type: string, listener: (e: any) => void) => void} addEventListener
 */

/**
 * @typedef {object} FetchEventLike
 * @property {Request} request
 * @property {(r: Promise<Response>) => void} respondWith
 */

const scope = /** @type {WorkerScope} */ (/** @type {unknown} */ (self));
const CACHE = "dullahan-offline-v1";
const base = String(scope.location);
const OFFLINE_PAGE = new URL("static/offline.html", base).href;
const OFFLINE_FILES = [
  OFFLINE_PAGE,
  new URL("static/offline.css", base).href,
  new URL("static/js/offline.js", base).href,
  new URL("static/icons/icon.svg", base).href,
];

scope.addEventListener("install", (/** @type {{waitUntil: (p: Promise<unknown>) => void}} */ e) => {
  e.waitUntil(caches.open(CACHE)
    .then((cache) => cache.addAll(OFFLINE_FILES.map((url) => new Request(url, { credentials: "omit", cache: "no-store" }))))
    .then(() => scope.skipWaiting()));
});

scope.addEventListener("activate", (/** @type {{waitUntil: (p: Promise<unknown>) => void}} */ e) => {
  e.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n.startsWith("dullahan-") && n !== CACHE).map((n) => caches.delete(n))))
    .then(() => scope.clients.claim()));
});

scope.addEventListener("fetch", (/** @type {FetchEventLike} */ e) => {
  const req = e.request;
  if (req.method !== "GET") return;
  if (req.mode === "navigate") {
    // Only a network failure (no answer at all) gets the offline page; every answer, 403 included, is
    // the server's and goes through.
    e.respondWith(fetch(req).catch(() => caches.open(CACHE)
      .then((cache) => cache.match(OFFLINE_PAGE))
      .then((page) => page ?? Response.error())));
    return;
  }
  if (OFFLINE_FILES.includes(req.url)) {
    e.respondWith(caches.open(CACHE).then((cache) => cache.match(req)).then((hit) => hit ?? fetch(req)));
  }
});
