"""Turns a results file into docs/BENCHMARKS.md and the plots in docs/bench/.

Every number in the document comes from the results (median with min-max over the runs); the analysis of
missed targets is hand-written in ``bench/ANALYSIS.md`` and included as it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import ROOT, Spread, percentile

DOCS = ROOT / "docs"
PLOTS = DOCS / "bench"
ANALYSIS = ROOT / "bench" / "ANALYSIS.md"
MIB = 1024 * 1024
ORDER = ("dullahan", "before", "tmux", "terminado", "wetty", "bare")
LABELS = {"dullahan": "Dullahan", "before": "Dullahan before", "tmux": "tmux", "terminado": "terminado",
          "wetty": "WeTTY", "bare": "bare PTY (floor)"}
COLOURS = {"dullahan": "#7b2cbf", "before": "#c8b6e2", "tmux": "#2a9d8f", "terminado": "#e76f51", "wetty": "#f4a261",
           "bare": "#8d99ae"}


def runs_of(results: dict[str, Any], figure: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in results.get("figures", {}).get(figure, []):
        if "error" not in row:
            out.setdefault(row["peer"], []).append(row["result"])
    return {p: out[p] for p in ORDER if p in out}


def errors_of(results: dict[str, Any], figure: str) -> list[str]:
    return [f"{r['peer']} run {r['run']}: {r['error']}" for r in results.get("figures", {}).get(figure, [])
            if "error" in r]


def measured(doc: Doc, results: dict[str, Any], key: str) -> None:
    info = results.get("figure_runs", {}).get(key)
    if info:
        at = f" at git {info['git']}" if info.get("git") else ""
        doc.add(f"*Measured {info.get('started')}{at}, {info.get('runs')} run(s) per peer: "
                f"`{info.get('command')}`.*", "")


def spread(runs: list[dict[str, Any]], fn: Callable[[dict[str, Any]], float]) -> Spread:
    return Spread.of([fn(r) for r in runs])


def fmt(v: float, unit: str = "", digits: int = 2) -> str:
    if v != v:
        return "–"
    if unit == "×":
        return f"{v:.{digits}f}×"
    if unit == "MB":
        return f"{v / 1e6:.{digits}f} MB"
    if unit == "B":
        if abs(v) >= MIB:
            return f"{v / MIB:.{digits}f} MiB"
        if abs(v) >= 1024:
            return f"{v / 1024:.{digits}f} KiB"
        return f"{v:.0f} B"
    return f"{v:.{digits}f}{(' ' + unit) if unit else ''}"


def cell(s: Spread, unit: str = "", digits: int = 2) -> str:
    if not s.n:
        return "–"
    if s.n == 1:
        return fmt(s.median, unit, digits)
    return f"{fmt(s.median, unit, digits)} ({fmt(s.lo, unit, digits)}–{fmt(s.hi, unit, digits)})"


def ratio(a: float, b: float) -> str:
    if a != a or b != b or not b:
        return "–"
    return f"{a / b:.2f}×"


def judge(value: float, target: float, lower_is_better: bool = True, unit: str = "") -> str:
    if value != value:
        return "not measured"
    ok = value <= target if lower_is_better else value >= target
    if ok:
        return "**met**"
    if not target:
        return "**missed**"
    by = fmt(value - target, unit) if unit == "B" else f"{value - target:.2f}{(' ' + unit) if unit else ''}"
    return f"**missed** by {by} ({value / target:.1f}× the target)"


# -- plots --------------------------------------------------------------------------------------------------
def bar_plot(path: Path, title: str, groups: list[str], series: dict[str, list[Spread]], ylabel: str,
             log: bool = False, targets: dict[str, float] | None = None) -> None:
    """One bar per peer in each group, median height, min-max whiskers."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    peers = list(series)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(groups) * max(1, len(peers)) / 2.5), 4.2), dpi=110)
    width = 0.8 / max(1, len(peers))
    for i, peer in enumerate(peers):
        xs = [g + (i - (len(peers) - 1) / 2) * width for g in range(len(groups))]
        meds = [s.median if s.n else 0.0 for s in series[peer]]
        lo = [max(0.0, s.median - s.lo) if s.n else 0.0 for s in series[peer]]
        hi = [max(0.0, s.hi - s.median) if s.n else 0.0 for s in series[peer]]
        ax.bar(xs, meds, width, yerr=[lo, hi], capsize=3, label=LABELS.get(peer, peer),
               color=COLOURS.get(peer, "#999999"))
    if targets:
        for g, name in enumerate(groups):
            t = targets.get(name)
            if t is not None:
                ax.hlines(t, g - 0.45, g + 0.45, colors="black", linestyles="dashed", linewidth=1)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


# -- sections ---------------------------------------------------------------------------------------------------
class Doc:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.targets: list[list[str]] = []

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def table(self, head: list[str], rows: list[list[str]]) -> None:
        self.add("| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|")
        self.add(*("| " + " | ".join(r) + " |" for r in rows))
        self.add("")

    def target(self, figure: str, metric: str, target: str, value: str, verdict: str) -> None:
        self.targets.append([figure, metric, target, value, verdict])


