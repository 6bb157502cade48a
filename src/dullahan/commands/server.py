"""Commands about the server itself: status, clients, URLs and tokens, debug categories, quit."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from dullahan import __version__, looplag, tokens
from dullahan.commands.continuity import status_lines
from dullahan.commands.table import FAILED, Args, CommandError, Host, NoArgs, command, opt
from dullahan.log import SpecError, log


def _duration(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def _status_text(s: dict[str, Any]) -> str:
    lines = [
        f"dullahan {s['version']} pid {s['pid']} port {s['port']} bind {s['bind']}"
        f" {'tls' if s['tls'] else 'plain'} up {_duration(s['uptime'])}",
        f"windows {s['windows']}  panes {s['panes']} ({s['panes_asleep']} asleep)  clients {s['clients']}",
        f"log {s['log']}",
        f"debug {','.join(s['debug']) or 'off'}  errors logged {s['errors_logged']}",
    ]
    if s.get("templates_error"):
        lines.append(f"layout templates: {s['templates_error']}")
    lines += status_lines(s)
    d = s.get("disconnects") or {}
    lines.append("disconnects " + (", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "none"))
    return "\n".join(lines)


@command("status", "show the server's state", text=_status_text, listing=True)
def status(host: Host, args: NoArgs) -> dict[str, Any]:
    session = host.session
    return {
        "version": __version__,
        "pid": host.pid,
        "port": host.settings.port,
        "bind": host.settings.bind,
        "tls": host.settings.tls_cert is not None,
        "uptime": round(host.uptime(), 3),
        "windows": len(session.windows),
        "panes": len(session.panes),
        "panes_asleep": sum(pane.vt.hibernated for pane in session.panes.values()),
        "clients": host.client_count(),
        "log": str(host.paths.logfile),
        "socket": str(host.paths.socket),
        "debug": sorted(log.enabled),
        "errors_logged": log.errors,
        "templates": str(session.templates_path),
        "templates_error": session.current_templates().error,
        "disconnects": host.disconnect_counts(),
        "urls": host.urls(),
        **({"loop_lag": lag} if (lag := looplag.stats()) is not None else {}),
        **host.continuity_status(),
    }


def _clients_text(cs: list[dict[str, Any]]) -> str:
    if not cs:
        return "no clients"
    return "\n".join(
        f"{c['id']}  {c['role']:<6} {c['address']:<22} {'tls ' + c.get('tls_version', '') if c['tls'] else 'plain'}"
        f"  rtt {c['rtt_ms'] if c['rtt_ms'] is not None else '-'} ms  {c['frames_per_s']:.1f} fps"
        f"  out {c['bytes_out']} B  in {c['bytes_in']} B  in-flight {c['in_flight']}"
        f"{'  congested' if c['congested'] else ''}" for c in cs)


@command("clients", "list connected browsers and clients", text=_clients_text, listing=True)
def clients(host: Host, args: NoArgs) -> list[dict[str, Any]]:
    return host.client_list()


def urls_text(u: dict[str, str]) -> str:
    return f"master: {u['master']}\nview:   {u['view']}"


@command("url", "print the ready-to-open URLs", text=urls_text)
def url(host: Host, args: NoArgs) -> dict[str, str]:
    return host.urls()


class TokenArgs(Args, kw_only=True, frozen=True):
    rotate: Annotated[bool, opt("--rotate", help="replace both tokens (signs out every browser)")] = False


@command("token", "print the URLs with the current tokens", text=urls_text)
def token(host: Host, args: TokenArgs) -> dict[str, str]:
    if args.rotate:
        host.set_tokens(tokens.rotate(host.settings.port))
        log.info("auth", "tokens rotated; existing browser sessions are signed out")
    return host.urls()


class DebugLogArgs(Args, kw_only=True, frozen=True):
    spec: Annotated[Annotated[str, msgspec.Meta(max_length=512)], opt(metavar="SPEC")]


@command("debug-log", "switch debug log categories, e.g. +pty or +all,-sync",
         text=lambda r: "debug categories: " + (",".join(r["enabled"]) or "none"))
def debug_log(host: Host, args: DebugLogArgs) -> dict[str, Any]:
    try:
        enabled = log.set_spec(args.spec)
    except SpecError as e:
        raise CommandError(FAILED, str(e)) from e
    log.info("server", "debug categories changed", enabled=",".join(sorted(enabled)) or "none")
    return {"enabled": sorted(enabled)}


@command("quit", "stop the server (children are hung up and reaped)")
def quit_(host: Host, args: NoArgs) -> dict[str, Any]:
    host.request_stop("quit command")
    return {"stopping": True}
