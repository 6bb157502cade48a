"""Real reverse proxies for the tests: Debian's nginx and caddy, started by the test on a free loopback port
with TLS certificates made by trustme, configured with the snippets printed in the README (so the README's
snippets are the tested ones)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import free_port, wait_for

README = Path(__file__).resolve().parent.parent / "README.md"
README_PORT = "127.0.0.1:7681"
README_PREFIX = "/dullahan/"
README_HOST = "term.example.com"
NGINX = "/usr/sbin/nginx"
CADDY = "/usr/bin/caddy"


def readme_block(language: str) -> str:
    """The README's fenced code block in ``language`` (exactly one must exist)."""
    blocks = re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) == 1, f"README has {len(blocks)} {language} blocks"
    return blocks[0]


@dataclass
class Proxy:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _start(name: str, argv: list[str], port: int, log: Path, env: dict[str, str] | None = None) -> Proxy:
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env,
                                start_new_session=True)
    proxy = Proxy(name, port, proc, log)

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"{name} exited ({proc.returncode}):\n{proxy.log_text()[-3000:]}")
        return _listening(port)
    try:
        wait_for(up, 30, interval=0.1, message=lambda: proxy.log_text()[-2000:])
    except BaseException:
        proxy.stop()
        raise
    return proxy


def require(binary: str) -> None:
    if not Path(binary).exists() or shutil.which(binary) is None:
        pytest.fail(f"{binary} is missing: apt-get install -y nginx caddy (scripts/test does)")


def start_nginx(workdir: Path, backend_port: int, cert: str, key: str, prefix: str = README_PREFIX) -> Proxy:
    require(NGINX)
    block = readme_block("nginx").replace(README_PORT, f"127.0.0.1:{backend_port}").replace(README_PREFIX, prefix)
    http_part, _, server_part = block.partition("# in the server")
    server_part = server_part.split("\n", 1)[1]
    root = workdir / "nginx"
    root.mkdir(exist_ok=True)
    port = free_port()
    user = "user root;\n" if os.geteuid() == 0 else ""
    (root / "nginx.conf").write_text(f"""{user}daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log info;
events {{ worker_connections 512; }}
http {{
    access_log {root}/access.log;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
{http_part}
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};
{server_part}
    }}
}}
""")
    return _start("nginx", [NGINX, "-p", str(root), "-c", str(root / "nginx.conf"), "-e", str(root / "error.log")],
                  port, root / "stdout.log")


def start_caddy(workdir: Path, backend_port: int, cert: str, key: str, prefix: str = README_PREFIX) -> Proxy:
    require(CADDY)
    block = readme_block("caddy").replace(README_PORT, f"127.0.0.1:{backend_port}").replace(README_PREFIX, prefix)
    root = workdir / "caddy"
    root.mkdir(exist_ok=True)
    port = free_port()
    site = block.replace(f"{README_HOST} {{", f"https://localhost:{port} {{\n    bind 127.0.0.1\n"
                                             f"    tls {cert} {key}", 1)
    assert site != block, "the README's Caddy block does not start with the example host"
    (root / "Caddyfile").write_text(f"""{{
    admin off
    auto_https disable_redirects
    storage file_system {root}/data
}}
{site}""")
    env = {**os.environ, "HOME": str(root), "XDG_DATA_HOME": str(root / "data"),
           "XDG_CONFIG_HOME": str(root / "config")}
    return _start("caddy", [CADDY, "run", "--config", str(root / "Caddyfile"), "--adapter", "caddyfile"], port,
                  root / "caddy.log", env)


PROXIES = {"nginx": start_nginx, "caddy": start_caddy}
