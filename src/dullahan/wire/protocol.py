"""Client -> server messages: parsing and validation, with no I/O.

Every message is a JSON object with a type ``t``. Every field is checked for type and range; unknown types
and unknown fields are refused. A refused message produces a ``ProtocolError`` whose ``code`` and message
go back to the client in an ``error`` reply; it never closes the connection. See docs/PROTOCOL.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson

from dullahan.shapes import KeyEvent, MouseEvent, WheelEvent

PROTOCOL_VERSION = 1
MAX_ID = 2**31 - 1
MAX_CELLS = 1000
MAX_TEXT_CHARS = 64 * 1024          # typed or IME-committed text in one message
MAX_PASTE_CHUNK_CHARS = 1 << 20     # one paste message; larger pastes come in chunks (see Paste.more)
MAX_KEY_FIELD = 32
MAX_LAYOUT_NAME = 64

SHIFT, CTRL, ALT, META = 1, 2, 4, 8


class ProtocolError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Hello:
    version: int


@dataclass(frozen=True, slots=True)
class Ack:
    frame: int


@dataclass(frozen=True, slots=True)
class Key:
    pane: int
    event: KeyEvent


@dataclass(frozen=True, slots=True)
class Text:
    pane: int
    data: str


@dataclass(frozen=True, slots=True)
class Paste:
    pane: int
    data: str
    more: bool   # further chunks of the same paste follow


@dataclass(frozen=True, slots=True)
class Mouse:
    pane: int
    event: MouseEvent


@dataclass(frozen=True, slots=True)
class Wheel:
    pane: int
    event: WheelEvent


@dataclass(frozen=True, slots=True)
class Scroll:
    pane: int
    delta: int            # rows; negative scrolls back into history
    to: str | None        # "top" | "bottom" | None


@dataclass(frozen=True, slots=True)
class Focus:
    pane: int
    on: bool


@dataclass(frozen=True, slots=True)
class Resize:
    window: int | None
    cols: int
    rows: int


@dataclass(frozen=True, slots=True)
class SetLayout:
    window: int | None
    name: str | None
    tree: Any


@dataclass(frozen=True, slots=True)
class SetSizes:
    window: int | None
    path: tuple[int, ...]
    sizes: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class NewWindow:
    layout: str | None


@dataclass(frozen=True, slots=True)
class WindowOp:
    op: str               # select_window | close_window | new_pane
    window: int | None


@dataclass(frozen=True, slots=True)
class PaneOp:
    op: str               # close_pane | focus_pane | respawn
    pane: int


@dataclass(frozen=True, slots=True)
class ShowPane:
    pane: int
    slot: int
    window: int | None


@dataclass(frozen=True, slots=True)
class RequestMaster:
    pass


@dataclass(frozen=True, slots=True)
class Resync:
    pane: int | None


@dataclass(frozen=True, slots=True)
class Ping:
    id: int
    ts: float | None


Message = (Hello | Ack | Key | Text | Paste | Mouse | Wheel | Scroll | Focus | Resize | SetLayout | SetSizes
           | NewWindow | WindowOp | PaneOp | ShowPane | RequestMaster | Resync | Ping)

# Messages only the master may send: everything that changes what the programs see or the layout.
MASTER_ONLY = (Key, Text, Paste, Mouse, Focus, Resize, SetLayout, SetSizes, NewWindow, WindowOp, PaneOp, ShowPane)


class _Fields:
    """Typed, range-checked access to one message's fields."""

    def __init__(self, obj: dict[str, Any], kind: str, allowed: tuple[str, ...]) -> None:
        unknown = set(obj) - set(allowed) - {"t"}
        if unknown:
            raise ProtocolError("bad_field", f"{kind}: unknown field(s) {', '.join(sorted(unknown))[:200]}")
        self.obj, self.kind = obj, kind

    def _bad(self, name: str, what: str) -> ProtocolError:
        return ProtocolError("bad_field", f"{self.kind}.{name}: {what}")

    def int(self, name: str, lo: int, hi: int, default: int | None = None) -> int:
        v = self.obj.get(name, default)
        if v is None:
            raise self._bad(name, "missing")
        if isinstance(v, bool) or not isinstance(v, int):
            raise self._bad(name, "must be an integer")
        if not lo <= v <= hi:
            raise self._bad(name, f"must be within {lo}..{hi}")
        return v

    def opt_int(self, name: str, lo: int, hi: int) -> int | None:
        return None if self.obj.get(name) is None else self.int(name, lo, hi)

    def num(self, name: str, lo: float, hi: float) -> float:
        v = self.obj.get(name)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise self._bad(name, "must be a finite number")
        if not lo <= v <= hi:
            raise self._bad(name, f"must be within {lo}..{hi}")
        return float(v)

    def str(self, name: str, max_len: int, default: str | None = None) -> str:
        v = self.obj.get(name, default)
        if v is None:
            raise self._bad(name, "missing")
        if not isinstance(v, str):
            raise self._bad(name, "must be a string")
        if len(v) > max_len:
            raise self._bad(name, f"longer than {max_len} characters")
        return v

    def opt_str(self, name: str, max_len: int) -> str | None:
        return None if self.obj.get(name) is None else self.str(name, max_len)

    def bool(self, name: str, default: bool = False) -> bool:
        v = self.obj.get(name, default)
        if not isinstance(v, bool):
            raise self._bad(name, "must be true or false")
        return v

    def choice(self, name: str, options: tuple[str, ...], default: str | None = None) -> str:
        v = self.obj.get(name, default)
        if v not in options:
            raise self._bad(name, f"must be one of {', '.join(options)}")
        return str(v)

    def mods(self) -> dict[str, bool]:
        m = self.int("m", 0, 15, 0)
        return {"shift": bool(m & SHIFT), "ctrl": bool(m & CTRL), "alt": bool(m & ALT), "meta": bool(m & META)}

    def pane(self) -> int:
        return self.int("p", 1, MAX_ID)

    def window(self) -> int | None:
        return self.opt_int("w", 1, MAX_ID)


