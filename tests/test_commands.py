"""The command table through its three transports: the command line, the control socket and browsers' ``cmd``.

Real servers with real shells. tmux's vocabulary where it fits: split-window, select-pane, resize-pane,
swap-pane, break-pane, join-pane, rename-window, kill-pane, send-keys, display-message, search-pane.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dullahan.cli import build_parser
from dullahan.commands import TABLE
from helpers import ServerProc, StartServer, capture_until, run, wait_for
from web_support import client, first_pane, start_web


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr}"
    return result.stdout


def jcli(srv: ServerProc, *args: str) -> Any:
    return json.loads(ok(srv.cli(*args, "--json")))


def window(srv: ServerProc, wid: int | None = None) -> dict[str, Any]:
    windows = srv.call("windows")
    return next(w for w in windows if (w["id"] == wid if wid is not None else w["active"]))


def shown(srv: ServerProc) -> list[int]:
    return [p for p in window(srv)["panes"] if p]


def test_every_command_of_the_table_is_on_the_command_line_with_its_help() -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    on_cli = set(sub.choices)      # type: ignore[arg-type]
    assert {n for n, c in TABLE.items() if c.cli} <= on_cli
    assert {"serve", "test"} <= on_cli
    for name, entry in TABLE.items():
        assert entry.help and (entry.browser or entry.cli), name


def test_split_select_zoom_resize_and_kill_like_tmux(server: StartServer) -> None:
    srv = server()
    first = shown(srv)[0]
    right = jcli(srv, "split-window", "-h")["id"]                       # side by side
    below = jcli(srv, "split-window", "-v", "-t", str(right))["id"]     # under the right one
    assert shown(srv) == [first, right, below]
    tree = window(srv)
    assert tree["layout"] == "custom"
    panes = {p["id"]: p for p in srv.panes()}
    assert panes[first]["rows"] > panes[right]["rows"] and panes[first]["cols"] + panes[right]["cols"] < 80
    # Selecting by direction, by id, by number.
    assert srv.call("windows")[0]["focused_pane"] == below
    ok(srv.cli("select-pane", "-L"))
    assert window(srv)["focused_pane"] == first
    ok(srv.cli("select-pane", "-t", str(below)))
    ok(srv.cli("select-pane", "-U"))
    assert window(srv)["focused_pane"] == right
    ok(srv.cli("select-pane", "-n", "0"))
    assert window(srv)["focused_pane"] == first
    # Resize by keyboard, then zoom and back.
    before = srv.pane(first)["cols"]
    ok(srv.cli("resize-pane", "-t", str(first), "-R", "5"))
    assert srv.pane(first)["cols"] == before + 5
    assert "zoomed" in ok(srv.cli("resize-pane", "-Z", "-t", str(right)))
    assert (srv.pane(right)["cols"], srv.pane(right)["rows"]) == (80, window(srv)["rows"] - 1)
    assert window(srv)["zoomed"] == right
    ok(srv.cli("resize-pane", "-Z", "-t", str(right)))
    assert window(srv)["zoomed"] is None
    # kill-pane closes the gap: the layout has two panes again.
    ok(srv.cli("kill-pane", str(below)))
    assert shown(srv) == [first, right] and not window(srv)["hidden"]
    # Bad usage is exit status 2 with a message naming the argument.
    bad = srv.cli("select-pane")
    assert bad.returncode == 2 and "give one of" in bad.stderr
    bad = srv.cli("resize-pane", "-R", "abc")
    assert bad.returncode == 2 and "not a number" in bad.stderr


def test_swap_break_join_and_rename(server: StartServer) -> None:
    srv = server()
    a = shown(srv)[0]
    b = jcli(srv, "split-window", "-h")["id"]
    ok(srv.cli("swap-pane", "-s", str(a), "-t", str(b)))
    assert shown(srv) == [b, a]
    moved = jcli(srv, "break-pane", "-t", str(a))
    assert moved["panes"] == [a] and window(srv)["id"] == moved["id"]
    assert shown(srv) == [a]
    joined = jcli(srv, "join-pane", "-s", str(a), "-t", str(b), "-h")
    assert joined["panes"] == [b, a] and len(srv.call("windows")) == 1   # the emptied window is gone
    ok(srv.cli("rename-window", "build"))
    assert window(srv)["name"] == "build"
    assert "build" in ok(srv.cli("windows"))
    ok(srv.cli("rename-window", ""))
    assert window(srv)["name"] == ""


def test_send_keys_with_tmux_key_names_and_literal_text(server: StartServer) -> None:
    srv = server()
    pane = shown(srv)[0]
    capture_until(srv, pane, "$")
    ok(srv.cli("send-keys", "-t", str(pane), "sleep 100; echo slept", "Enter"))
    capture_until(srv, pane, "sleep 100")
    ok(srv.cli("send-keys", "-t", str(pane), "C-c"))                    # interrupts the sleep
    capture_until(srv, pane, "^C")
    ok(srv.cli("send-keys", "-t", str(pane), "-l", "echo C-c", "Enter"))  # -l: every word is text, as in tmux
    ok(srv.cli("send-keys", "-t", str(pane), "Enter"))
    capture_until(srv, pane, lambda t: "C-cEnter" in t.splitlines() and "slept" not in t.splitlines())
    ok(srv.cli("send-keys", "-t", str(pane), "echo", "Space", "up-arrow-next", "Enter"))
    capture_until(srv, pane, lambda t: "up-arrow-next" in t.splitlines())
    ok(srv.cli("send-keys", "-t", str(pane), "Up", "Enter"))            # history: the same command again
    capture_until(srv, pane, lambda t: t.splitlines().count("up-arrow-next") == 2)


def test_display_message_formats_and_search_pane(server: StartServer) -> None:
    srv = server()
    pane = shown(srv)[0]
    capture_until(srv, pane, "$")
    message = ok(srv.cli("display-message", "-p", "#{pane_id}:#{window_id}:#{?pane_title,t,no-title}:#{nope}"))
    assert message.strip() == f"%{pane}:@{window(srv)['id']}:no-title:"     # tmux's own id forms
    srv.send(pane, "for i in $(seq 1 300); do echo needle-$i; done")
    capture_until(srv, pane, "needle-300")
    found = jcli(srv, "search-pane", "-t", str(pane), "NEEDLE-1")
    rows = [m[0] for m in found["matches"]]
    assert found["pane"] == pane and len(rows) >= 100 and found["matches"][0][2] == len("needle-1")
    assert rows == sorted(rows, reverse=True)                               # newest first
    assert jcli(srv, "search-pane", "-t", str(pane), "-C", "NEEDLE-1")["matches"] == []
    text = ok(srv.cli("search-pane", "-t", str(pane), "--limit", "2", "needle-2"))
    assert len(text.splitlines()) == 3 and text.splitlines()[-1] == "(more)"


def copy_all(srv: ServerProc, pane: int, start: list[int], end: list[int]) -> tuple[str, int]:
    """The text of copy-text from start to end, following its ``next`` answers; (text, answers)."""
    text, answers = "", 0
    while True:
        got = srv.call("copy-text", target=pane, start=start, end=end)
        text, answers = text + got["text"], answers + 1
        if not got["more"]:
            return text, answers
        start = got["next"]


def test_copy_text_returns_a_selection_across_the_history_as_the_page_copies_it(server: StartServer) -> None:
    srv = server()
    pane = shown(srv)[0]
    capture_until(srv, pane, "$")
    srv.send(pane, "clear; seq -f 'line-%g   ' 1 2500; printf 'x%.0s' $(seq 1 150); echo", enter=True)
    capture_until(srv, pane, lambda t: "x" * 70 in t)
    row = lambda query: srv.call("search-pane", target=pane, query=query, case_sensitive=True)["matches"]  # noqa: E731
    last = row("line-2500")[0][0]
    first, r100, r400 = last - 2499, last - 2400, last - 2100      # line-i is on row last - (2500 - i)
    assert srv.call("copy-text", target=pane, start=[first, 0], end=[first, 8])["text"] == "line-1"
    # Inside the history, from a column of one row to a column of another: trailing blanks dropped per line.
    assert srv.call("copy-text", target=pane, start=[r100, 5], end=[r400, 6])["text"] == \
        "100\n" + "\n".join(f"line-{i}" for i in range(101, 400)) + "\nline-40"
    # Longer than one answer holds (2000 rows): the answers continue where the last one stopped.
    text, answers = copy_all(srv, pane, [first, 0], [last, 999])
    assert answers == 2 and text == "\n".join(f"line-{i}" for i in range(1, 2501))
    # A soft-wrapped line (150 cells in an 80-column pane) is one line; the start and end may be given backwards.
    wrapped = row("x" * 70)[-1][0]
    assert srv.call("copy-text", target=pane, start=[wrapped + 1, 79], end=[wrapped, 0])["text"] == "x" * 150
    # The command line prints the text; past the end of the screen there is nothing more.
    assert ok(srv.cli("copy-text", "-t", str(pane), "--start", f"{r100},0", "--end", f"{r100},3")) == "line\n"
    assert srv.call("copy-text", target=pane, start=[last + 10_000, 0], end=[last + 20_000, 0]) == \
        {"pane": pane, "text": "", "more": False, "next": None}


def test_panes_json_carries_each_panes_bell_count_and_title(server: StartServer) -> None:
    srv = server()
    pane = shown(srv)[0]
    capture_until(srv, pane, "$")
    assert jcli(srv, "panes")[0]["bells"] == 0
    srv.send(pane, "printf '\\e]2;building\\a\\a'; sleep 0.2; printf '\\a'; echo rang", enter=True)
    capture_until(srv, pane, lambda t: "rang" in t.splitlines())
    info = wait_for(lambda: (p := jcli(srv, "panes")[0])["bells"] == 2 and p, 5)
    assert info["title"] == "building"


# -- the same table from a browser's connection ----------------------------------------------------------
@pytest.fixture
def web(server: StartServer, tmp_path: Path) -> Any:
    return start_web(server, tmp_path, False)


def test_browsers_send_commands_and_viewers_only_those_open_to_them(web: Any) -> None:
    async def scenario() -> None:
        async with client(web) as master, client(web, web.view) as viewer:
            pane = await first_pane(master)
            await master.send({"t": "cmd", "c": "split-window", "a": {"direction": "right"}, "id": 1})
            reply = await master.wait_message("result", id=1)
            assert reply["result"]["id"] > pane
            await viewer.send({"t": "cmd", "c": "kill-pane", "a": {"pane": pane}, "id": 2})
            refused = await viewer.wait_message("error", id=2)
            assert refused["code"] == "not_master" and refused["ref"] == "kill-pane"
            await viewer.send({"t": "cmd", "c": "search-pane", "a": {"query": "$", "target": pane}, "id": 3})
            found = await viewer.wait_message("result", id=3)
            assert found["result"]["pane"] == pane
            row = found["result"]["matches"][0][0]
            span = {"target": pane, "start": [row, 0], "end": [row, 999]}
            await viewer.send({"t": "cmd", "c": "copy-text", "a": span, "id": 6})
            copied = await viewer.wait_message("result", id=6)
            assert "$" in copied["result"]["text"] and copied["result"]["more"] is False
            await master.send({"t": "cmd", "c": "quit", "id": 4})
            assert (await master.wait_message("error", id=4))["code"] == "not_allowed"
            await master.send({"t": "cmd", "c": "split-window", "a": {"direction": "sideways"}, "id": 5})
            bad = await master.wait_message("error", id=5)
            assert bad["code"] == "bad_argument" and "direction" in bad["msg"]
    run(scenario())
    assert len(web.proc.panes()) == 2 and web.proc.call("status")["pid"] == web.proc.pid
