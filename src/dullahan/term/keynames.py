"""tmux key names (``send-keys C-c Enter``) as the browser-style key events Ghostty's encoder takes (pure).

A name is optional modifiers then a key, as in tmux: ``C-`` (Ctrl), ``M-`` (Meta, i.e. Alt), ``S-`` (Shift),
in any order and case (``C-M-x``, ``m-Left``), or ``^x`` for Ctrl. The key is a named key, case-insensitive:
``Enter``, ``Escape``, ``Tab``, ``BTab`` (Shift+Tab), ``BSpace``, ``Space``, ``Up``/``Down``/``Left``/``Right``,
``Home``, ``End``, ``PageUp``/``PgUp``/``PPage``, ``PageDown``/``PgDn``/``NPage``, ``IC``/``Insert``,
``DC``/``Delete``, ``F1``..``F12``, the keypad's ``KP0``..``KP9``, ``KP/``, ``KP*``, ``KP-``, ``KP+``, ``KP.``,
``KPEnter``; or one character (``a``, ``A``, ``!``, ``é``).

Each becomes a ``KeyEvent`` with the ``code`` and ``key`` a browser would report on a US layout (keypad
keys with NumLock on), so the encoder applies the program's modes to it exactly as to a real keystroke
(``Up`` is ``ESC [ A``, or ``ESC O A`` after DECCKM; the kitty protocol gets its own encoding).

As in tmux, ``C-A`` is ``C-a`` (a control character has no case) while ``M-A`` stays Alt+Shift+a, and
``S-`` on a letter types the capital.

``parse_key`` refuses what it does not know. ``send_keys`` turns a ``send-keys`` argument list into events
and text: like tmux, a word that is not a key name is typed as text (``send-keys 'make test' Enter``), unless
``strict`` asks for an error naming it; ``literal`` (tmux's ``-l``) types every word as text.
"""

from __future__ import annotations

from collections.abc import Sequence

from dullahan.shapes import KeyEvent

MAX_NAME_CHARS = 64
MODIFIER_LETTERS = {"c": "ctrl", "m": "alt", "s": "shift"}

# tmux name (lower-cased) -> (KeyboardEvent.code, KeyboardEvent.key, Shift implied)
NAMED_KEYS: dict[str, tuple[str, str, bool]] = {
    "enter": ("Enter", "Enter", False),
    "escape": ("Escape", "Escape", False),
    "tab": ("Tab", "Tab", False),
    "btab": ("Tab", "Tab", True),
    "bspace": ("Backspace", "Backspace", False),
    "space": ("Space", " ", False),
    "up": ("ArrowUp", "ArrowUp", False),
    "down": ("ArrowDown", "ArrowDown", False),
    "left": ("ArrowLeft", "ArrowLeft", False),
    "right": ("ArrowRight", "ArrowRight", False),
    "home": ("Home", "Home", False),
    "end": ("End", "End", False),
    "pageup": ("PageUp", "PageUp", False),
    "pgup": ("PageUp", "PageUp", False),
    "ppage": ("PageUp", "PageUp", False),
    "pagedown": ("PageDown", "PageDown", False),
    "pgdn": ("PageDown", "PageDown", False),
    "npage": ("PageDown", "PageDown", False),
    "ic": ("Insert", "Insert", False),
    "insert": ("Insert", "Insert", False),
    "dc": ("Delete", "Delete", False),
    "delete": ("Delete", "Delete", False),
    **{f"f{n}": (f"F{n}", f"F{n}", False) for n in range(1, 13)},
    **{f"kp{d}": (f"Numpad{d}", str(d), False) for d in range(10)},
    "kp/": ("NumpadDivide", "/", False),
    "kp*": ("NumpadMultiply", "*", False),
    "kp-": ("NumpadSubtract", "-", False),
    "kp+": ("NumpadAdd", "+", False),
    "kp.": ("NumpadDecimal", ".", False),
    "kpenter": ("NumpadEnter", "Enter", False),
}

