"""Client -> server messages: typed, decoded and validated in one step by msgspec, with no I/O.

Every message is a JSON object whose ``t`` names its type; each type is a frozen ``msgspec.Struct`` below
whose fields carry their wire names (``p`` for a pane id, ``m`` for modifier bits ...) and their ranges.
Unknown types and unknown fields are refused. A refused message produces a ``ProtocolError`` whose
``code`` and message go back to the client in an ``error`` reply; it never closes the connection.
See docs/PROTOCOL.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
import orjson

from dullahan.shapes import KeyEvent, MouseEvent, WheelEvent

PROTOCOL_VERSION = 1
MAX_ID = 2**31 - 1
MAX_CELLS = 1000
MAX_TEXT_CHARS = 64 * 1024          # typed or IME-committed text in one message
MAX_PASTE_CHUNK_CHARS = 1 << 20     # one paste message; larger pastes come in chunks (see Paste.more)
MAX_KEY_FIELD = 32
MAX_RESUME_SECRET = 64
MAX_COMMAND_NAME = 64

SHIFT, CTRL, ALT, META = 1, 2, 4, 8

PaneId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
Cell = Annotated[int, msgspec.Meta(ge=0, le=MAX_CELLS - 1)]
Mods = Annotated[int, msgspec.Meta(ge=0, le=15)]
KeyField = Annotated[str, msgspec.Meta(max_length=MAX_KEY_FIELD)]
FrameNo = Annotated[int, msgspec.Meta(ge=0, le=2**53)]


class ProtocolError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Message(msgspec.Struct, tag_field="t", forbid_unknown_fields=True, frozen=True):
    pass


def _mods(m: int) -> dict[str, bool]:
    return {"shift": bool(m & SHIFT), "ctrl": bool(m & CTRL), "alt": bool(m & ALT), "meta": bool(m & META)}


# -- the connection and its flow control (never refused: the protocol depends on them) ---------------------
class Hello(_Message, tag="hello", kw_only=True, frozen=True):
    version: Annotated[int, msgspec.Meta(ge=0, le=1000)] = msgspec.field(name="v")
    resume: Annotated[str, msgspec.Meta(max_length=MAX_RESUME_SECRET)] | None = None


class Ack(_Message, tag="ack", kw_only=True, frozen=True):
    frame: FrameNo = msgspec.field(name="f")


class Ping(_Message, tag="ping", kw_only=True, frozen=True):
    id: FrameNo
    ts: Annotated[float, msgspec.Meta(ge=0, le=1e16)] | None = None


class Resync(_Message, tag="resync", kw_only=True, frozen=True):
    pane: PaneId | None = msgspec.field(name="p", default=None)


# -- this client's own view (open to every client) -------------------------------------------------------
class Scroll(_Message, tag="scroll", kw_only=True, frozen=True):
    pane: PaneId = msgspec.field(name="p")
    delta: Annotated[int, msgspec.Meta(ge=-1_000_000, le=1_000_000)] = 0   # rows; negative: older
    to: Literal["top", "bottom"] | None = None
    row: Annotated[int, msgspec.Meta(ge=0, le=MAX_ID)] | None = None       # this history row at the view's top


class Wheel(_Message, tag="wheel", kw_only=True, frozen=True):
    pane: PaneId = msgspec.field(name="p")
    dy: Annotated[int, msgspec.Meta(ge=-100, le=100)] = 0
    dx: Annotated[int, msgspec.Meta(ge=-100, le=100)] = 0
    x: Cell = 0
    y: Cell = 0
    mods: Mods = msgspec.field(name="m", default=0)

    @property
    def event(self) -> WheelEvent:
        return WheelEvent(dy=self.dy, dx=self.dx, x=self.x, y=self.y, **_mods(self.mods))


class RequestMaster(_Message, tag="request_master", kw_only=True, frozen=True):
    pass


# -- input to programs (master only) ---------------------------------------------------------------------
class Key(_Message, tag="key", kw_only=True, frozen=True):
    pane: PaneId = msgspec.field(name="p")
    code: KeyField = ""
    key: KeyField = ""
    action: Literal["press", "repeat", "release"] = msgspec.field(name="a", default="press")
    mods: Mods = msgspec.field(name="m", default=0)

    @property
    def event(self) -> KeyEvent:
        return KeyEvent(code=self.code, key=self.key, action=self.action, **_mods(self.mods))


class Text(_Message, tag="text", kw_only=True, frozen=True):
    pane: PaneId = msgspec.field(name="p")
    data: Annotated[str, msgspec.Meta(max_length=MAX_TEXT_CHARS)] = msgspec.field(name="d")


class Paste(_Message, tag="paste", kw_only=True, frozen=True):
    pane: PaneId = msgspec.field(name="p")
    data: Annotated[str, msgspec.Meta(max_length=MAX_PASTE_CHUNK_CHARS)] = msgspec.field(name="d")
    more: bool = False   # further chunks of the same paste follow


class Mouse(_Message, tag="mouse", kw_only=True, frozen=True):
    pane: PaneId = msgspec.field(name="p")
    action: Literal["press", "release", "motion"] = msgspec.field(name="a")
    button: Annotated[int, msgspec.Meta(ge=0, le=4)] | None = msgspec.field(name="b", default=None)
    x: Cell
    y: Cell
    mods: Mods = msgspec.field(name="m", default=0)

    @property
    def event(self) -> MouseEvent:
        return MouseEvent(action=self.action, button=self.button, x=self.x, y=self.y, **_mods(self.mods))


class Focus(_Message, tag="focus", kw_only=True, frozen=True):
    pane: PaneId = msgspec.field(name="p")
    on: bool


# -- commands of the table: window and pane operations, searches -----------------------------------------
class Cmd(_Message, tag="cmd", kw_only=True, frozen=True):
    """A command of ``dullahan.commands`` (``split-window``, ``select-pane`` ...) with its arguments,
    validated by the command table. With ``id`` the result (or the error) comes back tagged with it."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_COMMAND_NAME)] = msgspec.field(name="c")
    args: dict[str, Any] = msgspec.field(name="a", default_factory=dict)
    id: Annotated[int, msgspec.Meta(ge=0, le=2**53)] | None = None


