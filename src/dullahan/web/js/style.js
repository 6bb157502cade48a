// Colours and styles: themes, the 256-colour palette, and style id -> CSS.
//
// Colours are CSS custom properties: --c0 … --c255 (palette), --fg and --bg (defaults). The theme sets
// them on the document; a pane overrides the ones its program changed (OSC 4/10/11) on its own element.
// A style therefore maps to one CSS rule that is right in every pane, and a theme or palette change
// repaints without touching a single row.

/** @typedef {import("./sync.js").Style} Style */

/**
 * @typedef {object} Theme
 * @property {string} name
 * @property {string} label
 * @property {boolean} dark
 * @property {string} fg
 * @property {string} bg
 * @property {string} cursor
 * @property {string} selection   a translucent colour drawn over selected cells
 * @property {string[]} ansi       palette entries 0..15
 */

/** @type {Theme[]} */
export const THEMES = [
  {
    name: "dark", label: "Dark", dark: true, fg: "#d8d8d8", bg: "#17181b", cursor: "#e8e8e8",
    selection: "rgba(120, 160, 255, 0.38)",
    ansi: ["#1d1f21", "#cc6666", "#b5bd68", "#f0c674", "#81a2be", "#b294bb", "#8abeb7", "#c5c8c6",
      "#666666", "#d54e53", "#b9ca4a", "#e7c547", "#7aa6da", "#c397d8", "#70c0b1", "#eaeaea"],
  },
  {
    name: "light", label: "Light", dark: false, fg: "#1f2328", bg: "#fbfbfa", cursor: "#1f2328",
    selection: "rgba(40, 110, 230, 0.28)",
    ansi: ["#24292f", "#c0392b", "#2d7d2f", "#9a6700", "#0550ae", "#8250df", "#1b7c83", "#6e7781",
      "#57606a", "#e5534b", "#3f9a41", "#b88000", "#218bff", "#a475f9", "#3192aa", "#8c959f"],
  },
  {
    name: "solarized-dark", label: "Solarized dark", dark: true, fg: "#93a1a1", bg: "#002b36", cursor: "#93a1a1",
    selection: "rgba(147, 161, 161, 0.3)",
    ansi: ["#073642", "#dc322f", "#859900", "#b58900", "#268bd2", "#d33682", "#2aa198", "#eee8d5",
      "#002b36", "#cb4b16", "#586e75", "#657b83", "#839496", "#6c71c4", "#93a1a1", "#fdf6e3"],
  },
  {
    name: "solarized-light", label: "Solarized light", dark: false, fg: "#586e75", bg: "#fdf6e3", cursor: "#586e75",
    selection: "rgba(38, 139, 210, 0.25)",
    ansi: ["#073642", "#dc322f", "#859900", "#b58900", "#268bd2", "#d33682", "#2aa198", "#eee8d5",
      "#002b36", "#cb4b16", "#586e75", "#657b83", "#839496", "#6c71c4", "#93a1a1", "#fdf6e3"],
  },
];

/** @param {string} name */
export function themeByName(name) {
  return THEMES.find((t) => t.name === name) ?? THEMES[0];
}

export const RGB_FLAG = 1 << 24;
export const BOLD = 1, ITALIC = 2, FAINT = 4, BLINK = 8, INVERSE = 16, INVISIBLE = 32, STRIKE = 64, OVERLINE = 128;
const UNDERLINE_STYLES = ["", "solid", "double", "wavy", "dotted", "dashed"];

/** @param {number} rgb 0xRRGGBB */
export function hex(rgb) {
  return "#" + (rgb & 0xffffff).toString(16).padStart(6, "0");
}

/**
 * Colour of palette entry 16..255 (the xterm cube and grey ramp); entries below 16 come from the theme.
 * @param {number} i
 * @returns {number} 0xRRGGBB
 */
export function cubeColor(i) {
  if (i >= 232) {
    const v = 8 + 10 * (i - 232);
    return v << 16 | v << 8 | v;
  }
  const n = i - 16;
  const level = (/** @type {number} */ k) => (k === 0 ? 0 : 55 + 40 * k);
  return level(Math.floor(n / 36)) << 16 | level(Math.floor(n / 6) % 6) << 8 | level(n % 6);
}

/**
 * A colour value as CSS: -1 is the default (var(--fg) / var(--bg)), 0..255 a palette variable,
 * RGB_FLAG | rgb a literal.
 * @param {number} c
 * @param {"fg" | "bg"} which  the default to use for -1
 */
export function colorCss(c, which) {
  if (c < 0) return `var(--${which})`;
  if (c < 256) return `var(--c${c})`;
  return hex(c);
}

