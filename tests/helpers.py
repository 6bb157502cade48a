"""Shared test helpers: real server subprocesses, polling with deadlines, raw IPC, process checks.

Everything here talks to real things (subprocesses, unix sockets, PTYs); nothing is mocked. Tests get a
server through the ``server`` fixture in ``conftest.py``, which builds :class:`ServerProc` objects and
stops them at the end of the test.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from dullahan.ipc.protocol import decode_reply

T = TypeVar("T")

SRC = Path(__file__).resolve().parent.parent / "src"
SHELL = "bash --noprofile --norc"
CLI_TIMEOUT = 30.0


# -- waiting ----------------------------------------------------------------------------------------------
def wait_for(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02,
             message: str | Callable[[], str] = "") -> T:
    """Poll ``predicate`` until it returns something truthy and return that; AssertionError at the deadline.

    ``message`` (a string or a callable giving one) is added to the failure to show the state seen last.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            detail = message() if callable(message) else message
            raise AssertionError(f"condition not met within {timeout} s" + (f": {detail}" if detail else ""))
        time.sleep(interval)


async def async_wait_for(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02,
                         message: str | Callable[[], str] = "") -> T:
    """``wait_for`` for code running inside an event loop: sleeps with ``asyncio.sleep``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            detail = message() if callable(message) else message
            raise AssertionError(f"condition not met within {timeout} s" + (f": {detail}" if detail else ""))
        await asyncio.sleep(interval)


def run(coro: Coroutine[Any, Any, T] | Awaitable[T]) -> T:
    """Run a coroutine to completion on a fresh event loop (pytest-asyncio is not used).

    Playwright's sync API keeps an event loop running in the main thread for as long as the shared browser
    lives; then the coroutine runs on a fresh loop in a worker thread instead.
    """
    async def main() -> T:
        return await coro
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


# -- processes and ports ------------------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port that was free a moment ago (bind port 0 on 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_state(pid: int) -> str | None:
    """The state letter from /proc/<pid>/stat ('R', 'S', 'Z' ...), or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def pid_gone(pid: int) -> bool:
    """True when the process has ended: no such pid, or only a zombie left (its parent has to reap it)."""
    return process_state(pid) in (None, "Z", "X")


def pid_running(pid: int) -> bool:
    return not pid_gone(pid)


def make_env(base: Path, **extra: str) -> dict[str, str]:
    """An environment for servers and CLI calls of one test: private runtime and config dirs under ``base``,
    a bare bash (no rc files) with a short prompt, and ``src`` importable."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DULLAHAN_", "XDG_", "PYTEST_")) and k not in ("TMUX", "PROMPT_COMMAND")}
    runtime, config, state = base / "run", base / "cfg", base / "state"
    for directory in (runtime, config, state):
        directory.mkdir(exist_ok=True)
    env.update(
        XDG_RUNTIME_DIR=str(runtime),
        XDG_CONFIG_HOME=str(config),
        XDG_STATE_HOME=str(state),
        DULLAHAN_SHELL=SHELL,
        SHELL="/bin/bash",
        PS1="$ ",
        PYTHONPATH=str(SRC) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def fd_limit(nofile: int | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` that lowers RLIMIT_NOFILE (soft and hard) to ``nofile`` for the child, like
    ``ulimit -n``; None when no limit is wanted."""
    if nofile is None:
        return None

    def lower() -> None:
        import resource
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    return lower