Message = Hello | Ack | Ping | Resync | Scroll | Wheel | RequestMaster | Key | Text | Paste | Mouse | Focus | Cmd

# Messages the protocol depends on: never refused, never rate limited (a refused ack wedges the sender).
ESSENTIAL = (Hello, Ack, Ping, Resync)
# Input only the master may send (whether a command is the master's alone, the command table says).
MASTER_ONLY = (Key, Text, Paste, Mouse, Focus)

_decoder = msgspec.json.Decoder(Message)


def parse_message(text: str | bytes) -> Message:
    """One client message from its JSON text; ProtocolError when anything is off."""
    try:
        return _decoder.decode(text)
    except msgspec.ValidationError as e:
        raise _refusal(str(e)) from None
    except (msgspec.DecodeError, RecursionError) as e:   # bad JSON or absurd nesting
        raise ProtocolError("bad_json", f"not valid JSON: {str(e)[:100]}") from None


def _refusal(error: str) -> ProtocolError:
    """msgspec's validation message as a protocol error code and a message naming the field."""
    message, _, where = error.partition(" - at `$.")
    field = where.rstrip("`")
    if field == "t" or message == "Object missing required field `t`":
        return ProtocolError("unknown_type", f"unknown message type ({message[:80]})")
    if not where and message.startswith("Expected `object`"):
        return ProtocolError("bad_message", "a message must be a JSON object")
    return ProtocolError("bad_field", f"{field}: {message}"[:200] if field else message[:200])


def message_type(msg: Message) -> str:
    """The wire name of a message's type (``key``, ``close_pane`` ...)."""
    return str(msg.__struct_config__.tag)


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON for messages to clients."""
    return orjson.dumps(obj)
