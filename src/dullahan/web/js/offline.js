// The offline page's script: ask the server again and again (backing off to every 10 s, at once when the
// network comes back or the button is pressed), and load the app as soon as the server answers at all.
// Self-contained: the service worker serves this file from its cache while the server is gone.

const FIRST_MS = 1000;
const MAX_MS = 10000;
const PROBE_TIMEOUT_MS = 5000;

/**
 * The delay before retry number `attempt` (0-based): 1 s, 2 s, 4 s, 8 s, then 10 s.
 * @param {number} attempt
 */
function retryDelay(attempt) {
  return Math.min(MAX_MS, FIRST_MS * 2 ** Math.min(10, Math.max(0, attempt)));
}

const statusEl = document.getElementById("offline-status");
const button = document.getElementById("offline-retry");
let attempt = 0;
let due = 0;
/** @type {ReturnType<typeof setTimeout> | null} */
let timer = null;
let probing = false;

/** @param {string} text */
function say(text) {
  if (statusEl) statusEl.textContent = text;
}

async function probe() {
  if (probing) return;
  probing = true;
  if (timer !== null) clearTimeout(timer);
  timer = null;
  say("Trying again…");
  try {
    // Any answer, a refusal included, means the server is back: the page reloads and the server decides.
    await fetch(new URL(".", location.href), {
      method: "HEAD", cache: "no-store", credentials: "same-origin", signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    say("The server answers: reloading…");
    location.reload();
    return;
  } catch {
    probing = false;
  }
  const delay = retryDelay(attempt++);
  due = Date.now() + delay;
  timer = setTimeout(probe, delay);
  countdown();
}

function countdown() {
  if (probing || timer === null) return;
  const s = Math.max(1, Math.ceil((due - Date.now()) / 1000));
  say(`Unreachable. Trying again in ${s} s.`);
}

button?.addEventListener("click", () => {
  attempt = 0;
  probe();
});
addEventListener("online", () => {
  attempt = 0;
  probe();
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") probe();
});
setInterval(countdown, 1000);
probe();
