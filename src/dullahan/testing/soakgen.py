"""Bursty terminal output for the soak test; runs inside a pane (standard library only, run by path).

    python soakgen.py MODE SECONDS SEED

Modes:
- ``colour``: floods of styled text (16/256/truecolour, bold, italic, underlines, inverse, wide characters);
- ``redraw``: full-screen redraws with cursor addressing and SGR, part of the time on the alternate screen;
- ``scroll``: plain scrolling with ``seq`` and ``yes | head`` (child processes writing to the PTY).

Each mode first fills the scrollback (about 11 000 lines, so memory reaches its steady state early), then
alternates bursts of output at full speed with pauses until SECONDS have passed, and ends by printing
``SOAK-DONE <mode>`` on the main screen.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import time

PREFILL_LINES = 11_000
WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo",
         "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform", "victor",
         "whiskey", "x-ray", "yankee", "zulu", "漢字", "テスト", "🙂", "é", "ß", "→", "│", "█", "░")


class Gen:
    def __init__(self, mode: str, seconds: float, seed: int) -> None:
        self.mode = mode
        self.end = time.monotonic() + seconds
        self.rnd = random.Random(seed)
        self.out = sys.stdout.buffer
        size = shutil.get_terminal_size((80, 24))
        self.cols, self.rows = max(10, size.columns), max(3, size.lines)
        self.alt = False
        self.frame = 0

    def write(self, text: str) -> None:
        self.out.write(text.encode("utf-8"))

    def flush(self) -> None:
        self.out.flush()

    # -- pieces -------------------------------------------------------------------------------------
    def sgr(self) -> str:
        r = self.rnd
        kind = r.random()
        if kind < 0.3:
            code = f"{r.choice((30, 90)) + r.randrange(8)}"
        elif kind < 0.6:
            code = f"38;5;{r.randrange(256)}"
        elif kind < 0.8:
            code = f"38;2;{r.randrange(256)};{r.randrange(256)};{r.randrange(256)}"
        else:
            code = f"48;5;{r.randrange(256)}"
        extra = r.choice(("", "", "", ";1", ";3", ";4", ";4:3", ";7", ";2", ";9", ";1;3"))
        return f"\x1b[{code}{extra}m"

    def colour_line(self) -> str:
        r = self.rnd
        target = int(self.cols * r.uniform(0.2, 1.8))
        parts, n = [], 0
        while n < target:
            word = r.choice(WORDS)
            parts.append(f"{self.sgr()}{word}\x1b[0m ")
            n += len(word) + 1
        return "".join(parts) + "\r\n"

    def redraw(self) -> str:
        """One full screen: every row addressed, coloured, and its text changed."""
        r = self.rnd
        self.frame += 1
        out = ["\x1b[2J" if r.random() < 0.1 else "", "\x1b[H"]
        for y in range(self.rows):
            bg = r.randrange(256)
            text = f" frame {self.frame:7d} row {y:3d} " + "".join(r.choice(WORDS) + " " for _ in range(12))
            text = text[: self.cols - 2]
            out.append(f"\x1b[{y + 1};1H\x1b[48;5;{bg}m\x1b[38;2;{r.randrange(256)};{r.randrange(256)};"
                       f"{r.randrange(256)}m{text}\x1b[K\x1b[0m")
        out.append(f"\x1b[{r.randrange(self.rows) + 1};{r.randrange(self.cols) + 1}H")
        return "".join(out)

    def toggle_alt(self) -> None:
        self.alt = not self.alt
        self.write("\x1b[?1049h" if self.alt else "\x1b[?1049l")

    def scroll_burst(self, until: float) -> None:
        r = self.rnd
        while time.monotonic() < until:
            self.flush()
            if r.random() < 0.5:
                subprocess.run(["seq", "1", str(r.randrange(1000, 200_000))], check=False)
            else:
                subprocess.run(f"yes 'soak scrolling line {r.randrange(10**6)}' | head -n {r.randrange(1000, 100_000)}",
                               shell=True, check=False)

    # -- phases -------------------------------------------------------------------------------------
    def prefill(self) -> None:
        if self.mode == "scroll":
            self.flush()
            subprocess.run(["seq", "1", str(PREFILL_LINES)], check=False)
            return
        batch: list[str] = []
        for _ in range(PREFILL_LINES):
            batch.append(self.colour_line())
            if len(batch) >= 200:
                self.write("".join(batch))
                batch = []
        self.write("".join(batch))
        self.flush()

    def burst(self, until: float) -> None:
        if self.mode == "scroll":
            self.scroll_burst(until)
            return
        while time.monotonic() < until:
            if self.mode == "colour":
                self.write("".join(self.colour_line() for _ in range(100)))
            else:
                if self.rnd.random() < 0.02:
                    self.toggle_alt()
                self.write(self.redraw())
            self.flush()

    def run(self) -> None:
        self.prefill()
        r = self.rnd
        while (now := time.monotonic()) < self.end:
            self.burst(min(self.end, now + r.uniform(0.05, 1.5)))
            time.sleep(max(0.0, min(self.end - time.monotonic(), r.uniform(0.05, 1.0))))
        if self.alt:
            self.toggle_alt()
        self.write(f"\x1b[0m\r\nSOAK-DONE {self.mode}\r\n")
        self.flush()


def main() -> None:
    mode, seconds, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1
    if mode not in ("colour", "redraw", "scroll"):
        raise SystemExit(f"unknown mode {mode!r}")
    try:
        Gen(mode, seconds, seed).run()
    except (BrokenPipeError, KeyboardInterrupt):
        pass


if __name__ == "__main__":
    main()