/**
 * The CSS declarations of a style (for a rule `.sN { … }`). Pure.
 * @param {Style} style
 * @returns {string}
 */
export function styleCss(style) {
  const [fgc, bgc, flags, ulc] = style;
  let fg = colorCss(fgc, "fg");
  let bg = bgc < 0 ? null : colorCss(bgc, "bg");
  if (flags & INVERSE) {
    const newFg = bg ?? "var(--bg)";
    bg = fgc < 0 ? "var(--fg)" : fg;
    fg = newFg;
  }
  const out = [];
  if (flags & INVISIBLE) out.push("color:transparent");
  else if (flags & FAINT) out.push(`color:color-mix(in srgb, ${fg} 55%, ${bg ?? "var(--bg)"})`);
  else if (fgc >= 0 || flags & INVERSE) out.push(`color:${fg}`);
  if (bg !== null) out.push(`background-color:${bg}`);
  if (flags & BOLD) out.push("font-weight:bold");
  if (flags & ITALIC) out.push("font-style:italic");
  const ul = (flags >> 8) & 7;
  const lines = [];
  if (ul > 0) lines.push("underline");
  if (flags & STRIKE) lines.push("line-through");
  if (flags & OVERLINE) lines.push("overline");
  if (lines.length) {
    out.push(`text-decoration-line:${lines.join(" ")}`);
    if (ul > 0) {
      out.push(`text-decoration-style:${UNDERLINE_STYLES[ul] || "solid"}`);
      out.push("text-underline-offset:0.15em");
      if (ulc >= 0) out.push(`text-decoration-color:${colorCss(ulc, "fg")}`);
    }
  }
  if (flags & BLINK) out.push("animation:dh-text-blink 1.2s step-end infinite");
  return out.join(";");
}

/**
 * The custom properties a theme sets on the document: --fg, --bg, --cursor, --selection, --c0…--c255.
 * @param {Theme} theme
 * @returns {Array<[string, string]>}
 */
export function themeVariables(theme) {
  /** @type {Array<[string, string]>} */
  const vars = [["--fg", theme.fg], ["--bg", theme.bg], ["--cursor", theme.cursor], ["--selection", theme.selection]];
  for (let i = 0; i < 256; i++) vars.push([`--c${i}`, i < 16 ? theme.ansi[i] : hex(cubeColor(i))]);
  return vars;
}

/**
 * The custom properties a pane sets on its own element for the colours its program changed.
 * @param {Array<[number, number]>} pal  OSC 4 overrides
 * @param {number} fg  the pane's default foreground (OSC 10)
 * @param {number} bg  the pane's default background (OSC 11)
 * @returns {Array<[string, string]>}
 */
export function paneVariables(pal, fg, bg) {
  /** @type {Array<[string, string]>} */
  const vars = [];
  for (const [i, rgb] of pal) if (i >= 0 && i < 256) vars.push([`--c${i}`, hex(rgb)]);
  if (fg >= 0) vars.push(["--fg", hex(fg)]);   // -1: no program changed it (OSC 10/11), the theme applies
  if (bg >= 0) vars.push(["--bg", hex(bg)]);
  return vars;
}

/**
 * CSS rules for styles, in a constructed style sheet (allowed by the page's CSP). Rules are keyed by the
 * style's content, not its id: after reconnecting (possibly to a restarted server whose ids mean other
 * styles) nothing has to be thrown away, and rows still on screen keep their colours until redrawn.
 */
export class StyleRules {
  /** @param {Document} doc */
  constructor(doc) {
    this.sheet = new CSSStyleSheet();
    doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, this.sheet];
    /** @type {Map<string, string>} CSS declarations -> class name */
    this.byCss = new Map();
    /** @type {Map<number, string>} style id -> class name, for this connection */
    this.byId = new Map();
  }

  /** A new connection: style ids may mean other styles now. */
  reset() {
    this.byId.clear();
  }

  /**
   * The class name for a style id ("" for the default look), defining its rule on first use.
   * @param {number} sid
   * @param {Style | undefined} style
   */
  className(sid, style) {
    let cls = this.byId.get(sid);
    if (cls !== undefined) return cls;
    if (!style) return "";
    const css = styleCss(style);
    cls = this.byCss.get(css);
    if (cls === undefined) {
      cls = css ? `s${this.byCss.size}` : "";
      this.byCss.set(css, cls);
      if (css) this.sheet.insertRule(`.${cls}{${css}}`, this.sheet.cssRules.length);
    }
    this.byId.set(sid, cls);
    return cls;
  }
}
