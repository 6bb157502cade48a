"""What a pane's process is doing, from /proc: its working directory and its foreground command line."""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

MAX_CMDLINE = 64 * 1024


def cwd_from_osc7(reported: str) -> str | None:
    """The directory a shell reported with OSC 7 (``file://host/path``, percent-encoded) or a plain path."""
    if not reported:
        return None
    if reported.startswith("file://"):
        path = unquote(urlsplit(reported).path)
    elif reported.startswith("/"):
        path = reported
    else:
        return None
    return path if path.startswith("/") and "\0" not in path else None


def process_cwd(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return None


def pane_cwd(pid: int | None, reported: str) -> str | None:
    """The directory the shell reported last (OSC 7), else the shell's own from /proc."""
    return cwd_from_osc7(reported) or (process_cwd(pid) if pid else None)


def parse_cmdline(raw: bytes) -> list[str]:
    """/proc/PID/cmdline (NUL-separated) as a list of arguments."""
    if not raw.strip(b"\0"):
        return []
    body = raw[:-1] if raw.endswith(b"\0") else raw   # every argument ends with a NUL, an empty one too
    return [arg.decode("utf-8", "surrogateescape") for arg in body.split(b"\0")]


def foreground_command(master_fd: int, shell_pid: int | None) -> list[str] | None:
    """The command line of the job in the foreground of the PTY, or None while the shell itself is (at its
    prompt) or when it cannot be told."""
    try:
        group = os.tcgetpgrp(master_fd)
    except OSError:
        return None
    if group <= 0 or group == shell_pid:
        return None
    try:
        with open(f"/proc/{group}/cmdline", "rb") as f:
            raw = f.read(MAX_CMDLINE)
    except OSError:
        return None
    return parse_cmdline(raw) or None
