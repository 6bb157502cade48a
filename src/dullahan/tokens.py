"""The two secrets of a server: a master token (drive) and a view token (watch).

Each is 192 random bits, kept in ``<config dir>/tokens-<port>`` (mode 0600) and compared in
constant time. They are never written to the log.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dullahan.config import ConfigError, config_dir

Role = Literal["master", "view"]
TOKEN_BYTES = 24
MAX_TOKEN_LEN = 128


@dataclass(frozen=True)
class Tokens:
    master: str
    view: str

    @classmethod
    def generate(cls) -> Tokens:
        return cls(secrets.token_urlsafe(TOKEN_BYTES), secrets.token_urlsafe(TOKEN_BYTES))

    def role_of(self, presented: str) -> Role | None:
        """The role a presented token grants, compared in constant time against both secrets."""
        if not presented or len(presented) > MAX_TOKEN_LEN:
            return None
        given = presented.encode("utf-8", "replace")
        is_master = hmac.compare_digest(given, self.master.encode())
        is_view = hmac.compare_digest(given, self.view.encode())
        return "master" if is_master else "view" if is_view else None


def tokens_path(port: int) -> Path:
    return config_dir() / f"tokens-{port}"


def _write(path: Path, tokens: Tokens) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"master": tokens.master, "view": tokens.view}, f)
        f.write("\n")
    os.replace(tmp, path)


def _read(path: Path) -> Tokens:
    st = path.stat()
    if stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(path, 0o600)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        master, view = data["master"], data["view"]
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"tokens file {path} is damaged ({e}); delete it or run 'dullahan token --rotate'") from e
    if not (isinstance(master, str) and isinstance(view, str) and 16 <= len(master) <= MAX_TOKEN_LEN
            and 16 <= len(view) <= MAX_TOKEN_LEN and master != view):
        raise ConfigError(f"tokens file {path} holds unusable tokens; run 'dullahan token --rotate'")
    return Tokens(master, view)


def load_or_create(port: int) -> Tokens:
    path = tokens_path(port)
    if path.exists():
        return _read(path)
    tokens = Tokens.generate()
    _write(path, tokens)
    return tokens


def rotate(port: int) -> Tokens:
    tokens = Tokens.generate()
    _write(tokens_path(port), tokens)
    return tokens
