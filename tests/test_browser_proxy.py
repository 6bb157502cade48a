"""The browser client behind a TLS reverse proxy (nginx, with the README's snippet) under a base path, in
headless Chromium: it works when the proxy is trusted, and says why when it is not instead of looping
"reconnecting"."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from browser_support import (  # noqa: F401  (the *_fixture names are fixtures: browser, pages)
    Pages,
    active_pane,
    browser_fixture,
    pages_fixture,
    type_line,
    wait_text,
    wait_toast,
)
from helpers import capture_until, wait_for
from proxy_support import Proxy, start_nginx
from web_support import make_certs, start_web

PREFIX = "/dullahan/"


def nginx_in_front(tmp_path: Path, port: int) -> Proxy:
    certs = tmp_path / "certs"
    certs.mkdir()
    chain, key, _ctx = make_certs(certs)
    return start_nginx(tmp_path, port, chain, key, PREFIX)


def test_page_through_a_trusted_tls_proxy_under_a_base_path(server: Any, tmp_path: Path, pages: Pages) -> None:
    web = start_web(server, tmp_path, False, args=("--trusted-proxy", "127.0.0.1", "--base-path", PREFIX))
    proxy = nginx_in_front(tmp_path, web.proc.port)
    try:
        page = pages.open(web.proc, base=f"https://localhost:{proxy.port}{PREFIX.rstrip('/')}",
                          ignore_https_errors=True)
        assert page.evaluate("() => location.pathname") == PREFIX
        assert page.evaluate("() => window.dullahan.conn.url") == f"wss://localhost:{proxy.port}{PREFIX}ws"
        pane = active_pane(page)
        type_line(page, "echo via-nginx-$((6*7))")
        wait_text(page, pane, "via-nginx-42")
        capture_until(web.proc, pane, "via-nginx-42")
    finally:
        proxy.stop()


def test_page_says_why_when_the_proxy_is_not_trusted(server: Any, tmp_path: Path, pages: Pages) -> None:
    web = start_web(server, tmp_path, False, args=("--base-path", PREFIX))
    proxy = nginx_in_front(tmp_path, web.proc.port)
    try:
        page = pages.open(web.proc, base=f"https://localhost:{proxy.port}{PREFIX.rstrip('/')}",
                          ignore_https_errors=True, wait=False)
        wait_for(lambda: page.evaluate("() => window.dullahan && window.dullahan.conn.state") == "refused", 20,
                 message=lambda: page.evaluate("() => window.dullahan && window.dullahan.conn.state"))
        assert page.inner_text("#conn") == "origin refused"
        toast = wait_toast(page, "Connection refused: origin")
        assert "--trusted-proxy" in toast
        attempts = page.evaluate("() => window.dullahan.conn.connects")
        time.sleep(3)   # no retry loop: the page stays refused and opens no more sockets
        assert page.evaluate("() => window.dullahan.conn.state") == "refused"
        assert page.evaluate("() => window.dullahan.conn.connects") == attempts
        assert page.evaluate("() => window.dullahan.conn.retryTimer") is None
    finally:
        proxy.stop()


def test_page_says_so_when_the_server_is_full(server: Any, tmp_path: Path, pages: Pages) -> None:
    web = start_web(server, tmp_path, False, config={"max_connections": 2, "reserved_master_connections": 0})
    first = pages.open(web.proc, role="view")
    second = pages.open(web.proc, role="view")
    assert first and second
    third = pages.open(web.proc, role="view", wait=False)
    wait_for(lambda: "server full" in third.inner_text("#conn"), 30,
             message=lambda: third.inner_text("#conn"))
    assert third.evaluate("() => window.dullahan.conn.state") in ("reconnecting", "connecting")
