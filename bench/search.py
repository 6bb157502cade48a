"""Search over 100,000 lines of history: how long ``term.search.search`` takes, standalone.

    python -m bench.search [--lines 100000] [--runs 11] [--no-save]

One Ghostty terminal (120x40, scrollback for all the lines) is fed the lines once; each query is then run
``--runs`` times and reported as the median with min–max. The result goes to ``docs/bench/search.json``,
which ``bench/report.py`` turns into the search section of docs/BENCHMARKS.md. No server, no PTY: this
measures the search itself (formatter + ``re`` + the cell mapping), which runs under the pane's lock on the
event loop.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):   # run as a script: python bench/search.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from dullahan.term.search import screen_bytes, search
from dullahan.term.vt import VTerm

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "bench" / "search.json"
COLS, ROWS = 120, 40
WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet")


def history_lines(count: int) -> list[str]:
    """Log-like lines; every 1000th carries MARKER and État, every 50th some CJK (the cell-by-cell path)."""
    out = []
    for i in range(count):
        words = " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(8))
        tag = "MARKER État" if i % 1000 == 999 else "info"
        wide = " 宽字符 日志" if i % 50 == 0 else ""
        out.append(f"2026-12-01T10:{i // 60 % 60:02d}:{i % 60:02d} [{tag}] line {i} {words}{wide}")
    return out


QUERIES: list[tuple[str, str, dict[str, Any]]] = [
    ("rare word, ignoring case (every 1000th line)", "marker", {}),
    ("rare word, exact case", "MARKER", {"case_sensitive": True}),
    ("rare non-ASCII word, ignoring case (a byte pattern of both cases)", "ÉTAT", {}),
    ("common word, the first 1000 (it is on every line)", "bravo", {}),
    ("no match", "not-in-the-history", {}),
    ("CJK word, the first 1000 (every 50th line, each read cell by cell)", "日志", {}),
]


def timed(fn: Any, runs: int) -> tuple[list[float], Any]:
    times = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return times, result


def measure(lines: int, runs: int) -> dict[str, Any]:
    vt = VTerm(COLS, ROWS, lines + 1000)
    try:
        data = ("\r\n".join(history_lines(lines)) + "\r\n").encode()
        for i in range(0, len(data), 64 * 1024):
            vt.feed(data[i:i + 64 * 1024])
        rows = vt.total_rows()
        format_ms, text = timed(lambda: screen_bytes(vt), runs)
        results: dict[str, Any] = {
            "lines": lines, "total_rows": rows, "text_bytes": len(text), "runs": runs,
            "format_ms": format_ms, "queries": [],
        }
        for label, query, options in QUERIES:
            ms, found = timed(lambda q=query, o=options: search(vt, q, **o), runs)
            results["queries"].append({"label": label, "query": query, "options": options, "ms": ms,
                                       "matches": len(found.matches), "more": found.more})
        return results
    finally:
        vt.close()


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def summary(ms: list[float]) -> str:
    return f"{statistics.median(ms):.1f} ms ({min(ms):.1f}–{max(ms):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--no-save", action="store_true", help="print only; do not write docs/bench/search.json")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    results = measure(args.lines, args.runs)
    results["machine"] = (f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, load average "
                          f"{load_before:.1f} before and {os.getloadavg()[0]:.1f} after")
    results["measured"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"{results['total_rows']} rows, {results['text_bytes'] / 1e6:.1f} MB of text; "
          f"formatter alone {summary(results['format_ms'])}")
    for q in results["queries"]:
        print(f"{q['label']}: {summary(q['ms'])}, {q['matches']} matches, more={q['more']}")
    if not args.no_save:
        OUT.write_text(json.dumps(results, indent=1) + "\n")
        print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