def section_output(doc: Doc, results: dict[str, Any]) -> None:
    runs = runs_of(results, "output")
    doc.add("## Figure 1 — output: `seq 1 2000000` with one client", "")
    measured(doc, results, "output")
    if not runs:
        doc.add("Not measured in this run.", "")
        return
    size = next(iter(runs.values()))[0]["output"]
    doc.add(f"The command writes {size / 1e6:.1f} MB ({size} bytes with CR LF line ends) through the PTY. "
            "*Time*: from pressing Enter until the end marker (printed after `seq` by the same command line) "
            "reaches the client. *Server CPU*: user+system seconds of the server (Dullahan: and its keeper) over "
            "that time plus 0.5 s (tmux: the server, not its client; bare: the harness's own read loop). *Ghostty "
            "alone*: the CPU seconds `ghostty_terminal_vt_write` needs for the same bytes fed from memory in 64 KiB "
            "chunks to a terminal made as a pane's (`bench/ghostty_parse.py`, run right after each Dullahan run); "
            "*VTerm.feed*: the same through the pane's own wrapper. *Wire*: bytes the client received (TCP payload "
            "from the kernel's counters; tmux: what its client wrote to its terminal; bare: the PTY bytes "
            "themselves).", "")
    t = {p: spread(r, lambda x: x["seconds"]) for p, r in runs.items()}
    c = {p: spread(r, lambda x: x["cpu"]) for p, r in runs.items()}
    w = {p: spread(r, lambda x: x["wire"]) for p, r in runs.items()}
    g = {p: spread(r, lambda x: x["ghostty_cpu"]) for p, r in runs.items() if "ghostty_cpu" in r[0]}
    v = {p: spread(r, lambda x: x["vterm_cpu"]) for p, r in runs.items() if "vterm_cpu" in r[0]}
    over = {p: spread(r, lambda x: x["cpu"] / x["ghostty_cpu"]) for p, r in runs.items() if "ghostty_cpu" in r[0]}
    floor = t.get("bare")
    dul = t.get("dullahan")
    rows = []
    for p in runs:
        rows.append([LABELS[p], cell(t[p], "s"), ratio(t[p].median, floor.median) if floor else "–",
                     cell(c[p], "s"), cell(g[p], "s") if p in g else "–", cell(v[p], "s") if p in v else "–",
                     cell(over[p], "×") if p in over else "–", cell(w[p], "B"), f"{w[p].median / size * 100:.2f}%"])
    doc.table(["peer", "time (median, min–max)", "× floor", "server CPU", "Ghostty alone", "VTerm.feed",
               "server CPU ÷ Ghostty alone (per run)", "wire bytes", "wire / output"], rows)
    doc.add(f"Runs per peer: {', '.join(f'{LABELS[p]} {len(r)}' for p, r in runs.items())}.", "")
    bar_plot(PLOTS / "fig1-output.png", "seq 1 2000000: seconds until the end marker arrives", ["time (s)"],
             {p: [t[p]] for p in runs}, "seconds")
    bar_plot(PLOTS / "fig1-cpu.png", "seq 1 2000000: server CPU seconds", ["server CPU (s)"],
             {p: [c[p]] for p in runs}, "CPU seconds")
    doc.add("![figure 1: time](bench/fig1-output.png) ![figure 1: CPU](bench/fig1-cpu.png)", "")
    if dul and floor:
        doc.target("1 output", "time vs bare PTY floor", "≤ 1.10×", f"{dul.median / floor.median:.2f}×",
                   judge(dul.median / floor.median, 1.10))
    if "dullahan" in over:
        o = over["dullahan"]
        doc.target("1 output", "server CPU vs Ghostty alone on the same bytes", "≤ 1.25×",
                   f"{cell(o, '×')} ({fmt(c['dullahan'].median, 's')} vs {fmt(g['dullahan'].median, 's')})",
                   judge(o.median, 1.25))
    if "dullahan" in c and "tmux" in c:
        r = c["dullahan"].median / c["tmux"].median
        doc.target("1 output", "server CPU vs tmux", "≤ 1.00×", f"{r:.2f}× ({cell(c['dullahan'], 's')})",
                   judge(r, 1.0))
    if "dullahan" in w:
        pct = w["dullahan"].median / size * 100
        doc.target("1 output", "wire bytes / output", "< 1%", f"{pct:.2f}% ({fmt(w['dullahan'].median, 'B')})",
                   judge(pct, 1.0, unit="%"))


def latency_rows(runs: dict[str, list[dict[str, Any]]], key: str) -> tuple[dict[str, Spread], dict[str, Spread]]:
    p50 = {p: spread(r, lambda x: percentile(x[key], 0.5) * 1000) for p, r in runs.items()}
    p99 = {p: spread(r, lambda x: percentile(x[key], 0.99) * 1000) for p, r in runs.items()}
    return p50, p99


def section_echo(doc: Doc, results: dict[str, Any]) -> None:
    runs = runs_of(results, "echo")
    doc.add("## Figure 2 — echo latency at an idle prompt and during a flood in another pane", "")
    measured(doc, results, "echo")
    if not runs:
        doc.add("Not measured in this run.", "")
        return
    keys = len(next(iter(runs.values()))[0]["idle"])
    doc.add(f"{keys} keystrokes into `cat` per run, paced like a fast typist (the next key 20–30 ms after the "
            "previous echo), Enter every 50. Dullahan's client sends each as a `key` message, as the browser "
            "does, and acknowledges every frame at once. Latency: from writing the key to the moment the client "
            "received what shows its echo (Dullahan: the frame whose pane shows the character at the cursor; "
            "tmux: its client's output, fed to a terminal emulator in the harness; terminado, WeTTY, bare: the "
            "echoed byte in the stream). Then the other pane (visible to the same client; for terminado, WeTTY "
            "and bare a second terminal of the same server or process) runs `yes` and the same is measured "
            "again. Per run p50 and p99; the table shows their median (min–max) over runs.", "")
    i50, i99 = latency_rows(runs, "idle")
    f50, f99 = latency_rows(runs, "flood")
    fl = {k: d.get("bare") for k, d in (("i50", i50), ("i99", i99), ("f50", f50), ("f99", f99))}
    rows = []
    for p in runs:
        rows.append([LABELS[p], cell(i50[p], "ms", 3), cell(i99[p], "ms", 3),
                     ratio(i50[p].median, fl["i50"].median) if fl["i50"] else "–",
                     ratio(i99[p].median, fl["i99"].median) if fl["i99"] else "–",
                     cell(f50[p], "ms", 3), cell(f99[p], "ms", 3),
                     ratio(f50[p].median, fl["f50"].median) if fl["f50"] else "–",
                     ratio(f99[p].median, fl["f99"].median) if fl["f99"] else "–"])
    doc.table(["peer", "idle p50", "idle p99", "idle p50 × floor", "idle p99 × floor", "flood p50", "flood p99",
               "flood p50 × floor", "flood p99 × floor"], rows)
    bar_plot(PLOTS / "fig2-echo.png", "echo latency (ms, log scale)",
             ["idle p50", "idle p99", "flood p50", "flood p99"],
             {p: [i50[p], i99[p], f50[p], f99[p]] for p in runs}, "milliseconds", log=True)
    doc.add("![figure 2](bench/fig2-echo.png)", "")
    if "dullahan" not in runs:
        return
    d = "dullahan"
    for label, m, floor_key, limit in (("idle p50", i50, "i50", 2.0), ("idle p99", i99, "i99", 2.5),
                                       ("flood p50", f50, "f50", 2.0), ("flood p99", f99, "f99", 2.5)):
        f = fl[floor_key]
        if f is not None:
            r = m[d].median / f.median
            doc.target("2 echo", f"{label} vs the bare PTY floor's", f"≤ {limit:.1f}×",
                       f"{r:.2f}× ({cell(m[d], 'ms', 3)} vs {fmt(f.median, 'ms', 3)})", judge(r, limit))
        if "terminado" in m:
            r = m[d].median / m["terminado"].median
            doc.target("2 echo", f"{label} vs terminado's", "≤ 1.00×",
                       f"{r:.2f}× ({fmt(m[d].median, 'ms', 3)} vs {fmt(m['terminado'].median, 'ms', 3)})",
                       judge(r, 1.0))


