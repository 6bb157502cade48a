"""The command line against a real server: output, exit statuses, windows, panes and layouts."""

from __future__ import annotations

import json
import re
import subprocess

from helpers import (
    ServerProc,
    StartServer,
    capture_until,
    free_port,
    pane_ended_lines,
    pid_gone,
    pid_running,
    run_cli,
    wait_for,
)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """The stdout of a CLI run that must have succeeded."""
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr}"
    return result.stdout


def panes_json(srv: ServerProc, *args: str) -> list[dict[str, object]]:
    return json.loads(ok(srv.cli("panes", "--json", *args)))


# -- capture ---------------------------------------------------------------------------------------------
def test_command_output_appears_in_capture(server: StartServer) -> None:
    srv = server()
    ok(srv.cli("send", "1", "echo hi-$((6*7))", "--enter"))
    wait_for(lambda: "hi-42" in ok(srv.cli("capture", "1")), 10)
    lines = ok(srv.cli("capture", "1")).splitlines()
    assert "hi-42" in lines   # the output line itself, not only the echoed command


def test_capture_scrollback_includes_lines_scrolled_off(server: StartServer) -> None:
    srv = server()
    assert srv.pane(1)["rows"] == 24
    srv.send(1, "seq 1 200; echo SEQ-DONE")
    capture_until(srv, 1, lambda t: "SEQ-DONE" in t.splitlines())
    plain = ok(srv.cli("capture", "1")).splitlines()
    full = ok(srv.cli("capture", "1", "--scrollback")).splitlines()
    assert "1" not in plain and "200" in plain
    assert len(plain) <= 24
    numbers = [line for line in full if line.isdigit()]
    assert numbers == [str(i) for i in range(1, 201)]


def test_capture_ansi_keeps_colours(server: StartServer) -> None:
    srv = server()
    srv.send(1, r"printf '\033[31mRED%s\033[0m\n' TEXT")
    capture_until(srv, 1, "REDTEXT")
    ansi = ok(srv.cli("capture", "1", "--ansi"))
    plain = ok(srv.cli("capture", "1"))
    assert "\x1b[" in ansi and "REDTEXT" in ansi
    # red as SGR 31 or as palette colour 1 (38;5;1), right before the text
    assert re.search(r"\x1b\[(?:[0-9;]*;)?(?:31|38;5;1)m(?:\x1b\[[0-9;]*m)*REDTEXT", ansi), repr(ansi)
    assert "\x1b" not in plain


# -- replies from the terminal reach the program ------------------------------------------------------------
def test_da1_reply_reaches_the_program(server: StartServer) -> None:
    srv = server()
    srv.send(1, r"""printf '\e[c'; IFS= read -rs -d c r; echo "DA:${r#*[}" """)
    text = capture_until(srv, 1, lambda t: "DA:?62;22" in t.splitlines(), timeout=10)
    assert "DA:?62;22" in text


def test_cpr_reply_reaches_the_program(server: StartServer) -> None:
    srv = server()
    srv.send(1, r"""printf '\e[6n'; IFS= read -rs -d R r; echo "CPR:${r#*[}" """)
    text = capture_until(srv, 1, lambda t: any(line.startswith("CPR:") for line in t.splitlines()))
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("CPR:"))
    match = re.fullmatch(r"CPR:(\d+);(\d+)", lines[index])
    assert match, lines[index]
    row, col = int(match[1]), int(match[2])
    # The report was made where the echo then printed it: that row, first column.
    assert (row, col) == (index + 1, 1)


# -- errors and usage ----------------------------------------------------------------------------------------
def test_no_server_says_how_to_start_one(dullahan_env: dict[str, str]) -> None:
    port = free_port()
    for cmd in (["status"], ["panes"], ["capture", "1"], ["quit"]):
        result = run_cli(dullahan_env, *cmd, "--port", str(port))
        assert result.returncode == 1, cmd
        assert result.stdout == ""
        assert f"no server is running on port {port}" in result.stderr
        assert f"dullahan serve -d --port {port}" in result.stderr


def test_unknown_command_is_usage_error(dullahan_env: dict[str, str]) -> None:
    result = run_cli(dullahan_env, "frobnicate")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "frobnicate" in result.stderr


