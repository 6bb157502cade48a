"""The pure parts of the hardening (issue 11): admission, the connection gate, frame headers, proxies, hosts,
origins, the wrong-token throttle, the log's limiter, scrubbing and rotation, IPC arguments."""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

import pytest

from dullahan.ipc.server import _Peer, pick_idle_victim
from dullahan.log import RateLimiter, RotatingFile, scrub
from dullahan.net.access import RefusalMemory, session_key
from dullahan.net.auth import MAX_DELAY, FailureThrottle, failure_delay
from dullahan.net.limits import (
    Admission,
    ConnectionGate,
    FrameScanner,
    unauthenticated_caps,
    viewer_capacity,
    websocket_admission,
)
from dullahan.net.proxy import HostPolicy, ProxyPolicy, host_name, origin_matches, parse_ip


# -- WebSocket admission -----------------------------------------------------------------------------------
def test_viewers_can_never_fill_the_slots_reserved_for_master_tokens() -> None:
    assert viewer_capacity(64, 4) == 60
    assert viewer_capacity(2, 4) == 1          # a tiny limit still lets one viewer in
    assert viewer_capacity(1, 4) == 1
    assert websocket_admission(False, 59, 0, 64, 4) is Admission.ACCEPT
    assert websocket_admission(False, 60, 0, 64, 4) is Admission.REFUSE
    assert websocket_admission(True, 60, 0, 64, 4) is Admission.ACCEPT
    assert websocket_admission(True, 60, 3, 64, 4) is Admission.ACCEPT


def test_a_master_token_client_evicts_a_viewer_when_everything_is_full() -> None:
    assert websocket_admission(True, 60, 4, 64, 4) is Admission.EVICT_VIEWER
    assert websocket_admission(True, 1, 0, 1, 0) is Admission.EVICT_VIEWER
    assert websocket_admission(True, 0, 64, 64, 4) is Admission.REFUSE     # only the owner's own clients
    assert websocket_admission(False, 10, 54, 64, 4) is Admission.REFUSE   # full: a viewer never evicts


# -- the connection gate -----------------------------------------------------------------------------------
def test_gate_closes_the_oldest_idle_connection_of_the_same_address() -> None:
    gate = ConnectionGate(max_total=100, max_per_address=3, timeout=10)
    a = [gate.open("10.0.0.1", t)[0] for t in range(3)]
    gate.request_started(a[0], 5)           # busy: closed last
    _, victims = gate.open("10.0.0.2", 6)
    assert victims == []
    newest, victims = gate.open("10.0.0.1", 7)
    assert victims == [a[1]]
    assert a[1].gone and not newest.gone
    assert gate.unauthenticated_from("10.0.0.1") == 3
    assert gate.unauthenticated == 4


def test_gate_total_cap_takes_from_the_most_crowded_address() -> None:
    gate = ConnectionGate(max_total=4, max_per_address=10, timeout=10)
    flood = [gate.open("10.0.0.9", t)[0] for t in range(3)]
    owner, victims = gate.open("127.0.0.1", 3)
    assert victims == []
    _, victims = gate.open("10.0.0.5", 4)
    assert victims == [flood[0]]
    assert not owner.gone
    assert gate.unauthenticated == 4


def test_authenticated_connections_leave_the_gate() -> None:
    gate = ConnectionGate(max_total=2, max_per_address=2, timeout=10)
    first, _ = gate.open("a", 0)
    gate.authenticate(first)
    assert gate.unauthenticated == 0 and gate.deadline(first) is None
    gate.open("a", 1)
    _, victims = gate.open("a", 2)
    assert victims == [] and not first.gone


def test_gate_deadline_follows_requests_and_expires() -> None:
    gate = ConnectionGate(max_total=8, max_per_address=8, timeout=10)
    conn, _ = gate.open("a", 0)
    assert gate.deadline(conn) == 10
    assert not gate.expire(conn, 9.9)
    gate.request_started(conn, 5)
    gate.request_finished(conn, 6)
    assert gate.deadline(conn) == 16
    assert gate.expire(conn, 16)
    assert conn.gone and gate.unauthenticated == 0 and gate.timed_out == 1


