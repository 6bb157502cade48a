"""Browser input -> the bytes a program expects, encoded by Ghostty against the terminal's current modes.

Every byte sequence comes from libghostty-vt's encoders (key, mouse, paste, focus), with one exception: the
C0 control of a Ctrl+character in the legacy keyboard (below). Before each key or mouse event the encoder is
re-synchronised with the terminal (``setopt_from_terminal``), so DECCKM, keypad mode, the kitty keyboard
flags, modifyOtherKeys, the mouse tracking mode and format, bracketed paste (2004) and focus reporting (1004)
are always the program's current ones.

The caller holds the terminal's lock. Nothing here is thread-safe.

How a browser ``KeyboardEvent`` becomes a Ghostty key event:

- ``code`` (the physical key, ``"KeyA"``, ``"ArrowUp"``) names the Ghostty key; the table is derived from
  Ghostty's own enum names (``GHOSTTY_KEY_ARROW_UP`` <-> ``"ArrowUp"``), plus a few legacy browser aliases.
  Unknown or empty codes become ``GHOSTTY_KEY_UNIDENTIFIED``; the text still gets through.
- ``key`` is the key's text only when it is one printable codepoint, optionally followed by one combining
  mark (a decomposed ``"é"``, an emoji with its variation selector). Named keys (``"Enter"``, ``"F1"``),
  controls and private-use codepoints are never text; ``"Dead"`` and ``"Process"`` mark a composition in
  progress, for which Ghostty sends nothing but modifier reports.
- The unshifted codepoint is the text lower-cased when that changes it (letters, in any script);
  otherwise, with Shift held, the US-layout base character of ``code`` (``"Digit1"`` -> ``"1"``), as a
  browser does not tell which character a key gives without Shift; otherwise the text itself.
- Shift counts as consumed when it changed the character (``"A"``, ``"!"``), so it is not reported again as
  a modifier; Shift+Space keeps its Shift, as in kitty.
- Ctrl+Alt together with a non-ASCII-letter character that the key does not give on a US layout
  (``@`` on a German ``KeyQ``) is AltGr, as Windows browsers report it: Ctrl and Alt are dropped so that
  the character is typed instead of a control sequence.

The legacy keyboard (neither the kitty protocol nor modifyOtherKeys level 2 on) is xterm's with
modifyOtherKeys off, its default. Ghostty's legacy encoder (``legacy`` in src/input/key_encode.zig, with the
table in src/input/function_keys.zig) adds xterm's modifyOtherKeys forms and the fixterms ``CSI u`` forms on
top, even when the program asked for neither: Shift+Enter is ``CSI 27;2;13~``, Ctrl+Shift+F ``CSI 102;6u``,
Ctrl+; ``CSI 59;5u``, and bash prints their tails (``;2;13~``, ``2;6u``). It has no option to leave them out,
so ``_xterm_legacy`` gives it only the modifiers xterm reports. Measured on XTerm(379) (modifyOtherKeys 0,
metaSendsEscape): Shift, Ctrl and Super leave Enter and Escape unchanged; Ctrl and Super leave Tab unchanged and
Shift+Tab is ``CSI Z`` with or without Alt; Super never changes a character; Ctrl+character is the C0 control
that Xlib maps it to (``xterm_control``: Ctrl+Shift+F is ^F like Ctrl+F, Ctrl+I a Tab, Ctrl+[ an ESC) or else
the character itself (Ctrl+; is ``;``); Alt puts an ESC in front. xterm's modifyOtherKeys level 1
(``CSI > 4 ; 1 m``) is treated as off: Ghostty records only level 2.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from dullahan.shapes import KeyEvent, MouseEvent, WheelEvent
from dullahan.term.ghostty import check, ffi, get, init_sized, lib
from dullahan.term.vt import VTerm

__all__ = ["InputEncoder", "KeyEvent", "MouseEvent", "WheelEvent"]

# GhosttyMods bits (include/ghostty/vt/key/event.h; #defines, so not in pyghostty's cdef).
MOD_SHIFT = 1 << 0
MOD_CTRL = 1 << 1
MOD_ALT = 1 << 2
MOD_SUPER = 1 << 3
MOD_SHIFT_SIDE = 1 << 6   # set: the right-hand key
MOD_CTRL_SIDE = 1 << 7
MOD_ALT_SIDE = 1 << 8
MOD_SUPER_SIDE = 1 << 9

MAX_WHEEL_STEPS = 10
DEFAULT_CELL_PX = (10, 20)   # only if the terminal has no cell size of its own
_KEY_BUF = 128
_SMALL_BUF = 64

_KEY_ACTIONS = {
    "press": lib.GHOSTTY_KEY_ACTION_PRESS,
    "repeat": lib.GHOSTTY_KEY_ACTION_REPEAT,
    "release": lib.GHOSTTY_KEY_ACTION_RELEASE,
}
_MOUSE_ACTIONS = {
    "press": lib.GHOSTTY_MOUSE_ACTION_PRESS,
    "release": lib.GHOSTTY_MOUSE_ACTION_RELEASE,
    "motion": lib.GHOSTTY_MOUSE_ACTION_MOTION,
}
# Browser MouseEvent.button -> Ghostty (X11 numbering: back/forward are buttons 8/9).
_MOUSE_BUTTONS = {
    0: lib.GHOSTTY_MOUSE_BUTTON_LEFT,
    1: lib.GHOSTTY_MOUSE_BUTTON_MIDDLE,
    2: lib.GHOSTTY_MOUSE_BUTTON_RIGHT,
    3: lib.GHOSTTY_MOUSE_BUTTON_EIGHT,
    4: lib.GHOSTTY_MOUSE_BUTTON_NINE,
}
_RIGHT_MODIFIER_SIDES = {
    "ShiftRight": MOD_SHIFT_SIDE, "ControlRight": MOD_CTRL_SIDE,
    "AltRight": MOD_ALT_SIDE, "MetaRight": MOD_SUPER_SIDE,
}
# Old browser spellings of KeyboardEvent.code.
_CODE_ALIASES = {
    "OSLeft": "MetaLeft", "OSRight": "MetaRight",
    "VolumeUp": "AudioVolumeUp", "VolumeDown": "AudioVolumeDown", "VolumeMute": "AudioVolumeMute",
}
# With NumLock off a numpad digit key reports its navigation meaning in ``key``.
_NUMPAD_NAV = {
    "ArrowUp": "NUMPAD_UP", "ArrowDown": "NUMPAD_DOWN", "ArrowLeft": "NUMPAD_LEFT",
    "ArrowRight": "NUMPAD_RIGHT", "Home": "NUMPAD_HOME", "End": "NUMPAD_END", "PageUp": "NUMPAD_PAGE_UP",
    "PageDown": "NUMPAD_PAGE_DOWN", "Insert": "NUMPAD_INSERT", "Delete": "NUMPAD_DELETE",
    "Clear": "NUMPAD_BEGIN",
}
# Unshifted characters of the US layout, for symbol keys (letters and digits are derived from the code).
_US_SYMBOLS = {
    "Backquote": "`", "Minus": "-", "Equal": "=", "BracketLeft": "[", "BracketRight": "]",
    "Backslash": "\\", "IntlBackslash": "\\", "Semicolon": ";", "Quote": "'", "Comma": ",",
    "Period": ".", "Slash": "/", "Space": " ", "NumpadAdd": "+", "NumpadSubtract": "-",
    "NumpadMultiply": "*", "NumpadDivide": "/", "NumpadDecimal": ".", "NumpadComma": ",",
    "NumpadEqual": "=",
}
_COMPOSING_KEYS = frozenset({"Dead", "Process"})
# Modifiers that xterm, with modifyOtherKeys off, does not report on these keys (see the module's docstring).
_XTERM_UNREPORTED_MODS = {
    lib.GHOSTTY_KEY_ENTER: MOD_SHIFT | MOD_CTRL | MOD_SUPER,
    lib.GHOSTTY_KEY_NUMPAD_ENTER: MOD_SHIFT | MOD_CTRL | MOD_SUPER,
    lib.GHOSTTY_KEY_ESCAPE: MOD_SHIFT | MOD_CTRL | MOD_SUPER,
    lib.GHOSTTY_KEY_TAB: MOD_CTRL | MOD_SUPER,
}
# Unicode categories that never count as typed text: controls, format, surrogates, private use, line and
# paragraph separators. (Unassigned codepoints are allowed: newer emoji than this Python knows.)
_NOT_TEXT = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})

_code_table: dict[str, int] | None = None


def _codes() -> dict[str, int]:
    """W3C ``KeyboardEvent.code`` -> GhosttyKey, from the enum's own names (``ARROW_UP`` -> ``ArrowUp``)."""
    global _code_table
    if _code_table is None:
        table: dict[str, int] = {}
        for name, value in ffi.typeof("GhosttyKey").relements.items():
            suffix = name.removeprefix("GHOSTTY_KEY_")
            if suffix in ("UNIDENTIFIED", "MAX_VALUE"):
                continue
            parts = suffix.split("_")
            code = "Key" + suffix if len(suffix) == 1 else "".join(p.capitalize() for p in parts)
            table[code] = value
        for alias, code in _CODE_ALIASES.items():
            table[alias] = table[code]
        _code_table = table
    return _code_table


