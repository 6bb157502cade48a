"""A blocking IPC client for the command line."""

from __future__ import annotations

import socket
import time
from typing import Any

from dullahan.config import RuntimePaths
from dullahan.ipc.protocol import MAX_LINE, RequestError, decode_reply, encode_request

CONNECT_RETRY_SECONDS = 5.0


class NoServer(Exception):
    """Nothing answers on this port's socket."""


def _connect(path: str, timeout: float) -> socket.socket:
    """A connected socket; a full listen backlog (the server is busy accepting) is retried for a few seconds."""
    deadline = time.monotonic() + min(timeout, CONNECT_RETRY_SECONDS)
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(path)
            return sock
        except BlockingIOError:
            sock.close()
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.02)
        except BaseException:
            sock.close()
            raise


def call(port: int, cmd: str, args: dict[str, Any] | None = None, timeout: float = 30.0) -> Any:
    """Send one request to the server on ``port`` and return its result (RequestError on failure)."""
    path = RuntimePaths.for_port(port).socket
    try:
        sock = _connect(str(path), timeout)
    except (FileNotFoundError, ConnectionRefusedError) as e:
        raise NoServer(f"no server is running on port {port} "
                       f"(start one with 'dullahan serve -d --port {port}')") from e
    except BlockingIOError as e:
        raise RequestError(f"the server on port {port} is overloaded (its control socket accepts no more "
                           "connections); try again") from e
    except OSError as e:
        raise RequestError(f"cannot reach the server on port {port}: {e.strerror or e}") from e
    try:
        sock.sendall(encode_request(cmd, args))
        buf = bytearray()
        while not buf.endswith(b"\n"):
            chunk = sock.recv(1 << 16)
            if not chunk:
                raise RequestError("the server closed the connection without replying")
            buf += chunk
            if len(buf) > MAX_LINE * 4:
                raise RequestError("the server's reply is too large")
        return decode_reply(bytes(buf))
    except TimeoutError as e:
        raise RequestError(f"the server on port {port} did not answer within {timeout:.0f} s") from e
    except (ConnectionResetError, BrokenPipeError) as e:
        raise RequestError(f"the server on port {port} closed the connection ({e.strerror}); "
                           "it may be overloaded or shutting down") from e
    except OSError as e:
        raise RequestError(f"cannot talk to the server on port {port}: {e.strerror or e}") from e
    finally:
        sock.close()