def _key(f: _Fields) -> Key:
    ev = KeyEvent(code=f.str("code", MAX_KEY_FIELD, ""), key=f.str("key", MAX_KEY_FIELD, ""),
                  action=f.choice("a", ("press", "repeat", "release"), "press"), **f.mods())
    return Key(f.pane(), ev)


def _mouse(f: _Fields) -> Mouse:
    button = f.opt_int("b", 0, 4)
    ev = MouseEvent(action=f.choice("a", ("press", "release", "motion")), button=button,
                    x=f.int("x", 0, MAX_CELLS - 1), y=f.int("y", 0, MAX_CELLS - 1), **f.mods())
    return Mouse(f.pane(), ev)


def _wheel(f: _Fields) -> Wheel:
    ev = WheelEvent(dy=f.int("dy", -100, 100, 0), dx=f.int("dx", -100, 100, 0), x=f.int("x", 0, MAX_CELLS - 1, 0),
                    y=f.int("y", 0, MAX_CELLS - 1, 0), **f.mods())
    return Wheel(f.pane(), ev)


def _sizes(f: _Fields) -> SetSizes:
    path, sizes = f.obj.get("path"), f.obj.get("sizes")
    if not isinstance(path, list) or len(path) > 8 or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 9 for i in path):
        raise ProtocolError("bad_field", "sizes.path: must be a list of at most 8 child indices 0..8")
    if not isinstance(sizes, list) or not 2 <= len(sizes) <= 9 or not all(
            isinstance(s, int | float) and not isinstance(s, bool) and math.isfinite(s) and 0 < s <= 100
            for s in sizes):
        raise ProtocolError("bad_field", "sizes.sizes: must be 2..9 numbers within (0, 100]")
    return SetSizes(f.window(), tuple(path), tuple(float(s) for s in sizes))