def ghostty_key(code: str, key: str = "") -> int:
    """The GhosttyKey for a browser key (``GHOSTTY_KEY_UNIDENTIFIED`` when unknown).

    Without a known ``code`` (virtual keyboards often send none) a named ``key`` such as ``"Enter"`` or
    ``"ArrowUp"`` is looked up instead: functional keys have the same names in both.
    """
    if code.startswith("Numpad") and key in _NUMPAD_NAV:
        return int(getattr(lib, "GHOSTTY_KEY_" + _NUMPAD_NAV[key]))
    codes = _codes()
    found = codes.get(code)
    if found is None and len(key) > 1 and not key_text(key):
        found = codes.get(key)
    return lib.GHOSTTY_KEY_UNIDENTIFIED if found is None else found


def _us_base(code: str) -> str:
    """The character ``code`` gives on a US layout without modifiers, or ``""``."""
    if len(code) == 4 and code.startswith("Key") and "A" <= code[3] <= "Z":
        return code[3].lower()
    if len(code) == 6 and code.startswith("Digit") and code[5].isdigit():
        return code[5]
    if len(code) == 7 and code.startswith("Numpad") and code[6].isdigit():
        return code[6]
    return _US_SYMBOLS.get(code, "")


def key_text(key: str) -> str:
    """``key`` if it is typed text (one printable codepoint, maybe plus a combining mark), else ``""``."""
    if not key or len(key) > 2:
        return ""
    if unicodedata.category(key[0]) in _NOT_TEXT:
        return ""
    if len(key) == 2 and not unicodedata.category(key[1]).startswith("M"):
        return ""   # "F1", "Up": named keys are ASCII words, never base + mark
    return key