def test_bad_usage_exits_2(server: StartServer) -> None:
    srv = server()
    for args in (["capture"], ["capture", "x"], ["kill-pane", "0"], ["send", "1"], ["resize-window", "10"]):
        result = srv.cli(*args)
        assert result.returncode == 2, args
        assert result.stdout == ""


def test_bad_pane_id_is_error_on_stderr(server: StartServer) -> None:
    srv = server()
    for args in (["kill-pane", "999"], ["capture", "999"], ["send", "999", "x"], ["respawn", "999"]):
        result = srv.cli(*args)
        assert result.returncode == 1, args
        assert result.stdout == "", args
        assert "no pane 999" in result.stderr, args
    assert len(srv.panes()) == 1


# -- listings ------------------------------------------------------------------------------------------------
def test_panes_prints_one_line_per_pane(server: StartServer) -> None:
    srv = server()
    srv.call("new-window", layout="2-col")
    lines = ok(srv.cli("panes")).splitlines()
    assert len(lines) == 3
    matches = [re.match(r"(\d+)\s", line) for line in lines]
    assert all(matches), lines
    assert [int(m[1]) for m in matches if m] == [1, 2, 3]
    assert all("running" in line for line in lines)


def test_json_listings_parse_with_expected_keys(server: StartServer) -> None:
    srv = server()
    status = json.loads(ok(srv.cli("status", "--json")))
    assert {"version", "pid", "port", "windows", "panes", "log", "debug", "templates_error", "urls"} <= set(status)
    assert status["pid"] == srv.pid and status["port"] == srv.port
    panes = panes_json(srv)
    assert len(panes) == 1
    assert {"id", "window", "slot", "visible", "cols", "rows", "pid", "running", "exit"} <= set(panes[0])
    windows = json.loads(ok(srv.cli("windows", "--json")))
    assert len(windows) == 1
    assert {"id", "layout", "active", "cols", "rows", "panes", "hidden"} <= set(windows[0])
    assert windows[0]["panes"] == [1] and windows[0]["active"] is True


def test_status_text(server: StartServer) -> None:
    srv = server()
    out = ok(srv.cli("status"))
    assert f"pid {srv.pid} port {srv.port}" in out
    assert "windows 1  panes 1" in out


def test_layouts_lists_builtins(server: StartServer) -> None:
    srv = server()
    out = ok(srv.cli("layouts"))
    for name in ("single", "2-col", "2-row", "3-col", "3-row", "2x2", "main-side", "side-main", "main-2side",
                 "3x2", "3x3"):
        assert name in out.split(), name


# -- windows, layouts, panes -----------------------------------------------------------------------------------
def test_new_window_with_layout_creates_panes(server: StartServer) -> None:
    srv = server()
    out = ok(srv.cli("new-window", "--layout", "2x2", "--json"))
    window = json.loads(out)
    assert window["layout"] == "2x2" and len(window["panes"]) == 4
    panes = panes_json(srv, "--window", str(window["id"]))
    assert sorted(p["id"] for p in panes) == sorted(window["panes"])
    assert all(p["running"] and p["visible"] for p in panes)
    windows = json.loads(ok(srv.cli("windows", "--json")))
    assert [w["active"] for w in windows] == [False, True]


def test_unknown_layout_is_an_error(server: StartServer) -> None:
    srv = server()
    result = srv.cli("new-window", "--layout", "nosuch")
    assert result.returncode == 1 and "unknown layout" in result.stderr
    result = srv.cli("layout", "nosuch")
    assert result.returncode == 1 and "unknown layout" in result.stderr
    assert len(srv.panes()) == 1