def section_trace(doc: Doc, results: dict[str, Any]) -> None:
    from bench.trace_echo import STEPS
    runs = runs_of(results, "trace")
    doc.add("## Figure 2b — where an echo's time goes in the server", "")
    measured(doc, results, "trace")
    if not runs:
        doc.add("Not measured in this run.", "")
        return
    doc.add("`python -m bench.trace_echo`: a server with `bench/trace/sitecustomize.py` on its path, which "
            "timestamps each step of the echo path (nothing else changes; each wrapper costs well under a "
            "microsecond), 200 keys into `cat` as in figure 2, idle and with `yes` in the other pane. Wall-clock "
            "microseconds per key (median over the keys of all runs, and p99), *before* this work's changes and "
            "now, in the same rounds. The machine is shared and busy: a step that runs after the process slept "
            "(every keystroke here) pays cold caches, so each costs several times what it costs in a tight "
            "loop.", "")
    peers = [p for p in ("before", "dullahan") if p in runs]
    head = ["step"]
    for kind in ("idle", "flood"):
        head += [f"{LABELS[p]} {kind} p50 (p99) µs" for p in peers]
    rows = []
    for label, key in STEPS:
        row = [label]
        for kind in ("idle", "flood"):
            for p in peers:
                vals = [st[key] for r in runs[p] for st in r[kind]["steps"]]
                row.append(f"{percentile(vals, 0.5):.1f} ({percentile(vals, 0.99):.0f})" if vals else "–")
        rows.append(row)
    client = ["client-observed echo, ms"]
    for kind in ("idle", "flood"):
        for p in peers:
            vals = [v for r in runs[p] for v in r[kind]["client_ms"]]
            client.append(f"{percentile(vals, 0.5):.3f} ({percentile(vals, 0.99):.2f})")
    rows.append(client)
    doc.table(head, rows)


def section_fanout(doc: Doc, results: dict[str, Any]) -> None:
    runs = runs_of(results, "fanout")
    doc.add("## Figure 3 — fan-out: one pane flooding, the master alone, then 20 viewers (5 reading at 100 KB/s)",
            "")
    measured(doc, results, "fanout")
    if not runs:
        doc.add("Not measured in this run.", "")
        return
    runs = {p: r for p, r in runs.items() if "echo_alone" in r[0]}
    doc.add("The other pane runs `while :; do seq 1 100000; done`. The master types 200 keys into `cat`, first "
            "alone, then again 5 s after 20 viewers joined from a separate process, 5 of them reading no faster "
            "than 100 KB/s (tmux: 20 read-only `tmux attach -r` clients on PTYs; terminado: 20 more WebSockets on "
            "the same named terminals). *CPU per viewer*: (server CPU s/s with the viewers − alone) / 20, as a "
            "share of the one-client CPU. RSS is sampled every 0.5 s from the end of the 5 s warm-up to the end. "
            "WeTTY (a shell per connection) and the bare PTY cannot share a terminal and are not in this figure.",
            "")
    a50 = {p: spread(r, lambda x: percentile(x["echo_alone"], 0.5) * 1000) for p, r in runs.items()}
    a99 = {p: spread(r, lambda x: percentile(x["echo_alone"], 0.99) * 1000) for p, r in runs.items()}
    e50 = {p: spread(r, lambda x: percentile(x["echo"], 0.5) * 1000) for p, r in runs.items()}
    e99 = {p: spread(r, lambda x: percentile(x["echo"], 0.99) * 1000) for p, r in runs.items()}
    p99r = {p: spread(r, lambda x: percentile(x["echo"], 0.99) / percentile(x["echo_alone"], 0.99))
            for p, r in runs.items()}
    ca = {p: spread(r, lambda x: x["cpu_alone_per_s"]) for p, r in runs.items()}
    cv = {p: spread(r, lambda x: x["cpu_per_s"]) for p, r in runs.items()}
    per = {p: spread(r, lambda x: x["cpu_per_viewer"] * 100) for p, r in runs.items()}
    rs0 = {p: spread(r, lambda x: x["rss_start"]) for p, r in runs.items()}
    grow = {p: spread(r, lambda x: (x["rss_max"] - x["rss_start"]) / x["rss_start"] * 100) for p, r in runs.items()}
    rows = []
    for p in runs:
        dropped = sum((x.get("viewers_dropped") or 0) for x in runs[p])
        rows.append([LABELS[p], f"{fmt(a50[p].median, 'ms', 2)} / {fmt(a99[p].median, 'ms', 2)}",
                     f"{fmt(e50[p].median, 'ms', 2)} / {fmt(e99[p].median, 'ms', 2)}", cell(p99r[p], "×"),
                     cell(ca[p], "", 2), cell(cv[p], "", 2), cell(per[p], "%", 1), cell(rs0[p], "B", 1),
                     cell(grow[p], "%", 1), str(dropped)])
    doc.table(["peer", "echo alone p50 / p99", "echo with viewers p50 / p99", "p99 with ÷ alone (per run)",
               "CPU s/s alone", "CPU s/s with viewers", "CPU per viewer (% of alone)", "RSS after warm-up",
               "RSS growth (max)", "viewers dropped"], rows)
    bar_plot(PLOTS / "fig3-fanout.png", "fan-out: master echo under a flood (ms, log)",
             ["alone p99", "with 20 viewers p99"], {p: [a99[p], e99[p]] for p in runs}, "milliseconds", log=True)
    doc.add("![figure 3](bench/fig3-fanout.png)", "")
    if "dullahan" in runs:
        d = "dullahan"
        doc.target("3 fan-out", "master echo p99 with 20 viewers ÷ alone", "≤ 1.5×", cell(p99r[d], "×"),
                   judge(p99r[d].median, 1.5))
        doc.target("3 fan-out", "server CPU per added viewer (of the one-client CPU)", "≤ 5 %", cell(per[d], "%", 1),
                   judge(per[d].median, 5.0, unit="%"))
        doc.target("3 fan-out", "RSS flat after the warm-up", "≤ +5 %", cell(grow[d], "%", 1),
                   judge(grow[d].median, 5.0, unit="%"))