def _mods(shift: Any, ctrl: Any, alt: Any, meta: Any) -> int:
    return ((MOD_SHIFT if shift else 0) | (MOD_CTRL if ctrl else 0) | (MOD_ALT if alt else 0)
            | (MOD_SUPER if meta else 0))


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return 0


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


class InputEncoder:
    """Ghostty's key, mouse, paste and focus encoders for one terminal. Call ``close`` when done."""

    def __init__(self, vt: VTerm) -> None:
        self.vt = vt
        kenc = ffi.new("GhosttyKeyEncoder*")
        check(lib.ghostty_key_encoder_new(ffi.NULL, kenc), "key encoder")
        self._kenc: Any = kenc[0]
        kev = ffi.new("GhosttyKeyEvent*")
        check(lib.ghostty_key_event_new(ffi.NULL, kev), "key event")
        self._kev: Any = kev[0]
        menc = ffi.new("GhosttyMouseEncoder*")
        check(lib.ghostty_mouse_encoder_new(ffi.NULL, menc), "mouse encoder")
        self._menc: Any = menc[0]
        mev = ffi.new("GhosttyMouseEvent*")
        check(lib.ghostty_mouse_event_new(ffi.NULL, mev), "mouse event")
        self._mev: Any = mev[0]
        self._kbuf = ffi.new("char[]", _KEY_BUF)
        self._mbuf = ffi.new("char[]", _SMALL_BUF)
        self._len = ffi.new("size_t*")
        self._utf8: Any = ffi.NULL   # the key event borrows this buffer: keep it alive
        # Alt+Enter, whose encoding tells whether modifyOtherKeys level 2 is on (see _modify_other_keys_2).
        probe = ffi.new("GhosttyKeyEvent*")
        check(lib.ghostty_key_event_new(ffi.NULL, probe), "key event")
        self._mok_probe: Any = probe[0]
        lib.ghostty_key_event_set_action(self._mok_probe, lib.GHOSTTY_KEY_ACTION_PRESS)
        lib.ghostty_key_event_set_key(self._mok_probe, lib.GHOSTTY_KEY_ENTER)
        lib.ghostty_key_event_set_mods(self._mok_probe, MOD_ALT)
        self._probe_buf = ffi.new("char[]", _SMALL_BUF)
        self._size = init_sized("GhosttyMouseEncoderSize")
        self._pos = ffi.new("GhosttyMousePosition*")
        self._any_pressed = ffi.new("bool*")

    # -- keys ----------------------------------------------------------------------------------------
    def key(self, ev: KeyEvent) -> bytes:
        """The bytes for a key press, repeat or release; ``b""`` when nothing should be sent."""
        action = _KEY_ACTIONS.get(ev.action) if isinstance(ev.action, str) else None
        if self._kenc is None or action is None:
            return b""
        code, key = _str(ev.code), _str(ev.key)
        text = key_text(key)
        mods = _mods(ev.shift, ev.ctrl, ev.alt, ev.meta)
        side = _RIGHT_MODIFIER_SIDES.get(code, 0)
        if side and mods:
            mods |= side
        base = _us_base(code)
        if text and mods & MOD_CTRL and mods & MOD_ALT and not mods & MOD_SUPER and _is_altgr(text, base):
            mods = _without(mods, MOD_CTRL | MOD_ALT)
        gkey = ghostty_key(code, key)
        lib.ghostty_key_encoder_setopt_from_terminal(self._kenc, self.vt.term._t[0])
        if (action != lib.GHOSTTY_KEY_ACTION_RELEASE and mods & (MOD_SHIFT | MOD_CTRL | MOD_SUPER)
                and self._legacy_keyboard()):
            mods, control = _xterm_legacy(gkey, text, base, mods)
            if control:
                return control
        unshifted = _unshifted(text, base, bool(mods & MOD_SHIFT))
        consumed = MOD_SHIFT if text and mods & MOD_SHIFT and ord(text[0]) != unshifted else 0

        ev_ = self._kev
        lib.ghostty_key_event_set_action(ev_, action)
        lib.ghostty_key_event_set_key(ev_, gkey)
        lib.ghostty_key_event_set_mods(ev_, mods)
        lib.ghostty_key_event_set_consumed_mods(ev_, consumed)
        lib.ghostty_key_event_set_composing(ev_, key in _COMPOSING_KEYS)
        lib.ghostty_key_event_set_unshifted_codepoint(ev_, unshifted)
        utf8 = text.encode("utf-8", "replace")
        self._utf8 = ffi.new("char[]", utf8) if utf8 else ffi.NULL
        lib.ghostty_key_event_set_utf8(ev_, self._utf8, len(utf8))
        return self._encode_key()

    def _legacy_keyboard(self) -> bool:
        """Neither the kitty keyboard protocol nor modifyOtherKeys level 2 is on (encoder options loaded)."""
        return not get(self.vt.term, "KITTY_KEYBOARD_FLAGS", "uint8_t") and not self._modify_other_keys_2()

    def _modify_other_keys_2(self) -> bool:
        """Whether the program turned on modifyOtherKeys level 2 (``CSI > 4 ; 2 m``).

        libghostty-vt keeps this flag but has no getter for it; the key encoder, loaded from the terminal,
        encodes Alt+Enter as ``CSI 27;3;13~`` exactly when it is on (ESC CR otherwise).
        """
        n = self._len
        r = lib.ghostty_key_encoder_encode(self._kenc, self._mok_probe, self._probe_buf, _SMALL_BUF, n)
        encoded: bytes = ffi.buffer(self._probe_buf, n[0])[:] if r == 0 else b""
        return encoded.startswith(b"\x1b[27;")

    def _encode_key(self) -> bytes:
        buf, n = self._kbuf, self._len
        r = lib.ghostty_key_encoder_encode(self._kenc, self._kev, buf, len(buf), n)
        if r == lib.GHOSTTY_OUT_OF_SPACE:   # n holds the size needed
            buf = ffi.new("char[]", max(int(n[0]), 2 * len(buf)))
            r = lib.ghostty_key_encoder_encode(self._kenc, self._kev, buf, len(buf), n)
        check(r, "key encode")
        return ffi.buffer(buf, n[0])[:]

    # -- text ----------------------------------------------------------------------------------------
    def paste(self, text: str) -> bytes:
        """A paste: bracketed iff the program turned on mode 2004; unsafe controls become spaces."""
        if self._kenc is None:
            return b""
        return _paste_encode(_str(text), self.vt.mode(2004))

    def text(self, text: str) -> bytes:
        """Committed IME or typed text: never bracketed, but neutralised like a paste (``\\n`` -> ``\\r``)."""
        if self._kenc is None:
            return b""
        return _paste_encode(_str(text), False)

    def focus(self, gained: bool) -> bytes:
        """The focus-in/out report, or ``b""`` unless the program turned on mode 1004."""
        if self._kenc is None or not self.vt.mode(1004):
            return b""
        event = lib.GHOSTTY_FOCUS_GAINED if gained else lib.GHOSTTY_FOCUS_LOST
        check(lib.ghostty_focus_encode(event, self._mbuf, _SMALL_BUF, self._len), "focus encode")
        return ffi.buffer(self._mbuf, self._len[0])[:]

    # -- mouse ---------------------------------------------------------------------------------------
    def wants_mouse(self) -> bool:
        """Whether the program turned on mouse tracking (any of 9, 1000, 1002, 1003)."""
        return self._kenc is not None and self.vt.mouse_tracking()

    def mouse(self, ev: MouseEvent) -> bytes:
        """A press, release or motion report, or ``b""`` when the tracking mode doesn't report it.

        Every motion event is reported, even within one cell: re-reading the terminal's modes before each
        event resets Ghostty's per-cell motion filter, so the client should send motion on cell changes.
        """
        action = _MOUSE_ACTIONS.get(ev.action) if isinstance(ev.action, str) else None
        if action is None or not self._sync_mouse():
            return b""
        button = _MOUSE_BUTTONS.get(ev.button) if isinstance(ev.button, int) else None
        if button is None and ev.button is not None:
            return b""   # a button Ghostty cannot report
        if button is None and action != lib.GHOSTTY_MOUSE_ACTION_MOTION:
            return b""
        # Motion with a button is a drag; a press holds its own button. A release may leave others down,
        # which only matters for reports outside the pane, and positions are clamped into it.
        self._set_any_pressed(button is not None and action != lib.GHOSTTY_MOUSE_ACTION_RELEASE)
        return self._encode_mouse(action, button, ev.x, ev.y, _mods(ev.shift, ev.ctrl, ev.alt, ev.meta))

    def wheel(self, ev: WheelEvent) -> bytes:
        """Wheel reports (buttons 4/5 up/down, 6/7 left/right), one per row or column, at most 10 each.

        Without mouse tracking this is ``b""`` (the caller scrolls its scrollback instead), except on
        the alternate screen with alternate scroll mode (1007) on, where, like xterm and Ghostty, vertical
        wheel movement becomes Up/Down arrow keys so that pagers and editors scroll.
        """
        dy = max(-MAX_WHEEL_STEPS, min(MAX_WHEEL_STEPS, _int(ev.dy)))
        dx = max(-MAX_WHEEL_STEPS, min(MAX_WHEEL_STEPS, _int(ev.dx)))
        if not self._sync_mouse():
            return self._alternate_scroll(dy)
        self._set_any_pressed(False)
        mods = _mods(ev.shift, ev.ctrl, ev.alt, ev.meta)
        out = bytearray()
        press = lib.GHOSTTY_MOUSE_ACTION_PRESS
        for steps, back, forth in ((dy, lib.GHOSTTY_MOUSE_BUTTON_FOUR, lib.GHOSTTY_MOUSE_BUTTON_FIVE),
                                   (dx, lib.GHOSTTY_MOUSE_BUTTON_SIX, lib.GHOSTTY_MOUSE_BUTTON_SEVEN)):
            button = back if steps < 0 else forth
            for _ in range(abs(steps)):
                out += self._encode_mouse(press, button, ev.x, ev.y, mods)
        return bytes(out)

    def _alternate_scroll(self, dy: int) -> bytes:
        if self._kenc is None or not dy or not self.vt.alt_screen() or not self.vt.mode(1007):
            return b""
        arrow = KeyEvent("ArrowUp" if dy < 0 else "ArrowDown", "ArrowUp" if dy < 0 else "ArrowDown")
        return self.key(arrow) * abs(dy)

    def _sync_mouse(self) -> bool:
        """Load the terminal's tracking mode, format and size into the encoder; False if not tracking."""
        if self._menc is None or not self.vt.mouse_tracking():
            return False
        lib.ghostty_mouse_encoder_setopt_from_terminal(self._menc, self.vt.term._t[0])
        cols, rows = self.vt.size
        cw, ch = self._cell_px()
        size = self._size
        size.screen_width, size.screen_height = cols * cw, rows * ch
        size.cell_width, size.cell_height = cw, ch
        lib.ghostty_mouse_encoder_setopt(self._menc, lib.GHOSTTY_MOUSE_ENCODER_OPT_SIZE, size)
        return True

    def _cell_px(self) -> tuple[int, int]:
        # The cell size the terminal reports to programs (CSI 16 t), so that SGR-pixel reports (1016)
        # agree with it; any positive size gives the same cell-based reports.
        cell = getattr(self.vt, "cell_px", DEFAULT_CELL_PX)
        try:
            cw, ch = int(cell[0]), int(cell[1])
        except (TypeError, ValueError, IndexError):
            return DEFAULT_CELL_PX
        return (cw, ch) if cw > 0 and ch > 0 else DEFAULT_CELL_PX

    def _set_any_pressed(self, pressed: bool) -> None:
        self._any_pressed[0] = pressed
        lib.ghostty_mouse_encoder_setopt(self._menc, lib.GHOSTTY_MOUSE_ENCODER_OPT_ANY_BUTTON_PRESSED,
                                         self._any_pressed)

    def _encode_mouse(self, action: int, button: int | None, x: Any, y: Any, mods: int) -> bytes:
        cols, rows = self.vt.size
        cw, ch = self._size.cell_width, self._size.cell_height
        cx = max(0, min(cols - 1, _int(x)))
        cy = max(0, min(rows - 1, _int(y)))
        ev = self._mev
        lib.ghostty_mouse_event_set_action(ev, action)
        if button is None:
            lib.ghostty_mouse_event_clear_button(ev)
        else:
            lib.ghostty_mouse_event_set_button(ev, button)
        lib.ghostty_mouse_event_set_mods(ev, mods)
        self._pos.x, self._pos.y = cx * cw + cw / 2, cy * ch + ch / 2   # the cell's centre
        lib.ghostty_mouse_event_set_position(ev, self._pos[0])
        buf, n = self._mbuf, self._len
        r = lib.ghostty_mouse_encoder_encode(self._menc, ev, buf, len(buf), n)
        if r == lib.GHOSTTY_OUT_OF_SPACE:
            buf = ffi.new("char[]", max(int(n[0]), 2 * len(buf)))
            r = lib.ghostty_mouse_encoder_encode(self._menc, ev, buf, len(buf), n)
        check(r, "mouse encode")
        return ffi.buffer(buf, n[0])[:]

    # -- lifetime ------------------------------------------------------------------------------------
    def close(self) -> None:
        """Free the encoders and events; later calls return ``b""``. Idempotent."""
        if self._kenc is not None:
            lib.ghostty_key_encoder_free(self._kenc)
            lib.ghostty_key_event_free(self._kev)
            lib.ghostty_key_event_free(self._mok_probe)
            lib.ghostty_mouse_encoder_free(self._menc)
            lib.ghostty_mouse_event_free(self._mev)
        self._kenc = self._kev = self._mok_probe = self._menc = self._mev = None
        self._utf8 = ffi.NULL


