"""The ``dullahan`` command line: ``serve`` runs a server; every other command talks to one over IPC.

Exit status: 0 on success, 1 on error (message on stderr), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dullahan import __version__
from dullahan.config import DEFAULT_PORT, ConfigError, RuntimePaths, load_settings
from dullahan.ipc.client import NoServer, call
from dullahan.ipc.protocol import RequestError
from dullahan.log import SpecError, log, parse_spec

READY_TIMEOUT = 20.0


class CliError(Exception):
    pass


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is out of range 1..65535")
    return port


def _id(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a numeric id: {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"ids start at 1, got {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dullahan", description="tmux rebuilt as a server and a browser client.")
    parser.add_argument("--version", action="version", version=f"dullahan {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def add(name: str, help_text: str, json_flag: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--port", type=_port, default=int(os.environ.get("DULLAHAN_PORT", DEFAULT_PORT)),
                       help=f"the server's port (default {DEFAULT_PORT})")
        if json_flag:
            p.add_argument("--json", action="store_true", help="machine-readable output")
        return p

    p = add("serve", "run a server")
    p.add_argument("-d", "--detach", action="store_true", help="run in the background; return once it answers")
    p.add_argument("--bind", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--tls-cert", help="PEM certificate chain; serves HTTPS/WSS with --tls-key")
    p.add_argument("--tls-key", help="PEM private key")
    p.add_argument("--insecure", action="store_true", default=None,
                   help="allow a non-loopback bind without TLS")
    p.add_argument("--shell", help="command line for new panes (default: $SHELL, else /bin/sh)")
    p.add_argument("--scrollback", type=int, help="scrollback lines per pane (default 10000)")
    p.add_argument("--layout", help="layout of the first window (default single)")
    p.add_argument("--fresh", action="store_true",
                   help="start empty: do not restore the saved session, end shells a crashed server left")
    p.add_argument("--takeover", help=argparse.SUPPRESS)   # set by 'restart' for the new server process
    add("restart", "replace the running server by a new process (the code installed now); shells keep running")
    add("status", "show the server's state", json_flag=True)
    add("clients", "list connected browsers and clients", json_flag=True)
    add("windows", "list windows", json_flag=True)
    p = add("panes", "list panes, one per line, starting with the pane id", json_flag=True)
    p.add_argument("--window", type=_id, help="only the panes of this window")
    p = add("new-window", "open a window", json_flag=True)
    p.add_argument("--layout", default=None, help="layout template (see 'dullahan layouts')")
    p = add("layout", "switch a window's layout (panes that no longer fit are hidden, not killed)", json_flag=True)
    p.add_argument("name", help="layout template")
    p.add_argument("--window", type=_id, help="window id (default: the active window)")
    add("layouts", "list layout templates", json_flag=True)
    p = add("select-window", "make a window the active one")
    p.add_argument("window", type=_id)
    p = add("kill-window", "close a window and its panes")
    p.add_argument("window", type=_id)
    p = add("kill-pane", "close a pane (its process gets SIGHUP)")
    p.add_argument("pane", type=_id)
    p = add("respawn", "restart the shell of a pane whose process has exited", json_flag=True)
    p.add_argument("pane", type=_id)
    p = add("rerun", "run again the command a restored pane was running before the restart")
    p.add_argument("pane", type=_id)
    p = add("resize-window", "set a window's area in cells (panes follow its layout)")
    p.add_argument("cols", type=int)
    p.add_argument("rows", type=int)
    p.add_argument("--window", type=_id)
    p = add("send", "type text into a pane")
    p.add_argument("pane", type=_id)
    p.add_argument("text")
    p.add_argument("--enter", action="store_true", help="press Enter after the text")
    p = add("capture", "print a pane's screen as text (like tmux capture-pane -p)")
    p.add_argument("pane", type=_id)
    p.add_argument("--scrollback", action="store_true", help="include the scrollback history")
    p.add_argument("--ansi", action="store_true", help="keep colours and styles as escape sequences")
    add("url", "print the ready-to-open URLs")
    p = add("token", "print the URLs with the current tokens")
    p.add_argument("--rotate", action="store_true", help="replace both tokens (signs out every browser)")
    p = add("debug-log", "switch debug log categories, e.g. +pty or +all,-sync")
    p.add_argument("spec")
    add("quit", "stop the server (children are hung up and reaped)")
    p = add("test", "built-in tests")
    tsub = p.add_subparsers(dest="test_command", metavar="TEST")
    tsub.required = True
    soak = tsub.add_parser("soak", help="many clients, heavy output, slow readers; reports every disconnect")
    soak.add_argument("--port", type=_port, default=None, help="target a running server on this port")
    soak.add_argument("--seconds", type=float, default=60.0)
    soak.add_argument("--tls", action="store_true")
    soak.add_argument("--clients", type=int, default=8)
    soak.add_argument("--slow", type=int, default=2)
    soak.add_argument("--churn", action="store_true")
    soak.add_argument("--json", action="store_true")
    return parser


def _fix_debug_spec(argv: list[str]) -> list[str]:
    """Let ``dullahan debug-log -sync`` through: argparse would take ``-sync`` for an option."""
    if not argv or argv[0] != "debug-log":
        return argv
    options: list[str] = []
    specs: list[str] = []
    rest = iter(argv[1:])
    for arg in rest:
        if arg == "--port":
            options += [arg, next(rest, "")]
        elif arg.startswith("--") or arg == "-h":
            options.append(arg)
        else:
            specs.append(arg)
    return ["debug-log", *options, "--", *specs]


def main(argv: list[str] | None = None) -> int:
    argv = _fix_debug_spec(list(sys.argv[1:] if argv is None else argv))
    args = build_parser().parse_args(argv)
    try:
        handler = HANDLERS[args.command]
        return handler(args) or 0
    except (CliError, ConfigError, RequestError, NoServer, SpecError) as e:
        print(f"dullahan: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


# -- serve ---------------------------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace) -> int:
    overrides = {"port": args.port, "bind": args.bind, "tls_cert": args.tls_cert, "tls_key": args.tls_key,
                 "insecure": args.insecure, "shell": args.shell, "scrollback_lines": args.scrollback,
                 "initial_layout": args.layout}
    settings = load_settings(overrides)
    from dullahan.net.tls import check_bind
    check_bind(settings)
    if args.detach:
        return _serve_detached(args, settings.port)
    return _serve_foreground(settings, args)


def _serve_flags(args: argparse.Namespace) -> list[str]:
    """The flags of ``serve`` that shape a server (a detached start and a restart pass them on)."""
    out: list[str] = []
    for flag in ("bind", "tls_cert", "tls_key", "shell", "scrollback", "layout"):
        value = getattr(args, flag)
        if value is not None:
            out += ["--" + flag.replace("_", "-"), str(value)]
    if args.insecure:
        out.append("--insecure")
    return out


def _serve_foreground(settings: Any, args: argparse.Namespace) -> int:
    from dullahan.server import AlreadyRunning, Server
    paths = RuntimePaths.for_port(settings.port)
    log.configure(path=str(paths.logfile), spec=os.environ.get("DULLAHAN_DEBUG"),
                  also_stderr=sys.stderr.isatty())
    takeover = Path(args.takeover) if args.takeover else None

    async def run() -> int:
        server = Server(settings, fresh=args.fresh, takeover=takeover, serve_flags=_serve_flags(args))
        try:
            await server.start()
        except AlreadyRunning as e:
            raise CliError(str(e)) from e
        except OSError as e:
            log.error("server", "cannot start", error=str(e))
            raise CliError(f"cannot start: {e}") from e
        except Exception as e:
            if takeover is None:
                raise
            log.error("server", "cannot take over", error=str(e))   # the old server carries on and says why
            raise CliError(f"cannot take over: {e}") from e
        if takeover is None:
            _print_ready(server.urls(), str(paths.logfile), os.getpid())
        await server.wait()
        return 0

    return _run_loop(run)


def _run_loop(main_coro: Callable[[], Any]) -> int:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main_coro())
    return uvloop.run(main_coro())


def _print_ready(urls: dict[str, str], logfile: str, pid: int) -> None:
    print(f"dullahan {__version__} serving on {urls['base']} (pid {pid})")
    print(f"  master: {urls['master']}")
    print(f"  view:   {urls['view']}")
    print(f"  log:    {logfile}")
    sys.stdout.flush()


def _serve_detached(args: argparse.Namespace, port: int) -> int:
    paths = RuntimePaths.for_port(port)
    try:
        call(port, "status", timeout=2)
        raise CliError(f"a server is already running on port {port}")
    except NoServer:
        pass
    except RequestError:
        pass
    child_argv = [sys.executable, "-m", "dullahan", "serve", "--port", str(port), *_serve_flags(args)]
    if args.fresh:
        child_argv.append("--fresh")
    fd = os.open(paths.logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        # stdout (the banner with the tokens) must not reach the log; stderr (a crash) should.
        proc = subprocess.Popen(child_argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=fd,
                                start_new_session=True, close_fds=True)
    finally:
        os.close(fd)
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise CliError(f"the server exited during start-up (status {proc.returncode}); "
                           f"see {paths.logfile}:\n{_log_tail(paths.logfile)}")
        try:
            status = call(port, "status", timeout=2)
        except (NoServer, RequestError):
            time.sleep(0.05)
            continue
        _print_ready(status["urls"], status["log"], status["pid"])
        return 0
    proc.terminate()
    raise CliError(f"the server did not answer within {READY_TIMEOUT:.0f} s; see {paths.logfile}")


def _log_tail(path: Any, lines: int = 8) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:]).rstrip()
    except OSError:
        return ""


# -- client commands -------------------------------------------------------------------------------------
def _emit(args: argparse.Namespace, result: Any, text: Callable[[Any], str]) -> int:
    if getattr(args, "json", False):
        print(json.dumps(result, indent=2, default=str))
    else:
        out = text(result)
        if out:
            print(out)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    def text(s: dict[str, Any]) -> str:
        lines = [
            f"dullahan {s['version']} pid {s['pid']} port {s['port']} bind {s['bind']}"
            f" {'tls' if s['tls'] else 'plain'} up {_duration(s['uptime'])}",
            f"windows {s['windows']}  panes {s['panes']}  clients {s['clients']}",
            f"log {s['log']}",
            f"debug {','.join(s['debug']) or 'off'}  errors logged {s['errors_logged']}",
        ]
        if s.get("templates_error"):
            lines.append(f"layout templates: {s['templates_error']}")
        lines += _continuity_lines(s)
        d = s.get("disconnects") or {}
        lines.append("disconnects " + (", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "none"))
        return "\n".join(lines)
    return _emit(args, call(args.port, "status"), text)


def _continuity_lines(s: dict[str, Any]) -> list[str]:
    lines = []
    keeper = s.get("keeper") or {}
    if keeper:
        lines.append(f"keeper pid {keeper.get('pid')}" if keeper.get("connected")
                     else f"keeper: none ({keeper.get('error') or 'shells end with the server'})")
    st = s.get("state") or {}
    if st:
        size = st.get("bytes")
        saved = st.get("saved_at")
        when = f"saved {_duration(max(0.0, time.time() - saved))} ago" if saved else "not saved yet"
        line = f"state {_size(size) if size is not None else 'none'}, {when} ({st.get('path')})"
        if st.get("dropped_rows"):
            line += f"; {st['dropped_rows']} history rows left out by the caps"
        if st.get("screens_left_out"):
            line += f"; {st['screens_left_out']} screens left out by the cap"
        lines.append(line)
        if st.get("error"):
            lines.append(f"state save error: {st['error']}")
        if st.get("load_error"):
            lines.append(f"state load error: {st['load_error']}")
    notice = s.get("restart_notice")
    if notice:
        lines.append(f"continues a previous server ({notice['kind']}, {notice.get('from') or '?'} → {notice['to']}"
                     f" at {notice['at']})")
    return lines


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _duration(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def cmd_windows(args: argparse.Namespace) -> int:
    def text(ws: list[dict[str, Any]]) -> str:
        return "\n".join(
            f"{w['id']}{'*' if w['active'] else ' '} {w['layout']:<10} {w['cols']}x{w['rows']}"
            f"  panes {' '.join(str(p) if p else '-' for p in w['panes'])}"
            + (f"  hidden {' '.join(map(str, w['hidden']))}" if w["hidden"] else "") for w in ws)
    return _emit(args, call(args.port, "windows"), text)


def _pane_line(p: dict[str, Any]) -> str:
    state = "running" if p["running"] else (p["exit"]["text"] if p.get("exit") else "starting")
    where = f"window {p['window']} slot {p['slot']}" if p["visible"] else f"window {p['window']} hidden"
    title = f"  {p['title']}" if p.get("title") else ""
    return f"{p['id']}  {where}  {p['cols']}x{p['rows']}  pid {p['pid']}  {state}{title}"


def cmd_panes(args: argparse.Namespace) -> int:
    result = call(args.port, "panes", {"window": args.window} if args.window else {})
    return _emit(args, result, lambda ps: "\n".join(_pane_line(p) for p in ps))


def cmd_new_window(args: argparse.Namespace) -> int:
    result = call(args.port, "new-window", {"layout": args.layout} if args.layout else {})
    return _emit(args, result, lambda w: f"window {w['id']} ({w['layout']}): panes "
                 + " ".join(str(p) for p in w["panes"]))


def cmd_layout(args: argparse.Namespace) -> int:
    request: dict[str, Any] = {"layout": args.name}
    if args.window:
        request["window"] = args.window
    result = call(args.port, "layout", request)
    return _emit(args, result, lambda w: f"window {w['id']} ({w['layout']}): panes "
                 + " ".join(str(p) if p else "-" for p in w["panes"])
                 + (f", hidden {' '.join(map(str, w['hidden']))}" if w["hidden"] else ""))


def cmd_layouts(args: argparse.Namespace) -> int:
    def text(r: dict[str, Any]) -> str:
        lines = ["builtin: " + " ".join(r["builtin"])]
        if r["user"]:
            lines.append("user:    " + " ".join(sorted(r["user"])))
        if r.get("error"):
            lines.append(f"error:   {r['error']}")
        return "\n".join(lines)
    return _emit(args, call(args.port, "layouts"), text)


def _simple(cmd: str, *fields: str, out: Callable[[Any], str] | None = None) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        result = call(args.port, cmd, {f: getattr(args, f) for f in fields})
        return _emit(args, result, out or (lambda _r: ""))
    return handler


def cmd_send(args: argparse.Namespace) -> int:
    call(args.port, "send", {"pane": args.pane, "text": args.text, "enter": args.enter})
    return 0


def cmd_capture(args: argparse.Namespace) -> int:
    result = call(args.port, "capture", {"pane": args.pane, "scrollback": args.scrollback, "ansi": args.ansi})
    text = result["text"]
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    return 0


def _urls_text(u: dict[str, str]) -> str:
    return f"master: {u['master']}\nview:   {u['view']}"


def cmd_token(args: argparse.Namespace) -> int:
    return _emit(args, call(args.port, "token", {"rotate": args.rotate}), _urls_text)


def cmd_debug_log(args: argparse.Namespace) -> int:
    parse_spec(args.spec)   # a bad spec is a usage error caught before the round trip
    result = call(args.port, "debug-log", {"spec": args.spec})
    print("debug categories: " + (",".join(result["enabled"]) or "none"))
    return 0


def cmd_clients(args: argparse.Namespace) -> int:
    def text(cs: list[dict[str, Any]]) -> str:
        if not cs:
            return "no clients"
        return "\n".join(
            f"{c['id']}  {c['role']:<6} {c['address']:<22} {'tls ' + c.get('tls_version', '') if c['tls'] else 'plain'}"
            f"  rtt {c['rtt_ms'] if c['rtt_ms'] is not None else '-'} ms  {c['frames_per_s']:.1f} fps"
            f"  out {c['bytes_out']} B  in {c['bytes_in']} B  in-flight {c['in_flight']}"
            f"{'  congested' if c['congested'] else ''}" for c in cs)
    return _emit(args, call(args.port, "clients"), text)


def cmd_quit(args: argparse.Namespace) -> int:
    paths = RuntimePaths.for_port(args.port)
    try:
        call(args.port, "quit")
    except NoServer:
        # A crashed server may have left its shells in the keeper: quitting ends them too.
        if not _end_orphaned_keeper(args.port):
            raise
        return 0
    deadline = time.monotonic() + 10
    while paths.pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return 0


def _end_orphaned_keeper(port: int) -> bool:
    from dullahan.persist.keeper_client import KeeperClient, KeeperLost, KeeperPaths
    keeper_paths = KeeperPaths.in_dir(RuntimePaths.for_port(port).directory, port)
    try:
        keeper = KeeperClient.connect(keeper_paths)
    except KeeperLost:
        return False
    if keeper is None:
        return False
    shells = len(keeper.children_at_start)
    keeper.shutdown()
    deadline = time.monotonic() + 10
    while keeper_paths.lock.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    print(f"no server was running on port {port}; ended the keeper and its {shells} shell(s)")
    return True


def cmd_restart(args: argparse.Namespace) -> int:
    started = time.monotonic()
    before = call(args.port, "status", timeout=10)
    result = call(args.port, "restart", timeout=180)
    deadline = time.monotonic() + READY_TIMEOUT
    while True:   # the new server answers on the same socket once the old one has let go
        try:
            if call(args.port, "status", timeout=5)["pid"] == result["pid"]:
                break
        except (NoServer, RequestError):
            pass
        if time.monotonic() > deadline:
            raise CliError(f"the new server (pid {result['pid']}) took over but does not answer")
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    print(f"restarted in {elapsed:.2f} s: pid {before['pid']} → {result['pid']} "
          f"(dullahan {result['from']} → {result['to']}); {result['panes']} panes kept, "
          f"output paused {result['paused'] * 1000:.0f} ms")
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    from dullahan.testing.soak import run_soak_cli
    return run_soak_cli(args)


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "serve": cmd_serve,
    "status": cmd_status,
    "clients": cmd_clients,
    "windows": cmd_windows,
    "panes": cmd_panes,
    "new-window": cmd_new_window,
    "layout": cmd_layout,
    "layouts": cmd_layouts,
    "select-window": _simple("select-window", "window"),
    "kill-window": _simple("kill-window", "window"),
    "kill-pane": _simple("kill-pane", "pane"),
    "respawn": _simple("respawn", "pane", out=_pane_line),
    "rerun": _simple("rerun", "pane", out=lambda r: f"pane {r['pane']}: {r['command']}"),
    "restart": cmd_restart,
    "resize-window": _simple("resize-window", "cols", "rows", "window"),
    "send": cmd_send,
    "capture": cmd_capture,
    "url": _simple("url", out=_urls_text),
    "token": cmd_token,
    "debug-log": cmd_debug_log,
    "quit": cmd_quit,
    "test": cmd_test,
}
