"""The state file on disk: ``$XDG_STATE_HOME/dullahan/state-<port>.bin`` (0600 in a 0700 directory).

Writes are atomic (a temporary file in the same directory, fsync, rename, fsync of the directory): a crash
mid-write leaves the previous state. A file that cannot be used is never deleted: it is renamed aside
(``state-<port>.bin.bad-<time>``) so that it can be looked at, and the server starts fresh.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from dullahan.config import state_dir
from dullahan.persist.state import StateError

READ_SLACK = 64 << 20   # beyond the configured cap, for the header and for files written with a larger cap


class StateStore:
    def __init__(self, port: int, max_bytes: int, directory: Path | None = None) -> None:
        self.directory = directory or state_dir()
        self.path = self.directory / f"state-{port}.bin"
        self.max_bytes = max_bytes

    def remove_leftovers(self) -> None:
        """Temporary files of writes a crash interrupted (the state file itself is always whole)."""
        for leftover in self.directory.glob(f".{self.path.name}.*.tmp"):
            pid = leftover.name.rsplit(".", 2)[-2]
            if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                leftover.unlink(missing_ok=True)

    def exists(self) -> bool:
        return self.path.exists()

    def size(self) -> int | None:
        try:
            return self.path.stat().st_size
        except OSError:
            return None

    def read(self) -> bytes | None:
        """The saved bytes; None when nothing was saved; StateError when the file cannot be read."""
        limit = self.max_bytes + READ_SLACK
        try:
            with open(self.path, "rb") as f:
                data = f.read(limit + 1)
        except FileNotFoundError:
            return None
        except OSError as e:
            raise StateError(f"cannot read {self.path}: {e.strerror}") from e
        if len(data) > limit:
            raise StateError(f"{self.path} is larger than {limit} bytes")
        return data

    def write(self, data: bytes | Sequence[bytes]) -> None:
        """Replace the file with ``data`` (bytes, or pieces written one after the other), atomically."""
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            for part in [data] if isinstance(data, bytes) else data:
                view = memoryview(part)
                while view:
                    view = view[os.write(fd, view):]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.replace(tmp, self.path)
        dir_fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def set_aside(self) -> Path | None:
        """Rename an unusable state file out of the way (kept for inspection); its new path."""
        target = self.path.with_name(f"{self.path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
        try:
            os.replace(self.path, target)
        except OSError:
            return None
        return target
