"""Starting servers with the web side for tests: plain or TLS (certificates made here with trustme)."""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme

from helpers import ServerProc


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
              args: tuple[str, ...] = ()) -> WebServer:
    """A detached server; ``config`` is written to its config.json before it starts."""
    cfg_dir = Path(tmp_path) / "cfg" / "dullahan"
    cfg_dir.mkdir(parents=True, exist_ok=True)
    if config:
        (cfg_dir / "config.json").write_text(json.dumps(config))
    client_ssl = None
    extra = list(args)
    if tls:
        chain, key, client_ssl = make_certs(Path(tmp_path))
        extra += ["--tls-cert", chain, "--tls-key", key]
    return WebServer(server(args=tuple(extra)), tls, client_ssl)
