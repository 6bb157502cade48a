"""Panes in-process: a real Session on an asyncio loop, real PTYs, real shells."""

from __future__ import annotations

import asyncio
import fcntl
import io
import random
import struct
import sys
import termios
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from dullahan.config import Settings
from dullahan.log import log
from dullahan.session.pane import Pane, PaneDead
from dullahan.session.session import Session
from dullahan.term.encode import InputEncoder
from dullahan.term.ghostty import get
from dullahan.term.vt import VTerm
from helpers import async_wait_for, pid_gone, run

pytestmark = pytest.mark.usefixtures("isolated_xdg")


def with_pane(argv: list[str], body: Callable[[Session, Pane], Awaitable[None]], cols: int = 80,
              rows: int = 25) -> None:
    """Run ``body(session, pane)`` on a fresh loop with a one-pane session running ``argv``; always shut down."""
    async def main() -> None:
        session = Session(Settings(shell=argv), asyncio.get_running_loop())
        try:
            window = session.new_window("single", cols, rows)
            pane = session.pane(window.slots[0])
            await body(session, pane)
        finally:
            await session.shutdown()
    run(main())


def screen_text(pane: Pane) -> str:
    view = pane.view() or pane.latest_view()   # None while the terminal thread is still parsing
    return "\n".join(row[0] for row in view.lines)


def winsize(fd: int) -> tuple[int, int]:
    """(cols, rows) of a PTY as the kernel has it."""
    rows, cols, _x, _y = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    return cols, rows


def test_pane_runs_shell_and_shows_output() -> None:
    async def body(session: Session, pane: Pane) -> None:
        await async_wait_for(lambda: "$" in screen_text(pane), 10, message=lambda: screen_text(pane))
        pane.write(b"echo out-$((40+2))\r")
        await async_wait_for(lambda: "out-42" in pane.capture(), 10, message=pane.capture)
        assert "out-42" in screen_text(pane)
    with_pane(["bash", "--noprofile", "--norc"], body)


def test_resize_sets_pty_size_and_terminal_size() -> None:
    async def body(session: Session, pane: Pane) -> None:
        assert pane.proc is not None
        assert winsize(pane.proc.fd) == (80, 24)
        assert pane.resize(100, 30) is True
        assert pane.size == (100, 30)
        assert winsize(pane.proc.fd) == (100, 30)
        assert pane.resize(100, 30) is False   # no change, no work
        view = pane.view()
        assert (view.cols, view.rows) == (100, 30) and len(view.lines) == 30
    with_pane(["sh", "-c", "sleep 30"], body)


def test_resize_is_clamped_to_1_to_1000() -> None:
    async def body(session: Session, pane: Pane) -> None:
        assert pane.proc is not None
        pane.resize(5000, 0)
        assert pane.size == (1000, 1)
        assert winsize(pane.proc.fd) == (1000, 1)
        pane.resize(-5, 2000)
        assert pane.size == (1, 1000)
        assert winsize(pane.proc.fd) == (1, 1000)
    with_pane(["sh", "-c", "sleep 30"], body)


def test_program_sees_resize() -> None:
    """The program reads the new size from the PTY (SIGWINCH + TIOCGWINSZ) after a resize."""
    async def body(session: Session, pane: Pane) -> None:
        await async_wait_for(lambda: "$" in screen_text(pane), 10)
        pane.resize(91, 17)
        pane.write(b"stty size\r")
        await async_wait_for(lambda: "17 91" in pane.capture(), 10, message=pane.capture)
    with_pane(["bash", "--noprofile", "--norc"], body)


def test_exited_pane_keeps_its_screen() -> None:
    async def body(session: Session, pane: Pane) -> None:
        await async_wait_for(lambda: pane.exit is not None, 10, message="pane never exited")
        assert pane.exit is not None and pane.exit.code == 3 and pane.exit.signal is None
        assert not pane.alive
        assert pane.proc is not None and pid_gone(pane.proc.pid)
        await async_wait_for(lambda: "last-words" in screen_text(pane), 5, message=lambda: screen_text(pane))
        assert "last-words" in pane.capture()
        info = session.pane_info(pane)
        assert info["running"] is False
        assert info["exit"] == {"code": 3, "signal": None, "text": "exited with status 3"}
        with pytest.raises(PaneDead):
            pane.write(b"x")
    with_pane(["sh", "-c", "echo last-words; exit 3"], body)


def test_shutdown_after_pane_exit_reports_no_error() -> None:
    """A pane whose process already ended and was reaped is not a "child not reaped" at shutdown."""
    errors_before = log.errors

    async def body(session: Session, pane: Pane) -> None:
        await async_wait_for(lambda: pane.exit is not None, 10)
    with_pane(["sh", "-c", "exit 0"], body)
    assert log.errors == errors_before


