"""``dullahan test soak``: many clients, heavy bursty output, slow readers, churn; every disconnect explained.

It reproduces the investigation Dullahan was born from (a client dropped over TLS with nothing but "poll
error/hangup" in the log) and proves the opposite: under load, plain or TLS, no healthy client is dropped,
every disconnect has a classified reason, and every client ends up showing exactly the server's screen.

What it does:

1. starts a private server (own runtime/config dirs, ``bash --noprofile --norc``, self-signed certificate
   with ``--tls``, stopped with ``quit`` at the end) or, with ``--port N``, uses the server running on that
   port (its token from that port's tokens file, TLS if it serves TLS, its certificate not verified on
   loopback); there it opens its own window, takes the master role for the typist, and closes the window at
   the end;
2. opens a 2x2 window (120x41) whose panes run output drivers (``soakgen.py``): floods of styled text,
   full-screen redraws (partly on the alternate screen), scrolling with ``seq`` and ``yes | head``, each in
   bursts with pauses; the fourth pane runs ``cat``;
3. connects N clients: a *typist* (the master; types into ``cat`` and times every echo), ``--slow`` slow
   readers (32 KiB/s, 128 KiB/s, ...: they read slowly, so TCP backs up to the server), plain readers and,
   with ``--churn``, churners that repeatedly leave and come back: with a close frame, vanishing with FIN
   (no close frame, no TLS close_notify), or with a TCP reset; in runs long enough, one churner also
   stalls (stops reading, so its pings go unanswered) to see the server's ping timeout;
4. samples the server's RSS and CPU, and at the end checks that every connected client's replica equals the
   server's screen (``capture``) and, rows, styles and cursor included, a freshly connected client's;
5. matches every disconnect the server logged (by client id) with what the clients did.

The run fails (exit status 1) when a healthy client was dropped, a disconnect has no reason (``unknown``, or
one nobody asked for), a final screen differs, the server's RSS grew by more than 20% from the end of the
warm-up (20% of the run, at most 120 s; judged only in runs of 120 s or more, since the server's caches take
that long to fill), an echo never arrived, the server refused a message of one of these well-behaved
clients, a client could not connect, or the server died. The last line of the text
output is one summary line (``SOAK PASS ...`` or ``SOAK FAIL ...``). With ``--json`` stdout is one JSON
document (the whole report; its ``summary`` field holds the summary line) and the summary line is printed
last on stderr. Bad arguments exit with status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import random
import re
import shlex
import signal
import statistics
import string
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dullahan.ipc.protocol import RequestError
from dullahan.testing.client import ClientError, Counters, Ending, ScriptedClient
from dullahan.testing.server import DullahanServer, ServerError

GEN = Path(__file__).resolve().parent / "soakgen.py"
WINDOW_COLS, WINDOW_ROWS = 120, 41
RSS_GROWTH_LIMIT = 0.20
# RSS growth is judged only in runs this long: the server's caches (its row interner holds 200,000 rows)
# take a minute or two of this load to fill, so in shorter runs growth says nothing about leaks.
RSS_JUDGED_FROM = 120.0
ECHO_TIMEOUT = 10.0
SETTLE_TIMEOUT = 30.0
DRIVER_MODES = ("colour", "redraw", "scroll")
SLOW_RATES = (32 * 1024, 128 * 1024, 64 * 1024, 256 * 1024)
CHURN_MODES = ("close", "fin", "rst")
EXPECTED = {
    "close": {"client_close"},
    "fin": {"eof_without_close", "peer_reset"},
    "rst": {"peer_reset", "eof_without_close"},
    "stall": {"ping_timeout", "client_close"},
    "final": {"client_close"},
}
DISCONNECT_RE = re.compile(r" connection: client disconnected client=(\d+) reason=(\w+)")
REFUSED_RE = re.compile(r": refused reason=(\w+)")


@dataclass
class SoakOptions:
    port: int | None = None
    seconds: float = 60.0
    tls: bool = False
    clients: int = 8
    slow: int = 2
    churn: bool = False
    json: bool = False


@dataclass
class ChurnEvent:
    member: str
    server_id: int | None
    how: str
    at: float
    reason: str | None = None       # what the server logged for that client id
    matched: bool = False


@dataclass
class Member:
    name: str
    kind: str                       # typist, slow, reader, churn
    client: ScriptedClient
    healthy: bool
    read_rate: float | None = None
    drops: list[Ending] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    events: list[ChurnEvent] = field(default_factory=list)
    connect_failures: int = 0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def normalise(lines: list[str]) -> list[str]:
    out = [line.rstrip() for line in lines]
    while out and not out[-1]:
        out.pop()
    return out


class Soak:
    def __init__(self, opts: SoakOptions) -> None:
        self.opts = opts
        self.server: DullahanServer | None = None
        self.members: list[Member] = []
        self.window_id: int | None = None
        self.panes: dict[str, int] = {}
        self.echo: list[float] = []
        self.echo_lost = 0
        self.problems: list[str] = []
        self.samples: list[tuple[float, int, float]] = []   # (t, rss, cpu)
        self.stopping = False
        self.load_end = 0.0
        self.started = 0.0
        self.log_offset = 0
        self.disconnects_before: dict[str, int] = {}
        self.rss_start = 0
        self.rss_end = 0
        self.cpu_start = 0.0
        self.cpu_end = 0.0
        self.tmp: Path | None = None
        self.rnd = random.Random(7)
        self.ping_interval = 20.0
        self.screen_results: dict[str, dict[str, Any]] = {}
        self.reference_ok = True
        self.final_close: dict[str, int] = {}
        self.server_clients_end: list[dict[str, Any]] = []
        self.reference: Member | None = None
        self.warmup = 0.0

    # -- set-up ---------------------------------------------------------------------------------------
    def _start_server(self) -> DullahanServer:
        if self.opts.port is None:
            return DullahanServer.start_private(tls=self.opts.tls)
        server = DullahanServer.attach(self.opts.port)
        if self.opts.tls and not server.tls:
            raise ServerError(f"--tls was given but the server on port {self.opts.port} serves plain HTTP")
        return server

    def _plan(self, server: DullahanServer) -> None:
        tokens = server.tokens()
        n = max(1, self.opts.clients)
        slow = max(0, min(self.opts.slow, n - 1))
        rest = n - 1 - slow
        churners = min(rest, 4) if self.opts.churn else 0
        readers = rest - churners

        def client(name: str, token: str, rate: float | None = None) -> ScriptedClient:
            return ScriptedClient(server.base_url, token, ssl_context=server.client_ssl, name=name, read_rate=rate)
        self.members.append(Member("typist", "typist", client("typist", tokens["master"]), True))
        for i in range(slow):
            rate = float(SLOW_RATES[i % len(SLOW_RATES)])
            self.members.append(Member(f"slow{i + 1}", "slow", client(f"slow{i + 1}", tokens["view"], rate), True,
                                       read_rate=rate))
        for i in range(readers):
            self.members.append(Member(f"reader{i + 1}", "reader", client(f"reader{i + 1}", tokens["view"]), True))
        for i in range(churners):
            self.members.append(Member(f"churn{i + 1}", "churn", client(f"churn{i + 1}", tokens["view"]), False))

    async def _open_window(self, server: DullahanServer) -> None:
        before = {w["id"] for w in await server.acall("windows")}
        result = await server.acall("new-window", layout="2x2", cols=WINDOW_COLS, rows=WINDOW_ROWS)
        self.window_id = int(result["id"])
        panes = [p for p in result["panes"] if p]
        if len(panes) < 4:
            raise ServerError(f"the 2x2 window has {len(panes)} panes")
        self.panes = dict(zip((*DRIVER_MODES, "cat"), panes, strict=False))
        if server.private:
            for wid in before:   # the private server's first window is not part of the soak
                await server.acall("kill-window", window=wid)

    async def _connect(self, member: Member) -> bool:
        try:
            await member.client.connect()
        except Exception as e:   # any failure to connect is reported
            member.connect_failures += 1
            self.problems.append(f"{member.name} could not connect: {e.__class__.__name__}: {e}"[:200])
            return False
        if member.client.server_id is not None:
            member.ids.append(member.client.server_id)
        return True

    async def _wait_layout(self, member: Member, timeout: float = 15.0) -> None:
        want = set(self.panes.values())
        c = member.client
        await c.wait_until(lambda: want <= set(c.pane_ids()) and want <= set(c.replica.panes), timeout)

    # -- the run --------------------------------------------------------------------------------------
    async def run(self) -> dict[str, Any]:
        self.started = time.monotonic()
        self.server = server = await asyncio.to_thread(self._start_server)
        try:
            return await self._run(server)
        finally:
            self.stopping = True
            for m in [*self.members, *([self.reference] if self.reference else [])]:
                if m.client.connected:
                    await m.client.close()
            if self.opts.port is not None and self.window_id is not None:
                try:
                    await server.acall("kill-window", window=self.window_id)
                except (OSError, RequestError):
                    pass
            await asyncio.to_thread(server.stop)
            if self.tmp is not None:
                import shutil
                shutil.rmtree(self.tmp, ignore_errors=True)

    async def _run(self, server: DullahanServer) -> dict[str, Any]:
        opts = self.opts
        self.log_offset = len(server.log_text().encode())
        self.disconnects_before = dict((await server.acall("status"))["disconnects"])
        await self._open_window(server)
        self._plan(server)
        for m in self.members:
            if await self._connect(m):
                await self._wait_layout(m)
        typist = self.members[0].client
        if typist.hello.get("role") != "master":
            await typist.send({"t": "request_master"})
        self.ping_interval = float(typist.hello.get("ping_interval", 20.0))

        # Output drivers (they end by themselves after the load phase) and cat for the typist.
        self.tmp = Path(tempfile.mkdtemp(prefix="dullahan-soak-"))
        seconds = max(1.0, opts.seconds)
        for i, mode in enumerate(DRIVER_MODES):
            cmd = f"{shlex.quote(sys.executable)} {shlex.quote(str(GEN))} {mode} {seconds:.1f} {i + 1}"
            await server.acall("send", pane=self.panes[mode], text=cmd, enter=True)
        await server.acall("send", pane=self.panes["cat"], text="seq 1 11000; cat", enter=True)
        cat = self.panes["cat"]
        await typist.wait_until(lambda: any(line.rstrip() == "11000" for line in typist.screen(cat)), 30)
        await asyncio.sleep(0.3)

        load_start = time.monotonic()
        self.load_end = load_start + seconds
        self.warmup = warmup = max(3.0, min(120.0, 0.2 * seconds))
        tasks = [asyncio.create_task(self._typist(self.members[0])),
                 asyncio.create_task(self._monitor(server, load_start + warmup))]
        for i, m in enumerate(self.members):
            if m.kind == "churn":
                tasks.append(asyncio.create_task(self._churner(m, i)))
            else:
                tasks.append(asyncio.create_task(self._guard(m)))
        await asyncio.sleep(max(0.0, self.load_end - time.monotonic()))
        await self._wait_drivers(server)
        self.stopping = True
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):
                self.problems.append(f"soak task failed: {r.__class__.__name__}: {r}"[:300])
        for m in self.members:     # a client that could not come back gets one more try for the final check
            if not m.client.connected:
                await self._connect(m)

        await self._final_check(server)
        self.rss_end, self.cpu_end = server.rss(), server.cpu_seconds()
        status_end = await server.acall("status")
        member_ids = {m.client.server_id for m in self.members}
        self.server_clients_end = [c for c in await server.acall("clients") if c.get("id") in member_ids]
        disconnects = self._diff(status_end["disconnects"])
        await asyncio.sleep(0.5)
        log_reasons, refusals = self._log_disconnects(server)
        report = self._report(disconnects, log_reasons, refusals, load_start)
        # Leave cleanly and check that those closes are classified too.
        for m in [*self.members, *([self.reference] if self.reference else [])]:
            if m.client.connected:
                await m.client.close()
        await self._final_closes(server, report)
        return report

    async def _wait_drivers(self, server: DullahanServer) -> None:
        deadline = time.monotonic() + 60
        pending = dict(zip(DRIVER_MODES, (self.panes[m] for m in DRIVER_MODES), strict=True))
        while pending and time.monotonic() < deadline:
            for mode, pane in list(pending.items()):
                text = (await server.acall("capture", pane=pane))["text"]
                if f"SOAK-DONE {mode}" in text:
                    del pending[mode]
            await asyncio.sleep(0.25)
        for mode in pending:
            self.problems.append(f"the {mode} driver did not finish within 60 s of the end of the load phase")

    async def _monitor(self, server: DullahanServer, warm_at: float) -> None:
        period = 1.0 if self.opts.seconds < 120 else 5.0
        while not self.stopping:
            now = time.monotonic()
            try:
                rss, cpu = server.rss(), server.cpu_seconds()
            except OSError:
                self.problems.append("the server process is gone")
                return
            self.samples.append((round(now - self.started, 2), rss, cpu))
            if not self.rss_start and now >= warm_at:
                self.rss_start, self.cpu_start = rss, cpu
            await asyncio.sleep(period)

    async def _typist(self, m: Member) -> None:
        """Type letters into ``cat`` and time each echo; Enter every 40 letters.

        After Enter the next letter waits until ``cat`` has printed the line back (the line is then on the
        screen twice, above the cursor): typed earlier, its echo would land after cat's output, a row lower
        than where it is looked for.
        """
        c = m.client
        pane = self.panes["cat"]
        line = ""

        def line_done(text: str) -> bool:
            cur = c.cursor(pane)
            if cur is None or cur[0] != 0 or cur[1] < 2:
                return False
            rows = c.screen(pane)
            return rows[cur[1] - 1].rstrip() == text and rows[cur[1] - 2].rstrip() == text
        while time.monotonic() < self.load_end and not self.stopping:
            if not c.connected:
                await asyncio.sleep(0.2)
                continue
            try:
                if len(line) >= 40:
                    await c.key(pane, "Enter", "Enter")
                    await c.wait_until(functools.partial(line_done, line), ECHO_TIMEOUT)
                    line = ""
                ch = self.rnd.choice(string.ascii_letters)
                self.echo.append(await c.echo(pane, ch, ECHO_TIMEOUT))
                line += ch
            except TimeoutError:
                self.echo_lost += 1
                cur = c.cursor(pane)
                row = c.screen(pane)[cur[1]].rstrip() if cur and pane in c.replica.panes else "?"
                self.problems.append(f"an echo (or cat's copy of the line) did not arrive within {ECHO_TIMEOUT:.0f}"
                                     f" s ({time.monotonic() - self.started:.1f} s into the run; typed {line!r}, "
                                     f"cursor {cur}, cursor row {row!r})")
                await asyncio.sleep(1.0)
                line = ""
                if c.connected:
                    await c.key(pane, "Enter", "Enter")
                    await asyncio.sleep(1.0)
            except (ClientError, KeyError, IndexError):
                await asyncio.sleep(0.2)
            await asyncio.sleep(self.rnd.uniform(0.02, 0.08))

    async def _guard(self, m: Member) -> None:
        """A healthy client: it must stay connected; if it is dropped, note it and reconnect."""
        while not self.stopping:
            if not m.client.connected:
                await asyncio.sleep(0.2)
                if not m.client.connected and not self.stopping:
                    await self._connect(m)
                continue
            ending = await m.client.wait_ended(0.5)
            if ending is not None and ending.by_us is None:
                m.drops.append(ending)
                self.problems.append(f"healthy client {m.name} (server id {ending.server_id}) was dropped: "
                                     f"{ending.kind} {ending.detail}")

    async def _churner(self, m: Member, index: int) -> None:
        """Leave and come back, again and again, each time in one of the ways a browser can go away."""
        long_run = self.opts.seconds >= 120
        stay = (4.0, 30.0) if long_run else (1.0, 4.0)
        stall_for = 2 * self.ping_interval + 15.0
        stall_event = index == len(self.members) - 1 and self.opts.seconds >= 2 * stall_for + 60
        k = 0
        c = m.client
        while not self.stopping and time.monotonic() < self.load_end - 1.0:
            if not c.connected and not await self._connect(m):
                await asyncio.sleep(1.0)
                continue
            await asyncio.sleep(min(self.rnd.uniform(*stay), max(0.0, self.load_end - 1.0 - time.monotonic())))
            if self.stopping or time.monotonic() >= self.load_end - 1.0:
                break
            if not c.connected:
                ending = await c.wait_ended(0.1)
                if ending is not None and ending.by_us is None:
                    m.drops.append(ending)
                    self.problems.append(f"churn client {m.name} (server id {ending.server_id}) was dropped by "
                                         f"the server before it left: {ending.kind} {ending.detail}")
                continue
            how = "stall" if stall_event and k == 1 else CHURN_MODES[(index + k) % len(CHURN_MODES)]
            event = ChurnEvent(m.name, c.server_id, how, round(time.monotonic() - self.started, 2))
            m.events.append(event)
            if how == "close":
                await c.close()
            elif how in ("fin", "rst"):
                await c.vanish(reset=how == "rst")
            else:
                c.stall(stall_for)
                ending = await c.wait_ended(stall_for + 10)
                if ending is None:
                    await c.close()
            k += 1
            await asyncio.sleep(self.rnd.uniform(0.1, 0.8))
        if not c.connected and not self.stopping:
            await self._connect(m)

    # -- the end --------------------------------------------------------------------------------------
    async def _final_check(self, server: DullahanServer) -> None:
        """Every client's replica must equal the server's screen and a fresh client's full snapshot.

        The reference client connects after the output stopped, so it starts from a full snapshot; it stays
        connected until the final clean closes.
        """
        tokens = server.tokens()
        ref = ScriptedClient(server.base_url, tokens["view"], ssl_context=server.client_ssl, name="reference")
        self.reference = ref_member = Member("reference", "reference", ref, True)
        pane_ids = list(self.panes.values())
        deadline = time.monotonic() + SETTLE_TIMEOUT
        last: dict[str, dict[str, Any]] = {}
        if not await self._connect(ref_member):
            self.reference_ok = False
            return
        await self._wait_layout(ref_member)
        while True:
            await asyncio.sleep(0.5)
            truth = {p: normalise((await server.acall("capture", pane=p))["text"].split("\n")) for p in pane_ids}
            ref_ok = all(normalise(ref.screen(p)) == truth[p] for p in pane_ids)
            last = {m.name: self._compare(m.client, ref, truth, pane_ids) for m in self.members}
            if ref_ok and all(r["equal"] for r in last.values()):
                break
            if time.monotonic() > deadline:
                self.reference_ok = ref_ok
                if not ref_ok:
                    self.problems.append("a freshly connected client's screen differs from the server's capture")
                break
        self.screen_results = last
        for name, r in last.items():
            if not r["equal"]:
                self.problems.append(f"{name}'s final screen differs: {r['detail']}")

    def _compare(self, c: ScriptedClient, ref: ScriptedClient, truth: dict[int, list[str]],
                 pane_ids: list[int]) -> dict[str, Any]:
        if not c.connected:
            return {"equal": False, "detail": "not connected at the end"}
        for p in pane_ids:
            try:
                mine = normalise(c.screen(p))
            except KeyError as e:
                return {"equal": False, "detail": f"pane {p}: row {e} missing from the cache"}
            if mine != truth[p]:
                row = next((i for i, (a, b) in enumerate(zip(mine, truth[p], strict=False)) if a != b),
                           min(len(mine), len(truth[p])))
                got = mine[row] if row < len(mine) else "<none>"
                want = truth[p][row] if row < len(truth[p]) else "<none>"
                return {"equal": False, "detail": f"pane {p} row {row}: {got[:60]!r} != server {want[:60]!r}"}
            if c.snapshot(p) != ref.snapshot(p):
                return {"equal": False, "detail": f"pane {p}: styles, size or cursor differ from a fresh client's"}
        return {"equal": True, "detail": ""}

    def _diff(self, after: dict[str, int]) -> dict[str, int]:
        out = {k: v - self.disconnects_before.get(k, 0) for k, v in after.items()}
        return {k: v for k, v in sorted(out.items()) if v}

    def _log_disconnects(self, server: DullahanServer) -> tuple[dict[int, str], Counter[str]]:
        text = server.log_text().encode()[self.log_offset:].decode("utf-8", "replace")
        reasons: dict[int, str] = {}
        refusals: Counter[str] = Counter()
        for line in text.splitlines():
            m = DISCONNECT_RE.search(line)
            if m:
                reasons[int(m.group(1))] = m.group(2)
                continue
            r = REFUSED_RE.search(line)
            if r:
                refusals[r.group(1)] += 1
        return reasons, refusals

    async def _final_closes(self, server: DullahanServer, report: dict[str, Any]) -> None:
        everyone = [*self.members, *([self.reference] if self.reference else [])]
        ids = {sid for m in everyone if m.client.endings and (sid := m.client.endings[-1].server_id) is not None}
        deadline = time.monotonic() + 10
        reasons: dict[int, str] = {}
        while time.monotonic() < deadline:
            reasons, _ = self._log_disconnects(server)
            if ids <= set(reasons):
                break
            await asyncio.sleep(0.2)
        wrong = {i: reasons.get(i) for i in ids if reasons.get(i, "missing") not in EXPECTED["final"]}
        self.final_close = dict(Counter(reasons.get(i, "missing") for i in ids))
        report["final_close"] = self.final_close
        if wrong:
            report["unexplained"] += len(wrong)
            report["problems"].append(f"final clean closes not logged as client_close: {wrong}")
            report["passed"] = False
            report["summary"] = self._summary(report)

    # -- report ---------------------------------------------------------------------------------------
    def _report(self, disconnects: dict[str, int], log_reasons: dict[int, str], refusals: Counter[str],
                load_start: float) -> dict[str, Any]:
        opts = self.opts
        server = self.server
        assert server is not None
        events: list[ChurnEvent] = [e for m in self.members for e in m.events]
        deliberate = {e.server_id: e for e in events if e.server_id is not None}
        owner = {i: m for m in self.members for i in m.ids}
        if self.reference is not None:
            owner.update({i: self.reference for i in self.reference.ids})
        notes: list[str] = []
        unexplained = 0
        for ev in events:
            ev.reason = log_reasons.get(ev.server_id) if ev.server_id is not None else None
            ev.matched = ev.reason in EXPECTED[ev.how]
            if not ev.matched:
                unexplained += 1
                notes.append(f"{ev.member} left by '{ev.how}' (server id {ev.server_id}) but the server logged "
                             f"{ev.reason or 'no disconnect'}")
        healthy_logged = churn_logged = 0
        foreign: Counter[str] = Counter()
        for cid, reason in sorted(log_reasons.items()):
            if cid in deliberate:
                continue
            m = owner.get(cid)
            if m is None:
                foreign[reason] += 1
                if server.private or reason == "unknown":
                    unexplained += 1
                    notes.append(f"a client that is not ours (id {cid}) disconnected: {reason}")
            elif m.healthy:
                healthy_logged += 1
                notes.append(f"the server disconnected healthy client {m.name} (id {cid}): {reason}")
                if reason == "unknown":
                    unexplained += 1
            else:
                churn_logged += 1
                notes.append(f"the server disconnected {m.name} (id {cid}) before it left: {reason}")
        healthy_dropped = max(healthy_logged, sum(len(m.drops) for m in self.members if m.healthy))
        unexplained += max(churn_logged, sum(len(m.drops) for m in self.members if not m.healthy))
        logged_unknown = sum(1 for r in log_reasons.values() if r == "unknown")
        if disconnects.get("unknown", 0) > logged_unknown:
            unexplained += disconnects["unknown"] - logged_unknown
            notes.append(f"status counts {disconnects['unknown']} 'unknown' disconnects, the log {logged_unknown}")
        if server.private:
            unexplained += sum(refusals.values())
            counted = sum(disconnects.values())
            if counted != len(log_reasons) + sum(refusals.values()):
                notes.append(f"status counted {counted} disconnects, the log has {len(log_reasons)} "
                             f"and {sum(refusals.values())} refusals")
        expected_total = len(deliberate)

        connected = [m for m in self.members if m.name in self.screen_results]
        equal = sum(1 for m in connected if self.screen_results[m.name]["equal"])
        growth = (self.rss_end - self.rss_start) / self.rss_start if self.rss_start else 0.0
        failures: list[str] = []
        if healthy_dropped:
            failures.append("healthy client dropped")
        if unexplained:
            failures.append("unexplained disconnect")
        if equal != len(self.members) or not self.reference_ok:
            failures.append("final screen differs")
        rss_judged = opts.seconds >= RSS_JUDGED_FROM
        if rss_judged and growth > RSS_GROWTH_LIMIT:
            failures.append(f"RSS grew {growth * 100:.0f}%")
        if self.echo_lost:
            failures.append("echo lost")
        if any(m.connect_failures for m in self.members):
            failures.append("connect failed")
        if not self.echo:
            failures.append("no echo measured")
        if any("server process is gone" in p or "driver did not finish" in p for p in self.problems):
            failures.append("server or driver failure")
        refused = {m.name: [e for e in m.client.messages if e.get("t") == "error"] for m in self.members}
        for name, errs in refused.items():
            if errs:
                notes.append(f"{name} got {len(errs)} error replies from the server, e.g. {errs[-1]}")
        if any(refused.values()):
            failures.append("server refused a well-behaved client's message")

        clients: list[dict[str, Any]] = []
        totals = Counters()
        for m in self.members:
            t = m.client.totals()
            totals.add(t)
            clients.append({"name": m.name, "kind": m.kind, "healthy": m.healthy, "read_rate": m.read_rate,
                            "server_ids": m.ids, "drops": [asdict(d) for d in m.drops],
                            "churn": [asdict(e) for e in m.events], "screen": self.screen_results.get(m.name),
                            "errors": refused[m.name][-5:],
                            "counters": asdict(t)})
        server_side = {"bytes_out": sum(c.get("bytes_out", 0) for c in self.server_clients_end),
                       "frames_out": sum(c.get("frames_out", 0) for c in self.server_clients_end),
                       "bytes_in": sum(c.get("bytes_in", 0) for c in self.server_clients_end)}
        by_how = Counter(e.how for e in events)
        report: dict[str, Any] = {
            "mode": "tls" if server.tls else "plain",
            "server": {"pid": server.pid, "private": server.private, "port": server.port,
                       "version": server.status_cache.get("version")},
            "seconds": opts.seconds, "clients": len(self.members), "slow": opts.slow, "churn": opts.churn,
            "load_seconds": round(self.load_end - load_start, 1),
            "wall_seconds": round(time.monotonic() - self.started, 1),
            "disconnects": disconnects,
            "refusals": dict(refusals),
            "churn_events": dict(by_how),
            "churn_matched": sum(1 for e in events if e.matched),
            "churn_total": expected_total,
            "foreign_disconnects": dict(foreign),
            "unexplained": unexplained,
            "healthy_dropped": healthy_dropped,
            "screens_equal": equal,
            "screens_total": len(self.members),
            "echo": {"count": len(self.echo), "lost": self.echo_lost,
                     "p50_ms": round(percentile(self.echo, 0.5) * 1000, 3),
                     "p90_ms": round(percentile(self.echo, 0.9) * 1000, 3),
                     "p99_ms": round(percentile(self.echo, 0.99) * 1000, 3),
                     "max_ms": round(max(self.echo) * 1000, 3) if self.echo else None,
                     "mean_ms": round(statistics.fmean(self.echo) * 1000, 3) if self.echo else None},
            "rss": {"start": self.rss_start, "end": self.rss_end, "growth": round(growth, 4), "judged": rss_judged,
                    "warmup_seconds": round(self.warmup, 1),
                    "max": max((s[1] for s in self.samples), default=0)},
            "cpu_seconds": round(self.cpu_end - self.cpu_start, 2),
            "totals": asdict(totals),
            "server_side": server_side,
            "clients_detail": clients,
            "samples": self.samples,
            "problems": self.problems + notes,
            "failures": failures,
            "passed": not failures,
        }
        report["summary"] = self._summary(report)
        return report

    def _summary(self, r: dict[str, Any]) -> str:
        if r["unexplained"] and "unexplained disconnect" not in r["failures"]:
            r["failures"].append("unexplained disconnect")
        r["passed"] = not r["failures"]
        d = r["disconnects"]
        dtext = f"{sum(d.values())}(" + ",".join(f"{k}={v}" for k, v in d.items()) + ")" if d else "0"
        mib = 1024 * 1024
        e = r["echo"]
        line = (f"SOAK {'PASS' if r['passed'] else 'FAIL'} {r['mode']} {r['seconds']:g}s clients={r['clients']} "
                f"slow={r['slow']} churn={'yes' if r['churn'] else 'no'} disconnects={dtext} "
                f"healthy_dropped={r['healthy_dropped']} unexplained={r['unexplained']} "
                f"screens_equal={r['screens_equal']}/{r['screens_total']} "
                f"echo_p50={e['p50_ms']:.2f}ms p99={e['p99_ms']:.2f}ms "
                f"rss={r['rss']['start'] / mib:.1f}->{r['rss']['end'] / mib:.1f}MiB({r['rss']['growth'] * 100:+.1f}%"
                f"{'' if r['rss']['judged'] else ',not_judged'})")
        if r["failures"]:
            line += " failed=" + ",".join(f.replace(" ", "_") for f in r["failures"])
        return line


def format_report(r: dict[str, Any]) -> str:
    mib = 1024 * 1024
    t = r["totals"]
    s = r["server"]
    lines = [
        f"Dullahan soak: {r['mode']}, {r['seconds']:g} s of load ({r['wall_seconds']:g} s in all), "
        f"{r['clients']} clients, {'private' if s['private'] else 'running'} server pid {s['pid']} "
        f"port {s['port']} (version {s['version']})",
        "",
        f"{'client':<10} {'kind':<7} {'conns':>5} {'frames':>8} {'msgs in':>8} {'bytes in':>12} {'tcp in':>12} "
        f"{'msgs out':>8} {'bytes out':>10} {'resync':>6} {'errors':>6} {'drops':>5}  final screen",
    ]
    for c in r["clients_detail"]:
        k = c["counters"]
        kind = c["kind"] + (f"@{int(c['read_rate'] / 1024)}K" if c["read_rate"] else "")
        screen = c["screen"] or {}
        lines.append(f"{c['name']:<10} {kind:<7} {k['connections']:>5} {k['frames_in']:>8} {k['msgs_in']:>8} "
                     f"{k['bytes_in']:>12} {k['tcp_in']:>12} {k['msgs_out']:>8} {k['bytes_out']:>10} "
                     f"{k['resyncs']:>6} {k['errors']:>6} {len(c['drops']):>5}  "
                     f"{'equal' if screen.get('equal') else 'DIFFERS ' + str(screen.get('detail', 'not checked'))}")
    lines += [
        f"{'total':<10} {'':<7} {t['connections']:>5} {t['frames_in']:>8} {t['msgs_in']:>8} {t['bytes_in']:>12} "
        f"{t['tcp_in']:>12} {t['msgs_out']:>8} {t['bytes_out']:>10} {t['resyncs']:>6} {t['errors']:>6}",
        f"server side (live clients at the end): frames out {r['server_side']['frames_out']}, bytes out "
        f"{r['server_side']['bytes_out']}, bytes in {r['server_side']['bytes_in']}",
        "",
        "disconnects (server status, during the run): "
        + (", ".join(f"{k} {v}" for k, v in r["disconnects"].items()) or "none"),
        f"deliberate: {r['churn_total']} ({', '.join(f'{k} {v}' for k, v in r['churn_events'].items()) or 'no churn'})"
        f", matched by client id with an expected reason: {r['churn_matched']}/{r['churn_total']}",
    ]
    if r["refusals"]:
        lines.append(f"refused connections: {r['refusals']}")
    if r["foreign_disconnects"]:
        lines.append(f"other clients' disconnects (not ours): {r['foreign_disconnects']}")
    if r.get("final_close"):
        lines.append(f"final clean closes: {r['final_close']}")
    e = r["echo"]
    rss = r["rss"]
    lines += [
        f"unexplained disconnects: {r['unexplained']}; healthy clients dropped: {r['healthy_dropped']}",
        f"echo latency ({e['count']} keystrokes into cat under load): p50 {e['p50_ms']:.2f} ms, "
        f"p90 {e['p90_ms']:.2f} ms, p99 {e['p99_ms']:.2f} ms, max {e['max_ms'] or 0:.2f} ms; lost {e['lost']}",
        f"server RSS: {rss['start'] / mib:.1f} MiB after {rss['warmup_seconds']:g} s of warm-up -> "
        f"{rss['end'] / mib:.1f} MiB at the end ({rss['growth'] * 100:+.1f}%, max {rss['max'] / mib:.1f} MiB"
        + ("" if rss["judged"] else f"; growth not judged in runs under {RSS_JUDGED_FROM:g} s")
        + f"); server CPU {r['cpu_seconds']:.1f} s",
        f"final screens equal to the server's: {r['screens_equal']}/{r['screens_total']}",
    ]
    if r["problems"]:
        lines.append("problems:")
        lines += [f"  - {p}" for p in r["problems"][:50]]
    lines.append(r["summary"])
    return "\n".join(lines)


def options_from_args(args: argparse.Namespace) -> SoakOptions:
    return SoakOptions(port=args.port, seconds=float(args.seconds), tls=bool(args.tls), clients=int(args.clients),
                       slow=int(args.slow), churn=bool(args.churn), json=bool(args.json))


def run_soak(opts: SoakOptions) -> dict[str, Any]:
    # SIGTERM ends the run like Ctrl+C does: the clean-up stops the private server instead of orphaning it.
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return asyncio.run(Soak(opts).run())
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_soak_cli(args: argparse.Namespace) -> int:
    opts = options_from_args(args)
    if opts.seconds <= 0 or opts.clients < 1 or opts.slow < 0:
        print("dullahan: --seconds must be > 0, --clients >= 1, --slow >= 0", file=sys.stderr)
        return 2
    try:
        report = run_soak(opts)
    except KeyboardInterrupt:
        print("dullahan: soak interrupted; its private server was stopped", file=sys.stderr)
        return 130
    except (ServerError, RequestError, OSError) as e:
        print(f"dullahan: soak could not run: {e}", file=sys.stderr)
        print(f"SOAK FAIL {'tls' if opts.tls else 'plain'} {opts.seconds:g}s error={e.__class__.__name__}",
              file=sys.stderr if opts.json else sys.stdout)
        return 1
    if opts.json:
        print(json.dumps(report, indent=2, default=str))
        print(report["summary"], file=sys.stderr)
    else:
        print(format_report(report))
    sys.stdout.flush()
    return 0 if report["passed"] else 1
