"""What every tool that drives the browser client in Chromium shares: the browser (Debian's package, never
a downloaded one), its flags, and the script that gives a page its settings before the client starts."""

from __future__ import annotations

import json
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SETTINGS_KEY = "dullahan.settings.v1"   # where web/js/settings.js keeps the settings


def settings_script(settings: dict[str, Any], *, keep_existing: bool = False) -> str:
    """An init script storing ``settings`` for the client (``keep_existing``: only if none are stored yet)."""
    stored = json.dumps(json.dumps(settings))
    store = f"localStorage.setItem('{SETTINGS_KEY}', {stored});"
    if keep_existing:
        store = f"if (!localStorage.getItem('{SETTINGS_KEY}')) {store}"
    return f"try {{ {store} }} catch (e) {{}}"
