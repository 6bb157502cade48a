"""Where Dullahan keeps its files, and the settings one server runs with.

Runtime files (pid, IPC socket, log, the keeper's socket) live in a 0700 directory: ``$XDG_RUNTIME_DIR/dullahan``
or ``/tmp/dullahan-<uid>``. Configuration (tokens, ``config.json``, ``layouts.json``) lives in
``$XDG_CONFIG_HOME/dullahan`` (default ``~/.config/dullahan``); the saved session state in
``$XDG_STATE_HOME/dullahan`` (default ``~/.local/state/dullahan``). Every file is per port, so several
servers can run side by side.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import msgspec

from dullahan.validation import explain

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


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "state"
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


Seconds = float
_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|[0-9A-Fa-f:.]+")
_BASE_PATH = re.compile(r"/(?:[A-Za-z0-9._~-]+/)*")


def _within(lo: float, hi: float) -> msgspec.Meta:
    return msgspec.Meta(ge=lo, le=hi)


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything a server is started with. Defaults < config.json < command-line flags.

    Every field is typed and range-checked by msgspec when settings are loaded (``Settings.load``), so a
    value that would break the server later (a zero frame interval, a negative limit) stops ``serve`` with
    a message naming the file and the key.
    """

    port: Annotated[int, _within(1, 65535)] = DEFAULT_PORT
    bind: Annotated[str, msgspec.Meta(min_length=1, max_length=255)] = "127.0.0.1"
    tls_cert: str | None = None
    tls_key: str | None = None
    insecure: bool = False
    shell: list[str] = []
    scrollback_lines: Annotated[int, _within(100, 1_000_000)] = 10_000
    # A terminal without output for this long sleeps as a compressed snapshot (0: never); any use wakes it.
    hibernate_after: Annotated[Seconds, _within(0, 86_400)] = 30.0
    initial_layout: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "single"
    # Network limits and timers (SPEC §4, §7).
    ping_interval: Annotated[Seconds, _within(1, 3600)] = 20.0
    ping_timeout: Annotated[Seconds, _within(1, 3600)] = 20.0
    hello_timeout: Annotated[Seconds, _within(1, 600)] = 10.0
    max_message_bytes: Annotated[int, _within(4096, 64 << 20)] = 1 << 20
    max_paste_bytes: Annotated[int, _within(4096, 256 << 20)] = 16 << 20
    max_header_bytes: Annotated[int, _within(1024, 1 << 20)] = 16 << 10
    max_messages_per_second: Annotated[int, _within(10, 100_000)] = 400
    max_connections: Annotated[int, _within(1, 10_000)] = 64
    frames_in_flight: Annotated[int, _within(1, 64)] = 3
    frame_interval: Annotated[Seconds, _within(0.001, 1.0)] = 1 / 60
    master_grace: Annotated[Seconds, _within(0, 3600)] = 60.0   # a vanished master's role is kept this long
    # Kitty graphics. Off: programs are told nothing (queries go unanswered) and images are dropped.
    images: bool = True
    # Decoded bytes of images a pane keeps (half on each of its two screens), and all panes together:
    # every pane gets the same share of the total, at most the per-pane limit.
    image_storage_per_pane: Annotated[int, _within(1 << 20, 4 << 30)] = 64 << 20
    image_storage_total: Annotated[int, _within(1 << 20, 64 << 30)] = 256 << 20
    # Let programs send images by file name, temporary file or shared memory (read as the server's user).
    image_file_media: bool = False
    # Master-token clients always find room: viewers may fill only max_connections minus these slots.
    reserved_master_connections: Annotated[int, _within(0, 1000)] = 4
    # Connections that have not authenticated yet (no valid cookie, token or bearer): how many in all and per
    # client address, and how long one may sit idle (headers included) before it is closed.
    max_unauthenticated: Annotated[int, _within(1, 100_000)] = 128
    max_unauthenticated_per_address: Annotated[int, _within(1, 100_000)] = 32
    unauthenticated_timeout: Annotated[Seconds, _within(1, 600)] = 10.0
    # The log file rotates at this size, keeping this many old files.
    log_max_bytes: Annotated[int, _within(64 << 10, 1 << 30)] = 5 << 20
    log_backups: Annotated[int, _within(1, 100)] = 3
    # Reverse proxies: peers allowed to set X-Forwarded-Proto/Host/For (addresses or networks), the path
    # prefix the server is served under, and host names it answers to besides its own.
    trusted_proxies: list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]] = []
    base_path: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] = "/"
    allowed_hosts: list[Annotated[str, msgspec.Meta(min_length=1, max_length=253)]] = []
    # Saved session state (README, "What survives what"): how often it is written while something changes,
    # how much scrollback of each pane it keeps, and how large it may grow in all (compressed bytes).
    state_save_interval: Annotated[Seconds, _within(0.5, 3600)] = 3.0
    state_scrollback_lines: Annotated[int, _within(0, 1_000_000)] = 10_000
    state_max_bytes: Annotated[int, _within(1 << 20, 16 << 30)] = 256 << 20

    def __post_init__(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("--tls-cert and --tls-key go together")
        if self.max_paste_bytes < self.max_message_bytes:
            raise ValueError("max_paste_bytes must be at least max_message_bytes")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"trusted proxy {proxy!r} is not an IP address or network") from None
        for host in self.allowed_hosts:
            if not _HOST_NAME.fullmatch(host.strip("[]")):
                raise ValueError(f"allowed host {host!r} is not a host name or address")
        if not _BASE_PATH.fullmatch(self.base_path):
            raise ValueError(f"base path {self.base_path!r} must look like /prefix/ (letters, digits, . _ ~ -)")

    @classmethod
    def load(cls, values: dict[str, Any], origin: str, base: Settings | None = None) -> Settings:
        """``base`` (default: the defaults) with ``values`` applied; ConfigError naming ``origin`` and the
        key when a value is unusable. ``None`` values are skipped (flags that were not given)."""
        merged = msgspec.structs.asdict(base) if base is not None else {}
        for key, value in values.items():
            if value is None:
                continue
            if key == "shell":
                value = _shell_argv(value, origin)
            elif key == "base_path" and isinstance(value, str):
                value = "/" + value.strip("/") + "/" if value.strip("/") else "/"
            merged[key] = value
        try:
            return msgspec.convert(merged, cls)
        except msgspec.ValidationError as e:
            raise ConfigError(f"{origin}: {explain(str(e), cls, 'setting')}") from None

    def replace(self, **values: Any) -> Settings:
        """A copy with some fields changed, validated like a loaded file."""
        return Settings.load(values, "settings", self)

    def shell_argv(self) -> list[str]:
        if self.shell:
            return list(self.shell)
        env_shell = os.environ.get("DULLAHAN_SHELL") or os.environ.get("SHELL") or "/bin/sh"
        argv = shlex.split(env_shell) if os.environ.get("DULLAHAN_SHELL") else [env_shell]
        return argv or ["/bin/sh"]


def _shell_argv(value: object, origin: str) -> list[str]:
    if isinstance(value, str):
        try:
            value = shlex.split(value)
        except ValueError as e:
            raise ConfigError(f"{origin}: 'shell' is not a valid command line: {e}") from None
    if not (isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)):
        raise ConfigError(f"{origin}: 'shell' must be a command line or a list of strings")
    return value


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
    path = config_dir() / "config.json"
    data = load_json_file(path, "config file")
    settings = Settings()
    if data is not None:
        if not isinstance(data, dict):
            raise ConfigError(f"config file {path}: the top level must be an object")
        settings = Settings.load(data, f"config file {path}")
    return Settings.load(overrides, "command line", settings)