def _without(mods: int, which: int) -> int:
    """``mods`` less the modifiers ``which`` and their left/right side bits."""
    return mods & ~(which | which << 6)


def xterm_control(ch: str) -> int | None:
    """The C0 control xterm sends for Ctrl+``ch`` (one character) with modifyOtherKeys off, or None when it
    sends ``ch`` itself. Xlib's mapping, as measured on XTerm(379): ``@`` to ``~`` and space keep their low
    five bits (Ctrl+Shift+F is ^F, Ctrl+{ is ESC), ``2`` is NUL, ``3`` to ``7`` are ESC to US, ``8`` and ``?``
    are DEL, ``/`` is US; anything else (``;``, ``1``, ``.``) has no control."""
    c = ord(ch)
    if 0x40 <= c <= 0x7E or ch == " ":
        return c & 0x1F
    if ch == "2":
        return 0
    if "3" <= ch <= "7":
        return c - ord("3") + 0x1B
    if ch in ("8", "?"):
        return 0x7F
    if ch == "/":
        return 0x1F
    return None


def _xterm_legacy(gkey: int, text: str, base: str, mods: int) -> tuple[int, bytes]:
    """The modifiers to encode with in the legacy keyboard, or the bytes to send instead (see the module's
    docstring): (mods, b"") or (mods, control)."""
    mods = _without(mods, _XTERM_UNREPORTED_MODS.get(gkey, 0))
    if gkey == lib.GHOSTTY_KEY_TAB and mods & MOD_SHIFT:
        mods = _without(mods, MOD_ALT)    # xterm: Alt+Shift+Tab is CSI Z too
    if not text:
        return mods, b""
    mods = _without(mods, MOD_SUPER)
    if not mods & MOD_CTRL:
        return mods, b""
    # Non-Latin layouts: the key's US character, as Ghostty does for Ctrl (Ctrl+ф on KeyA is ^A).
    ch = text if len(text) == 1 and text.isascii() else base
    control = xterm_control(ch) if ch else None
    if control is None:
        return _without(mods, MOD_CTRL), b""
    return mods, (b"\x1b" if mods & MOD_ALT else b"") + bytes((control,))


