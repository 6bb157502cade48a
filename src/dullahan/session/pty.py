"""A child process on a pseudo-terminal.

The child becomes a session leader with the PTY as its controlling terminal, gets SIGPIPE, SIGCHLD and
every other signal reset to the default disposition and an empty signal mask (Python ignores SIGPIPE,
and an inherited ignored SIGCHLD breaks ``wait`` in the shell), then execs the command.
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import struct
import termios
from dataclasses import dataclass

MIN_SIZE, MAX_SIZE = 1, 1000


def clamp_size(cols: int, rows: int) -> tuple[int, int]:
    return max(MIN_SIZE, min(MAX_SIZE, int(cols))), max(MIN_SIZE, min(MAX_SIZE, int(rows)))


@dataclass(frozen=True)
class ExitStatus:
    code: int | None     # exit code, when the process exited
    signal: int | None   # signal number, when it was killed

    @classmethod
    def from_wait(cls, status: int) -> ExitStatus:
        if os.WIFSIGNALED(status):
            return cls(None, os.WTERMSIG(status))
        return cls(os.waitstatus_to_exitcode(status), None)

    def describe(self) -> str:
        if self.signal is not None:
            try:
                name = signal.Signals(self.signal).name
            except ValueError:
                name = str(self.signal)
            return f"killed by {name}"
        return f"exited with status {self.code}"

    def to_json(self) -> dict[str, object]:
        return {"code": self.code, "signal": self.signal, "text": self.describe()}


class SpawnError(OSError):
    pass


class PtyProcess:
    """A spawned child and the master side of its PTY (non-blocking)."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid = pid
        self.fd = fd
        self.status: ExitStatus | None = None
        # Readable when the child exits: lets the event loop reap it without a SIGCHLD handler
        # (uvloop keeps SIGCHLD for itself).
        self.pidfd = os.pidfd_open(pid)

    @classmethod
    def spawn(cls, argv: list[str], env: dict[str, str], cwd: str, cols: int, rows: int,
              cell_px: tuple[int, int] = (0, 0)) -> PtyProcess:
        pid, master = fork_pty(argv, env, cwd, cols, rows, cell_px)
        return cls(pid, master)

    def resize(self, cols: int, rows: int, cell_px: tuple[int, int] = (0, 0)) -> None:
        set_winsize(self.fd, cols, rows, cell_px)

    def signal_group(self, sig: int) -> None:
        """Signal the child's process group (it leads its own session), then the child itself."""
        if self.status is not None:
            return
        for target in (lambda: os.killpg(self.pid, sig), lambda: os.kill(self.pid, sig)):
            try:
                target()
            except ProcessLookupError:
                pass
            except PermissionError:
                pass

    def reap(self) -> ExitStatus | None:
        """Collect the exit status if the child has ended (never blocks)."""
        if self.status is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.status = ExitStatus(None, None)
                return self.status
            if pid == self.pid:
                self.status = ExitStatus.from_wait(status)
        return self.status

    def close(self) -> None:
        if self.fd >= 0:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = -1

    def close_pidfd(self) -> None:
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1

    def discard(self) -> None:
        """The pane is done with this process for good (after ``close``). Nothing to do for our own child;
        a process held by the keeper is released there."""


def fork_pty(argv: list[str], env: dict[str, str], cwd: str, cols: int, rows: int,
             cell_px: tuple[int, int] = (0, 0)) -> tuple[int, int]:
    """Start ``argv`` on a new PTY; (child pid, non-blocking master fd). SpawnError when exec fails."""
    master, slave = os.openpty()
    try:
        set_winsize(master, cols, rows, cell_px)
        # The error pipe tells the parent whether exec worked (it is close-on-exec).
        err_r, err_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            _child(argv, env, cwd, slave, master, err_w)
        os.close(err_w)
        with os.fdopen(err_r, "rb") as f:
            failure = f.read(4096)
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    if failure:
        os.waitpid(pid, 0)
        os.close(master)
        raise SpawnError(f"cannot start {argv[0]!r}: {failure.decode('utf-8', 'replace')}")
    os.set_blocking(master, False)
    return pid, master


def set_winsize(fd: int, cols: int, rows: int, cell_px: tuple[int, int] = (0, 0)) -> None:
    """The PTY's size in cells, and in pixels from the terminal's cell size (programs that draw images,
    such as kitty's icat, read it; 0 means unknown)."""
    width, height = min(0xFFFF, cols * cell_px[0]), min(0xFFFF, rows * cell_px[1])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, width, height))


def _child(argv: list[str], env: dict[str, str], cwd: str, slave: int, master: int,
           err_w: int) -> None:  # pragma: no cover - runs in the child
    try:
        os.close(master)
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        if slave > 2:
            os.close(slave)
        for sig in signal.valid_signals():
            if sig not in (signal.SIGKILL, signal.SIGSTOP):
                try:
                    signal.signal(sig, signal.SIG_DFL)
                except (OSError, ValueError):
                    pass
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        try:
            os.chdir(cwd)
        except OSError:
            os.chdir("/")
        os.execvpe(argv[0], argv, env)
    except OSError as e:
        msg = f"{e.strerror or e} (errno {e.errno or errno.EIO})"
        os.write(err_w, msg.encode())
    except BaseException as e:
        os.write(err_w, repr(e).encode())
    os._exit(127)
