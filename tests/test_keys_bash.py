"""Keys encoded by the real encoder, written to a real bash on a real PTY: what its line editor ends up with.

Issue 12: in the legacy keyboard Ghostty's encoder sent Shift+Enter as ``CSI 27;2;13~`` and Ctrl+Shift+F as
``CSI 102;6u``, and bash left ``;2;13~`` and ``2;6u`` on the line. These tests read back the exact bytes bash
received and the exact readline buffer.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dullahan.session.pane import Pane
from dullahan.session.session import Session
from dullahan.shapes import KeyEvent
from helpers import async_wait_for
from test_pane import with_pane

pytestmark = pytest.mark.usefixtures("isolated_xdg")

BASH = ["bash", "--noprofile", "--norc"]
DEADLINE = 20.0

# Ctrl+X L prints readline's buffer (in hex) and clears it.
READLINE_PROBE = r"""
show_line() { printf 'LINE<%s>\n' "$(printf %s "$READLINE_LINE" | od -An -tx1 -v | tr -d ' \n')"; READLINE_LINE=; }
bind -x '"\C-xL": show_line'
"""
# Reads exactly N raw bytes (the tty in raw mode: no CR -> LF) and prints them in hex.
RAW_READER = ("stty raw -echo; printf 'RE''ADY\\r\\n'; got=$(head -c {n} | od -An -tx1 -v | tr -d ' \\n'); "
              "stty sane; printf 'GOT<%s>\\n' \"$got\"\r")
END = b"%"
PADDING = b"." * 64   # so that too few bytes still end the read (and show in the result) instead of hanging it


def key(code: str, key: str, **mods: bool) -> KeyEvent:
    return KeyEvent(code, key, "press", **mods)


def typed(text: str) -> list[KeyEvent]:
    return [key("", ch) for ch in text]


def screen(pane: Pane) -> str:
    return pane.capture()


async def prompt(pane: Pane) -> None:
    await async_wait_for(lambda: "$" in screen(pane), DEADLINE, message=lambda: screen(pane))


async def send(pane: Pane, events: list[KeyEvent]) -> None:
    for ev in events:
        pane.send_key(ev)


async def readline_buffer(pane: Pane, events: list[KeyEvent]) -> str:
    """Type ``events`` at the prompt, then read back the line editor's buffer."""
    before = screen(pane).count("LINE<")
    await send(pane, events)
    pane.write(b"\x18L")
    await async_wait_for(lambda: screen(pane).count("LINE<") > before, DEADLINE, message=lambda: screen(pane))
    return bytes.fromhex(re.findall(r"LINE<([0-9a-f]*)>", screen(pane))[-1]).decode()


async def raw_bytes(pane: Pane, events: list[KeyEvent], expected_len: int) -> bytes:
    """The bytes a program reading the raw tty receives for ``events``, up to the END marker."""
    pane.write(RAW_READER.format(n=expected_len + len(END)).encode())
    await async_wait_for(lambda: re.search(r"^READY$", screen(pane), re.M), DEADLINE, message=lambda: screen(pane))
    await send(pane, events)
    pane.write(END + PADDING)
    found = await async_wait_for(lambda: re.search(r"GOT<([0-9a-f]*)>", screen(pane)), DEADLINE,
                                 message=lambda: screen(pane))
    return bytes.fromhex(found.group(1))


def test_readline_gets_ctrl_shift_letters_as_controls(tmp_path: Path) -> None:
    probe = tmp_path / "probe.sh"
    probe.write_text(READLINE_PROBE)

    async def body(session: Session, pane: Pane) -> None:
        await prompt(pane)
        pane.write(f"source {probe}\r".encode())
        assert await readline_buffer(pane, typed("ok")) == "ok"
        # Ctrl+Shift+A is ^A (beginning-of-line), Ctrl+Shift+F ^F (forward-char): nothing else reaches the line.
        line = await readline_buffer(pane, [*typed("ab"), key("KeyA", "A", ctrl=True, shift=True), *typed("X"),
                                            key("KeyF", "F", ctrl=True, shift=True), *typed("Y")])
        assert line == "XaYb"
        # Unbound chords type what xterm types: Ctrl+; is ";", Ctrl+Shift+1 is "!".
        line = await readline_buffer(pane, [*typed("a"), key("Semicolon", ";", ctrl=True),
                                            key("Digit1", "!", ctrl=True, shift=True), *typed("b")])
        assert line == "a;!b"
    with_pane(BASH, body)


@pytest.mark.parametrize("enter", [
    key("Enter", "Enter", shift=True),
    key("Enter", "Enter", ctrl=True),
    key("Enter", "Enter", ctrl=True, shift=True),
], ids=["shift", "ctrl", "ctrl-shift"])
def test_modified_enter_runs_the_line(tmp_path: Path, enter: KeyEvent) -> None:
    probe = tmp_path / "probe.sh"
    probe.write_text(READLINE_PROBE)

    async def body(session: Session, pane: Pane) -> None:
        await prompt(pane)
        pane.write(f"source {probe}\r".encode())
        await send(pane, [*typed("echo out-$((6*7))"), enter])
        await async_wait_for(lambda: re.search(r"^out-42$", screen(pane), re.M), DEADLINE,
                             message=lambda: screen(pane))
        assert await readline_buffer(pane, []) == ""      # accepted: nothing left on the new line
        assert "13~" not in screen(pane)
    with_pane(BASH, body)


def test_bash_receives_xterms_bytes() -> None:
    chords = [
        key("Enter", "Enter", shift=True),
        key("Enter", "Enter", ctrl=True),
        key("KeyF", "F", ctrl=True, shift=True),
        key("KeyI", "i", ctrl=True),
        key("Tab", "Tab", ctrl=True, shift=True),
        key("Escape", "Escape", shift=True),
        key("Semicolon", ";", ctrl=True),
        key("Enter", "Enter", alt=True, shift=True),
    ]
    expected = b"\r" b"\r" b"\x06" b"\t" b"\x1b[Z" b"\x1b" b";" b"\x1b\r"

    async def body(session: Session, pane: Pane) -> None:
        await prompt(pane)
        assert await raw_bytes(pane, chords, len(expected)) == expected + END
    with_pane(BASH, body)


def test_kitty_protocol_reaches_the_program_in_full() -> None:
    expected = b"\x1b[13;2u\x1b[102;6u"

    async def body(session: Session, pane: Pane) -> None:
        await prompt(pane)
        pane.write(b"printf '\\e[>1u'\r")   # parsed before the reader's READY, which comes later in the stream
        chords = [key("Enter", "Enter", shift=True), key("KeyF", "F", ctrl=True, shift=True)]
        assert await raw_bytes(pane, chords, len(expected)) == expected + END
    with_pane(BASH, body)
