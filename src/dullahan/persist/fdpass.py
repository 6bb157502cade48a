"""Messages with file descriptors over unix SOCK_SEQPACKET sockets: the keeper's and the restart handoff's wire.

A message is one JSON object in one datagram (boundaries are kept by the socket, so there is no framing to
get wrong), up to ``MAX_MESSAGE`` bytes, with up to ``MAX_FDS`` descriptors attached as SCM_RIGHTS.
Anything else (a truncated or oversized datagram, too many descriptors, bytes that are not a JSON object)
is a ``MessageError``; descriptors that came with a bad message are closed, never leaked.

Standard library only: the keeper imports this.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

MAX_MESSAGE = 192 * 1024   # below the default socket buffer (wmem_default, 208 KiB), so one send never splits
MAX_FDS = 8


class MessageError(Exception):
    """A message that breaks the format; the text says how."""


class PeerClosed(Exception):
    """The other end closed the connection."""


def encode(obj: dict[str, Any]) -> bytes:
    data = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if len(data) > MAX_MESSAGE:
        raise MessageError(f"message of {len(data)} bytes is larger than {MAX_MESSAGE}")
    return data


def decode(data: bytes) -> dict[str, Any]:
    """A datagram's JSON object (pure; MessageError when it is not one)."""
    if len(data) > MAX_MESSAGE:
        raise MessageError(f"message larger than {MAX_MESSAGE} bytes")
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise MessageError(f"not a JSON message: {str(e)[:120]}") from None
    if not isinstance(obj, dict):
        raise MessageError("a message must be a JSON object")
    return obj


def send(sock: socket.socket, obj: dict[str, Any], fds: Sequence[int] = ()) -> None:
    data = encode(obj)
    if len(fds) > MAX_FDS:
        raise MessageError(f"{len(fds)} descriptors in one message; at most {MAX_FDS}")
    ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack(f"{len(fds)}i", *fds))] if fds else []
    sent = sock.sendmsg([data], ancillary)
    if sent != len(data):   # a SOCK_SEQPACKET send is all or nothing; anything else is not our socket
        raise MessageError(f"only {sent} of {len(data)} bytes were sent")


def receive(sock: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """One message and the descriptors that came with it (close-on-exec, owned by the caller).

    PeerClosed at end of stream; MessageError for a bad message (its descriptors already closed).
    """
    data, fds, flags, _addr = socket.recv_fds(sock, MAX_MESSAGE + 1, MAX_FDS, socket.MSG_CMSG_CLOEXEC)
    if not data and not fds:
        raise PeerClosed("the peer closed the connection")
    try:
        if flags & socket.MSG_TRUNC or len(data) > MAX_MESSAGE:
            raise MessageError(f"message larger than {MAX_MESSAGE} bytes")
        if flags & socket.MSG_CTRUNC:
            raise MessageError(f"more than {MAX_FDS} descriptors in one message")
        return decode(data), fds
    except MessageError:
        close_all(fds)
        raise


def close_all(fds: Sequence[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def listen(path: Path, backlog: int = 8) -> socket.socket:
    """A SOCK_SEQPACKET listener at ``path``, created 0600 (no moment where others could connect)."""
    if path.is_socket() or path.is_symlink():
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    except BaseException:
        sock.close()
        raise
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(backlog)
    return sock


def connect(path: Path, timeout: float) -> socket.socket:
    """Connect to a SOCK_SEQPACKET listener we own (refuses a socket file that belongs to someone else)."""
    st = path.lstat()
    if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.getuid():
        raise PermissionError(f"{path} is not a socket of ours")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
    except BaseException:
        sock.close()
        raise
    return sock


def peer_pid(sock: socket.socket) -> int:
    """The pid of the process at the other end (SO_PEERCRED), for checking who connected."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, _uid, _gid = struct.unpack("3i", creds)
    return int(pid)