def _is_altgr(text: str, base: str) -> bool:
    """Ctrl+Alt that typed a character the key doesn't give on a US layout, other than an ASCII letter."""
    if len(text) != 1 or (text.isascii() and text.isalpha()):
        return False
    return text != base


def _unshifted(text: str, base: str, shift: bool) -> int:
    if text:
        first = text[0]
        lower = first.lower()
        if lower != first and len(lower) == 1:
            return ord(lower)
        if shift and base:
            return ord(base)
        return ord(first)
    return ord(base) if base else 0


def _paste_encode(text: str, bracketed: bool) -> bytes:
    """Ghostty's paste encoding; the input copy is rewritten in place by Ghostty (controls -> spaces)."""
    if not text:
        return b""
    data = bytearray(text.encode("utf-8", "replace"))
    need = len(data) + (12 if bracketed else 0)   # the two fences are 6 bytes each
    n = ffi.new("size_t*")
    for _attempt in range(2):
        out = bytearray(max(need, 1))
        r = lib.ghostty_paste_encode(ffi.from_buffer("char[]", data), len(data), bracketed,
                                     ffi.from_buffer("char[]", out), len(out), n)
        if r == lib.GHOSTTY_OUT_OF_SPACE:
            need = int(n[0])   # the size Ghostty needs; the rewrite in place is idempotent
            continue
        check(r, "paste encode")
        return bytes(out[:n[0]])
    raise RuntimeError("paste encode: buffer size did not converge")