def _layout(f: _Fields) -> SetLayout:
    name, tree = f.opt_str("name", MAX_LAYOUT_NAME), f.obj.get("tree")
    if (name is None) == (tree is None):
        raise ProtocolError("bad_field", "layout: give either 'name' or 'tree'")
    return SetLayout(f.window(), name, tree)


def _ack(f: _Fields) -> Ack:
    return Ack(f.int("f", 0, 2**53))


def _ping(f: _Fields) -> Ping:
    ts = f.obj.get("ts")
    return Ping(f.int("id", 0, 2**53), f.num("ts", 0, 1e16) if ts is not None else None)


_PARSERS: dict[str, tuple[tuple[str, ...], Any]] = {
    "hello": (("v",), lambda f: Hello(f.int("v", 0, 1000))),
    "ack": (("f",), _ack),
    "key": (("p", "code", "key", "a", "m"), _key),
    "text": (("p", "d"), lambda f: Text(f.pane(), f.str("d", MAX_TEXT_CHARS))),
    "paste": (("p", "d", "more"), lambda f: Paste(f.pane(), f.str("d", MAX_PASTE_CHUNK_CHARS), f.bool("more"))),
    "mouse": (("p", "a", "b", "x", "y", "m"), _mouse),
    "wheel": (("p", "dy", "dx", "x", "y", "m"), _wheel),
    "scroll": (("p", "delta", "to"), lambda f: Scroll(f.pane(), f.int("delta", -1_000_000, 1_000_000, 0),
                                                      f.choice("to", ("top", "bottom"), None)
                                                      if f.obj.get("to") is not None else None)),
    "focus": (("p", "on"), lambda f: Focus(f.pane(), f.bool("on"))),
    "resize": (("w", "cols", "rows"), lambda f: Resize(f.window(), f.int("cols", 1, MAX_CELLS),
                                                       f.int("rows", 1, MAX_CELLS))),
    "layout": (("w", "name", "tree"), _layout),
    "sizes": (("w", "path", "sizes"), _sizes),
    "new_window": (("layout",), lambda f: NewWindow(f.opt_str("layout", MAX_LAYOUT_NAME))),
    "select_window": (("w",), lambda f: WindowOp("select_window", f.int("w", 1, MAX_ID))),
    "close_window": (("w",), lambda f: WindowOp("close_window", f.int("w", 1, MAX_ID))),
    "new_pane": (("w",), lambda f: WindowOp("new_pane", f.window())),
    "close_pane": (("p",), lambda f: PaneOp("close_pane", f.pane())),
    "focus_pane": (("p",), lambda f: PaneOp("focus_pane", f.pane())),
    "respawn": (("p",), lambda f: PaneOp("respawn", f.pane())),
    "show_pane": (("p", "slot", "w"), lambda f: ShowPane(f.pane(), f.int("slot", 0, 15), f.window())),
    "request_master": ((), lambda f: RequestMaster()),
    "resync": (("p",), lambda f: Resync(f.opt_int("p", 1, MAX_ID))),
    "ping": (("id", "ts"), _ping),
}


def parse_message(text: str) -> Message:
    """One client message from its JSON text; ProtocolError when anything is off."""
    try:
        obj = orjson.loads(text)
    except (ValueError, RecursionError) as e:   # bad JSON, absurd nesting, integers beyond 64 bits
        raise ProtocolError("bad_json", f"not valid JSON: {str(e)[:100]}") from None
    if not isinstance(obj, dict):
        raise ProtocolError("bad_message", "a message must be a JSON object")
    kind = obj.get("t")
    if not isinstance(kind, str) or kind not in _PARSERS:
        raise ProtocolError("unknown_type", f"unknown message type {str(kind)[:40]!r}")
    allowed, parse = _PARSERS[kind]
    return parse(_Fields(obj, kind, allowed))  # type: ignore[no-any-return]


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON for messages to clients."""
    return orjson.dumps(obj)
