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
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from dullahan import __version__
from dullahan.commands import TABLE, CommandError, lookup
from dullahan.commands.table import USAGE_CODES, Command, Option
from dullahan.config import DEFAULT_PORT, ConfigError, RuntimePaths, load_settings
from dullahan.ipc.client import NoServer, call
from dullahan.ipc.protocol import RequestError
from dullahan.log import SpecError, log

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dullahan", description="tmux rebuilt as a server and a browser client.")
    parser.add_argument("--version", action="version", version=f"dullahan {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def add(name: str, help_text: str, json_flag: bool = False, short_help: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, add_help=False)
        p.add_argument(*(["-h", "--help"] if short_help else ["--help"]), action="help",
                       help="show this help and exit")
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
    p.add_argument("--trusted-proxy", action="append", metavar="ADDR",
                   help="a reverse proxy (address or network) allowed to set X-Forwarded-Proto/Host/For; repeatable")
    p.add_argument("--allowed-host", action="append", metavar="NAME",
                   help="a host name the server answers to besides its own; repeatable")
    p.add_argument("--base-path", metavar="/PREFIX/", help="serve under this path (default /)")
    p.add_argument("--fresh", action="store_true",
                   help="start empty: do not restore the saved session, end shells a crashed server left")
    p.add_argument("--takeover", help=argparse.SUPPRESS)   # set by 'restart' for the new server process
    for entry in TABLE.values():
        if entry.cli:
            _add_command(add, entry)
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
        handler = LOCAL.get(args.command)
        return handler(args) if handler is not None else run_command(args)
    except CommandError as e:
        print(f"dullahan: {e.message}", file=sys.stderr)
        return 2 if e.code in USAGE_CODES else 1
    except RequestError as e:
        print(f"dullahan: {e}", file=sys.stderr)
        return 2 if e.code in USAGE_CODES else 1
    except (CliError, ConfigError, NoServer, SpecError) as e:
        print(f"dullahan: {e}", file=sys.stderr)
        return 1
    except OSError as e:   # never a traceback for a system error (a full disk, a socket gone away)
        print(f"dullahan: {e.strerror or e}" + (f": {e.filename}" if e.filename else ""), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


# -- serve ---------------------------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace) -> int:
    overrides = {"port": args.port, "bind": args.bind, "tls_cert": args.tls_cert, "tls_key": args.tls_key,
                 "insecure": args.insecure, "shell": args.shell, "scrollback_lines": args.scrollback,
                 "initial_layout": args.layout, "trusted_proxies": args.trusted_proxy,
                 "allowed_hosts": args.allowed_host, "base_path": args.base_path}
    settings = load_settings(overrides)
    from dullahan.net.tls import check_bind
    check_bind(settings)
    if args.detach:
        return _serve_detached(args, settings.port)
    return _serve_foreground(settings, args)


def _serve_flags(args: argparse.Namespace) -> list[str]:
    """The flags of ``serve`` that shape a server (a detached start and a restart pass them on)."""
    out: list[str] = []
    for flag in ("bind", "tls_cert", "tls_key", "shell", "scrollback", "layout", "base_path"):
        value = getattr(args, flag)
        if value is not None:
            out += ["--" + flag.replace("_", "-"), str(value)]
    for flag in ("trusted_proxy", "allowed_host"):
        for value in getattr(args, flag) or ():
            out += ["--" + flag.replace("_", "-"), value]
    if args.insecure:
        out.append("--insecure")
    return out


def _serve_foreground(settings: Any, args: argparse.Namespace) -> int:
    from dullahan.server import AlreadyRunning, Server
    paths = RuntimePaths.for_port(settings.port)
    log.configure(path=str(paths.logfile), spec=os.environ.get("DULLAHAN_DEBUG"),
                  also_stderr=sys.stderr.isatty(), max_bytes=settings.log_max_bytes, backups=settings.log_backups)
    from dullahan.net.weblog import install_log_bridge
    install_log_bridge()
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


# -- commands of the table: the parser and one runner for them all ----------------------------------------
def _add_command(add: Callable[..., argparse.ArgumentParser], entry: Command) -> None:
    """A subcommand whose arguments are the entry's fields (their Option says how they are written)."""
    options = entry.options()
    short_help = not any("-h" in o.flags or "-h" in o.consts for _n, _t, o in options)
    p = add(entry.name, entry.help, json_flag=entry.listing, short_help=short_help)
    for name, hint, option in options:
        base = _base_type(hint)
        if option.consts:
            group = p.add_mutually_exclusive_group()
            for flag, value in option.consts.items():
                group.add_argument(flag, dest=name, action="store_const", const=value, help=option.help or None)
                option = Option(help="")   # say it once
        elif not option.flags:
            p.add_argument(name, metavar=option.metavar or name.upper(), help=option.help or None,
                           nargs="*" if option.rest else ("?" if _optional(entry, name) else None),
                           type=_converter(base))
        elif base is bool:
            p.add_argument(*option.flags, dest=name, action="store_true", default=None, help=option.help or None)
        else:
            p.add_argument(*option.flags, dest=name, metavar=option.metavar, type=_converter(base),
                           help=option.help or None)


def _optional(entry: Command, name: str) -> bool:
    return any(f.name == name and f.required is False for f in msgspec.structs.fields(entry.args))


def _base_type(hint: Any) -> Any:
    """The plain type under Annotated/Optional layers (int, str, bool, list, tuple ...)."""
    while True:
        origin = typing.get_origin(hint)
        if origin is typing.Annotated:
            hint = typing.get_args(hint)[0]
        elif origin in (typing.Union, types.UnionType):
            hint = next(a for a in typing.get_args(hint) if a is not type(None))
        else:
            return origin or hint


def _converter(base: Any) -> Callable[[str], Any]:
    """How a word becomes the argument's value; range checks are the table's (one validator)."""
    if base is int:
        return _integer
    if base is tuple:
        return lambda word: [_integer(part) for part in word.split(",")]
    if base is typing.Any:
        return _json_value
    return str


def _integer(word: str) -> int:
    if not word.strip().lstrip("-+").isdigit():
        raise argparse.ArgumentTypeError(f"not a number: {word[:40]!r}")
    if len(word) > 20:
        raise argparse.ArgumentTypeError(f"number out of range: {word[:20]}...")
    return int(word)


def _json_value(word: str) -> Any:
    try:
        return json.loads(word)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not valid JSON: {e}") from None


def run_command(args: argparse.Namespace) -> int:
    """Any command of the table: check the arguments here (the same validator the server uses), send them,
    print the result as the entry renders it, or as JSON with --json."""
    entry = lookup(args.command)
    raw = {name: getattr(args, name) for name, _hint, _opt in entry.options() if getattr(args, name, None) is not None}
    entry.parse(raw)
    try:
        result = call(args.port, entry.name, raw)
    except NoServer:
        # A crashed server may have left its shells in the keeper: quitting ends them too.
        if entry.name == "quit" and _end_orphaned_keeper(args.port):
            return 0
        raise
    if entry.name == "quit":
        _wait_gone(args.port)
    if getattr(args, "json", False):
        print(json.dumps(result, indent=2, default=str))
    elif entry.text is not None and result is not None:
        out = entry.text(result)
        if out:
            sys.stdout.write(out if out.endswith("\n") else out + "\n")
    return 0


def _wait_gone(port: int) -> None:
    paths = RuntimePaths.for_port(port)
    deadline = time.monotonic() + 10
    while paths.pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


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
    """``restart`` runs in the server like any command; here we also wait until the new server answers and
    say how long it all took."""
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
    if getattr(args, "json", False):
        print(json.dumps({**result, "command_seconds": round(time.monotonic() - started, 3)}, indent=2))
        return 0
    print(f"restarted in {time.monotonic() - started:.2f} s: pid {before['pid']} → {result['pid']} "
          f"(dullahan {result['from']} → {result['to']}); {result['panes']} panes kept, "
          f"output paused {result['paused'] * 1000:.0f} ms")
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    from dullahan.testing.soak import run_soak_cli
    return run_soak_cli(args)


# Commands that run here rather than in a server.
LOCAL: dict[str, Callable[[argparse.Namespace], int]] = {
    "serve": cmd_serve,
    "restart": cmd_restart,
    "test": cmd_test,
}
