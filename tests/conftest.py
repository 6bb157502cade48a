"""Fixtures for tests that run real Dullahan servers.

``dullahan_env``: an environment whose runtime and config dirs are private to the test (under tmp_path),
with a bare bash as the pane shell. ``server``: a factory that starts a server subprocess and stops it
(``quit``, then SIGKILL) when the test ends::

    def test_something(server):
        srv = server()                      # detached: `dullahan serve -d --port <free port>`
        fg = server(detach=False)           # foreground: `dullahan serve --port ...` as our child
        srv.cli("panes", "--json")          # CompletedProcess
        srv.call("capture", pane=1)         # IPC result
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import ServerProc, StartServer, free_port, make_env


@pytest.fixture
def dullahan_env(tmp_path: Path) -> dict[str, str]:
    """The environment for this test's servers and CLI calls (private XDG dirs, bare bash, PS1='$ ')."""
    return make_env(tmp_path)


@pytest.fixture
def isolated_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dullahan_env: dict[str, str]) -> dict[str, str]:
    """Point this process's XDG dirs (and pane shell) at the test's own, for in-process sessions and
    ``dullahan.ipc.client.call``."""
    for key in ("XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "DULLAHAN_SHELL", "PS1"):
        monkeypatch.setenv(key, dullahan_env[key])
    monkeypatch.delenv("DULLAHAN_DEBUG", raising=False)
    return dullahan_env


@pytest.fixture
def server(tmp_path: Path, dullahan_env: dict[str, str]) -> Iterator[StartServer]:
    """Factory: ``server(port=None, detach=True, env=None, args=(), nofile=None)`` starts a server and returns a
    ServerProc.

    ``env`` entries are added to the test's environment; ``args`` are extra ``serve`` flags; ``nofile`` lowers
    the server's file-descriptor limit (``ulimit -n``). Every server started here is stopped at the end of
    the test, even if the test failed.
    """
    started: list[ServerProc] = []

    def start(port: int | None = None, detach: bool = True, env: dict[str, str] | None = None,
              args: tuple[str, ...] | list[str] = (), nofile: int | None = None) -> ServerProc:
        proc = ServerProc(port or free_port(), {**dullahan_env, **(env or {})}, tmp_path, nofile)
        started.append(proc)
        if detach:
            proc.start_detached(*args)
        else:
            proc.start_foreground(*args)
        return proc

    yield start
    errors = []
    for proc in reversed(started):
        try:
            proc.stop()
        except Exception as e:  # keep stopping the others
            errors.append(e)
    if errors:
        raise errors[0]


@pytest.fixture(autouse=True)
def _no_debug_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process code must not pick up the developer's DULLAHAN_* settings."""
    for key in list(os.environ):
        if key.startswith("DULLAHAN_"):
            monkeypatch.delenv(key)
