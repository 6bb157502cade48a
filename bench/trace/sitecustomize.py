"""Loaded by a traced server (``bench/trace_echo.py`` puts this directory first on its PYTHONPATH).

Wraps the steps of the echo path with timestamps (``time.perf_counter_ns``) and writes them to
``$DULLAHAN_TRACE`` when the server exits. Nothing here changes what the server does; the wrappers cost about
0.3 µs each, and the trace reports only differences between them.
"""

from __future__ import annotations

import atexit
import functools
import importlib
import importlib.abc
import importlib.machinery
import json
import os
import sys
import time
from typing import Any

_EVENTS: list[tuple[str, int, int]] = []
_now = time.perf_counter_ns
_OUT = os.environ.get("DULLAHAN_TRACE", "")


def _timed(name: str, fn: Any) -> Any:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = _now()
        try:
            return fn(*args, **kwargs)
        finally:
            _EVENTS.append((name, t0, _now()))
    return wrapper


def _timed_pane(name: str, fn: Any) -> Any:
    """A Pane method: the event's name carries the pane's id (``on_readable:3``)."""
    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = _now()
        try:
            return fn(self, *args, **kwargs)
        finally:
            _EVENTS.append((f"{name}:{self.id}", t0, _now()))
    return wrapper


def _timed_async(name: str, fn: Any) -> Any:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = _now()
        try:
            return await fn(*args, **kwargs)
        finally:
            _EVENTS.append((name, t0, _now()))
    return wrapper


def _receive(fn: Any) -> Any:
    @functools.wraps(fn)
    def wrapper(self: Any, text: Any, now: float) -> Any:
        t0 = _now()
        out = fn(self, text, now)
        kind = type(out).__name__ if out is not None else ""
        _EVENTS.append(("receive:" + kind, t0, _now()))
        return out
    return wrapper


PATCHES: dict[str, list[tuple[str, str, str]]] = {
    # module: (attribute path, event name, kind); patched where defined, before anyone imports the name
    "dullahan.wire.protocol": [("parse_message", "parse", "sync"), ("dumps", "dumps", "sync")],
    "dullahan.wire.peer": [("Peer.receive", "receive", "receive"), ("Peer.next_frame", "next_frame", "sync")],
    "dullahan.wire.sync": [("FrameBuilder.build", "build", "sync"), ("pane_state", "pane_state", "sync")],
    "dullahan.term.view": [("read_view", "read_view", "sync")],
    "dullahan.hub": [("SyncHub.pane_output", "pane_output", "sync")],
    "dullahan.session.pane": [("Pane._on_readable", "on_readable", "pane"), ("Pane._flush_input", "pty_write", "pane"),
                              ("Pane._encode", "encode", "sync"), ("Pane._after_feed", "after_feed", "pane"),
                              ("Pane._feed_guarded", "feed", "pane")],
    "dullahan.net.client": [("ClientConnection._send", "send", "async")],
    "dullahan.actions": [("BrowserActions.carry_out", "carry_out", "async")],
}


def _patch(module: Any) -> None:
    for path, name, kind in PATCHES.get(module.__name__, []):
        owner: Any = module
        *parents, attr = path.split(".")
        for part in parents:
            owner = getattr(owner, part)
        fn = getattr(owner, attr, None)
        if fn is None:
            continue
        wrap = _receive if kind == "receive" else None
        if wrap is not None:
            setattr(owner, attr, wrap(fn))
        elif kind == "pane":
            setattr(owner, attr, _timed_pane(name, fn))
        elif kind == "async":
            setattr(owner, attr, _timed_async(name, fn))
        else:
            setattr(owner, attr, _timed(name, fn))


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in PATCHES:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return None
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module: Any) -> None:
            original(module)
            _patch(module)
        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _dump() -> None:
    if _OUT:
        with open(_OUT, "w") as f:
            json.dump(_EVENTS, f)


if _OUT:
    import importlib.util
    sys.meta_path.insert(0, _Finder())
    atexit.register(_dump)
