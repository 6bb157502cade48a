// Drives Debian's firefox-esr for the end-to-end tests, through puppeteer-core over WebDriver BiDi
// (Playwright's Firefox is a patched build that cannot be installed here). pytest starts this once per
// session and speaks JSON lines over stdin/stdout (tests/firefox_support.py is the other end):
//
//   request   {"id": 7, "op": "evaluate", "args": {"page": 1, "fn": "(x) => x + 1", "arg": 41}}
//   reply     {"id": 7, "value": 42}            or   {"id": 7, "error": "message"}
//   event     {"event": "ready", "version": "firefox/153.8.0", "pid": 1234}   once the browser runs
//             {"event": "console", "page": 1, "type": "error", "text": "..."}   console.error in the page
//             {"event": "pageerror", "page": 1, "text": "..."}   uncaught errors, CSP violations, failed sockets
//
// Requests run concurrently and each has a deadline (args.timeout ms, default 30 s). End of stdin or a
// "quit" request closes the browser and exits. Only replies and events go to stdout; diagnostics go to stderr.

import { createInterface } from "node:readline";
import puppeteer from "puppeteer-core";

/** @typedef {import("puppeteer-core").Browser} Browser */
/** @typedef {import("puppeteer-core").BrowserContext} BrowserContext */
/** @typedef {import("puppeteer-core").Page} Page */
/** @typedef {import("puppeteer-core").KeyInput} KeyInput */
/** @typedef {import("puppeteer-core").MouseButton} MouseButton */
/** @typedef {Record<string, any>} Args */

const FIREFOX = process.env.DULLAHAN_FIREFOX || "/usr/bin/firefox-esr";
const DEFAULT_TIMEOUT_MS = 30_000;
const MODIFIERS = new Set(["Alt", "Control", "Meta", "Shift"]);
// puppeteer sends "Enter" as WebDriver's U+E007, which Firefox reports as code "NumpadEnter"; U+E006
// ("Return") is the main Enter key (code "Enter"), as Playwright's Chromium sends it.
const KEY_NAMES = new Map([["Enter", "\uE006"]]);

/**
 * @param {string} name  a key as Playwright names it
 * @returns {KeyInput}
 */
function keyInput(name) {
  return /** @type {KeyInput} */ (KEY_NAMES.get(name) ?? name);
}

/** @type {Map<number, {context: BrowserContext, page: Page}>} */
const pages = new Map();
let nextPageId = 1;