def test_smaller_layout_hides_panes_and_they_come_back_intact(server: StartServer) -> None:
    srv = server()
    window = srv.call("new-window", layout="2x2")
    ids = window["panes"]
    for pid_ in ids:
        srv.send(pid_, f"echo mark-$(({pid_}*100))")
    for pid_ in ids:
        capture_until(srv, pid_, f"mark-{pid_ * 100}")
    before = {p["id"]: p for p in srv.panes()}

    ok(srv.cli("layout", "single"))
    after = {p["id"]: p for p in panes_json(srv)}
    assert set(after) == set(before)
    visible = [i for i in ids if after[i]["visible"]]
    hidden = [i for i in ids if not after[i]["visible"]]
    assert len(visible) == 1 and len(hidden) == 3
    for i in hidden:
        assert after[i]["running"] and pid_running(after[i]["pid"])
        assert after[i]["pid"] == before[i]["pid"]
    text = ok(srv.cli("panes"))
    assert sum("hidden" in line for line in text.splitlines()) == 3

    ok(srv.cli("layout", "2x2"))
    back = {p["id"]: p for p in panes_json(srv)}
    assert all(back[i]["visible"] for i in ids)
    assert {i: back[i]["pid"] for i in ids} == {i: before[i]["pid"] for i in ids}
    for i in ids:
        assert f"mark-{i * 100}" in srv.capture(i).splitlines()


def test_kill_pane_removes_it_and_reaps_it(server: StartServer) -> None:
    srv = server()
    window = srv.call("new-window", layout="2-col")
    victim, survivor = window["panes"]
    pid = srv.pane(victim)["pid"]
    result = srv.cli("kill-pane", str(victim))
    assert result.returncode == 0 and result.stdout == ""
    ids = [p["id"] for p in srv.panes()]
    assert victim not in ids and survivor in ids
    wait_for(lambda: pid_gone(pid), 5)
    wait_for(lambda: victim in pane_ended_lines(srv.log_text()), 5)
    window_after = srv.call("windows")[-1]
    assert [p for p in window_after["panes"] if p is not None] == [survivor]
    assert victim not in window_after["hidden"]


def test_killing_last_pane_starts_a_fresh_shell(server: StartServer) -> None:
    srv = server()
    old_pid = srv.pane(1)["pid"]
    ok(srv.cli("kill-pane", "1"))
    assert srv.alive()
    windows = srv.call("windows")
    assert len(windows) == 1 and windows[0]["id"] != 1   # ids are never reused
    panes = srv.panes()
    assert len(panes) == 1 and panes[0]["id"] != 1 and panes[0]["running"]
    new = panes[0]["id"]
    srv.send(new, "echo fresh-$((5*5))")
    capture_until(srv, new, "fresh-25")
    wait_for(lambda: pid_gone(old_pid), 5)


def test_kill_window(server: StartServer) -> None:
    srv = server()
    window = srv.call("new-window", layout="2-row")
    ok(srv.cli("kill-window", str(window["id"])))
    assert [w["id"] for w in srv.call("windows")] == [1]
    assert [p["id"] for p in srv.panes()] == [1]
    result = srv.cli("kill-window", str(window["id"]))
    assert result.returncode == 1 and "no window" in result.stderr


def test_select_window(server: StartServer) -> None:
    srv = server()
    srv.call("new-window")
    assert [w["active"] for w in srv.call("windows")] == [False, True]
    ok(srv.cli("select-window", "1"))
    assert [w["active"] for w in srv.call("windows")] == [True, False]


def test_exited_pane_shows_status_and_respawns(server: StartServer) -> None:
    srv = server()
    srv.send(1, "echo last-words; exit 3")
    wait_for(lambda: not srv.pane(1)["running"], 10)
    line = ok(srv.cli("panes"))
    assert "exited with status 3" in line
    assert srv.pane(1)["exit"]["code"] == 3
    assert "last-words" in ok(srv.cli("capture", "1")).splitlines()
    send = srv.cli("send", "1", "echo nobody")
    assert send.returncode == 1 and "not running" in send.stderr

    old_pid = srv.pane(1)["pid"]
    out = ok(srv.cli("respawn", "1"))
    assert out.startswith("1 ")
    info = srv.pane(1)
    assert info["running"] and info["pid"] != old_pid and info["exit"] is None
    srv.send(1, "echo again-$((8*8))")
    capture_until(srv, 1, "again-64")
    again = srv.cli("respawn", "1")
    assert again.returncode == 1 and "still running" in again.stderr