def test_a_trusted_proxy_is_not_held_to_the_per_address_cap() -> None:
    gate = ConnectionGate(max_total=5, max_per_address=1, timeout=10)
    for t in range(5):
        _, victims = gate.open("127.0.0.1", t, per_address_cap=False)
        assert victims == []
    _, victims = gate.open("127.0.0.1", 5, per_address_cap=False)
    assert len(victims) == 1


def test_unauthenticated_caps_fit_the_fd_limit() -> None:
    assert unauthenticated_caps(1024, 128, 32) == (128, 32)
    assert unauthenticated_caps(256, 128, 32) == (64, 32)
    assert unauthenticated_caps(64, 128, 32) == (16, 16)
    assert unauthenticated_caps(10, 128, 32) == (8, 8)


# -- WebSocket frame headers -------------------------------------------------------------------------------
def frame(payload: bytes, masked: bool = True, opcode: int = 1) -> bytes:
    n = len(payload)
    mbit = 0x80 if masked else 0
    if n < 126:
        head = bytes([0x80 | opcode, mbit | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, mbit | 126]) + struct.pack("!H", n)
    else:
        head = bytes([0x80 | opcode, mbit | 127]) + struct.pack("!Q", n)
    return head + (b"\x01\x02\x03\x04" if masked else b"") + payload


@pytest.mark.parametrize("size", [0, 5, 125, 126, 300, 65535, 65536, 70000])
def test_masked_frames_pass_at_every_split_point(size: int) -> None:
    stream = frame(b"x" * size) + frame(b"y" * 3) + frame(b"", opcode=9)
    for step in (1, 2, 3, 7, 64, len(stream)):
        scanner = FrameScanner()
        for i in range(0, len(stream), step):
            assert scanner.feed(stream[i:i + step]) is None


def test_an_unmasked_frame_is_found_where_it_starts() -> None:
    good = frame(b"hello") + frame(b"z" * 200)
    bad = frame(b"plain", masked=False)
    assert FrameScanner().feed(good + bad) == len(good)
    scanner = FrameScanner()
    assert scanner.feed(good + bad[:1]) is None          # its header is not complete yet
    assert scanner.feed(bad[1:]) == 0
    assert FrameScanner().feed(frame(b"q" * 70000, masked=False)) == 0


# -- proxies, hosts, origins -------------------------------------------------------------------------------
def test_forwarded_headers_count_only_from_trusted_proxies() -> None:
    policy = ProxyPolicy(["127.0.0.1", "10.0.0.0/8"])
    direct = policy.resolve("192.0.2.7", False, "h:7681", ["https"], ["evil"], ["6.6.6.6"])
    assert (direct.scheme, direct.host, direct.client, direct.proxied) == ("http", "h:7681", "192.0.2.7", False)
    via = policy.resolve("127.0.0.1", False, "127.0.0.1:7681", ["https"], ["term.example.com"],
                         ["203.0.113.5, 10.1.2.3"])
    assert (via.scheme, via.host, via.client, via.proxied) == ("https", "term.example.com", "203.0.113.5", True)
    # A client cannot lie past the first untrusted hop.
    spoofed = policy.resolve("127.0.0.1", False, "h", [], [], ["1.1.1.1, 203.0.113.5"])
    assert spoofed.client == "203.0.113.5"
    garbage = policy.resolve("127.0.0.1", True, "h", ["gopher"], ["bad host/"], ["not-an-ip"])
    assert (garbage.scheme, garbage.host, garbage.client) == ("https", "h", "127.0.0.1")
    assert ProxyPolicy([]).trusts("127.0.0.1") is False
    assert policy.trusts("::ffff:127.0.0.1")


def test_host_policy_loopback_bind() -> None:
    hosts = HostPolicy("127.0.0.1", allowed=["term.example.com"])
    for ok in ("127.0.0.1:7681", "localhost:7681", "LOCALHOST", "[::1]:7681", "term.example.com",
               "term.example.com.:443"):
        assert hosts.allows(ok), ok
    for bad in ("evil.com", "127.0.0.2", "", None, "192.168.1.5:7681", "evil.com@127.0.0.1", "[zz"):
        assert not hosts.allows(bad), bad


