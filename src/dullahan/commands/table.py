"""The command table: every command once, with its arguments, help, who may run it and its text output.

In the manner of tmux's ``cmd_entry``: an entry names the command, its arguments (a msgspec ``Args``
struct, so one validator checks them whatever they came through), its help, whether a browser may send it
and whether only the master may, the operation, and how its result reads as text. The command line
(``cli.py``) builds its parser from the table, the control socket (``ipc``) dispatches through it, and a
browser's ``cmd`` messages (``{"t":"cmd","c":"split-window","a":{...}}``) are carried out by it.

A failure is a ``CommandError`` with a code; each transport maps it once (an IPC error reply and an exit
status, a WebSocket ``error`` message).
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import msgspec

from dullahan.config import RuntimePaths, Settings
from dullahan.validation import explain

if TYPE_CHECKING:
    from dullahan import tokens as tokens_mod
    from dullahan.session.session import Session

MAX_ID = 2**31 - 1
PaneId = typing.Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
WindowId = typing.Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]

# Error codes, and the exit status the command line gives them.
BAD_ARGUMENT, NOT_FOUND, FAILED, NOT_ALLOWED, PANE_DEAD, INPUT_FULL, UNKNOWN_COMMAND = (
    "bad_argument", "not_found", "failed", "not_allowed", "pane_dead", "input_full", "unknown_command")
USAGE_CODES = frozenset({BAD_ARGUMENT, UNKNOWN_COMMAND})


class CommandError(Exception):
    """A command that cannot be carried out: a code from the list above and a message for the user."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class Args(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """A command's arguments. Fields carry their range (msgspec.Meta) and their command-line form (Option)."""


class NoArgs(Args, kw_only=True, frozen=True):
    pass


@dataclass(frozen=True)
class Option:
    """How one argument is written on the command line (the other transports use the field's name).

    ``flags`` such as ``("-t", "--target")``, or none for a positional argument; ``consts`` for flags that
    each set the field to a value (``{"-h": "right", "-v": "down"}``, tmux's way); ``rest`` for a positional
    argument that takes every remaining word.
    """

    flags: tuple[str, ...] = ()
    help: str = ""
    metavar: str | None = None
    consts: Mapping[str, object] = field(default_factory=dict)
    rest: bool = False


def opt(*flags: str, help: str = "", metavar: str | None = None, consts: Mapping[str, object] | None = None,
        rest: bool = False) -> Option:
    return Option(tuple(flags), help, metavar, dict(consts or {}), rest)


class Host(Protocol):
    """What commands need of the server process (``dullahan.server.Server`` provides it)."""

    settings: Settings
    session: Session
    paths: RuntimePaths
    pid: int

    def uptime(self) -> float: ...
    def urls(self) -> dict[str, str]: ...
    def set_tokens(self, new: tokens_mod.Tokens) -> None: ...
    def client_count(self) -> int: ...
    def client_list(self) -> list[dict[str, Any]]: ...
    def disconnect_counts(self) -> dict[str, int]: ...
    def request_stop(self, reason: str) -> None: ...
    def continuity_status(self) -> dict[str, Any]: ...
    async def restart(self) -> dict[str, Any]: ...
    @property
    def restart_notice(self) -> dict[str, Any] | None: ...


A = TypeVar("A", bound=Args)
Run = Callable[[Host, Any], Any]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    args: type[Args]
    run: Run
    text: Callable[[Any], str] | None = None     # the result as the command line prints it (None: nothing)
    browser: bool = False                        # a browser may send it (``cmd`` messages)
    master_only: bool = True                     # ... and only the master may
    listing: bool = False                        # the command line offers --json
    cli: bool = True                             # the command line offers it

    def parse(self, raw: Mapping[str, Any]) -> Args:
        """The one validator: the arguments as this command's struct, or a CommandError naming the bad one."""
        try:
            return msgspec.convert(dict(raw), self.args)
        except msgspec.ValidationError as e:
            raise CommandError(BAD_ARGUMENT, f"{self.name}: {explain(str(e), self.args, 'argument')}") from None

    def options(self) -> list[tuple[str, Any, Option]]:
        """(field name, field type, Option) for every argument, in declaration order."""
        hints = typing.get_type_hints(self.args, include_extras=True)
        out = []
        for name in self.args.__struct_fields__:
            hint = hints[name]
            meta = next((m for m in getattr(hint, "__metadata__", ()) if isinstance(m, Option)), Option())
            out.append((name, hint, meta))
        return out


TABLE: dict[str, Command] = {}


def command(name: str, help: str, *, text: Callable[[Any], str] | None = None, browser: bool = False,
            master_only: bool = True, listing: bool = False, cli: bool = True,
            ) -> Callable[[Callable[[Host, A], Any]], Callable[[Host, A], Any]]:
    """Register ``run(host, args)`` as command ``name``; its argument type comes from its annotation."""
    def register(run: Callable[[Host, A], Any]) -> Callable[[Host, A], Any]:
        hints = typing.get_type_hints(run)
        args_type = hints.get("args", NoArgs)
        if name in TABLE:
            raise RuntimeError(f"command {name!r} is registered twice")
        TABLE[name] = Command(name, help, args_type, run, text, browser, master_only, listing, cli)
        return run
    return register


def lookup(name: str) -> Command:
    entry = TABLE.get(name)
    if entry is None:
        known = ", ".join(sorted(TABLE))
        raise CommandError(UNKNOWN_COMMAND, f"unknown command {name[:64]!r}; known: {known}")
    return entry


async def carry_out(host: Host, name: str, raw: Mapping[str, Any]) -> Any:
    """Validate and run one command (IPC and browsers alike); CommandError on any failure."""
    from dullahan.session.pane import InputFull, PaneDead
    from dullahan.session.session import SessionError

    entry = lookup(name)
    args = entry.parse(raw)
    try:
        result = entry.run(host, args)
        if inspect.isawaitable(result):
            result = await result
    except SessionError as e:
        raise CommandError(FAILED, str(e)) from e
    except PaneDead as e:
        raise CommandError(PANE_DEAD, str(e)) from e
    except InputFull as e:
        raise CommandError(INPUT_FULL, str(e)) from e
    return result


def browser_commands() -> tuple[frozenset[str], frozenset[str]]:
    """(every command a browser may send, those a viewer may send too)."""
    allowed = frozenset(n for n, c in TABLE.items() if c.browser)
    return allowed, frozenset(n for n in allowed if not TABLE[n].master_only)
