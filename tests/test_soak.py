"""The built-in soak command (``dullahan test soak``), short runs over plain and TLS (SPEC §7, §10).

Each run starts its own private server, drives heavy bursty output into a 2x2 window with five clients (a
typist, a slow reader, three churners that close, vanish with FIN and reset), and must pass: no healthy
client dropped, every disconnect classified and matched by client id, every final screen equal to the
server's, RSS within 20%, every echo seen. The plain run is read as JSON, the TLS run as text.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from helpers import make_env

SOAK = ["--seconds", "15", "--clients", "5", "--slow", "1", "--churn"]
SUMMARY = re.compile(r"^SOAK (PASS|FAIL) (plain|tls) 15s clients=5 slow=1 churn=yes disconnects=(\d+)\((\S+)\) "
                     r"healthy_dropped=(\d+) unexplained=(\d+) screens_equal=(\d+)/(\d+) "
                     r"echo_p50=[\d.]+ms p99=[\d.]+ms rss=[\d.]+->[\d.]+MiB\([+-][\d.]+%(,not_judged)?\)")


def soak(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = make_env(tmp_path)
    return subprocess.run([sys.executable, "-m", "dullahan", "test", "soak", *SOAK, *args], env=env,
                          capture_output=True, text=True, timeout=110, stdin=subprocess.DEVNULL)


def reasons_of(summary: re.Match[str]) -> dict[str, int]:
    return {k: int(v) for k, v in (part.split("=") for part in summary.group(4).split(","))}


def test_soak_plain_json(tmp_path: Path) -> None:
    result = soak(tmp_path, "--json")
    last = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
    assert result.returncode == 0, f"soak failed ({result.returncode}): {last}\n{result.stdout[-4000:]}"
    report = json.loads(result.stdout)
    assert report["summary"] == last
    m = SUMMARY.match(last)
    assert m and m.group(1) == "PASS" and m.group(2) == "plain", last
    assert report["passed"] and not report["failures"]
    assert report["healthy_dropped"] == 0 and report["unexplained"] == 0
    assert report["screens_equal"] == report["screens_total"] == 5
    # Every deliberate disconnect was logged by the server, for that client id, with the expected reason.
    assert report["churn_total"] >= 3 and report["churn_matched"] == report["churn_total"]
    assert set(report["churn_events"]) >= {"close", "fin", "rst"}
    disconnects = report["disconnects"]
    assert "unknown" not in disconnects
    assert disconnects.get("client_close", 0) >= 1
    assert disconnects.get("eof_without_close", 0) + disconnects.get("peer_reset", 0) >= 2
    assert sum(disconnects.values()) == report["churn_total"] == int(m.group(3))
    assert report["final_close"] == {"client_close": 6}   # five clients and the reference client
    # Frames flowed both ways and the typist measured echoes.
    assert report["totals"]["frames_in"] > 100 and report["totals"]["acks"] == report["totals"]["frames_in"]
    assert report["echo"]["count"] > 20 and report["echo"]["lost"] == 0
    slow = next(c for c in report["clients_detail"] if c["kind"] == "slow")
    assert slow["drops"] == [] and slow["counters"]["connections"] == 1


def test_soak_tls_text(tmp_path: Path) -> None:
    result = soak(tmp_path, "--tls")
    lines = result.stdout.strip().splitlines()
    assert lines, result.stderr[-2000:]
    last = lines[-1]
    assert result.returncode == 0, (f"soak failed ({result.returncode}):\n{result.stdout[-4000:]}\n"
                                    f"{result.stderr[-2000:]}")
    m = SUMMARY.match(last)
    assert m and m.group(1) == "PASS" and m.group(2) == "tls", last
    assert m.group(5) == "0" and m.group(6) == "0" and m.group(7) == m.group(8) == "5"
    reasons = reasons_of(m)
    assert "unknown" not in reasons and "tls_error" not in reasons
    assert reasons.get("client_close", 0) >= 1
    assert reasons.get("eof_without_close", 0) + reasons.get("peer_reset", 0) >= 2
    report = "\n".join(lines)
    assert "matched by client id with an expected reason" in report
    matched = re.search(r"expected reason: (\d+)/(\d+)", report)
    assert matched and matched.group(1) == matched.group(2) == m.group(3)
    assert "final screens equal to the server's: 5/5" in report