def test_resize_window_changes_pane_size(server: StartServer) -> None:
    srv = server()
    ok(srv.cli("resize-window", "100", "30"))
    window = json.loads(ok(srv.cli("windows", "--json")))[0]
    assert (window["cols"], window["rows"]) == (100, 30)
    pane = panes_json(srv)[0]
    assert (pane["cols"], pane["rows"]) == (100, 29)   # one row is the pane's title bar
    srv.send(1, "echo SIZE=$(stty size)")
    capture_until(srv, 1, lambda t: f"SIZE={pane['rows']} {pane['cols']}" in t.splitlines())


def test_resize_window_is_clamped(server: StartServer) -> None:
    srv = server()
    result = srv.cli("resize-window", "5000", "30")
    assert result.returncode == 2 and "1..1000" in result.stderr    # a bad argument is bad usage
    assert srv.call("windows")[0]["cols"] == 80


# -- debug log ---------------------------------------------------------------------------------------------
def test_debug_log_switches_categories(server: StartServer) -> None:
    srv = server()
    assert "pty" not in json.loads(ok(srv.cli("status", "--json")))["debug"]
    assert "pty" in ok(srv.cli("debug-log", "+pty"))
    assert "pty" in json.loads(ok(srv.cli("status", "--json")))["debug"]
    out = ok(srv.cli("debug-log", "-pty"))
    assert "pty" not in out
    assert "pty" not in json.loads(ok(srv.cli("status", "--json")))["debug"]
    ok(srv.cli("debug-log", "+all,-sync"))
    enabled = json.loads(ok(srv.cli("status", "--json")))["debug"]
    assert "sync" not in enabled and {"pty", "ipc", "pane"} <= set(enabled)


def test_debug_log_minus_spec_before_port(server: StartServer) -> None:
    """``dullahan debug-log -pty --port N``: the spec looks like an option to argparse."""
    srv = server()
    ok(srv.cli("debug-log", "+pty"))
    result = run_cli(srv.env, "debug-log", "-pty", "--port", str(srv.port))
    assert result.returncode == 0, result.stderr
    assert "pty" not in srv.call("status")["debug"]


def test_debug_log_unknown_category(server: StartServer) -> None:
    srv = server()
    result = srv.cli("debug-log", "+nosuch")
    assert result.returncode == 1
    assert "nosuch" in result.stderr and result.stdout == ""
    assert srv.call("status")["debug"] == []


def test_debug_env_enables_debug_lines(server: StartServer) -> None:
    srv = server(env={"DULLAHAN_DEBUG": "+ipc"})
    assert srv.call("status")["debug"] == ["ipc"]
    ok(srv.cli("panes"))
    wait_for(lambda: re.search(r" DEBUG ipc: request cmd=panes", srv.log_text()), 5, message=srv.log_text)


def test_debug_lines_absent_by_default(server: StartServer) -> None:
    srv = server()
    ok(srv.cli("panes"))
    assert " DEBUG " not in srv.log_text()


# -- urls and tokens -----------------------------------------------------------------------------------------
def url_tokens(text: str) -> dict[str, str]:
    found = dict(re.findall(r"(master|view):\s+http://127\.0\.0\.1:\d+/\?token=([A-Za-z0-9_-]+)", text))
    assert set(found) == {"master", "view"}, text
    return found


def test_url_prints_master_and_view(server: StartServer) -> None:
    srv = server()
    out = ok(srv.cli("url"))
    assert f"http://127.0.0.1:{srv.port}/?token=" in out
    tokens = url_tokens(out)
    stored = json.loads(srv.tokens_file.read_text())
    assert tokens == {"master": stored["master"], "view": stored["view"]}


def test_token_rotate_changes_both_tokens(server: StartServer) -> None:
    srv = server()
    before_file = srv.tokens_file.read_text()
    before = url_tokens(ok(srv.cli("url")))
    assert url_tokens(ok(srv.cli("token"))) == before   # without --rotate nothing changes
    rotated = url_tokens(ok(srv.cli("token", "--rotate")))
    assert rotated["master"] != before["master"] and rotated["view"] != before["view"]
    assert url_tokens(ok(srv.cli("url"))) == rotated
    after_file = srv.tokens_file.read_text()
    assert after_file != before_file
    assert json.loads(after_file) == rotated
