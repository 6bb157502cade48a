"""TLS for the web side: Python's ssl with modern defaults, and the bind-address policy."""

from __future__ import annotations

import ipaddress
import ssl

from dullahan.config import ConfigError, Settings


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings) -> None:
    """Binding beyond loopback without TLS needs an explicit --insecure (SPEC §4)."""
    if not is_loopback(settings.bind) and settings.tls_cert is None and not settings.insecure:
        raise ConfigError(f"refusing to serve plain HTTP on {settings.bind}: anyone on the network could read "
                          "the tokens; give --tls-cert and --tls-key, or --insecure if you really mean it")


def server_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    ctx.set_alpn_protocols(["http/1.1"])
    try:
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as e:
        raise ConfigError(f"cannot load the TLS certificate/key ({cert}, {key}): {e}") from e
    return ctx
