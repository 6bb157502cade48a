"""Where Dullahan keeps its files, and the settings one server runs with.

Runtime files (pid, IPC socket, log) live in a 0700 directory: ``$XDG_RUNTIME_DIR/dullahan`` or
``/tmp/dullahan-<uid>``. Configuration (tokens, ``config.json``, ``layouts.json``) lives in
``$XDG_CONFIG_HOME/dullahan`` (default ``~/.config/dullahan``). Every file is per port, so several
servers can run side by side.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

DEFAULT_PORT = 7681
MAX_CONFIG_BYTES = 256 * 1024


class ConfigError(Exception):
    """A configuration file or value is unusable. The message says which and why."""


def _private_dir(path: Path) -> Path:
    """Create ``path`` as a 0700 directory owned by us, or fail if someone else owns it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.lstat()
    if not stat.S_ISDIR(st.st_mode):
        raise ConfigError(f"{path} exists and is not a directory")
    if st.st_uid != os.getuid():
        raise ConfigError(f"{path} belongs to uid {st.st_uid}, not to us; refusing to use it")
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(path, 0o700)
    return path


def runtime_dir() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and os.path.isabs(base):
        return _private_dir(Path(base) / "dullahan")
    return _private_dir(Path(f"/tmp/dullahan-{os.getuid()}"))


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".config"
    return _private_dir(root / "dullahan")


@dataclass(frozen=True)
class RuntimePaths:
    """The files of the server on one port."""

    port: int
    directory: Path

    @classmethod
    def for_port(cls, port: int) -> RuntimePaths:
        return cls(port, runtime_dir())

    @property
    def socket(self) -> Path:
        return self.directory / f"server-{self.port}.sock"

    @property
    def pidfile(self) -> Path:
        return self.directory / f"server-{self.port}.pid"

    @property
    def logfile(self) -> Path:
        return self.directory / f"server-{self.port}.log"


def validate_port(port: int) -> int:
    if not 1 <= port <= 65535:
        raise ConfigError(f"port {port} is out of range 1..65535")
    return port


@dataclass
class Settings:
    """Everything a server is started with. Defaults < config.json < command-line flags."""

    port: int = DEFAULT_PORT
    bind: str = "127.0.0.1"
    tls_cert: str | None = None
    tls_key: str | None = None
    insecure: bool = False
    shell: list[str] = field(default_factory=list)
    scrollback_lines: int = 10_000
    initial_layout: str = "single"
    # Network limits and timers (SPEC §4, §7).
    ping_interval: float = 20.0
    ping_timeout: float = 20.0
    hello_timeout: float = 10.0
    max_message_bytes: int = 1 << 20
    max_paste_bytes: int = 16 << 20
    max_header_bytes: int = 16 << 10
    max_messages_per_second: int = 400
    max_connections: int = 64
    frames_in_flight: int = 3
    frame_interval: float = 1 / 60

    def shell_argv(self) -> list[str]:
        if self.shell:
            return list(self.shell)
        env_shell = os.environ.get("DULLAHAN_SHELL") or os.environ.get("SHELL") or "/bin/sh"
        argv = shlex.split(env_shell) if os.environ.get("DULLAHAN_SHELL") else [env_shell]
        return argv or ["/bin/sh"]

    def apply(self, values: dict[str, Any], origin: str) -> None:
        """Set fields from a mapping (a config file or flags), checking names and types."""
        known = {f.name: f for f in fields(self)}
        for key, value in values.items():
            if value is None:
                continue
            if key not in known:
                raise ConfigError(f"{origin}: unknown setting {key!r}")
            current = getattr(self, key)
            if key == "shell":
                if isinstance(value, str):
                    value = shlex.split(value)
                if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
                    raise ConfigError(f"{origin}: 'shell' must be a command line or a list of strings")
            elif isinstance(current, bool) or key == "insecure":
                if not isinstance(value, bool):
                    raise ConfigError(f"{origin}: {key!r} must be true or false")
            elif isinstance(current, int) and not isinstance(current, bool):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ConfigError(f"{origin}: {key!r} must be an integer")
            elif isinstance(current, float):
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ConfigError(f"{origin}: {key!r} must be a number")
                value = float(value)
            elif key in ("tls_cert", "tls_key", "bind", "initial_layout") and not isinstance(value, str):
                raise ConfigError(f"{origin}: {key!r} must be a string")
            setattr(self, key, value)
        try:
            self.check()
        except ConfigError as e:
            raise ConfigError(f"{origin}: {e}") from None

    def check(self) -> None:
        validate_port(self.port)
        if not 100 <= self.scrollback_lines <= 1_000_000:
            raise ConfigError("scrollback_lines must be within 100..1000000")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("--tls-cert and --tls-key go together")
        for name, lo, hi in (("ping_interval", 1, 3600), ("ping_timeout", 1, 3600), ("hello_timeout", 1, 600)):
            if not lo <= getattr(self, name) <= hi:
                raise ConfigError(f"{name} must be within {lo}..{hi} seconds")
        if not 4096 <= self.max_message_bytes <= 64 << 20:
            raise ConfigError("max_message_bytes must be within 4 KiB..64 MiB")
        if not self.max_message_bytes <= self.max_paste_bytes <= 256 << 20:
            raise ConfigError("max_paste_bytes must be within max_message_bytes..256 MiB")
        if not 1 <= self.frames_in_flight <= 64:
            raise ConfigError("frames_in_flight must be within 1..64")


def load_json_file(path: Path, what: str) -> Any | None:
    """Read a small JSON file; None when it does not exist; ConfigError when it is unusable."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ConfigError(f"{what} {path}: cannot read: {e.strerror}") from e
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{what} {path}: larger than {MAX_CONFIG_BYTES} bytes")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"{what} {path}: not valid JSON: {e}") from e


def load_settings(overrides: dict[str, Any]) -> Settings:
    """Defaults, then ``config.json`` from the config directory, then ``overrides`` (flags)."""
    settings = Settings()
    path = config_dir() / "config.json"
    data = load_json_file(path, "config file")
    if data is not None:
        if not isinstance(data, dict):
            raise ConfigError(f"config file {path}: the top level must be an object")
        settings.apply(data, f"config file {path}")
    settings.apply(overrides, "command line")
    return settings
