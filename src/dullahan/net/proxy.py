"""What a request means once reverse proxies are accounted for, and which host names the server answers to.

- ``ProxyPolicy``: only peers in ``--trusted-proxy`` may say, through ``X-Forwarded-Proto``,
  ``X-Forwarded-Host`` and ``X-Forwarded-For``, which scheme and host the browser used and who the client
  is. From anyone else these headers are ignored. The expected ``Origin`` of a WebSocket is built from
  the result, so a TLS proxy on port 443 in front of the plain server works.
- ``HostPolicy``: the names a ``Host`` (or a trusted ``X-Forwarded-Host``) may carry: the bind address;
  for a loopback bind ``localhost``, ``127.0.0.1`` and ``::1``; for a wildcard bind the machine's names and
  addresses; plus ``--allowed-host``. Anything else is refused (DNS rebinding defence in depth).
- ``origin_matches``: an ``Origin`` names exactly the scheme, host and port the browser addressed.

Everything here is pure except ``machine_names`` and ``is_local_address``, which ask the system.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})
MAX_FORWARDED_HOPS = 32


def parse_ip(text: str) -> IPAddress | None:
    """An address from a peer name or a forwarded-for entry (``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:80``);
    IPv4-mapped IPv6 addresses become IPv4. None when it is not an address."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


_HOST = re.compile(r"(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,251}[A-Za-z0-9_.])?))"
                   r"(?::(?P<port>[0-9]{1,5}))?")


def host_name(host: str | None) -> str | None:
    """The name part of a ``Host`` header value (no port, no brackets, lower case, no trailing dot); None
    unless it is exactly a host name or address with an optional port."""
    if not host or len(host) > 300:
        return None
    m = _HOST.fullmatch(host.strip())
    if m is None:
        return None
    if m.group("v6") is not None:
        ip = parse_ip(m.group("v6"))
        return str(ip) if ip is not None and ip.version == 6 else None
    name = m.group("name").rstrip(".").lower()
    return name or None


def _split_values(values: Iterable[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


@dataclass(frozen=True)
class Forwarded:
    """A request as the browser made it."""

    scheme: str        # "http" or "https"
    host: str          # the Host the browser addressed, with its port if it gave one
    client: str        # the client's address
    proxied: bool      # it came through a trusted proxy


class ProxyPolicy:
    def __init__(self, trusted: Sequence[str]) -> None:
        self.networks: tuple[IPNetwork, ...] = tuple(ipaddress.ip_network(t, strict=False) for t in trusted)

    def trusts(self, address: str | IPAddress | None) -> bool:
        if not self.networks or address is None:
            return False
        ip = parse_ip(address) if isinstance(address, str) else address
        return ip is not None and any(ip.version == n.version and ip in n for n in self.networks)

    def resolve(self, peer: str, tls: bool, host: str, forwarded_proto: Sequence[str] = (),
                forwarded_host: Sequence[str] = (), forwarded_for: Sequence[str] = ()) -> Forwarded:
        own_scheme = "https" if tls else "http"
        if not self.trusts(peer):
            return Forwarded(own_scheme, host, peer, False)
        # Proxies overwrite or append: the last value is the one our trusted peer set.
        protos = [p.lower() for p in _split_values(forwarded_proto)]
        scheme = protos[-1] if protos and protos[-1] in ("http", "https") else own_scheme
        hosts = _split_values(forwarded_host)
        effective_host = hosts[-1] if hosts and host_name(hosts[-1]) else host
        # X-Forwarded-For: walk from the nearest hop outwards while the hop we stand on is trusted.
        client = peer
        for entry in reversed(_split_values(forwarded_for)[-MAX_FORWARDED_HOPS:]):
            if not self.trusts(client):
                break
            ip = parse_ip(entry)
            if ip is None:
                break
            client = str(ip)
        return Forwarded(scheme, effective_host, client, True)


def _is_loopback_bind(bind: str) -> bool:
    if bind.lower() == "localhost":
        return True
    ip = parse_ip(bind)
    return ip is not None and ip.is_loopback


class HostPolicy:
    def __init__(self, bind: str, allowed: Iterable[str] = (), machine: Iterable[str] = (),
                 is_local_address: Callable[[str], bool] = lambda _address: False) -> None:
        self.wildcard = bind in WILDCARD_BINDS
        names = {n for n in (host_name(a) for a in allowed) if n}
        own = host_name(bind if ":" not in bind else f"[{bind}]")
        if own:
            names.add(own)
        if self.wildcard or _is_loopback_bind(bind):
            names |= LOOPBACK_NAMES
        if self.wildcard:
            names |= {n for n in (host_name(m) for m in machine) if n}
        self.names = frozenset(names)
        self.is_local_address = is_local_address

    def allows(self, host: str | None) -> bool:
        name = host_name(host)
        if name is None:
            return False
        if name in self.names:
            return True
        if self.wildcard and parse_ip(name) is not None:
            return self.is_local_address(name)
        return False


def origin_matches(origin: str | None, scheme: str, host: str | None) -> bool:
    """Whether ``origin`` is exactly ``scheme://host`` (default ports made explicit, case-insensitive)."""
    if not origin or not host or origin == "null":
        return False
    try:
        parts = urlsplit(origin)
        origin_port = parts.port
        host_parts = urlsplit("//" + host)
        host_port = host_parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        return False
    if parts.query or parts.fragment or parts.username or not host_parts.hostname:
        return False
    if parts.scheme != scheme:
        return False
    default = 443 if scheme == "https" else 80
    return (parts.hostname.rstrip(".").lower(), origin_port or default) == \
        (host_parts.hostname.rstrip(".").lower(), host_port or default)


# -- asking the system ---------------------------------------------------------------------------------
def machine_names() -> set[str]:
    names = {"localhost"}
    for get in (socket.gethostname, socket.getfqdn):
        try:
            names.add(get())
        except OSError:
            pass
    return {n for n in names if n}


@lru_cache(maxsize=256)
def is_local_address(address: str) -> bool:
    """Whether ``address`` belongs to this machine: only a local address can be bound."""
    ip = parse_ip(address)
    if ip is None or ip.is_unspecified or ip.is_multicast:
        return False
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.bind((str(ip), 0))
    except OSError:
        return False
    return True