def section_memory(doc: Doc, results: dict[str, Any]) -> None:
    from bench.fig_memory import MANY
    runs = runs_of(results, "memory")
    doc.add("## Figure 4 — memory: an empty server, and panes holding 10,000 lines of 200-column scrollback", "")
    measured(doc, results, "memory")
    if not runs:
        doc.add("Not measured in this run.", "")
        return
    runs = {p: r for p, r in runs.items() if "one_added" in r[0]}
    doc.add("Three servers per run, each with 200x40 panes and a 10,000-line history. *Empty*: a server with one "
            "shell at a prompt and no client, 3 s after start-up. *One pane*: that pane prints 10,000 lines of "
            "200 random base64 characters (incompressible, the worst case) and the server idles 40 s "
            "(Dullahan compresses a terminal idle for 5 s and puts it to sleep, a zlib'd snapshot, after 30 s); "
            "*added* = RSS after − before; Dullahan's RSS is its server's and its keeper's. *Text*: the same with "
            "10,000 lines of 200 columns of ordinary text (the Python standard library's sources, whitespace "
            f"squeezed). *{MANY} panes*: each prints the random lines; RSS in all after the idle time. *Lines "
            "held*: what `capture --scrollback` / `capture-pane -S -` returns per pane. terminado and WeTTY keep "
            "no terminal state on the server and are not in this figure.", "")
    empty = {p: spread(r, lambda x: x["rss_empty"]) for p, r in runs.items()}
    one = {p: spread(r, lambda x: x["one_added"]) for p, r in runs.items()}
    text = {p: spread(r, lambda x: x["text_added"]) for p, r in runs.items()}
    many = {p: spread(r, lambda x: x["many_rss"]) for p, r in runs.items()}
    per = {p: spread(r, lambda x: x["many_added_per_pane"]) for p, r in runs.items()}
    rows = []
    for p in runs:
        held = [min(x["lines_held"]) for x in runs[p] if x.get("lines_held")]
        rows.append([LABELS[p], cell(empty[p], "MB", 1), cell(one[p], "MB", 2), cell(text[p], "MB", 2),
                     cell(many[p], "MB", 1), cell(per[p], "MB", 2), str(min(held)) if held else "–"])
    doc.table(["peer", "empty server", "one pane: added (random)", "one pane: added (text)",
               f"{MANY} panes (random): RSS in all", f"{MANY} panes: added per pane", "lines held (min)"], rows)
    mb = {p: [Spread(s.median / 1e6, s.lo / 1e6, s.hi / 1e6, s.n) for s in (empty[p], one[p], text[p])]
          for p in runs}
    bar_plot(PLOTS / "fig4-memory.png", "memory (MB): empty server, one pane's scrollback",
             ["empty server", "added (random)", "added (text)"], mb, "MB",
             targets={"empty server": 35.0, "added (random)": 4.0, "added (text)": 4.0})
    _rss_time_plot(PLOTS / "fig4-rss-time.png", runs)
    doc.add("![figure 4](bench/fig4-memory.png) ![figure 4: RSS against time](bench/fig4-rss-time.png)", "")
    if "dullahan" in runs:
        d = "dullahan"
        doc.target("4 memory", "empty server RSS", "≤ 35 MB", cell(empty[d], "MB", 1),
                   judge(empty[d].median / 1e6, 35.0, unit="MB"))
        doc.target("4 memory", "one idle pane's 10,000 × 200 scrollback, random text", "≤ 4 MB added",
                   cell(one[d], "MB", 2), judge(one[d].median / 1e6, 4.0, unit="MB"))
        doc.target("4 memory", "the same, ordinary text", "≤ 4 MB added", cell(text[d], "MB", 2),
                   judge(text[d].median / 1e6, 4.0, unit="MB"))
        doc.target("4 memory", f"{MANY} such panes (random), RSS in all", "≤ 120 MB", cell(many[d], "MB", 1),
                   judge(many[d].median / 1e6, 120.0, unit="MB"))


