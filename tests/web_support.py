"""Starting servers with the web side for tests: plain or TLS (certificates made here with trustme)."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme

from helpers import ServerProc, wait_for
from wsclient import Client, RawWebSocket


@dataclass
class WebServer:
    proc: ServerProc
    tls: bool
    client_ssl: ssl.SSLContext | None

    @property
    def base(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.proc.port}/"

    @property
    def origin(self) -> str:
        return self.base.rstrip("/")

    def tokens(self) -> dict[str, str]:
        return json.loads(self.proc.tokens_file.read_text())

    @property
    def master(self) -> str:
        return self.tokens()["master"]

    @property
    def view(self) -> str:
        return self.tokens()["view"]

    def status(self) -> dict[str, Any]:
        return self.proc.call("status")

    def disconnects(self) -> dict[str, int]:
        return self.status()["disconnects"]


def make_certs(directory: Path) -> tuple[str, str, ssl.SSLContext]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    chain, key = directory / "server.pem", directory / "server.key"
    cert.private_key_pem.write_to_path(str(key))
    with open(chain, "wb") as f:
        for blob in cert.cert_chain_pems:
            f.write(blob.bytes())
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return str(chain), str(key), ctx


def start_web(server: Callable[..., ServerProc], tmp_path: Path, tls: bool, config: dict[str, Any] | None = None,
              args: tuple[str, ...] = (), **server_kw: Any) -> WebServer:
    """A detached server; ``config`` is written to its config.json before it starts; ``server_kw`` goes to the
    ``server`` fixture (``env``, ``nofile``)."""
    cfg_dir = Path(tmp_path) / "cfg" / "dullahan"
    cfg_dir.mkdir(parents=True, exist_ok=True)
    if config:
        (cfg_dir / "config.json").write_text(json.dumps(config))
    client_ssl = None
    extra = list(args)
    if tls:
        chain, key, client_ssl = make_certs(Path(tmp_path))
        extra += ["--tls-cert", chain, "--tls-key", key]
    return WebServer(server(args=tuple(extra), **server_kw), tls, client_ssl)


# -- clients of a test server ----------------------------------------------------------------------------
def client(web: WebServer, token: str | None = None, **kw: Any) -> Client:
    return Client(web.base, token=token if token is not None else web.master,
                  ssl_context=web.client_ssl if web.tls else None, **kw)


def raw(web: WebServer, headers: dict[str, str] | None = None) -> RawWebSocket:
    ctx = web.client_ssl if web.tls else None
    return RawWebSocket("127.0.0.1", web.proc.port, headers or {"Authorization": f"Bearer {web.master}"}, ctx)


def wait_reason(web: WebServer, reason: str, count: int = 1, timeout: float = 10.0) -> None:
    wait_for(lambda: web.disconnects().get(reason, 0) >= count, timeout,
             message=lambda: f"disconnects {web.disconnects()}; log tail:\n{web.proc.log_text()[-1500:]}")


def disconnect_lines(web: WebServer, reason: str) -> list[str]:
    return [line for line in web.proc.log_text().splitlines()
            if "client disconnected" in line and f"reason={reason} " in line + " "]


async def first_pane(c: Client, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ids = c.pane_ids()
        if ids and ids[0] in c.replica.panes and c.replica.panes[ids[0]].ids:
            return ids[0]
        await asyncio.sleep(0.01)
    raise AssertionError("no pane arrived")


def raw_hello(ws: RawWebSocket, resume: str | None = None) -> dict[str, Any]:
    """Say hello on a raw socket (with a resume secret, if given); returns the server's hello."""
    ws.send_text({"t": "hello", "v": 1, **({"resume": resume} if resume else {})})
    reply = json.loads(ws.recv_until(0x1))
    assert reply["t"] == "hello", reply
    return reply