def test_host_policy_wildcard_and_specific_binds() -> None:
    wildcard = HostPolicy("0.0.0.0", machine=["box", "box.lan"], is_local_address=lambda a: a == "192.168.1.5")
    assert all(wildcard.allows(h) for h in ("box", "box.lan:7681", "192.168.1.5:7681", "localhost"))
    assert not wildcard.allows("192.168.1.6") and not wildcard.allows("evil.com")
    specific = HostPolicy("192.168.1.5")
    assert specific.allows("192.168.1.5:7681")
    assert not specific.allows("localhost") and not specific.allows("box")


def test_origin_must_match_scheme_host_and_port() -> None:
    assert origin_matches("http://127.0.0.1:7681", "http", "127.0.0.1:7681")
    assert origin_matches("https://h", "https", "h")
    assert origin_matches("https://h:443", "https", "h")
    assert origin_matches("HTTPS://H", "https", "h:443")
    assert not origin_matches("https://127.0.0.1:7681", "http", "127.0.0.1:7681")   # scheme differs
    assert not origin_matches("http://127.0.0.1:7681", "https", "127.0.0.1:7681")
    assert not origin_matches("https://h", "https", "h:80")
    assert not origin_matches("http://h:7681/path", "http", "h:7681")
    assert not origin_matches("null", "http", "h")
    assert not origin_matches(None, "http", "h")


def test_parse_ip_and_host_name() -> None:
    assert str(parse_ip("[::1]:80")) == "::1"
    assert str(parse_ip("1.2.3.4:80")) == "1.2.3.4"
    assert str(parse_ip("::ffff:10.0.0.1")) == "10.0.0.1"
    assert parse_ip("localhost") is None
    assert host_name("Example.COM.:8080") == "example.com"
    assert host_name("x" * 400) is None


# -- wrong tokens ------------------------------------------------------------------------------------------
def test_failure_delay_is_bounded_by_the_documented_five_seconds() -> None:
    delays = [failure_delay(n) for n in range(1, 200)]
    assert delays[:3] == [0.0, 0.0, 0.0]
    assert max(delays) == MAX_DELAY == 5.0
    throttle = FailureThrottle()
    for _ in range(50):
        count, delay = throttle.failed("127.0.0.1", now=0.0)
        assert delay <= 5.0
    assert count == 50
    count, delay = throttle.failed("127.0.0.1", now=10_000.0)   # forgotten after a quiet while
    assert (count, delay) == (1, 0.0)


# -- refusal memory, log limiter, scrubbing, rotation -------------------------------------------------------
def test_refusal_memory_is_per_session_bounded_and_expires() -> None:
    memory = RefusalMemory(keep_seconds=60, max_entries=2)
    memory.remember("a", "origin_rejected", "d", 0)
    assert memory.last("a", 10).reason == "origin_rejected"   # type: ignore[union-attr]
    assert memory.last("a", 61) is None
    memory.remember("b", "x", "", 0)
    memory.remember("c", "x", "", 0)
    assert memory.last("a", 1) is None                        # evicted by size
    assert session_key("cookie-value") != "cookie-value" and len(session_key("v")) == 32


def test_rate_limiter_bursts_then_counts_what_it_dropped() -> None:
    limiter = RateLimiter(rate=1.0, burst=3.0)
    assert [limiter.allow(0.0) for _ in range(5)] == [0, 0, 0, None, None]
    assert limiter.allow(1.0) == 2
    assert limiter.allow(1.0) is None
    assert limiter.allow(3.5) == 1


def test_scrub_removes_tokens_cookies_and_bearers() -> None:
    token = "N8QP-D3k9aRQK3XT5RP22Pso55aJQ5qJ"
    text = (f"GET /?token={token}&x=1 Authorization: Bearer {token}x Cookie: a=1; dullahan_7681=role.1.n.sig "
            f"b'dullahan_7681=master.17.abc.def' {token}")
    clean = scrub(text, (token,))
    assert token not in clean and "role.1.n.sig" not in clean and "master.17.abc.def" not in clean
    assert "a=1" not in clean
    assert scrub("detail='wrong bearer token'") == "detail='wrong bearer token'"


