"""tmux key names through Ghostty's real key encoder, against a real terminal's modes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dullahan.shapes import KeyEvent
from dullahan.term.encode import InputEncoder
from dullahan.term.keynames import KeyNameError, parse_key, send_keys
from dullahan.term.vt import VTerm


@pytest.fixture
def encoder() -> Iterator[tuple[VTerm, InputEncoder]]:
    vt = VTerm(80, 24, 100)
    enc = InputEncoder(vt)
    try:
        yield vt, enc
    finally:
        enc.close()
        vt.close()


LEGACY = [
    ("C-c", b"\x03"), ("c-c", b"\x03"), ("^c", b"\x03"), ("C-C", b"\x03"), ("^C", b"\x03"),
    ("C-a", b"\x01"), ("C-z", b"\x1a"), ("C-Space", b"\x00"), ("C-\\", b"\x1c"), ("C-]", b"\x1d"),
    ("M-x", b"\x1bx"), ("m-x", b"\x1bx"), ("M-X", b"\x1bX"), ("C-M-x", b"\x1b\x18"), ("M-C-x", b"\x1b\x18"),
    ("M-Enter", b"\x1b\r"), ("M--", b"\x1b-"),
    ("Enter", b"\r"), ("enter", b"\r"), ("ENTER", b"\r"), ("Escape", b"\x1b"), ("Tab", b"\t"),
    ("BTab", b"\x1b[Z"), ("S-Tab", b"\x1b[Z"), ("BSpace", b"\x7f"), ("Space", b" "),
    ("Up", b"\x1b[A"), ("Down", b"\x1b[B"), ("Right", b"\x1b[C"), ("Left", b"\x1b[D"),
    ("S-Left", b"\x1b[1;2D"), ("C-Right", b"\x1b[1;5C"), ("M-Up", b"\x1b[1;3A"), ("C-S-Up", b"\x1b[1;6A"),
    ("Home", b"\x1b[H"), ("End", b"\x1b[F"),
    ("PageUp", b"\x1b[5~"), ("PgUp", b"\x1b[5~"), ("PPage", b"\x1b[5~"),
    ("PageDown", b"\x1b[6~"), ("PgDn", b"\x1b[6~"), ("NPage", b"\x1b[6~"),
    ("IC", b"\x1b[2~"), ("Insert", b"\x1b[2~"), ("DC", b"\x1b[3~"), ("Delete", b"\x1b[3~"),
    ("F1", b"\x1bOP"), ("F4", b"\x1bOS"), ("F5", b"\x1b[15~"), ("F12", b"\x1b[24~"), ("S-F5", b"\x1b[15;2~"),
    ("KP0", b"0"), ("KP9", b"9"), ("KP*", b"*"), ("KP/", b"/"), ("KP-", b"-"), ("KP+", b"+"), ("KP.", b"."),
    ("KPEnter", b"\r"),
    ("a", b"a"), ("A", b"A"), ("S-a", b"A"), ("!", b"!"), ("~", b"~"), ("5", b"5"), ("é", "é".encode()),
    ("€", "€".encode()), ("-", b"-"), ("^", b"^"),
]


@pytest.mark.parametrize(("name", "expected"), LEGACY, ids=[n for n, _ in LEGACY])
def test_key_names_encode_like_a_terminal_in_legacy_mode(encoder: tuple[VTerm, InputEncoder], name: str,
                                                         expected: bytes) -> None:
    _vt, enc = encoder
    assert enc.key(parse_key(name)) == expected


def test_cursor_keys_follow_decckm(encoder: tuple[VTerm, InputEncoder]) -> None:
    vt, enc = encoder
    vt.feed(b"\x1b[?1h")           # DECCKM: application cursor keys
    assert enc.key(parse_key("Up")) == b"\x1bOA"
    assert enc.key(parse_key("Left")) == b"\x1bOD"
    assert enc.key(parse_key("Home")) == b"\x1bOH"
    assert enc.key(parse_key("S-Left")) == b"\x1b[1;2D"   # with a modifier it stays CSI
    vt.feed(b"\x1b[?1l")
    assert enc.key(parse_key("Up")) == b"\x1b[A"


def test_the_kitty_keyboard_protocol_gets_its_own_encoding(encoder: tuple[VTerm, InputEncoder]) -> None:
    vt, enc = encoder
    vt.feed(b"\x1b[>1u")           # disambiguate escape codes
    assert enc.key(parse_key("Escape")) == b"\x1b[27u"
    assert enc.key(parse_key("C-c")) == b"\x1b[99;5u"


def test_events_look_like_a_browser_keyboard_event() -> None:
    assert parse_key("C-c") == KeyEvent("KeyC", "c", ctrl=True)
    assert parse_key("S-a") == KeyEvent("KeyA", "A", shift=True)
    assert parse_key("!") == KeyEvent("Digit1", "!", shift=True)
    assert parse_key("M-Left") == KeyEvent("ArrowLeft", "ArrowLeft", alt=True)
    assert parse_key("btab") == KeyEvent("Tab", "Tab", shift=True)
    assert parse_key("é") == KeyEvent("", "é")


@pytest.mark.parametrize("name", ["", "Entr", "C-", "S-", "X-a", "a-b", "F13", "C-Foo", "KP", "\x03", "\t",
                                  "ab", "x" * 100])
def test_unknown_names_are_refused_naming_the_key(name: str) -> None:
    with pytest.raises(KeyNameError) as caught:
        parse_key(name)
    message = str(caught.value)
    assert (repr(name)[1:-1][:40] in message) if name else "empty" in message


def test_send_keys_types_other_words_as_text_like_tmux(encoder: tuple[VTerm, InputEncoder]) -> None:
    _vt, enc = encoder
    items = send_keys(["echo hi", "Enter", "C-c", "s-expression"])
    assert items == ["echo hi", parse_key("Enter"), parse_key("C-c"), "s-expression"]
    assert [enc.text(i) if isinstance(i, str) else enc.key(i) for i in items] == [
        b"echo hi", b"\r", b"\x03", b"s-expression"]
    assert send_keys(["Enter", "C-c"], literal=True) == ["Enter", "C-c"]
    with pytest.raises(KeyNameError, match="'echo hi'"):
        send_keys(["echo hi"], strict=True)
    with pytest.raises(KeyNameError, match="empty"):
        send_keys([""])