def _rss_time_plot(path: Path, runs: dict[str, list[dict[str, Any]]]) -> None:
    """RSS against time for the 20-pane server of each peer's first run: the flood, then compression."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 3.4), dpi=110)
    for p, rs in runs.items():
        samples = rs[0].get("samples") or []
        if samples:
            ax.plot([t for t, _v in samples], [v / 1e6 for _t, v in samples], label=LABELS.get(p, p),
                    color=COLOURS.get(p, "#999999"))
            done = rs[0].get("output_done")
            if done:
                ax.axvline(done, color=COLOURS.get(p, "#999999"), linestyle=":", linewidth=1)
    ax.set_xlabel("seconds (dotted: the output is done; then idle)")
    ax.set_ylabel("server RSS (MB)")
    ax.set_title("20 panes print 10,000 lines of 200 columns, then idle")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def section_browser(doc: Doc, results: dict[str, Any]) -> None:
    from bench.fig_browser import IDLE_KEYS, KEYS, STEP_NAMES
    runs = runs_of(results, "browser")
    doc.add("## Figure 5 — in the browser (headless Chromium)", "")
    measured(doc, results, "browser")
    errs = errors_of(results, "browser")
    if not runs:
        doc.add("Not measured in this run." + (" Errors: " + "; ".join(errs[:3]) if errs else ""), "")
        return
    doc.add("Headless Chromium (Debian's `chromium`, driven by Playwright), one browser for both clients. Times are "
            "taken in the page, from the keydown (`performance.now()` in the first capturing listener on the "
            "window, installed before the page's own scripts) to the moment the client has drawn the result: "
            "Dullahan's row elements change (a MutationObserver on the screen, which "
            "fires inside the client's `requestAnimationFrame` render), xterm.js's `onRender` for WeTTY; that "
            "animation frame paints it. *seq*: Enter on `seq 1 100000` until `100000` and the next prompt are "
            f"drawn. *Keystroke to paint*: {IDLE_KEYS} letters typed into an idle `cat`, then {KEYS} more while "
            "`while :; do seq 1 100000; done` floods another terminal of the same server shown by the same "
            "browser (Dullahan: the other pane of a 2-column window; WeTTY: a second page, since a WeTTY page "
            "shows one terminal), 60–100 ms apart. Both pages have the same 1100x760 viewport; each client "
            "sizes its terminal to it.", "")
    seq = {p: spread(r, lambda x: x["seq_seconds"]) for p, r in runs.items()}
    k50 = {p: spread(r, lambda x: percentile(x["keys"], 0.5) * 1000) for p, r in runs.items()}
    k99 = {p: spread(r, lambda x: percentile(x["keys"], 0.99) * 1000) for p, r in runs.items()}
    i50 = {p: spread(r, lambda x: percentile(x.get("keys_idle") or [], 0.5) * 1000) for p, r in runs.items()}
    i99 = {p: spread(r, lambda x: percentile(x.get("keys_idle") or [], 0.99) * 1000) for p, r in runs.items()}
    rows = [[LABELS[p], cell(seq[p], "s", 3), cell(i50[p], "ms", 2), cell(i99[p], "ms", 2), cell(k50[p], "ms", 2),
             cell(k99[p], "ms", 2), "×".join(map(str, runs[p][0].get("size", [])))] for p in runs]
    doc.table(["peer", "seq 1 100000 to last line painted", "key to paint p50 (idle)", "key to paint p99 (idle)",
               "key to paint p50 (flood)", "key to paint p99 (flood)", "terminal size"], rows)
    bar_plot(PLOTS / "fig5-browser.png", "browser: seq 1 100000 (s) and keystroke to paint (ms)",
             ["seq (s)", "idle p50 (ms)", "idle p99 (ms)", "flood p50 (ms)", "flood p99 (ms)"],
             {p: [seq[p], i50[p], i99[p], k50[p], k99[p]] for p in runs}, "", log=True)
    doc.add("![figure 5](bench/fig5-browser.png)", "")
    # Where the milliseconds go, from the in-page probe (bench/fig_browser.py WS_PROBE).
    with_steps = {p: r for p, r in runs.items() if r[0].get("steps_idle")}
    if with_steps:
        doc.add("Where a keystroke's milliseconds go (median per step over all keys of all runs; the page's "
                "WebSocket is wrapped by an init script to timestamp the key message leaving, the first message "
                "after it arriving and its handler returning; *painted* is a task queued when the rows were "
                "drawn, which runs once the browser finished that rendering update).", "")
        head = ["step"] + [f"{LABELS[p]} {kind}" for kind in ("idle", "flood") for p in with_steps]
        table = []
        for i, name in enumerate(STEP_NAMES):
            row = [name]
            for kind in ("steps_idle", "steps_flood"):
                for p in with_steps:
                    vals = [st[i] for r in with_steps[p] for st in r.get(kind, []) if st[i] is not None]
                    row.append(f"{percentile(vals, 0.5):.2f} ms" if vals else "–")
            table.append(row)
        doc.table(head, table)
    if "dullahan" in runs and "wetty" in runs:
        d, w = "dullahan", "wetty"
        for label, m, limit in (("idle p50", i50, 0.55), ("idle p99", i99, 1.0), ("flood p50", k50, 0.8)):
            r = m[d].median / m[w].median
            doc.target("5 browser", f"key to paint, {label}, vs WeTTY's", f"≤ {limit:.2f}×",
                       f"{r:.2f}× ({fmt(m[d].median, 'ms', 2)} vs {fmt(m[w].median, 'ms', 2)})", judge(r, limit))
        if "before" in runs:
            b = "before"
            for label, m in (("seq 1 100000", seq), ("flood p99", k99)):
                was, now = m[b].median / m[w].median, m[d].median / m[w].median
                doc.target("5 browser", f"{label} vs WeTTY's, at least as far ahead as before", f"≤ {was:.2f}×",
                           f"{now:.2f}×", judge(now, was))
    if errs:
        doc.add("Errors: " + "; ".join(errs[:5]), "")


def section_scale(doc: Doc, results: dict[str, Any]) -> None:
    from bench.fig_scale import BUSY, PROBE_MS
    runs = runs_of(results, "scale")
    doc.add("## Figure 7 — scale: 100 panes in 20 windows, 10 of them flooding", "")
    measured(doc, results, "scale")
    if not runs:
        doc.add("Not measured in this run.", "")
        return
    doc.add("Ten 3x3 windows and ten single-pane windows (300x60 cells each: 100 shells). Ten panes run `while :; "
            "do seq 1 100000; done`, two of them beside the typing pane in the active window (the client draws "
            "them), eight in windows nobody shows. After 3 s the master types 200 keys into `cat` in an idle pane "
            f"of the active window. *Loop lag*: the server's own probe (`DULLAHAN_LOOP_PROBE_MS={PROBE_MS}`): every "
            f"{PROBE_MS} ms a thread hands the loop a callback and notes how long it waited. *Fairness*: the bytes "
            f"each of the {BUSY} busy panes' programs got through during the typing (a pane's output is read only "
            "as fast as the one terminal thread parses it); min/max and Jain's index ((Σx)²/(n·Σx²), 1 = all "
            "equal).", "")
    e50 = {p: spread(r, lambda x: percentile(x["echo"], 0.5) * 1000) for p, r in runs.items()}
    e99 = {p: spread(r, lambda x: percentile(x["echo"], 0.99) * 1000) for p, r in runs.items()}
    l50 = {p: spread(r, lambda x: percentile(x["loop_lag_ms"], 0.5)) for p, r in runs.items()}
    l99 = {p: spread(r, lambda x: percentile(x["loop_lag_ms"], 0.99)) for p, r in runs.items()}
    lmax = {p: spread(r, lambda x: max(x["loop_lag_ms"] or [float("nan")])) for p, r in runs.items()}
    cpu = {p: spread(r, lambda x: x["cpu_per_s"]) for p, r in runs.items()}
    jain = {p: spread(r, lambda x: x["fairness_jain"]) for p, r in runs.items()}
    mm = {p: spread(r, lambda x: x["fairness_min_max"]) for p, r in runs.items()}
    rate = {p: spread(r, lambda x: sum(x["busy_bytes_per_s"])) for p, r in runs.items()}
    rows = [[LABELS[p], cell(e50[p], "ms", 2), cell(e99[p], "ms", 2), cell(l50[p], "ms", 2), cell(l99[p], "ms", 2),
             cell(lmax[p], "ms", 1), cell(cpu[p], "", 2), cell(rate[p], "B", 1) + "/s", cell(jain[p], "", 3),
             cell(mm[p], "", 2)] for p in runs]
    doc.table(["peer", "echo p50", "echo p99", "loop lag p50", "loop lag p99", "loop lag max", "server CPU s/s",
               "busy panes' output, in all", "fairness (Jain)", "fairness (min/max)"], rows)
    if "dullahan" in runs:
        d = "dullahan"
        doc.target("7 scale", "echo p99 in an idle pane", "reported", cell(e99[d], "ms", 2), "reported")
        doc.target("7 scale", "event-loop lag p99", "reported", cell(l99[d], "ms", 2), "reported")
        doc.target("7 scale", "no busy pane starves another: min/max of their throughput", "≥ 0.5",
                   cell(mm[d], "", 2), judge(mm[d].median, 0.5, lower_is_better=False))
def section_restart(doc: Doc, results: dict[str, Any]) -> None:
    runs = runs_of(results, "restart")
    doc.add("## Figure 6 — restart: `dullahan restart` with 10 panes × 10,000 lines while a pane counts", "")
    measured(doc, results, "restart")
    errs = errors_of(results, "restart")
    if not runs:
        doc.add("Not measured in this run." + (" Errors: " + "; ".join(errs[:3]) if errs else ""), "")
        return
    doc.add("Ten 200x40 panes each hold 10,000 lines of 200 random base64 characters (as in figure 4), then one "
            "of them runs a counter that prints a number every millisecond, and a scripted master client is "
            "connected. Times run from the moment `dullahan restart` starts: *answering*: the new server answers "
            "on the control socket; *command*: the command returns; *reconnected*: a client that reconnects once "
            "the old server closed it (as the page does) holds the layout and the visible pane's screen; "
            "*paused*: how long no server read the PTYs (the old server's freeze to its commit). *Lost* and "
            "*repeated*: numbers missing or doubled in the counter pane's scrollback after it is stopped (bytes "
            "lost: the missing lines' bytes); *screens equal*: the nine other panes' screens with scrollback, "
            "captured before and after. Only Dullahan keeps shells alive across a server restart; tmux cannot "
            "replace its server process.", "")
    keys = [("answering", "s"), ("command", "s"), ("reconnected", "s"), ("paused", "s")]
    spreads = {k: spread(runs["dullahan"], lambda x, k=k: x[k]) for k, _ in keys}
    lost = spread(runs["dullahan"], lambda x: x["bytes_lost"])
    rows = []
    equal = [f"{x['screens_equal']}/{x['screens']}" for x in runs["dullahan"]]
    repeated = sum(x["repeated_lines"] for x in runs["dullahan"])
    rows.append([LABELS["dullahan"], *(cell(spreads[k], unit, 3) for k, unit in keys),
                 f"{int(max(x['bytes_lost'] for x in runs['dullahan']))} B (max)", f"{repeated} (all runs)",
                 ", ".join(sorted(set(equal)))])
    doc.table(["peer", "new server answering", "command returns", "client reconnected with the screen",
               "output paused", "bytes lost", "lines repeated", "screens equal"], rows)
    doc.add(f"Counted per run: {', '.join(str(x['counted']) for x in runs['dullahan'])} numbers; each pane held "
            f"{min(x['history_lines'] for x in runs['dullahan'])}+ lines. The command's own report of a run: "
            f"`{runs['dullahan'][-1]['output']}`", "")
    if errs:
        doc.add("Errors: " + "; ".join(errs[:5]), "")
    doc.target("6 restart", "bytes lost across a restart", "0", f"{int(lost.hi)} B (max over runs)",
               judge(lost.hi, 0.0, unit="B"))


def section_soak(doc: Doc) -> None:
    doc.add("## Soak: `dullahan test soak`, 10 minutes over plain and TLS", "")
    found = False
    for mode in ("plain", "tls"):
        path = PLOTS / f"soak-{mode}.json"
        if not path.exists():
            continue
        found = True
        r = json.loads(path.read_text())
        e = r["echo"]
        doc.add(f"### {mode}", "", "```", r.get("command", ""), r["summary"], "```", "")
        d = ", ".join(f"{k} {v}" for k, v in r["disconnects"].items()) or "none"
        t = r["totals"]
        doc.table(["", ""], [
            ["load", f"{r['seconds']:g} s, {r['clients']} clients ({r['slow']} slow), churn "
                     f"{'yes' if r['churn'] else 'no'}; {r['wall_seconds']:g} s in all"],
            ["disconnects (server, by reason)", d],
            ["deliberate disconnects matched by client id",
             f"{r['churn_matched']}/{r['churn_total']} ("
             + ", ".join(f"{k} {v}" for k, v in r["churn_events"].items()) + ")"],
            ["unexplained / healthy dropped", f"{r['unexplained']} / {r['healthy_dropped']}"],
            ["final screens equal", f"{r['screens_equal']}/{r['screens_total']}"],
            ["frames / bytes to clients", f"{t['frames_in']} / {fmt(t['bytes_in'], 'B')} "
                                          f"(TCP {fmt(t['tcp_in'], 'B')})"],
            ["messages / bytes from clients", f"{t['msgs_out']} / {fmt(t['bytes_out'], 'B')}"],
            ["echo latency under load", f"p50 {e['p50_ms']:.2f} ms, p90 {e['p90_ms']:.2f} ms, p99 {e['p99_ms']:.2f} ms,"
                                        f" max {e['max_ms']:.1f} ms ({e['count']} keys, {e['lost']} lost)"],
            ["server RSS", f"{r['rss']['start'] / MIB:.1f} MiB → {r['rss']['end'] / MIB:.1f} MiB "
                           f"({r['rss']['growth'] * 100:+.1f}%, max {r['rss']['max'] / MIB:.1f} MiB)"],
            ["server CPU", f"{r['cpu_seconds']:.0f} s"],
            ["verdict", "PASS" if r["passed"] else "FAIL: " + ", ".join(r["failures"])],
        ])
        samples = r.get("samples") or []
        if samples:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            fig, ax = plt.subplots(figsize=(7, 3), dpi=110)
            ax.plot([s[0] for s in samples], [s[1] / MIB for s in samples], color=COLOURS["dullahan"])
            ax.set_xlabel("seconds")
            ax.set_ylabel("server RSS (MiB)")
            ax.set_title(f"soak ({mode}): server RSS")
            ax.grid(alpha=0.3)
            fig.tight_layout()
            fig.savefig(PLOTS / f"soak-{mode}-rss.png")
            plt.close(fig)
            doc.add(f"![soak {mode} RSS](bench/soak-{mode}-rss.png)", "")
    if not found:
        doc.add("No soak results yet: run `python -m bench.run --soak 600` (or `dullahan test soak --seconds 600 "
                "--json`).", "")


def section_search(doc: Doc) -> None:
    """Search over history, from ``python -m bench.search`` (docs/bench/search.json), when it was run."""
    path = PLOTS / "search.json"
    if not path.exists():
        return
    r = json.loads(path.read_text())
    doc.add("## Search: 100,000 lines of history", "",
            f"*Measured {r['measured']} ({r['machine']}), {r['runs']} runs: `python -m bench.search`.*", "",
            f"`term.search.search` on one Ghostty terminal ({r['total_rows']:,} rows of 120 columns, "
            f"{r['text_bytes'] / 1e6:.1f} MB as text), as `Pane.search` runs it under the pane's lock; the "
            f"formatter alone (the whole screen as UTF-8 in one call) takes {_ms(r['format_ms'])}.", "")
    doc.table(["query", "time (median, min–max)", "matches returned", "more"],
              [[q["label"], _ms(q["ms"]), str(q["matches"]), "yes" if q["more"] else "no"] for q in r["queries"]])


def _load_note(results: dict[str, Any]) -> str:
    loads = [row["load"] for rows in results.get("figures", {}).values() for row in rows if "load" in row]
    if not loads:
        return ""
    return (f" The machine was busy with other work throughout: the 1-minute load average on its 2 cores was "
            f"{min(loads):.1f}–{max(loads):.1f} (median {percentile(loads, 0.5):.1f}) at the start of the "
            "measurements, so wall-clock figures vary from run to run far more than CPU seconds do.")
def section_images(doc: Doc) -> None:
    """Kitty graphics, from ``python -m bench.images`` (docs/bench/images.json), when it was run."""
    path = PLOTS / "images.json"
    if not path.exists():
        return
    r = json.loads(path.read_text())
    runs = r["runs"]

    def per_run(phase: str, key: str) -> Spread:
        return Spread.of([Spread.of([p[key] for p in run[phase]]).median for run in runs])

    def echo(key: str, q: float) -> Spread:
        return Spread.of([percentile(run["burst"][key], q) for run in runs])
    burst = [run["burst"] for run in runs]
    png = Spread.of([Spread.of([p["png_bytes"] for p in run["paint"]]).median for run in runs])
    doc.add("## Images: one 1 MP picture, and typing during a 50 MB burst", "",
            f"*Measured {r['measured']} ({r['machine']}), {len(runs)} runs: `{r['command'].strip()}`.*", "",
            "A program in a pane writes kitty graphics escapes (a photo-like 1224x816 PNG, "
            f"{png.median / 1e6:.2f} MB, each one new, so nothing is cached); the page is headless Chromium. "
            "Server CPU is the server process's (parsing, decoding into the terminal, encoding for the wire, "
            "sending). Per run, the median of three pictures; the table gives the median and min–max over the "
            "runs.", "")
    doc.table(["", "median (min–max)"], [
        ["program's write → image painted in the page", cell(per_run("paint", "write_to_paint_ms"), "ms", 0)],
        ["program's write → image message at a scripted client", cell(per_run("server_path", "write_to_image_ms"),
                                                                       "ms", 0)],
        ["program's write → frame placing it at that client", cell(per_run("server_path", "write_to_frame_ms"),
                                                                    "ms", 0)],
        ["server CPU for the picture", cell(per_run("paint", "server_cpu_ms"), "ms", 0)],
        ["bytes the page received for it (image message and frames)",
         cell(per_run("paint", "bytes_received"), "B", 2)],
    ])
    doc.add(f"Echo in the other pane of a 2-column window while the first `cat`s {r['burst_mb']} MB of PNG data "
            f"({burst[0]['burst_png_bytes'] / 1e6:.0f} MB of pictures, {burst[0]['burst_escape_bytes'] / 1e6:.0f} MB "
            "of escapes, each picture placed at the top left so that they stay on screen until the terminal's storage "
            "evicts them): key to echo at a scripted client (frame received), keys paced 20–30 ms apart; then in "
            "headless Chromium, which also receives and decodes the pictures, keydown to the animation frame that "
            "paints the echo (figure 5's probe), keys 60–100 ms apart; each against the same client's echoes with "
            "nothing running:", "")
    def page_echo(key: str, q: float) -> Spread:
        return Spread.of([percentile(run["browser_burst"][key], q) for run in runs])
    doc.table(["", "p50", "p99", "max"], [
        ["scripted client, idle", cell(echo("idle_ms", 0.5), "ms"), cell(echo("idle_ms", 0.99), "ms"),
         cell(echo("idle_ms", 1.0), "ms")],
        ["scripted client, during the burst", cell(echo("burst_ms", 0.5), "ms"), cell(echo("burst_ms", 0.99), "ms"),
         cell(echo("burst_ms", 1.0), "ms")],
        ["page (keydown to paint), idle", cell(page_echo("idle_ms", 0.5), "ms"),
         cell(page_echo("idle_ms", 0.99), "ms"), cell(page_echo("idle_ms", 1.0), "ms")],
        ["page (keydown to paint), during the burst", cell(page_echo("burst_ms", 0.5), "ms"),
         cell(page_echo("burst_ms", 0.99), "ms"), cell(page_echo("burst_ms", 1.0), "ms")],
    ])
    doc.add("The burst: " + ", ".join([
        f"{cell(Spread.of([b['burst_seconds'] for b in burst]), 's', 1)} from the command to its end",
        f"{cell(Spread.of([len(b['burst_ms']) for b in burst]), '', 0)} keys typed meanwhile",
        f"server CPU {cell(Spread.of([b['server_cpu_s'] for b in burst]), 's', 1)}",
        f"{cell(Spread.of([b['images_received'] for b in burst]), '', 0)} images "
        f"({cell(Spread.of([b['image_bytes_received'] for b in burst]), 'B', 2)}) reached the client; the others were "
        "replaced or evicted before a frame could show them (state, not a log)"]) + ".", "")



def _ms(values: list[float]) -> str:
    s = Spread.of(values)
    return f"{s.median:.1f} ms ({s.lo:.1f}–{s.hi:.1f})"


def write(results: dict[str, Any]) -> Path:
    PLOTS.mkdir(parents=True, exist_ok=True)
    doc = Doc()
    body = Doc()
    section_output(body, results)
    section_echo(body, results)
    section_trace(body, results)
    section_fanout(body, results)
    section_memory(body, results)
    section_browser(body, results)
    section_restart(body, results)
    section_scale(body, results)
    section_soak(body)
    section_search(body)
    section_images(body)
    m = results["machine"]
    doc.add("# Benchmarks", "",
            "<!-- Generated by bench/run.py from " + results.get("file", "a results file") + "; do not edit by hand."
            " The analysis comes from bench/ANALYSIS.md. -->", "",
            f"Measured {results['started']} on {m['cpu']} ({m['cores']} cores), {m['memory']}, {m['os']}; "
            f"Python {m['python']}. Shared machine: numbers are medians with min–max over {results['runs']} "
            "interleaved runs (every round runs each peer once, in a rotating order)." + _load_note(results), "",
            "Peers, all on loopback, each running `bash --noprofile --norc` in a 120x40 terminal:", "")
    doc.add(*(f"- {line}" for line in m["peers"]), "")
    doc.add("Regenerate everything (installs the peers first):", "", "```", "scripts/bench            # 5 runs",
            "scripts/bench --quick    # 1 run, for a smoke test",
            "python -m bench.run --figures 1,2 --runs 5   # some figures, peers already installed", "```", "",
            f"This run: `{results.get('command', 'python -m bench.run')}` ({results.get('wall_seconds', 0):.0f} s).",
            "")
    doc.add("## Targets", "")
    doc.table(["figure", "metric", "target", "Dullahan (median, min–max)", "verdict"], body.targets)
    doc.lines += body.lines
    if ANALYSIS.exists():
        doc.add(ANALYSIS.read_text().rstrip(), "")
    out = DOCS / "BENCHMARKS.md"
    out.write_text("\n".join(doc.lines).rstrip() + "\n")
    return out

