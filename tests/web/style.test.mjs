// Style ids -> CSS, the 256-colour palette, themes and per-pane colour overrides.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  colorCss, cubeColor, hex, paneVariables, styleCss, THEMES, themeVariables,
} from "../../src/dullahan/web/js/style.js";

const RGB = 1 << 24;

test("colour values: default, palette entries as variables, truecolour as literals", () => {
  assert.equal(colorCss(-1, "fg"), "var(--fg)");
  assert.equal(colorCss(-1, "bg"), "var(--bg)");
  assert.equal(colorCss(1, "fg"), "var(--c1)");
  assert.equal(colorCss(255, "fg"), "var(--c255)");
  assert.equal(colorCss(RGB | 0x0a0b0c, "fg"), "#0a0b0c");
});

test("the xterm cube and grey ramp", () => {
  assert.equal(hex(cubeColor(16)), "#000000");
  assert.equal(hex(cubeColor(21)), "#0000ff");
  assert.equal(hex(cubeColor(196)), "#ff0000");
  assert.equal(hex(cubeColor(231)), "#ffffff");
  assert.equal(hex(cubeColor(67)), "#5f87af");
  assert.equal(hex(cubeColor(232)), "#080808");
  assert.equal(hex(cubeColor(255)), "#eeeeee");
});

test("plain styles", () => {
  assert.equal(styleCss([-1, -1, 0, -1]), "");
  assert.equal(styleCss([1, -1, 0, -1]), "color:var(--c1)");
  assert.equal(styleCss([-1, 2, 0, -1]), "background-color:var(--c2)");
  assert.equal(styleCss([RGB | 0xff8000, RGB | 0x000010, 0, -1]), "color:#ff8000;background-color:#000010");
  assert.equal(styleCss([-1, -1, 1 | 2, -1]), "font-weight:bold;font-style:italic");
});

test("inverse swaps foreground and background, defaults included", () => {
  assert.equal(styleCss([-1, -1, 16, -1]), "color:var(--bg);background-color:var(--fg)");
  assert.equal(styleCss([1, 4, 16, -1]), "color:var(--c4);background-color:var(--c1)");
  assert.equal(styleCss([RGB | 0x112233, -1, 16, -1]), "color:var(--bg);background-color:#112233");
});

test("faint mixes towards the background, invisible is transparent", () => {
  assert.equal(styleCss([2, -1, 4, -1]), "color:color-mix(in srgb, var(--c2) 55%, var(--bg))");
  assert.equal(styleCss([2, 3, 32, -1]), "color:transparent;background-color:var(--c3)");
});

test("underline kinds, underline colour, strikethrough, overline and blink", () => {
  assert.match(styleCss([-1, -1, 1 << 8, -1]), /text-decoration-line:underline;text-decoration-style:solid/);
  assert.match(styleCss([-1, -1, 2 << 8, -1]), /text-decoration-style:double/);
  assert.match(styleCss([-1, -1, 3 << 8, 9]), /text-decoration-style:wavy.*text-decoration-color:var\(--c9\)/);
  assert.match(styleCss([-1, -1, 4 << 8, -1]), /dotted/);
  assert.match(styleCss([-1, -1, 5 << 8, -1]), /dashed/);
  assert.equal(styleCss([-1, -1, 64, -1]), "text-decoration-line:line-through");
  assert.equal(styleCss([-1, -1, 64 | 128 | (1 << 8), -1]).split(";")[0], "text-decoration-line:underline line-through overline");
  assert.match(styleCss([-1, -1, 8, -1]), /animation:dh-text-blink/);
});

test("themes define all 16 colours; variables cover the whole palette", () => {
  assert.ok(THEMES.some((t) => t.dark) && THEMES.some((t) => !t.dark), "light and dark themes");
  for (const t of THEMES) {
    assert.equal(t.ansi.length, 16);
    const vars = new Map(themeVariables(t));
    assert.equal(vars.get("--c0"), t.ansi[0]);
    assert.equal(vars.get("--c16"), "#000000");
    assert.equal(vars.get("--c255"), "#eeeeee");
    assert.equal(vars.get("--fg"), t.fg);
  }
});

test("a pane overrides only what its program changed", () => {
  assert.deepEqual(paneVariables([], -1, -1), []);
  assert.deepEqual(paneVariables([[1, 0xff0000], [300, 1]], -1, 0xffffff),
    [["--c1", "#ff0000"], ["--bg", "#ffffff"]]);
});