def run_cli(env: dict[str, str], *args: str, timeout: float = CLI_TIMEOUT,
            input: str | None = None, nofile: int | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m dullahan ARGS`` with ``env``; never raises on a non-zero exit status. ``nofile``: the
    file-descriptor limit of the command (and of a server it starts with ``serve -d``)."""
    return subprocess.run([sys.executable, "-m", "dullahan", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, input=input, stdin=None if input is not None else subprocess.DEVNULL,
                          preexec_fn=fd_limit(nofile))


# -- raw IPC ------------------------------------------------------------------------------------------------
def ipc_connect(path: Path, timeout: float = 10.0) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(str(path))
    return sock


def recv_line(sock: socket.socket, limit: int = 64 << 20) -> bytes:
    """Read up to and including a newline; returns what came before EOF if the peer closes first."""
    buf = bytearray()
    while not buf.endswith(b"\n") and len(buf) < limit:
        chunk = sock.recv(1 << 16)
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


def ipc_exchange(path: Path, payload: bytes, timeout: float = 10.0) -> dict[str, Any]:
    """Send raw bytes on a fresh connection and return the decoded reply object (``{"ok": ...}``)."""
    with ipc_connect(path, timeout) as sock:
        sock.sendall(payload)
        line = recv_line(sock)
    assert line.endswith(b"\n"), f"no reply line for {payload[:80]!r}; got {line[:200]!r}"
    reply = json.loads(line)
    assert isinstance(reply, dict), reply
    return reply


# -- a server subprocess ------------------------------------------------------------------------------------
class ServerProc:
    """A Dullahan server run as a subprocess, detached (``serve -d``) or in the foreground (``serve``).

    ``.cli(*args)`` runs the CLI against it, ``.call(cmd, **args)`` sends one IPC request and returns the
    result (raises ``RequestError`` with the server's message on ``ok: false``), ``.stop()`` quits it and
    SIGKILLs it if it does not go away.
    """

    def __init__(self, port: int, env: dict[str, str], workdir: Path, nofile: int | None = None) -> None:
        self.port = port
        self.nofile = nofile
        self.env = env
        self.workdir = workdir
        self.runtime_dir = Path(env["XDG_RUNTIME_DIR"]) / "dullahan"
        self.config_dir = Path(env["XDG_CONFIG_HOME"]) / "dullahan"
        self.socket = self.runtime_dir / f"server-{port}.sock"
        self.pidfile = self.runtime_dir / f"server-{port}.pid"
        self.logfile = self.runtime_dir / f"server-{port}.log"
        self.tokens_file = self.config_dir / f"tokens-{port}"
        self.keeper_socket = self.runtime_dir / f"keeper-{port}.sock"
        self.keeper_pidfile = self.runtime_dir / f"keeper-{port}.pid"
        self.state_file = Path(env["XDG_STATE_HOME"]) / "dullahan" / f"state-{port}.bin"
        self.proc: subprocess.Popen[bytes] | None = None   # only for a foreground server
        self.pid = 0
        self.start_output: subprocess.CompletedProcess[str] | None = None
        self._stdout = workdir / f"server-{port}.stdout"
        self._stderr = workdir / f"server-{port}.stderr"
        self.stopped = False

    # start --------------------------------------------------------------------------------------------
    def start_detached(self, *args: str) -> None:
        result = run_cli(self.env, "serve", "-d", *args, "--port", str(self.port), nofile=self.nofile)
        self.start_output = result
        assert result.returncode == 0, f"serve -d failed ({result.returncode}): {result.stderr}"
        self.pid = int(self.call("status")["pid"])

    def start_foreground(self, *args: str, timeout: float = 20.0) -> None:
        with open(self._stdout, "wb") as out, open(self._stderr, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "dullahan", "serve", "--port", str(self.port), *args],
                                         env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         start_new_session=True, preexec_fn=fd_limit(self.nofile))
        self.pid = self.proc.pid

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited during start-up ({self.proc.returncode}): {self.stderr()}")
            try:
                return self.call("status", timeout=2)["pid"] == self.pid
            except OSError:
                return False
        wait_for(ready, timeout, interval=0.05, message=lambda: self.log_text()[-2000:])

    # talk ---------------------------------------------------------------------------------------------
    def cli(self, *args: str, timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess[str]:
        """``python -m dullahan ARGS --port PORT``."""
        return run_cli(self.env, *args, "--port", str(self.port), timeout=timeout)

    def request(self, cmd: str, timeout: float = 10.0, **args: Any) -> dict[str, Any]:
        """One IPC request; the raw reply object."""
        return ipc_exchange(self.socket, json.dumps({"cmd": cmd, "args": args}).encode() + b"\n", timeout)

    def call(self, cmd: str, timeout: float = 10.0, **args: Any) -> Any:
        """One IPC request; its result, or ``RequestError`` carrying the server's message."""
        with ipc_connect(self.socket, timeout) as sock:
            sock.sendall(json.dumps({"cmd": cmd, "args": args}).encode() + b"\n")
            return decode_reply(recv_line(sock))

    def capture(self, pane: int, scrollback: bool = False, ansi: bool = False) -> str:
        return self.call("capture", pane=pane, scrollback=scrollback, ansi=ansi)["text"]

    def send(self, pane: int, text: str, enter: bool = True) -> None:
        self.call("send", pane=pane, text=text, enter=enter)

    def panes(self) -> list[dict[str, Any]]:
        return self.call("panes")

    def pane(self, pane_id: int) -> dict[str, Any]:
        return next(p for p in self.panes() if p["id"] == pane_id)

    # inspect ------------------------------------------------------------------------------------------
    def log_text(self) -> str:
        try:
            return self.logfile.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def stdout(self) -> str:
        return self._stdout.read_text(errors="replace") if self._stdout.exists() else ""

    def stderr(self) -> str:
        return self._stderr.read_text(errors="replace") if self._stderr.exists() else ""

    def alive(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is None
        return self.pid > 0 and pid_running(self.pid)

    def keeper_pid(self) -> int | None:
        try:
            pid = int(self.keeper_pidfile.read_text().strip() or 0)
        except (OSError, ValueError):
            return None
        return pid if pid > 0 and pid_running(pid) else None

    def restart(self) -> subprocess.CompletedProcess[str]:
        """``dullahan restart``; on success this object follows the new server's pid."""
        result = self.cli("restart", timeout=240)
        if result.returncode == 0:
            self.pid = int(self.call("status")["pid"])
            self.proc = None   # the new server is not our child
        return result

    def wait_saved(self, timeout: float = 30.0) -> dict[str, Any]:
        """Wait until the state file holds everything shown so far: a change marks the state dirty when it
        is parsed, so once nothing is pending the last save started after everything a capture showed."""
        def saved() -> dict[str, Any] | None:
            state = self.call("status")["state"]
            return state if state["saves"] > 0 and not state["pending"] and state["error"] is None else None
        return wait_for(saved, timeout, interval=0.05, message=lambda: str(self.call("status")["state"]))

    def wait_exit(self, timeout: float = 10.0) -> None:
        """Wait until the server process has ended (a foreground one is also reaped here)."""
        if self.proc is not None:
            self.proc.wait(timeout)
        else:
            wait_for(lambda: pid_gone(self.pid), timeout, message=f"server pid {self.pid} still running")

    # stop ---------------------------------------------------------------------------------------------
    def stop(self) -> None:
        """``dullahan quit``; SIGKILL the server if it is still there after 10 s. Safe to call twice."""
        if self.stopped:
            return
        self.stopped = True
        if self.pid <= 0:
            return
        if self.alive():
            try:
                self.cli("quit", timeout=15)
            except subprocess.TimeoutExpired:
                pass
            try:
                self.wait_exit(10)
            except (AssertionError, subprocess.TimeoutExpired):
                pass
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc is not None:
            self.proc.wait(10)
        self.stop_keeper()

    def stop_keeper(self) -> None:
        """End a keeper a killed server left behind (``quit`` with no server does it), SIGKILL if it lingers."""
        pid = self.keeper_pid()
        if pid is None:
            return
        try:
            self.cli("quit", timeout=15)
        except subprocess.TimeoutExpired:
            pass
        try:
            wait_for(lambda: pid_gone(pid), 10)
        except AssertionError:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


StartServer = Callable[..., ServerProc]
"""The type of the ``server`` fixture: ``server(port=None, detach=True, env=None, args=()) -> ServerProc``."""


def pane_ended_lines(log: str) -> dict[int, str]:
    """``{pane id: line}`` for every 'process ended' line in a server log."""
    out: dict[int, str] = {}
    for line in log.splitlines():
        if "pane: process ended" in line:
            for word in line.split():
                if word.startswith("pane="):
                    out[int(word[5:])] = line
    return out


def capture_until(server: ServerProc, pane: int, want: str | Callable[[str], object], timeout: float = 10.0,
                  scrollback: bool = False, ansi: bool = False) -> str:
    """Capture ``pane`` until the text contains ``want`` (or ``want(text)`` is truthy); returns the text."""
    check = (lambda text: want in text) if isinstance(want, str) else want
    last = [""]

    def probe() -> str | None:
        last[0] = server.capture(pane, scrollback=scrollback, ansi=ansi)
        return last[0] if check(last[0]) else None
    return wait_for(probe, timeout, interval=0.03,
                    message=lambda: f"pane {pane} never showed {want!r}; last capture:\n{last[0]}")