# A US layout: character -> (KeyboardEvent.code, Shift needed). Letters and digits are added below.
_US_KEYS: dict[str, tuple[str, bool]] = {
    " ": ("Space", False),
    "`": ("Backquote", False), "~": ("Backquote", True),
    "-": ("Minus", False), "_": ("Minus", True),
    "=": ("Equal", False), "+": ("Equal", True),
    "[": ("BracketLeft", False), "{": ("BracketLeft", True),
    "]": ("BracketRight", False), "}": ("BracketRight", True),
    "\\": ("Backslash", False), "|": ("Backslash", True),
    ";": ("Semicolon", False), ":": ("Semicolon", True),
    "'": ("Quote", False), '"': ("Quote", True),
    ",": ("Comma", False), "<": ("Comma", True),
    ".": ("Period", False), ">": ("Period", True),
    "/": ("Slash", False), "?": ("Slash", True),
}
_US_KEYS.update({str(d): (f"Digit{d}", False) for d in range(10)})
_US_KEYS.update({s: (f"Digit{d}", True) for d, s in zip("1234567890", "!@#$%^&*()", strict=True)})
_US_KEYS.update({c: (f"Key{c.upper()}", False) for c in "abcdefghijklmnopqrstuvwxyz"})
_US_KEYS.update({c: (f"Key{c}", True) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"})


class KeyNameError(ValueError):
    """A name that is not a tmux key name; the message names it."""


def parse_key(name: str) -> KeyEvent:
    """The key event for one tmux key name, or KeyNameError."""
    if not isinstance(name, str) or not name:
        raise KeyNameError("a key name cannot be empty")
    if len(name) > MAX_NAME_CHARS:
        raise KeyNameError(f"unknown key name {name[:MAX_NAME_CHARS]!r}...")
    mods = {"ctrl": False, "alt": False, "shift": False}
    rest = name
    if rest.startswith("^") and len(rest) > 1:
        mods["ctrl"] = True
        rest = rest[1:]
    while len(rest) > 2 and rest[1] == "-" and rest[0].lower() in MODIFIER_LETTERS:
        mods[MODIFIER_LETTERS[rest[0].lower()]] = True
        rest = rest[2:]
    if len(rest) == 1:
        return _character(rest, name, **mods)
    named = NAMED_KEYS.get(rest.lower())
    if named is None:
        raise KeyNameError(f"unknown key name {name!r} (try Enter, Escape, Tab, C-c, M-x, F5, Up, ...)")
    code, key, implied_shift = named
    return KeyEvent(code, key, shift=mods["shift"] or implied_shift, ctrl=mods["ctrl"], alt=mods["alt"])


def _character(ch: str, name: str, *, ctrl: bool, alt: bool, shift: bool) -> KeyEvent:
    if ord(ch) < 0x20 or ord(ch) == 0x7F:
        raise KeyNameError(f"unknown key name {name!r}: control characters are named (Enter, Tab, C-c ...)")
    if ch.isascii() and ch.isalpha():
        if shift:
            ch = ch.upper()
        elif ctrl:
            ch = ch.lower()
    code, needs_shift = _US_KEYS.get(ch, ("", False))
    return KeyEvent(code, ch, shift=shift or needs_shift, ctrl=ctrl, alt=alt)


def send_keys(words: Sequence[str], *, literal: bool = False, strict: bool = False) -> list[KeyEvent | str]:
    """``send-keys`` arguments as key events and text, in order.

    Each word that is a key name becomes its event. Any other word is text to type as it is (tmux's rule),
    or with ``strict`` a KeyNameError naming it. With ``literal`` every word is text.
    """
    out: list[KeyEvent | str] = []
    for word in words:
        if not isinstance(word, str):
            raise KeyNameError(f"a key is text, not {type(word).__name__}")
        if literal:
            if word:
                out.append(word)
            continue
        try:
            out.append(parse_key(word))
        except KeyNameError:
            if strict or not word:
                raise
            out.append(word)
    return out