/** @param {object} message */
function emit(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/** @param {Args} args */
function pageOf(args) {
  const entry = pages.get(Number(args.page));
  if (!entry) throw new Error(`no page ${args.page}`);
  return entry.page;
}

/**
 * A function from its source, made here rather than in the page: the page's CSP forbids eval, and
 * puppeteer sends a function's own source text to the browser.
 * @param {string} source
 * @returns {(...args: any[]) => unknown}
 */
function functionFrom(source) {
  /** @type {unknown} */
  let fn = null;
  try {
    fn = new Function(`return (${source});`)();
  } catch {
    // not a function expression (its evaluation here failed): reported below
  }
  if (typeof fn !== "function") throw new Error(`evaluate takes the source of a function, not ${source.slice(0, 80)}`);
  return /** @type {(...args: any[]) => unknown} */ (fn);
}

/**
 * Press a key with modifiers held, written as Playwright writes it: "Control+Shift+KeyC", "Enter", "+".
 * @param {Page} page
 * @param {string} combo
 */
async function pressCombo(page, combo) {
  const parts = combo.length > 1 ? combo.split("+") : [combo];
  const key = parts.pop() || "+";   // "Control++" ends with an empty part: the key is "+"
  const held = parts.filter((p) => p !== "");
  for (const m of held) {
    if (!MODIFIERS.has(m)) throw new Error(`unknown modifier ${m} in ${combo}`);
    await page.keyboard.down(keyInput(m));
  }
  try {
    await page.keyboard.press(keyInput(key));
  } finally {
    for (const m of held.reverse()) await page.keyboard.up(keyInput(m));
  }
}

/** @type {Browser | null} */
let browser = null;

/** @type {Record<string, (args: Args) => Promise<unknown>>} */
const ops = {
  /**
   * A page in a fresh browser context (its own cookies and storage), in a window of its own: a second
   * tab would hide the first one (document.hidden), and a hidden page draws no frames.
   */
  async open(args) {
    if (!browser) throw new Error("the browser is not running");
    const context = await browser.createBrowserContext();
    try {
      const page = await context.newPage({ type: "window" });
      const id = nextPageId++;
      pages.set(id, { context, page });
      page.on("console", (m) => {
        if (m.type() === "error") emit({ event: "console", page: id, type: m.type(), text: m.text() });
      });
      page.on("pageerror", (e) => emit({ event: "pageerror", page: id, text: String(e instanceof Error ? e.stack || e.message : e) }));
      await page.setViewport({ width: Number(args.width), height: Number(args.height) });
      if (args.initScript) await page.evaluateOnNewDocument(String(args.initScript));
      return id;
    } catch (e) {
      await context.close().catch(() => {});
      throw e;
    }
  },
  async goto(args) {
    await pageOf(args).goto(String(args.url), { waitUntil: "load", timeout: args.timeout ?? DEFAULT_TIMEOUT_MS });
    return null;
  },
  async evaluate(args) {
    const fn = functionFrom(String(args.fn));
    const page = pageOf(args);
    return "arg" in args ? page.evaluate(fn, args.arg) : page.evaluate(fn);
  },
  async type(args) {
    await pageOf(args).keyboard.type(String(args.text));
    return null;
  },
  async press(args) {
    await pressCombo(pageOf(args), String(args.key));
    return null;
  },
  async keyDown(args) {
    await pageOf(args).keyboard.down(keyInput(String(args.key)));
    return null;
  },
  async keyUp(args) {
    await pageOf(args).keyboard.up(keyInput(String(args.key)));
    return null;
  },
  async mouse(args) {
    const mouse = pageOf(args).mouse;
    const button = /** @type {MouseButton} */ (args.button ?? "left");
    switch (args.action) {
      case "move": await mouse.move(Number(args.x), Number(args.y), { steps: Number(args.steps ?? 1) }); break;
      case "down": await mouse.down({ button }); break;
      case "up": await mouse.up({ button }); break;
      case "click": await mouse.click(Number(args.x), Number(args.y), { button, count: Number(args.count ?? 1) }); break;
      case "wheel": await mouse.wheel({ deltaX: Number(args.dx ?? 0), deltaY: Number(args.dy ?? 0) }); break;
      default: throw new Error(`unknown mouse action ${args.action}`);
    }
    return null;
  },
  async viewport(args) {
    await pageOf(args).setViewport({ width: Number(args.width), height: Number(args.height) });
    return null;
  },
  async screenshot(args) {
    await pageOf(args).screenshot({ path: /** @type {`${string}.png`} */ (String(args.path)) });
    return null;
  },
  async close(args) {
    const entry = pages.get(Number(args.page));
    if (!entry) return null;
    pages.delete(Number(args.page));
    await entry.context.close();
    return null;
  },
  async quit() {
    setImmediate(shutdown);
    return null;
  },
};

/**
 * @template T
 * @param {Promise<T>} promise
 * @param {number} ms
 * @param {string} what
 * @returns {Promise<T>}
 */
function withDeadline(promise, ms, what) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return /** @type {Promise<T>} */ (Promise.race([promise, deadline])).finally(() => clearTimeout(timer));
}

/** @param {string} line */
async function handle(line) {
  /** @type {{id?: unknown, op?: unknown, args?: Args}} */
  let request;
  try {
    request = JSON.parse(line);
  } catch {
    process.stderr.write(`driver: not JSON: ${line.slice(0, 200)}\n`);
    return;
  }
  const { id, op, args = {} } = request;
  const fn = typeof op === "string" && Object.hasOwn(ops, op) ? ops[op] : null;
  if (!fn) {
    emit({ id, error: `unknown op ${String(op)}` });
    return;
  }
  try {
    const value = await withDeadline(fn(args), Number(args.timeout ?? DEFAULT_TIMEOUT_MS), String(op));
    emit({ id, value: value ?? null });
  } catch (e) {
    emit({ id, error: e instanceof Error ? e.message : String(e) });
  }
}

let closing = false;
async function shutdown() {
  if (closing) return;
  closing = true;
  try {
    await withDeadline(browser ? browser.close() : Promise.resolve(), 10_000, "closing the browser");
  } catch (e) {
    process.stderr.write(`driver: ${e instanceof Error ? e.message : String(e)}; killing the browser\n`);
    browser?.process()?.kill("SIGKILL");
  }
  process.exit(0);
}

async function main() {
  try {
    browser = await puppeteer.launch({
      browser: "firefox",
      executablePath: FIREFOX,
      headless: true,
      protocolTimeout: DEFAULT_TIMEOUT_MS,
      // Firefox's counterpart of the clipboard permissions granted in Chromium: navigator.clipboard works
      // without a fresh user gesture and without its paste prompt (the pref Mozilla's own tests set).
      extraPrefsFirefox: { "dom.events.testing.asyncClipboard": true },
    });
  } catch (e) {
    emit({ event: "failed", error: e instanceof Error ? e.message : String(e) });
    process.exit(1);
  }
  browser.on("disconnected", () => {
    if (!closing) {
      emit({ event: "failed", error: "the browser went away" });
      process.exit(1);
    }
  });
  emit({ event: "ready", version: await browser.version(), pid: browser.process()?.pid ?? null });
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    if (line.trim()) void handle(line);
  });
  lines.on("close", () => void shutdown());
}

process.on("SIGTERM", () => void shutdown());
await main();
