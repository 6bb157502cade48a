"""Runs the benchmarks and regenerates docs/BENCHMARKS.md with its plots.

    python -m bench.run [--runs 5] [--quick] [--figures 1,2,3,4,5,6] [--peers dullahan,tmux,...]
                        [--soak SECONDS] [--report-only RESULTS.json]

Peers run interleaved: in every round each peer runs once, in an order that rotates from round to round, so
slow drifts of a shared machine spread over all of them. Results (every raw number) go to
``bench/results/results-<time>.json`` (kept locally) and ``docs/bench/results.json`` (committed with the
document, so ``--report-only docs/bench/results.json`` regenerates it anywhere).
``--soak SECONDS`` also runs ``dullahan test soak`` over plain and TLS and keeps its reports in
``docs/bench/soak-{plain,tls}.json`` (the document always includes the soak reports found there).
Measuring some figures only (``--figures 1``) keeps the last results of the others (``--fresh``: do not).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):   # run as a script: python bench/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.path.insert(1, str(Path(__file__).resolve().parent.parent / "src"))
    __package__ = "bench"

from bench import fig_echo, fig_fanout, fig_memory, fig_output, fig_restart, fig_scale, fig_trace, report
from bench.common import ROOT
from bench.peers import PEERS
from bench.peers.base import Peer
from bench.peers.dullahan import BEFORE_REV, BEFORE_SRC

RESULTS = ROOT / "bench" / "results"
LATEST = report.PLOTS / "results.json"
Measure = Callable[[Peer], Awaitable[dict[str, Any]]]


def figure_table() -> dict[str, tuple[str, Measure, tuple[str, ...]]]:
    from bench import fig_browser
    return {
        "1": ("output", fig_output.measure, ("dullahan", "before", "tmux", "terminado", "wetty", "bare")),
        "2": ("echo", fig_echo.measure, ("dullahan", "before", "tmux", "terminado", "wetty", "bare")),
        "3": ("fanout", fig_fanout.measure, ("dullahan", "before", "tmux", "terminado")),
        "4": ("memory", fig_memory.measure, ("dullahan", "before", "tmux")),
        "5": ("browser", fig_browser.measure, ("dullahan", "before", "wetty")),
        "6": ("restart", fig_restart.measure, ("dullahan",)),
        "7": ("scale", fig_scale.measure, ("dullahan", "before")),
        "8": ("trace", fig_trace.measure, ("dullahan", "before")),
    }


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def available(name: str) -> str | None:
    """None when the peer can run here, else why not."""
    import shutil
    if name == "tmux" and shutil.which("tmux") is None:
        return "tmux is not installed (apt-get install tmux)"
    if name == "terminado":
        try:
            import terminado  # noqa: F401
        except ImportError:
            return "terminado is not installed (pip install -e '.[bench]')"
    if name == "wetty":
        from bench.peers.wetty import available as wetty_available
        return wetty_available()
    if name == "before" and not os.environ.get(BEFORE_SRC):
        return "no --before REV given"
    return None


def checkout_before(rev: str) -> str:
    """A detached worktree of ``rev`` (kept under bench/results/, reused); returns its short commit."""
    commit = command_output(["git", "-C", str(ROOT), "rev-parse", "--short", rev])
    if not commit:
        raise SystemExit(f"--before: {rev!r} is not a commit here")
    path = RESULTS / f"before-{commit}"
    if not (path / "src" / "dullahan").is_dir():
        RESULTS.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), commit], check=True,
                       capture_output=True)
    os.environ[BEFORE_SRC] = str(path / "src")
    os.environ[BEFORE_REV] = commit
    return commit


def command_output(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def revision() -> str:
    """The commit measured, marked when the tree differs from it."""
    commit = command_output(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = command_output(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"])
    return commit + ("+local changes" if dirty else "")


def machine() -> dict[str, Any]:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(next(line for line in Path("/proc/meminfo").read_text().splitlines()
                          if line.startswith("MemTotal")).split()[1])
        memory = f"{mem_kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        memory = "? RAM"
    import dullahan
    peers = [f"Dullahan {dullahan.__version__} (git {revision()}), served by `python -m dullahan serve`"]
    if available("before") is None:
        from bench.peers.dullahan import DullahanBeforePeer
        peers.append(DullahanBeforePeer().describe())
    peers.append(command_output(["tmux", "-V"]) + " (Debian package), history-limit 10000" if available("tmux") is None
                 else "tmux: not installed")
    try:
        import terminado
        import tornado
        peers.append(f"terminado {terminado.__version__} on tornado {tornado.version} (NamedTermManager + TermSocket)")
    except ImportError:
        peers.append("terminado: not installed")
    from bench.peers.wetty import WettyPeer
    peers.append(WettyPeer().describe() + " with `--command`" if available("wetty") is None else "WeTTY: not installed")
    peers.append("bare PTY floor: `pty.openpty` + bash, read on the harness's asyncio loop in 64 KiB reads")
    chromium = command_output(["/usr/bin/chromium", "--version"]) if Path("/usr/bin/chromium").exists() else ""
    if chromium:
        peers.append(f"browser: {chromium}, headless, via Playwright")
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": memory,
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(), "peers": peers}


KEPT = " (in the earlier run whose figures are kept)"


def carried_peer_lines(now: list[str], before: list[str]) -> list[str]:
    """A peer not installed here now keeps the description from the run whose figures are carried over."""
    out = []
    for line in now:
        name = line.split(":", 1)[0]
        if line.endswith(": not installed"):
            line = next((b if b.endswith(KEPT) else b + KEPT for b in before
                         if b.startswith(name) and not b.endswith("not installed")), line)
        out.append(line)
    return out


async def run_figures(figures: list[str], peers: list[str], runs: int) -> dict[str, list[dict[str, Any]]]:
    table = figure_table()
    out: dict[str, list[dict[str, Any]]] = {}
    skipped = {p: why for p in peers if (why := available(p))}
    for p, why in skipped.items():
        log(f"skipping {p}: {why}")
    for fig in figures:
        key, measure, eligible = table[fig]
        names = [p for p in eligible if p in peers and p not in skipped]
        rows: list[dict[str, Any]] = []
        for r in range(runs):
            order = names[r % len(names):] + names[:r % len(names)] if names else []
            for name in order:
                load = os.getloadavg()[0]
                log(f"figure {fig} ({key}) run {r + 1}/{runs}: {name} (load average {load:.1f})")
                started = time.monotonic()
                try:
                    result = await measure(PEERS[name]())
                    rows.append({"peer": name, "run": r + 1, "result": result,
                                 "wall": round(time.monotonic() - started, 2), "load": load})
                    log(f"  {brief(key, result)}")
                except Exception as e:   # one peer failing must not lose the others' numbers
                    log(f"  FAILED: {e.__class__.__name__}: {e}")
                    traceback.print_exc(file=sys.stderr)
                    rows.append({"peer": name, "run": r + 1, "error": f"{e.__class__.__name__}: {e}"[:300]})
        out[key] = rows
    return out


def brief(key: str, r: dict[str, Any]) -> str:
    from bench.common import percentile
    if key == "output":
        extra = f", ghostty alone {r['ghostty_cpu']:.2f} s" if "ghostty_cpu" in r else ""
        return f"{r['seconds']:.3f} s, cpu {r['cpu']:.2f} s{extra}, wire {r['wire']} B"
    if key == "echo":
        return (f"idle p50 {percentile(r['idle'], 0.5) * 1e3:.3f} p99 {percentile(r['idle'], 0.99) * 1e3:.3f} ms; "
                f"flood p50 {percentile(r['flood'], 0.5) * 1e3:.3f} p99 {percentile(r['flood'], 0.99) * 1e3:.3f} ms")
    if key == "fanout":
        return (f"echo p99 alone {percentile(r['echo_alone'], 0.99) * 1e3:.3f}, with viewers "
                f"{percentile(r['echo'], 0.99) * 1e3:.3f} ms; rss {r['rss_start'] / 2**20:.1f}->"
                f"{r['rss_end'] / 2**20:.1f} MiB; cpu {r['cpu_alone_per_s']:.2f}->{r['cpu_per_s']:.2f}/s")
    if key == "memory":
        return (f"empty {r['rss_empty'] / 1e6:.1f} MB, one pane +{r['one_added'] / 1e6:.2f} MB (text "
                f"+{r['text_added'] / 1e6:.2f}), {r['panes']} panes {r['many_rss'] / 1e6:.1f} MB")
    if key == "scale":
        return (f"echo p99 {percentile(r['echo'], 0.99) * 1e3:.2f} ms; loop lag p99 "
                f"{percentile(r['loop_lag_ms'], 0.99):.2f} ms; cpu {r['cpu_per_s']:.2f}/s; "
                f"fairness {r['fairness_jain']:.3f}")
    if key == "trace":
        return f"{len(r['idle']['steps'])} + {len(r['flood']['steps'])} keys traced"
    if key == "restart":
        return (f"command {r['command']:.2f} s, answering {r['answering']:.2f} s, "
                f"reconnected {r['reconnected']:.2f} s, paused {r['paused'] * 1e3:.0f} ms, "
                f"lost {r['bytes_lost']} B, repeated {r['repeated_lines']} lines, "
                f"screens equal {r['screens_equal']}/{r['screens']}")
    if key == "browser":
        return (f"seq {r['seq_seconds']:.3f} s; key p50 {percentile(r['keys'], 0.5) * 1e3:.2f} "
                f"p99 {percentile(r['keys'], 0.99) * 1e3:.2f} ms")
    return ""


def run_soaks(seconds: float) -> None:
    from bench.common import bench_env
    for mode in ("plain", "tls"):
        argv = [sys.executable, "-m", "dullahan", "test", "soak", "--seconds", f"{seconds:g}", "--clients", "8",
                "--slow", "2", "--churn", "--json"] + (["--tls"] if mode == "tls" else [])
        log(f"soak {mode}: {' '.join(argv[1:])}")
        env = bench_env()
        env["PYTHONPATH"] = str(ROOT / "src") + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        result = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(ROOT),
                                timeout=seconds * 2 + 600)
        try:
            data = json.loads(result.stdout)
        except ValueError:
            log(f"soak {mode} produced no report (status {result.returncode}): {result.stderr[-1000:]}")
            continue
        data["command"] = "dullahan " + " ".join(argv[3:])
        data["exit_status"] = result.returncode
        (report.PLOTS / f"soak-{mode}.json").write_text(json.dumps(data, indent=1, default=str))
        log(f"  {data['summary']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="interleaved runs per peer and figure (default 5)")
    parser.add_argument("--quick", action="store_true", help="one run of everything (smoke test)")
    parser.add_argument("--figures", default="1,2,3,4,5,6,7,8", help="comma-separated figure numbers")
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated peers")
    parser.add_argument("--soak", type=float, default=0.0, help="also run the plain and TLS soaks for SECONDS each")
    parser.add_argument("--report-only", type=Path, help="regenerate the document from a results file")
    parser.add_argument("--before", metavar="REV",
                        help="also measure Dullahan as of commit REV (a worktree of it), side by side")
    parser.add_argument("--fresh", action="store_true",
                        help="do not carry over the last results of figures not measured in this run")
    args = parser.parse_args(argv)
    report.PLOTS.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        saved: dict[str, Any] = json.loads(args.report_only.read_text())
        path = args.report_only.resolve()
        saved["file"] = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
        log(f"wrote {report.write(saved)}")
        return 0
    if args.before:
        log(f"before: Dullahan as of {checkout_before(args.before)}")
    runs = 1 if args.quick else max(1, args.runs)
    figures = [f.strip() for f in args.figures.split(",") if f.strip()]
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = [f for f in figures if f not in figure_table()] + [p for p in peers if p not in PEERS]
    if unknown:
        parser.error(f"unknown figures or peers: {unknown}")
    if not figures:   # soaks only: keep the last results and rewrite the document with the new soak reports
        if args.soak:
            run_soaks(args.soak)
        if LATEST.exists():
            last: dict[str, Any] = json.loads(LATEST.read_text())
            last.setdefault("file", str(LATEST.relative_to(ROOT)))
            log(f"wrote {report.write(last)}")
        return 0
    started = time.monotonic()
    results: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M %Z"), "runs": runs, "machine": machine(),
        "command": "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    measured = asyncio.run(run_figures(figures, peers, runs))
    run_info = {"started": results["started"], "runs": runs, "command": results["command"], "git": revision()}
    results["figures"] = measured
    results["figure_runs"] = {key: run_info for key in measured}
    if not args.fresh and LATEST.exists():
        # Figures not measured now keep their last results (each figure says when and how it was measured).
        previous = json.loads(LATEST.read_text())
        results["machine"]["peers"] = carried_peer_lines(results["machine"]["peers"],
                                                         previous.get("machine", {}).get("peers", []))
        for key, rows in previous.get("figures", {}).items():
            if key not in measured:
                results["figures"][key] = rows
                results["figure_runs"][key] = previous.get("figure_runs", {}).get(key, {
                    "started": previous.get("started"), "runs": previous.get("runs"),
                    "command": previous.get("command")})
    results["wall_seconds"] = round(time.monotonic() - started, 1)
    # Saved before the soaks, so an interrupted soak never costs the figures.
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"results-{time.strftime('%Y%m%d-%H%M%S')}.json"
    text = json.dumps(results, indent=1, default=str)
    for target in (path, LATEST):
        target.write_text(text)
    log(f"results in {path}")
    if args.soak:
        run_soaks(args.soak)
    results["file"] = str(LATEST.relative_to(ROOT))
    log(f"wrote {report.write(results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
