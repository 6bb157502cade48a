"""The server's side of the keeper: start or find it, spawn shells through it, take their PTY masters back.

Requests are synchronous round trips on one SOCK_SEQPACKET connection (a spawn blocks the loop about as
long as a fork and exec did before; everything else is a few microseconds). A keeper that stops answering
raises ``KeeperLost``; the server then spawns its own children, which do not survive a crash (logged).
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dullahan.persist import fdpass
from dullahan.persist.keeper import PROTOCOL
from dullahan.session.pty import ExitStatus, PtyProcess, SpawnError

REQUEST_TIMEOUT = 10.0
START_TIMEOUT = 10.0


class KeeperLost(Exception):
    """The keeper is gone or broke the protocol."""


class KeeperRefused(Exception):
    """The keeper answered with an error (an unknown pid, a shell that cannot start)."""


@dataclass(frozen=True)
class KeeperPaths:
    socket: Path
    lock: Path
    log: Path

    @classmethod
    def in_dir(cls, directory: Path, port: int) -> KeeperPaths:
        return cls(directory / f"keeper-{port}.sock", directory / f"keeper-{port}.pid",
                   directory / f"keeper-{port}.log")


@dataclass(frozen=True)
class KeptChild:
    pid: int
    exit: ExitStatus | None


def _exit_status(obj: object) -> ExitStatus | None:
    if obj is None:
        return None
    if not isinstance(obj, dict):
        raise KeeperLost(f"the keeper sent a malformed exit status: {obj!r:.80}")
    code, sig = obj.get("code"), obj.get("signal")
    if not (code is None or isinstance(code, int)) or not (sig is None or isinstance(sig, int)):
        raise KeeperLost(f"the keeper sent a malformed exit status: {obj!r:.80}")
    return ExitStatus(code, sig)


def keeper_pid(paths: KeeperPaths) -> int | None:
    try:
        return int(paths.lock.read_text().strip() or 0) or None
    except (OSError, ValueError):
        return None


class KeeperClient:
    def __init__(self, sock: Any, pid: int, children: list[KeptChild]) -> None:
        self._sock = sock
        self.pid = pid
        self.children_at_start = children
        self.lost: str | None = None
        self._lock = threading.Lock()

    # -- finding and starting ------------------------------------------------------------------------------
    @classmethod
    def connect(cls, paths: KeeperPaths) -> KeeperClient | None:
        """The keeper of this port if one is running and answers; None if there is none."""
        try:
            sock = fdpass.connect(paths.socket, REQUEST_TIMEOUT)
        except (FileNotFoundError, ConnectionRefusedError):
            return None
        except OSError as e:
            raise KeeperLost(f"cannot reach the keeper at {paths.socket}: {e}") from e
        client = cls(sock, 0, [])
        try:
            reply, _ = client._request({"op": "hello", "protocol": PROTOCOL})
        except KeeperRefused as e:   # another protocol: a keeper of another version holds the shells
            client.close()
            raise KeeperLost(f"the keeper at {paths.socket} cannot work with this server: {e}") from e
        children = reply.get("children")
        pid = reply.get("pid")
        if not isinstance(children, list) or not isinstance(pid, int):
            client.close()
            raise KeeperLost("the keeper's hello is malformed")
        try:
            client.children_at_start = [KeptChild(int(c["pid"]), _exit_status(c.get("exit"))) for c in children]
        except (KeyError, TypeError, ValueError) as e:
            client.close()
            raise KeeperLost(f"the keeper's list of shells is malformed: {e}") from e
        client.pid = pid
        return client

    @classmethod
    def start(cls, paths: KeeperPaths) -> KeeperClient:
        """Start a keeper in the background (it detaches: its parent is not this server) and connect."""
        argv = [sys.executable, "-m", "dullahan.persist.keeper", "--socket", str(paths.socket),
                "--lock", str(paths.lock), "--log", str(paths.log)]
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parent.parent.parent)
        env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, env=env, timeout=START_TIMEOUT, close_fds=True)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise KeeperLost(f"cannot start the keeper: {e}") from e
        if done.returncode != 0:
            raise KeeperLost(f"the keeper did not start (status {done.returncode}): "
                             f"{done.stderr.decode(errors='replace').strip()[:300]}")
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            client = cls.connect(paths)
            if client is not None:
                return client
            if time.monotonic() > deadline:
                raise KeeperLost(f"the keeper started but does not answer on {paths.socket}")
            time.sleep(0.01)

    # -- requests ------------------------------------------------------------------------------------------
    def _request(self, obj: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
        with self._lock:
            if self.lost is not None:
                raise KeeperLost(self.lost)
            try:
                fdpass.send(self._sock, obj)
                reply, fds = fdpass.receive(self._sock)
            except (OSError, fdpass.PeerClosed, fdpass.MessageError) as e:
                self.lost = f"the keeper stopped answering ({e!r:.120})"
                self._sock.close()
                raise KeeperLost(self.lost) from e
        if reply.get("ok") is not True:
            fdpass.close_all(fds)
            raise KeeperRefused(str(reply.get("error") or "refused"))
        return reply, fds

    def _one_fd(self, reply: dict[str, Any], fds: list[int]) -> int:
        if len(fds) != 1:
            fdpass.close_all(fds)
            raise KeeperLost(f"the keeper sent {len(fds)} descriptors instead of one")
        return fds[0]

    def spawn(self, argv: list[str], env: dict[str, str], cwd: str, cols: int, rows: int,
              cell_px: tuple[int, int] = (0, 0)) -> KeptProcess:
        """A shell started by the keeper (PtyProcess.spawn's signature, so a Session can use it as is)."""
        try:
            reply, fds = self._request({"op": "spawn", "argv": argv, "env": env, "cwd": cwd, "cols": cols,
                                        "rows": rows, "cell_px": list(cell_px)})
        except KeeperRefused as e:
            raise SpawnError(str(e)) from e
        fd = self._one_fd(reply, fds)
        pid = reply.get("pid")
        if not isinstance(pid, int):
            os.close(fd)
            raise KeeperLost("the keeper's spawn reply has no pid")
        os.set_blocking(fd, False)
        return KeptProcess(pid, fd, self)

    def take(self, pid: int) -> KeptProcess:
        """The PTY master of a shell the keeper holds (a new descriptor for the same PTY)."""
        reply, fds = self._request({"op": "fd", "pid": pid})
        fd = self._one_fd(reply, fds)
        os.set_blocking(fd, False)
        return KeptProcess(pid, fd, self, _exit_status(reply.get("exit")))

    def status(self, pid: int) -> ExitStatus | None:
        reply, _ = self._request({"op": "status", "pid": pid})
        return _exit_status(reply.get("exit"))

    def release(self, pid: int) -> None:
        self._request({"op": "release", "pid": pid})

    def shutdown(self) -> None:
        """End the keeper: it hangs up what still runs (SIGHUP, SIGTERM, SIGKILL), reaps and exits."""
        try:
            self._request({"op": "shutdown"})
        finally:
            self.close()

    def close(self) -> None:
        with self._lock:
            if self.lost is None:
                self.lost = "closed"
                self._sock.close()


class KeptProcess(PtyProcess):
    """A shell whose parent is the keeper: exit is seen on a pidfd, the status comes from the keeper."""

    def __init__(self, pid: int, fd: int, keeper: KeeperClient, status: ExitStatus | None = None) -> None:
        self.pid = pid
        self.fd = fd
        self.status = status
        self.keeper = keeper
        self.pidfd = -1
        if self.status is not None:
            return   # ended (and reaped by the keeper): its pid may already belong to someone else
        try:
            self.pidfd = os.pidfd_open(pid)
        except ProcessLookupError:   # reaped just now: the keeper knows how it ended
            self.status = self._ask_status() or ExitStatus(None, None)

    def _ask_status(self) -> ExitStatus | None:
        try:
            return self.keeper.status(self.pid)
        except (KeeperLost, KeeperRefused):
            return ExitStatus(None, None)   # gone, and nobody can tell how it ended

    def reap(self) -> ExitStatus | None:
        if self.status is None and self.pidfd >= 0:
            readable, _, _ = select.select([self.pidfd], [], [], 0)
            if readable:
                self.status = self._ask_status()
        return self.status

    def discard(self) -> None:
        try:
            self.keeper.release(self.pid)
        except (KeeperLost, KeeperRefused):
            pass
