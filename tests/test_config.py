"""Files, permissions, secrets, config.json and layouts.json."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest

from dullahan.config import ConfigError, Settings, load_settings
from helpers import StartServer, free_port, run_cli


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- files and permissions ---------------------------------------------------------------------------------
@pytest.mark.parametrize("detach", [True, False], ids=["detached", "foreground"])
def test_runtime_files_are_private(server: StartServer, detach: bool) -> None:
    srv = server(detach=detach)
    assert mode(srv.runtime_dir) == 0o700
    assert stat.S_ISSOCK(srv.socket.stat().st_mode)
    assert mode(srv.socket) == 0o600
    assert mode(srv.pidfile) == 0o600
    assert mode(srv.logfile) == 0o600
    assert mode(srv.config_dir) == 0o700
    assert mode(srv.tokens_file) == 0o600


def test_tokens_file_holds_two_strong_distinct_tokens(server: StartServer) -> None:
    srv = server()
    data = json.loads(srv.tokens_file.read_text())
    master, view = data["master"], data["view"]
    assert master != view
    for token in (master, view):
        assert re.fullmatch(r"[A-Za-z0-9_-]{22,}", token), token   # >= 128 bits of urlsafe base64


@pytest.mark.parametrize("detach", [True, False], ids=["detached", "foreground"])
def test_tokens_never_appear_in_the_log(server: StartServer, detach: bool) -> None:
    srv = server(detach=detach, env={"DULLAHAN_DEBUG": "+all"})
    srv.cli("url")
    srv.cli("token", "--rotate")
    srv.cli("status")
    tokens = json.loads(srv.tokens_file.read_text())
    srv.stop()
    log = srv.log_text()
    assert "server: started" in log
    old = re.findall(r"token=([A-Za-z0-9_-]+)", srv.start_output.stdout if srv.start_output else srv.stdout())
    for token in [tokens["master"], tokens["view"], *old]:
        assert token not in log, "a token was written to the log file"


def test_tokens_survive_a_restart(server: StartServer) -> None:
    first = server()
    before = first.tokens_file.read_text()
    first.stop()
    second = server(port=first.port)
    assert second.tokens_file.read_text() == before


def test_runtime_files_removed_on_quit(server: StartServer) -> None:
    srv = server()
    assert srv.cli("quit").returncode == 0
    srv.wait_exit(5)
    assert not srv.socket.exists() and not srv.pidfile.exists()
    assert srv.logfile.exists()   # the log stays for diagnosis
    assert srv.tokens_file.exists()


# -- layouts.json -----------------------------------------------------------------------------------------
def write_config(env: dict[str, str], name: str, content: bytes) -> Path:
    path = Path(env["XDG_CONFIG_HOME"]) / "dullahan" / name
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_broken_layouts_file_is_reported_not_fatal_and_not_rewritten(server: StartServer,
                                                                     dullahan_env: dict[str, str]) -> None:
    content = b'{"mine": {"row": ["pane", "pane"]},,, oops\n'
    path = write_config(dullahan_env, "layouts.json", content)
    srv = server()
    status = srv.call("status")
    assert status["templates_error"] and "not valid JSON" in status["templates_error"]
    assert str(path) in status["templates_error"]
    assert "layout templates" in srv.cli("status").stdout
    assert re.search(r" ERROR config: layout templates not loaded", srv.log_text())
    assert srv.call("new-window", layout="2-col")["layout"] == "2-col"   # built-ins still work
    srv.stop()
    assert path.read_bytes() == content


def test_user_layout_template_is_usable(server: StartServer, dullahan_env: dict[str, str]) -> None:
    template = {"trio": {"row": ["pane", {"column": ["pane", "pane"]}], "sizes": [60, 40]}}
    path = write_config(dullahan_env, "layouts.json", json.dumps(template).encode())
    srv = server()
    assert srv.call("status")["templates_error"] is None
    layouts = srv.cli("layouts")
    assert "trio" in layouts.stdout
    result = srv.cli("new-window", "--layout", "trio", "--json")
    assert result.returncode == 0, result.stderr
    window = json.loads(result.stdout)
    assert window["layout"] == "trio" and len(window["panes"]) == 3
    assert srv.cli("layout", "single").returncode == 0
    assert srv.cli("layout", "trio").returncode == 0
    assert path.read_bytes() == json.dumps(template).encode()


def test_partly_bad_layouts_file_keeps_good_templates(server: StartServer, dullahan_env: dict[str, str]) -> None:
    write_config(dullahan_env, "layouts.json",
                 json.dumps({"good": {"column": ["pane", "pane"]}, "2x2": "pane", "bad": {"row": []}}).encode())
    srv = server()
    error = srv.call("status")["templates_error"]
    assert error and "'2x2'" in error and "'bad'" in error
    assert len(srv.call("new-window", layout="good")["panes"]) == 2


# -- config.json ------------------------------------------------------------------------------------------
BAD_CONFIGS = {
    "bad-json": (b'{"scrollback_lines": 500,', "not valid JSON"),
    "unknown-key": (b'{"scrollback_lines": 500, "colour": "blue"}', "unknown setting 'colour'"),
    "wrong-type": (b'{"scrollback_lines": "many"}', "'scrollback_lines' must be an integer"),
    "out-of-range": (b'{"scrollback_lines": 5}', "scrollback_lines must be within"),
    # A zero frame interval once divided by zero in every client's sender; settings are checked at load.
    "zero-frame-interval": (b'{"frame_interval": 0}', "frame_interval must be within 0.001..1"),
    "negative-limit": (b'{"max_connections": -1}', "max_connections must be within 1..10000"),
    "not-an-object": (b"[1, 2]", "must be an object"),
}


@pytest.mark.parametrize("detach", [True, False], ids=["detached", "foreground"])
@pytest.mark.parametrize("case", list(BAD_CONFIGS), ids=list(BAD_CONFIGS))
def test_bad_config_file_stops_serve_with_clear_message(dullahan_env: dict[str, str], case: str,
                                                        detach: bool) -> None:
    content, message = BAD_CONFIGS[case]
    path = write_config(dullahan_env, "config.json", content)
    port = free_port()
    result = run_cli(dullahan_env, "serve", "--port", str(port), *(["-d"] if detach else []), timeout=30)
    assert result.returncode == 1
    assert str(path) in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    runtime = Path(dullahan_env["XDG_RUNTIME_DIR"]) / "dullahan"
    left = list(runtime.glob(f"server-{port}.*")) if runtime.exists() else []
    assert left == []
    assert path.read_bytes() == content


def test_good_config_file_is_applied(server: StartServer, dullahan_env: dict[str, str]) -> None:
    write_config(dullahan_env, "config.json", json.dumps({"initial_layout": "2-row"}).encode())
    srv = server()
    windows = srv.call("windows")
    assert windows[0]["layout"] == "2-row" and len(srv.panes()) == 2


def test_flags_override_config_file(isolated_xdg: dict[str, str]) -> None:
    write_config(isolated_xdg, "config.json", json.dumps({"scrollback_lines": 500, "shell": "zsh -f"}).encode())
    settings = load_settings({"scrollback_lines": 2000, "port": 9999})
    assert settings.scrollback_lines == 2000 and settings.port == 9999
    assert settings.shell == ["zsh", "-f"]


def test_settings_apply_rejects_bad_values() -> None:
    for values, message in (({"port": 0}, "port must be within 1..65535"), ({"insecure": "yes"}, "true or false"),
                            ({"ping_interval": 0.1}, "ping_interval"), ({"shell": []}, "'shell'"),
                            ({"bind": 5}, "'bind' must be a string")):
        with pytest.raises(ConfigError, match=re.escape(message)):
            Settings.load(values, "test")


def test_non_loopback_bind_needs_tls_or_insecure(dullahan_env: dict[str, str]) -> None:
    port = free_port()
    result = run_cli(dullahan_env, "serve", "-d", "--bind", "0.0.0.0", "--port", str(port))
    assert result.returncode == 1
    assert "--tls-cert" in result.stderr and "--insecure" in result.stderr