def test_rotating_file_keeps_a_few_capped_files(tmp_path: Path) -> None:
    path = str(tmp_path / "server.log")
    out = RotatingFile(path, max_bytes=4096, backups=2)
    line = "x" * 99 + "\n"
    for _ in range(500):
        out.write(line)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["server.log", "server.log.1", "server.log.2"]
    assert all(os.path.getsize(tmp_path / f) <= 4096 for f in files)
    assert out.rotations >= 10
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


# -- IPC ---------------------------------------------------------------------------------------------------
def test_ipc_evicts_the_peer_that_waited_longest() -> None:
    peers = [_Peer(None, t) for t in (5.0, 1.0, 3.0)]  # type: ignore[arg-type]
    peers[1].waiting_since = None      # mid-request: never evicted
    assert pick_idle_victim(peers) is peers[2]
    peers[2].evicted = True
    assert pick_idle_victim(peers) is peers[0]
    peers[0].waiting_since = None
    assert pick_idle_victim(peers) is None


# -- the standard library's logging, bridged ------------------------------------------------------------------
def test_aiohttp_records_become_short_scrubbed_rate_limited_lines(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    from aiohttp.http_exceptions import BadStatusLine

    from dullahan import log as log_module
    from dullahan.net import weblog

    fresh = log_module.Logger()
    path = tmp_path / "server.log"
    fresh.configure(path=str(path))
    fresh.set_secrets("SECRET-TOKEN-VALUE-1234")
    monkeypatch.setattr(weblog, "log", fresh)
    bridge = weblog.LogBridge()
    token = "SECRET-TOKEN-VALUE-1234"
    for name in ("aiohttp.server", "aiohttp.web", "aiohttp.internal", "aiohttp.websocket", "aiohttp.access"):
        try:
            raise BadStatusLine(f"GET /?token={token} HTTP/9.9")
        except BadStatusLine:
            record = logging.getLogger(name).makeRecord(name, logging.ERROR, __file__, 1, "Error handling request "
                                                        "from %s", ("127.0.0.1",), sys.exc_info())
        bridge.emit(record)
    try:
        raise RuntimeError(f"cookie: dullahan_7681=master.1.a.b token={token}")
    except RuntimeError:
        record = logging.getLogger("aiohttp.web").makeRecord("aiohttp.web", logging.ERROR, __file__, 1,
                                                             "Unhandled exception", (), sys.exc_info())
    bridge.emit(record)
    debug = logging.getLogger("aiohttp.server").makeRecord("aiohttp.server", logging.DEBUG, __file__, 1,
                                                           "noise", (), None)
    bridge.emit(debug)   # "http" debugging is off: dropped
    for _ in range(30):
        bridge.emit(logging.getLogger("aiohttp.internal").makeRecord("aiohttp.internal", logging.WARNING,
                                                                     __file__, 1, "again", (), None))
    text = path.read_text()
    assert token not in text and "master.1.a.b" not in text and "Traceback" not in text
    lines = text.splitlines()
    assert sum("malformed request refused address=127.0.0.1 error=BadStatusLine" in x for x in lines) == 5
    assert any("ERROR http: Unhandled exception" in x and "error='RuntimeError" in x for x in lines)
    assert not any("noise" in x for x in lines)
    assert sum(" again " in x + " " for x in lines) == 10    # a burst of 10, the rest suppressed
    assert all(len(x) < 600 for x in lines)


def test_new_settings_are_validated_with_clear_messages() -> None:
    from dullahan.config import ConfigError, Settings
    assert Settings.load({"base_path": "dullahan"}, "x").base_path == "/dullahan/"
    assert Settings.load({"base_path": "/"}, "x").base_path == "/"
    for bad, words in (({"trusted_proxies": ["proxy.example"]}, "not an IP address"),
                       ({"base_path": "/a b/"}, "must look like /prefix/"),
                       ({"allowed_hosts": ["a/b"]}, "not a host name"),
                       ({"log_max_bytes": 10}, "log_max_bytes must be within"),
                       ({"reserved_master_connections": -1}, "reserved_master_connections must be within")):
        with pytest.raises(ConfigError, match=words):
            Settings.load(bad, "config file")