def test_respawn_restarts_exited_pane_keeping_history() -> None:
    async def body(session: Session, pane: Pane) -> None:
        await async_wait_for(lambda: pane.exit is not None, 10)
        old_pid = pane.proc.pid if pane.proc else None
        session.respawn(pane.id)
        assert pane.alive and pane.proc is not None and pane.proc.pid != old_pid
        await async_wait_for(lambda: pane.capture(scrollback=True).count("round") >= 2, 10,
                             message=lambda: pane.capture(scrollback=True))
    with_pane(["sh", "-c", "echo round; sleep 0.2"], body)


def paste_text(size: int) -> str:
    """About ``size`` characters of mixed ASCII and non-ASCII text, lines of at most 200 characters."""
    rnd = random.Random(1234)
    words = ["alpha", "beta", "é", "ünïcödé", "日本", "語", "😀", "👍🏽", "x" * 17, "0123456789", "{}[]()<>",
             "~!@#$%^&*"]
    lines, total = [], 0
    while total < size:
        line, n = [], 0
        target = rnd.randint(0, 190)
        while n < target:
            w = rnd.choice(words)
            line.append(w)
            n += len(w) + 1
        text = " ".join(line)[:200]
        lines.append(text)
        total += len(text) + 1
    return "\n".join(lines) + "\n"


def test_unbracketed_paste_sends_newlines_as_cr() -> None:
    """What the big paste below relies on: without mode 2004 a newline is sent as Enter (CR)."""
    vt = VTerm(10, 3, 100)
    encoder = InputEncoder(vt)
    try:
        assert encoder.paste("a\nb é") == "a\rb é".encode()
        vt.feed(b"\x1b[?2004h")
        assert encoder.paste("a\nb") == b"\x1b[200~a\nb\x1b[201~"
    finally:
        encoder.close()
        vt.close()


def test_one_mib_paste_arrives_intact(tmp_path: Path) -> None:
    """A ~1 MiB paste into a program reading a cooked tty arrives byte for byte.

    Bracketed paste is off, so Ghostty's paste encoder sends each ``\\n`` as ``\\r`` (like Enter) and the
    tty's ICRNL turns it back into ``\\n``: the file holds exactly the UTF-8 of the pasted text.
    """
    text = paste_text(1 << 20)
    expected = text.encode()
    assert len(expected) > 1 << 20
    out = tmp_path / "paste.out"
    script = f"stty -echo; printf READY; exec head -c {len(expected)} > {out}"

    async def body(session: Session, pane: Pane) -> None:
        await async_wait_for(lambda: "READY" in pane.capture(), 10, message=pane.capture)
        sent = pane.send_paste(text)
        assert sent == len(expected)
        await async_wait_for(lambda: pane.exit is not None, 60,
                             message=lambda: f"{out.stat().st_size if out.exists() else 0} of {len(expected)} "
                                             f"bytes arrived; {pane.input_pending()} still queued")
        got = out.read_bytes()
        assert len(got) == len(expected)
        assert got == expected
        assert pane.exit is not None and pane.exit.code == 0
    with_pane(["sh", "-c", script], body)


def test_paste_of_controls_is_neutralised(tmp_path: Path) -> None:
    """Control characters in a paste (here ESC and ^C) cannot act on the program: they arrive as spaces."""
    out = tmp_path / "ctl.out"
    script = f"stty -echo; printf READY; exec head -c 7 > {out}"

    async def body(session: Session, pane: Pane) -> None:
        await async_wait_for(lambda: "READY" in pane.capture(), 10, message=pane.capture)
        pane.send_paste("a\x1bb\x03cd\n")
        await async_wait_for(lambda: pane.exit is not None, 10,
                             message=lambda: out.read_bytes() if out.exists() else "no file")
        assert pane.exit is not None and pane.exit.code == 0, pane.exit   # ^C would have killed head
        assert out.read_bytes() == b"a b cd\n"
    with_pane(["sh", "-c", script], body)


def test_python_reads_the_same_bytes_we_wrote(tmp_path: Path) -> None:
    """Raw ``write`` (what IPC ``send`` uses) of multi-byte UTF-8 reaches the program unchanged."""
    out = tmp_path / "raw.out"
    text = "héllo 日本 😀\n"
    code = f"import sys; open({str(out)!r}, 'wb').write(sys.stdin.buffer.readline())"
    script = f"stty -echo; printf READY; exec {sys.executable} -c \"{code}\""

    async def body(session: Session, pane: Pane) -> None:
        await async_wait_for(lambda: "READY" in pane.capture(), 10, message=pane.capture)
        pane.write(text.encode())
        await async_wait_for(lambda: pane.exit is not None, 10)
        assert out.read_bytes() == text.encode()
    with_pane(["sh", "-c", script], body)


