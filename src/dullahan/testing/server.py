"""A Dullahan server for tools: a private subprocess (own runtime and config dirs), or one already running.

The soak command and the benchmarks talk to it over IPC (the unix socket, one JSON request per line) and
read its process's CPU time and RSS from /proc.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dullahan
from dullahan.ipc.protocol import RequestError, decode_reply, encode_request

SHELL = "bash --noprofile --norc"
CLK_TCK = os.sysconf("SC_CLK_TCK")


class ServerError(Exception):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (children not included)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss_bytes(pid: int) -> int:
    """VmRSS of a process, in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def tree_pids(pid: int) -> list[int]:
    """``pid`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def ipc_call(socket_path: Path | str, cmd: str, args: dict[str, Any] | None = None, timeout: float = 30.0) -> Any:
    """One IPC request on the server's unix socket; its result (RequestError with the server's message)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(socket_path))
        sock.sendall(encode_request(cmd, args))
        buf = bytearray()
        while not buf.endswith(b"\n"):
            chunk = sock.recv(1 << 16)
            if not chunk:
                raise RequestError("the server closed the IPC connection without replying")
            buf += chunk
        return decode_reply(bytes(buf))
    finally:
        sock.close()


class DullahanServer:
    """A server on ``port``: ``start_private()`` runs our own; ``attach()`` uses one that is running."""

    def __init__(self, port: int, runtime_dir: Path, config_dir: Path) -> None:
        self.port = port
        self.runtime_dir = runtime_dir          # .../dullahan
        self.config_dir = config_dir            # .../dullahan
        self.proc: subprocess.Popen[bytes] | None = None
        self.pid = 0
        self.tls = False
        self.private = False
        self.tmp: Path | None = None
        self.client_ssl: ssl.SSLContext | None = None
        self.status_cache: dict[str, Any] = {}

    # -- paths and tokens ----------------------------------------------------------------------------
    @property
    def socket_path(self) -> Path:
        return self.runtime_dir / f"server-{self.port}.sock"

    @property
    def log_path(self) -> Path:
        return self.runtime_dir / f"server-{self.port}.log"

    def tokens(self) -> dict[str, str]:
        path = self.config_dir / f"tokens-{self.port}"
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise ServerError(f"cannot read the tokens of the server on port {self.port} ({path}): {e}") from e

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/"

    # -- start / attach / stop -----------------------------------------------------------------------
    @classmethod
    def start_private(cls, *, tls: bool = False, port: int | None = None, shell: str = SHELL,
                      extra_args: list[str] | None = None, config: dict[str, Any] | None = None,
                      env: dict[str, str] | None = None, ready_timeout: float = 30.0) -> DullahanServer:
        """A fresh server subprocess with its own temporary runtime and config directories."""
        tmp = Path(tempfile.mkdtemp(prefix="dullahan-tool-"))
        runtime, cfg = tmp / "run", tmp / "cfg"
        runtime.mkdir(mode=0o700)
        cfg.mkdir(mode=0o700)
        (tmp / "state").mkdir(mode=0o700)
        server = cls(port or free_port(), runtime / "dullahan", cfg / "dullahan")
        server.tmp, server.private, server.tls = tmp, True, tls
        if config:
            server.config_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            (server.config_dir / "config.json").write_text(json.dumps(config))
        args = [sys.executable, "-m", "dullahan", "serve", "--port", str(server.port)]
        if tls:
            from dullahan.testing.tlscert import make_self_signed
            cert, key = make_self_signed(tmp / "tls")
            args += ["--tls-cert", str(cert), "--tls-key", str(key)]
            server.client_ssl = ssl.create_default_context(cafile=str(cert))
        args += extra_args or []
        child_env = server_env(runtime, cfg, shell)
        child_env.update(env or {})
        with open(tmp / "server.stderr", "wb") as err:
            server.proc = subprocess.Popen(args, env=child_env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                           stderr=err, start_new_session=True, cwd=str(tmp))
        server.pid = server.proc.pid
        deadline = time.monotonic() + ready_timeout
        while True:
            if server.proc.poll() is not None:
                tail = (tmp / "server.stderr").read_text(errors="replace")[-2000:]
                server.cleanup()
                raise ServerError(f"the private server exited during start-up ({server.proc.returncode}): {tail}")
            try:
                status = server.call("status", timeout=2)
                if status["pid"] == server.pid:
                    server.status_cache = status
                    break
            except (OSError, RequestError):
                pass
            if time.monotonic() > deadline:
                server.stop()
                raise ServerError(f"the private server did not answer within {ready_timeout:.0f} s")
            time.sleep(0.05)
        return server

    @classmethod
    def attach(cls, port: int) -> DullahanServer:
        """The server already running on ``port`` (found through this user's runtime directory)."""
        from dullahan.config import RuntimePaths, config_dir
        paths = RuntimePaths.for_port(port)
        server = cls(port, paths.directory, config_dir())
        try:
            status = server.call("status", timeout=5)
        except (FileNotFoundError, ConnectionRefusedError) as e:
            raise ServerError(f"no server is running on port {port}") from e
        server.status_cache = status
        server.pid = int(status["pid"])
        server.tls = bool(status["tls"])
        if server.tls:
            # We cannot know which CA signed a running server's certificate; on loopback we skip verification.
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            server.client_ssl = ctx
        return server

    def stop(self, timeout: float = 15.0) -> None:
        """Quit a private server (IPC ``quit``), then SIGKILL its pid if it is still there. After a
        ``dullahan restart`` the server is another process than the one started here: ``pid`` follows it
        (whoever restarts sets it) and that one is stopped."""
        if not self.private or self.proc is None:
            return
        restarted = self.pid != self.proc.pid
        if self.proc.poll() is None or (restarted and _running(self.pid)):
            try:
                self.call("quit", timeout=5)
            except (OSError, RequestError):
                pass
            deadline = time.monotonic() + timeout
            while _running(self.pid) and time.monotonic() < deadline:
                self.proc.poll()   # reaps our own child once it exits
                time.sleep(0.05)
            if _running(self.pid):
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.proc.poll() is None:
            self.proc.wait(10)
        self.cleanup()

    def end_keeper(self) -> None:
        """End the keeper of a private server that did not quit (killed): it would keep the shells forever."""
        if not self.private:
            return
        from dullahan.persist.keeper_client import KeeperClient, KeeperLost, KeeperPaths, keeper_pid
        paths = KeeperPaths.in_dir(self.runtime_dir, self.port)
        pid = keeper_pid(paths)
        try:
            keeper = KeeperClient.connect(paths)
            if keeper is not None:
                keeper.shutdown()
        except KeeperLost:
            pass
        deadline = time.monotonic() + 10
        while pid is not None and os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid is not None and os.path.exists(f"/proc/{pid}") and paths.lock.exists():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def cleanup(self) -> None:
        self.end_keeper()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    # -- talking ------------------------------------------------------------------------------------------
    def call(self, cmd: str, timeout: float = 30.0, **args: Any) -> Any:
        return ipc_call(self.socket_path, cmd, args, timeout)

    async def acall(self, cmd: str, timeout: float = 30.0, **args: Any) -> Any:
        """``call`` from inside an event loop (the blocking socket runs in a thread)."""
        return await asyncio.to_thread(ipc_call, self.socket_path, cmd, args, timeout)

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.pid)

    def rss(self) -> int:
        return proc_rss_bytes(self.pid)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""


def _running(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def server_env(runtime: Path, cfg: Path, shell: str = SHELL) -> dict[str, str]:
    """The environment of a private server: its own XDG dirs, a bare shell with a short prompt, and this
    copy of the package importable."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DULLAHAN_", "XDG_")) and k not in ("TMUX", "PROMPT_COMMAND")}
    package_root = str(Path(dullahan.__file__).resolve().parent.parent)
    env.update(XDG_RUNTIME_DIR=str(runtime), XDG_CONFIG_HOME=str(cfg), XDG_STATE_HOME=str(runtime.parent / "state"),
               DULLAHAN_SHELL=shell, SHELL="/bin/bash",
               PS1="$ ", PYTHONUNBUFFERED="1",
               PYTHONPATH=package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""))
    return env
