"""Behind real reverse proxies (issue 11 item 9): Debian's nginx and caddy with TLS on a free loopback port,
configured with the README's snippets, in front of a plain server under a base path.

Also: forwarded headers from peers that are not trusted proxies are ignored, and a browser session whose
WebSocket upgrade was refused can ask why."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from helpers import run, wait_for
from proxy_support import PROXIES, Proxy
from web_support import WebServer, first_pane, make_certs, raw_hello, start_web
from wsclient import Client, RawWebSocket

PREFIX = "/dullahan/"


@pytest.fixture(params=sorted(PROXIES))
def proxy_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def proxies(tmp_path: Path) -> Iterator[list[Proxy]]:
    started: list[Proxy] = []
    yield started
    for p in started:
        p.stop()


def front(proxies: list[Proxy], name: str, tmp_path: Path, web: WebServer) -> tuple[Proxy, Any]:
    """Start proxy ``name`` in front of ``web``; returns it and an SSL context that trusts its certificate."""
    certs = tmp_path / f"{name}-certs"
    certs.mkdir()
    chain, key, ctx = make_certs(certs)
    proxy = PROXIES[name](tmp_path, web.proc.port, chain, key)
    proxies.append(proxy)
    return proxy, ctx


async def get(url: str, ctx: Any, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as s, s.get(
            url, headers=headers or {}, allow_redirects=False, ssl=ctx) as r:
        return r.status, {k: v for k, v in r.headers.items()}, await r.text()


def sign_in(base: str, token: str, ctx: Any) -> tuple[str, str]:
    """The token URL through the proxy; returns the cookie (name=value) and the raw Set-Cookie header."""
    status, headers, _ = run(get(f"{base}?token={token}", ctx))
    assert status == 303, (status, headers)
    assert headers["Location"] == PREFIX
    set_cookie = headers["Set-Cookie"]
    return set_cookie.split(";", 1)[0], set_cookie


def test_through_a_tls_proxy_under_a_base_path(server: Any, tmp_path: Path, proxy_name: str,
                                               proxies: list[Proxy]) -> None:
    web = start_web(server, tmp_path, False, args=("--trusted-proxy", "127.0.0.1", "--allowed-host",
                                                   "term.example.com", "--base-path", PREFIX))
    proxy, ctx = front(proxies, proxy_name, tmp_path, web)
    origin = f"https://localhost:{proxy.port}"
    base = origin + PREFIX
    cookie, set_cookie = sign_in(base, web.master, ctx)
    assert f"Path={PREFIX}" in set_cookie and "Secure" in set_cookie and "HttpOnly" in set_cookie
    status, _, page = run(get(base, ctx, {"Cookie": cookie}))
    assert status == 200 and 'src="static/js/main.js"' in page
    assert run(get(base + "static/js/main.js", ctx))[0] == 200
    assert run(get(base + "refusal", ctx, {"Cookie": cookie}))[2] == '{"reason": null}'

    async def drive() -> None:
        async with Client(base, token="", cookie=cookie, ssl_context=ctx, origin=origin) as c:
            assert c.hello["role"] == "master"
            pane = await first_pane(c, timeout=20)
            await c.type(pane, "echo proxied-$((6*7))")
            await c.wait_text(pane, "proxied-42", timeout=20)
    run(drive())

    # The client address in the log is the browser's (X-Forwarded-For), not the proxy's.
    ws = RawWebSocket("127.0.0.1", proxy.port, {"Cookie": cookie, "Origin": origin}, ctx, path=PREFIX + "ws",
                      host_header=f"localhost:{proxy.port}", source="127.0.0.2")
    assert ws.status == 101, proxy.log_text()[-2000:]
    raw_hello(ws)
    wait_for(lambda: re.search(r"client connected .*address=127\.0\.0\.2\b", web.proc.log_text()), 10,
             message=lambda: web.proc.log_text()[-2000:])
    ws.close_socket()
    assert re.search(r"signed in role=master address=127\.0\.0\.1\b", web.proc.log_text())
    urls = web.proc.cli("url").stdout
    assert f":{web.proc.port}{PREFIX}?token=" in urls


def test_an_untrusted_proxy_is_refused_and_the_page_can_ask_why(server: Any, tmp_path: Path, proxy_name: str,
                                                                proxies: list[Proxy]) -> None:
    """The usual mistake: a TLS proxy on another port in front of a server that does not trust it."""
    web = start_web(server, tmp_path, False, args=("--base-path", PREFIX))
    proxy, ctx = front(proxies, proxy_name, tmp_path, web)
    origin = f"https://localhost:{proxy.port}"
    base = origin + PREFIX
    cookie, set_cookie = sign_in(base, web.master, ctx)
    assert "Secure" not in set_cookie        # the proxy's X-Forwarded-Proto is not believed
    ws = RawWebSocket("127.0.0.1", proxy.port, {"Cookie": cookie, "Origin": origin}, ctx, path=PREFIX + "ws",
                      host_header=f"localhost:{proxy.port}")
    assert ws.status == 403
    ws.close_socket()
    status, headers, body = run(get(base + "refusal", ctx, {"Cookie": cookie}))
    assert status == 200 and headers["Cache-Control"] == "no-store"
    answer = json.loads(body)
    assert answer["reason"] == "origin_rejected", answer
    assert origin in answer["detail"]
    # Without a session the answer is "signed out", and it never says anything about other sessions.
    assert json.loads(run(get(base + "refusal", ctx))[2]) == {"reason": "signed_out"}


@pytest.mark.parametrize("trusted", [False, True], ids=["untrusted", "trusted"])
def test_forwarded_headers_count_only_from_trusted_proxies(server: Any, tmp_path: Path, trusted: bool) -> None:
    proxy = "127.0.0.1" if trusted else "10.255.255.1"
    web = start_web(server, tmp_path, False, args=("--trusted-proxy", proxy, "--allowed-host", "term.example.com"))
    _, headers, _ = run(get(f"http://127.0.0.1:{web.proc.port}/?token={web.master}", None))
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    forged = {"Cookie": cookie, "Origin": "https://term.example.com", "X-Forwarded-Proto": "https",
              "X-Forwarded-Host": "term.example.com", "X-Forwarded-For": "203.0.113.9"}
    ws = RawWebSocket("127.0.0.1", web.proc.port, forged)
    if trusted:
        assert ws.status == 101
        raw_hello(ws)
        wait_for(lambda: re.search(r"client connected .*address=203\.0\.113\.9\b", web.proc.log_text()), 10)
    else:
        assert ws.status == 403
        wait_for(lambda: "reason=origin_rejected" in web.proc.log_text(), 10)
        line = next(x for x in web.proc.log_text().splitlines() if "reason=origin_rejected" in x)
        assert "address=127.0.0.1" in line and "203.0.113.9" not in line
    ws.close_socket()


def test_base_path_serves_nothing_outside_its_prefix(server: Any, tmp_path: Path) -> None:
    web = start_web(server, tmp_path, False, args=("--base-path", "/a/b"))
    root = f"http://127.0.0.1:{web.proc.port}"
    status, headers, _ = run(get(f"{root}/a/b?token={web.master}", None))
    assert status == 308 and headers["Location"] == f"/a/b/?token={web.master}"
    status, headers, _ = run(get(f"{root}/a/b/?token={web.master}", None))
    assert status == 303 and "Path=/a/b/" in headers["Set-Cookie"]
    for outside in ("/", "/ws", "/static/app.css", "/a/", "/refusal"):
        assert run(get(root + outside, None))[0] == 404, outside
    assert run(get(f"{root}/a/b/static/app.css", None))[0] == 200