def test_view_is_never_stale_once_the_terminal_thread_is_idle() -> None:
    """Regression: a view read by the terminal thread mid-flood was handed out after the thread had parsed
    more (e.g. leaving the alternate screen), and with the burst over nothing asked again: a client kept
    the old screen for good."""
    async def body(session: Session, pane: Pane) -> None:
        await async_wait_for(lambda: "$" in screen_text(pane), 10)
        pane.write(b"printf '\\033[?1049h\\141lt-screen'; sleep 0.2; printf '\\033[?1049l'; echo BACK-ON-PRIMARY\r")
        await async_wait_for(lambda: "\nBACK-ON-PRIMARY" in pane.capture(), 10)
        pane._thread_view = True   # as if the thread had read a view before the last output
        view = pane.view()
        assert view is not None
        assert any("BACK-ON-PRIMARY" in row[0] for row in view.lines)
        assert not any("alt-screen" in row[0] for row in view.lines)
    with_pane(["bash", "--noprofile", "--norc"], body)


# -- a failure in one pane stays in that pane (issue: client core, bugs 6 and 8) ---------------------------
def two_panes(body: Callable[[Session, Pane, Pane], Awaitable[None]]) -> None:
    async def main() -> None:
        session = Session(Settings(shell=["bash", "--noprofile", "--norc"]), asyncio.get_running_loop())
        try:
            window = session.new_window("2-col", 120, 30)
            await body(session, session.pane(window.slots[0]), session.pane(window.slots[1]))
        finally:
            await session.shutdown()
    run(main())


async def still_works(pane: Pane, word: str) -> None:
    await async_wait_for(lambda: "$" in pane.capture(), 10, message=pane.capture)
    pane.write(f"echo {word}-$((6*7))\r".encode())
    await async_wait_for(lambda: f"{word}-42" in pane.capture(), 20, message=pane.capture)


@pytest.fixture
def log_text(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """What the server's log gets during the test."""
    out = io.StringIO()
    monkeypatch.setattr(log, "_out", out)
    return out


def test_a_pane_whose_terminal_keeps_failing_is_marked_failed_and_the_others_go_on(log_text: io.StringIO) -> None:
    async def body(session: Session, broken: Pane, healthy: Pane) -> None:
        await async_wait_for(lambda: "$" in broken.capture(), 10, message=broken.capture)

        def fail(data: bytes) -> None:
            raise RuntimeError("injected parser failure")
        broken.vt.feed = fail  # type: ignore[method-assign]
        broken.write(b"seq 1 100000\r")        # big output: parsed on the terminal thread, chunk after chunk
        await async_wait_for(lambda: broken.failed is not None, 20)
        assert broken.failed == "terminal failed: RuntimeError"
        assert broken.view() is not None and not broken._scheduled
        await still_works(healthy, "healthy")
    two_panes(body)
    err = log_text.getvalue()
    assert "parsing a pane's output failed pane=1" in err and "injected parser failure" in err


def test_a_crash_on_the_terminal_thread_outside_parsing_never_freezes_the_pane(log_text: io.StringIO) -> None:
    """Before: the feeder swallowed the exception and the pane stayed 'scheduled' forever."""
    async def body(session: Session, broken: Pane, healthy: Pane) -> None:
        await async_wait_for(lambda: "$" in broken.capture(), 10, message=broken.capture)

        def crash(limit: int) -> bytes:
            raise ValueError("injected crash")
        broken._take_pending = crash  # type: ignore[method-assign]
        broken.write(b"seq 1 100000\r")
        await async_wait_for(lambda: broken.failed is not None, 20)
        assert not broken._scheduled and broken.failed == "terminal failed: ValueError"
        await still_works(healthy, "other")
        for _ in range(3):                       # the thread keeps serving the other pane
            await still_works(healthy, "again")
    two_panes(body)
    assert "terminal thread failed on a pane pane=1" in log_text.getvalue()


def test_reading_history_always_puts_the_viewport_back() -> None:
    async def body(session: Session, pane: Pane) -> None:
        await async_wait_for(lambda: "$" in pane.capture(), 10, message=pane.capture)
        pane.write(b"seq 1 300\r")
        await async_wait_for(lambda: (pane.view() or pane.latest_view()).scrollback > 100, 10)

        def broken(dirty_only: bool) -> list[object]:
            raise RuntimeError("injected read failure")
        reader_read = pane.reader.read
        pane.reader.read = broken  # type: ignore[method-assign, assignment]
        with pytest.raises(RuntimeError):
            pane.history(10, 5)
        pane.reader.read = reader_read  # type: ignore[method-assign]
        with pane.locked_terminal() as vt:
            bar = get(vt.term, "SCROLLBAR", "GhosttyTerminalScrollbar")
            assert bar.offset + bar.len == bar.total, "the viewport was left up in the history"
        pane.write(b"echo after-$((2*21))\r")
        await async_wait_for(lambda: "after-42" in screen_text(pane), 10, message=lambda: screen_text(pane))
    with_pane(["bash", "--noprofile", "--norc"], body)
