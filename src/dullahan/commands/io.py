"""Commands that put text into panes or read it out: send, send-keys, capture, display-message, search-pane,
copy-text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import msgspec

from dullahan import formats
from dullahan.commands.panes import TARGET
from dullahan.commands.table import BAD_ARGUMENT, Args, CommandError, Host, PaneId, command, opt
from dullahan.images.model import strip_placeholders
from dullahan.ipc.protocol import MAX_TEXT
from dullahan.shapes import KeyEvent
from dullahan.term import keynames
from dullahan.term.ansi import selected_lines

if TYPE_CHECKING:
    from dullahan.session.pane import Pane

Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]
# What a search may ask for (term.search, loaded only by a server, keeps its own limits as well).
SEARCH_QUERY_CHARS = 256
SEARCH_MATCHES = 1000
# One copy-text answer: at most this many rows read, and about this much text (a reply must stay well under the
# 1 MiB a client may leave unread); a longer selection comes in several answers.
COPY_ROWS = 2000
COPY_BYTES = 256 * 1024


def _pane(host: Host, pane_id: int | None) -> Pane:
    return host.session.pane(pane_id) if pane_id is not None else host.session.active_pane()


class SendArgs(Args, kw_only=True, frozen=True):
    pane: Annotated[PaneId, opt(metavar="PANE", help="pane id")]
    text: Annotated[Text, opt(metavar="TEXT", help="the text, as it is (up to 1 MiB)")]
    enter: Annotated[bool, opt("--enter", help="press Enter after the text")] = False


@command("send", "type text into a pane")
def send(host: Host, args: SendArgs) -> dict[str, Any]:
    data = args.text.encode("utf-8", "surrogateescape") + (b"\r" if args.enter else b"")
    return {"bytes": host.session.pane(args.pane).write(data)}


class SendKeysArgs(Args, kw_only=True, frozen=True):
    target: Annotated[PaneId | None, TARGET] = None
    literal: Annotated[bool, opt("-l", "--literal", help="every word is text, not a key name")] = False
    keys: Annotated[Annotated[list[Text], msgspec.Meta(max_length=10_000)],
                    opt(metavar="KEYS", rest=True, help="key names (C-c, Enter, M-x, F5, Up ...) and text")] = \
        msgspec.field(default_factory=list)


@command("send-keys", "send keys by their tmux names (C-c, Enter, M-x, F5, Up) or text (-l) to a pane")
def send_keys(host: Host, args: SendKeysArgs) -> dict[str, Any]:
    pane = _pane(host, args.target)
    try:
        events = keynames.send_keys(args.keys, literal=args.literal)
    except keynames.KeyNameError as e:
        raise CommandError(BAD_ARGUMENT, str(e)) from e
    sent = 0
    for event in events:
        sent += pane.send_key(event) if isinstance(event, KeyEvent) else pane.send_text(event)
    return {"bytes": sent}


class CaptureArgs(Args, kw_only=True, frozen=True):
    pane: Annotated[PaneId, opt(metavar="PANE", help="pane id")]
    scrollback: Annotated[bool, opt("--scrollback", help="include the scrollback history")] = False
    ansi: Annotated[bool, opt("--ansi", help="keep colours and styles as escape sequences")] = False


@command("capture", "print a pane's screen as text (like tmux capture-pane -p); images are left out",
         text=lambda r: r["text"])
def capture(host: Host, args: CaptureArgs) -> dict[str, Any]:
    return {"text": host.session.pane(args.pane).capture(scrollback=args.scrollback, ansi=args.ansi)}


class DisplayArgs(Args, kw_only=True, frozen=True):
    format: Annotated[Annotated[str, msgspec.Meta(max_length=formats.MAX_FORMAT_CHARS)],
                      opt(metavar="FORMAT", help="e.g. '#{pane_id} #{pane_current_path}'")]
    target: Annotated[PaneId | None, TARGET] = None
    print_message: Annotated[bool, opt("-p", help="print the message (the only way Dullahan shows it)")] = True


@command("display-message", "expand a tmux format for a pane: #{pane_id}, #{pane_title}, #{window_name} ...",
         text=lambda r: r["message"])
def display_message(host: Host, args: DisplayArgs) -> dict[str, Any]:
    pane = _pane(host, args.target)
    try:
        return {"message": formats.expand(args.format, host.session.format_values(pane.id))}
    except formats.FormatError as e:
        raise CommandError(BAD_ARGUMENT, str(e)) from e


class SearchArgs(Args, kw_only=True, frozen=True):
    query: Annotated[Annotated[str, msgspec.Meta(min_length=1, max_length=SEARCH_QUERY_CHARS)],
                     opt(metavar="TEXT")]
    target: Annotated[PaneId | None, TARGET] = None
    case_sensitive: Annotated[bool, opt("-C", "--case-sensitive", help="match case (default: ignore it)")] = False
    limit: Annotated[Annotated[int, msgspec.Meta(ge=1, le=SEARCH_MATCHES)],
                     opt("--limit", help=f"at most this many matches (default {SEARCH_MATCHES})")] = SEARCH_MATCHES
    before: Annotated[tuple[Annotated[int, msgspec.Meta(ge=0)], Annotated[int, msgspec.Meta(ge=0)]] | None,
                      opt("--before", metavar="ROW,COL", help="continue an earlier search from this match")] = None


def _search_text(r: dict[str, Any]) -> str:
    lines = [f"{row} {col} {length}" for row, col, length in r["matches"]]
    return "\n".join(lines + (["(more)"] if r["more"] else []))


@command("search-pane", "find text in a pane's history and screen: one match per line, 'row col length', "
         "newest first", text=_search_text, browser=True, master_only=False, listing=True)
def search_pane(host: Host, args: SearchArgs) -> dict[str, Any]:
    from dullahan.term.search import SearchError

    pane = _pane(host, args.target)
    try:
        result = pane.search(args.query, case_sensitive=args.case_sensitive, limit=args.limit, start=args.before)
    except SearchError as e:
        raise CommandError(BAD_ARGUMENT, str(e)) from e
    return {"pane": pane.id, **result.to_json()}


Cell = tuple[Annotated[int, msgspec.Meta(ge=0)], Annotated[int, msgspec.Meta(ge=0, le=1000)]]


class CopyTextArgs(Args, kw_only=True, frozen=True):
    start: Annotated[Cell, opt("--start", metavar="ROW,COL", help="the first cell (rows as search-pane counts them)")]
    end: Annotated[Cell, opt("--end", metavar="ROW,COL", help="the last cell, included")]
    target: Annotated[PaneId | None, TARGET] = None


def _copy_text(r: dict[str, Any]) -> str:
    return r["text"] + (f"\n(more from {r['next'][0]},{r['next'][1]})" if r["more"] else "")


@command("copy-text", "the text of a pane's cells from ROW,COL to ROW,COL (history included), as a selection "
         "copies it: soft-wrapped rows joined, trailing blanks dropped", text=_copy_text, browser=True,
         master_only=False)
def copy_text(host: Host, args: CopyTextArgs) -> dict[str, Any]:
    pane = _pane(host, args.target)
    start, end = sorted((args.start, args.end))
    wanted = min(COPY_ROWS, end[0] - start[0] + 1)
    rows = pane.screen_rows(start[0], wanted)
    reached_end = start[0] + len(rows) > end[0]
    complete = reached_end or len(rows) < wanted          # the selection's last row, or the screen's
    lines = selected_lines(rows, pane.size[0], start[1], end[1] if reached_end else None)
    taken: list[tuple[str, bool]] = []
    size = 0
    for text, joins in lines:
        size += len(text.encode("utf-8", "surrogatepass")) + 1
        if taken and size > COPY_BYTES:
            break
        taken.append((text, joins))
    more = len(taken) < len(lines) or not complete
    parts = []
    for i, (text, joins) in enumerate(taken):
        parts.append(text)
        if not joins and (more or i < len(taken) - 1):
            parts.append("\n")
    return {"pane": pane.id, "text": strip_placeholders("".join(parts)), "more": more,
            "next": [start[0] + len(taken), 0] if more else None}
