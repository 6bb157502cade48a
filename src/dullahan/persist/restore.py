"""Rebuilding a session from state records, in the three ways a server can start after another one:

- ``prepare_takeover``: a live restart. Every pane comes back exactly as it was (terminal, ids, meta,
  counters); its shell is taken from the keeper once the old server has let go (``Prepared.commit``).
- ``recover``: after a crash. The keeper still holds the shells: each pane whose shell is alive gets it
  back, with the screen as it was last saved; programs are sent SIGWINCH so that full-screen ones repaint.
  Shells the state does not know of (started after the last save) come back in a window of their own.
- ``reboot_restore``: the shells are gone. Windows, layouts, screens and scrollback come back; every pane gets
  a fresh shell in its last working directory, below a marker line naming the command that was running.
"""

from __future__ import annotations

import os
import shlex
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from dullahan.log import log
from dullahan.persist.keeper_client import KeeperClient, KeeperLost, KeeperRefused, KeptChild, KeptProcess
from dullahan.persist.state import DecodedState, PaneRecord, StateError, WindowRecord
from dullahan.session import layout
from dullahan.session.pane import Pane
from dullahan.session.pty import ExitStatus, SpawnError, clamp_size
from dullahan.session.session import Session, SessionError
from dullahan.session.window import Window
from dullahan.shapes import PaneEvent
from dullahan.term.snapshot import SnapshotError
from dullahan.term.vt import VTerm

# What a program that is gone may have left switched on; leaving it would feed mouse reports or kitty key
# codes to the new shell. Then a soft reset (SGR, cursor, insert, origin, scroll region) keeps the screen.
# Leaving the alternate screen (1049) is only sent when it is active: otherwise it "restores" a cursor that
# was never saved, to the top left, and the new shell would write over the restored screen.
LEAVE_ALT_SCREEN = b"\x1b[?1049l"
RESET_AFTER_PROGRAM = (b"\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1005l\x1b[?1006l\x1b[?1015l"
                       b"\x1b[?1004l\x1b[?2004l\x1b[=0u\x1b>\x1b[!p")
MAX_SHOWN_COMMAND = 200


def marker(at: float, previous: Sequence[str] | None, pane_id: int) -> bytes:
    """The lines written below a restored screen, above the fresh shell's first prompt (pure)."""
    stamp = time.strftime("%H:%M", time.localtime(at))
    lines = [f"\x1b[0;2;7m— restored after restart at {stamp}; the previous process has ended —\x1b[0m"]
    if previous:
        shown = shlex.join(previous)
        shown = "".join(ch if ch.isprintable() else "?" for ch in shown)
        if len(shown) > MAX_SHOWN_COMMAND:
            shown = shown[:MAX_SHOWN_COMMAND - 1] + "…"
        lines.append(f"\x1b[2mprevious command: {shown}  (not run again; 'dullahan rerun {pane_id}' runs it)\x1b[0m")
    return ("\r\n" + "\r\n".join(lines) + "\r\n").encode("utf-8")


@dataclass
class Outcome:
    """What a restore did, for the log, ``dullahan status`` and the restart notice."""

    kind: str                                   # "restart", "crash" or "reboot"
    panes: int = 0
    reattached: int = 0
    fresh_shells: int = 0
    dropped: list[int] = field(default_factory=list)      # saved panes whose shell had ended meanwhile
    unknown_shells: list[int] = field(default_factory=list)   # kept shells the state did not know (pids)
    screen_errors: dict[int, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "panes": self.panes, "reattached": self.reattached,
                "fresh_shells": self.fresh_shells, "dropped": self.dropped, "unknown_shells": self.unknown_shells,
                "screen_errors": {str(k): v for k, v in self.screen_errors.items()}}


# -- building blocks ----------------------------------------------------------------------------------------
def terminal(session: Session, decoded: DecodedState, record: PaneRecord, outcome: Outcome,
             strict: bool = False) -> VTerm:
    """The pane's saved terminal; a blank one (the error noted) when it cannot be decoded, unless ``strict``."""
    cols, rows = clamp_size(record.cols, record.rows)
    if record.screen is None:
        return session.blank_terminal(cols, rows)
    try:
        vt = session.restored_terminal(decoded.blob(record.screen))
    except (SnapshotError, StateError) as e:
        if strict:
            raise StateError(f"pane {record.id}'s terminal cannot be restored: {e}") from e
        outcome.screen_errors[record.id] = str(e)
        log.error("server", "a saved screen could not be restored; the pane starts blank", pane=record.id,
                  error=str(e))
        return session.blank_terminal(cols, rows)
    vt.carry_on(list(record.title_stack), record.carry)
    return vt


def carry_meta(pane: Pane, record: PaneRecord) -> None:
    vt = pane.vt
    meta = pane.meta
    meta.title, meta.pwd = vt.title, vt.pwd
    meta.bells = record.meta.bells
    meta.event_seq = record.meta.event_seq
    meta.events.extend(PaneEvent(*event) for event in record.meta.events)
    meta.progress = record.meta.progress
    pane.created = record.created or pane.created
    pane.bytes_out, pane.bytes_in = record.bytes_out, record.bytes_in


def windows_from(records: Sequence[WindowRecord], keep: set[int]) -> list[Window]:
    """Windows as saved, without the panes not in ``keep``; windows left empty are dropped."""
    out = []
    for r in records:
        members = {p for p in r.slots if p is not None} | set(r.hidden)
        window = Window(r.id, layout.parse(r.tree), r.layout, list(r.slots), list(r.hidden), r.active,
                        *clamp_size(r.cols, r.rows), name=r.name, zoomed=r.zoomed,
                        recent=[p for p in r.recent if p in members])
        for pane_id in window.pane_ids():
            if pane_id not in keep:
                window.remove(pane_id)
        window.recent = [p for p in window.recent if p in window.pane_ids()]
        if window.pane_ids():
            out.append(window)
    return out


def repaint(proc: KeptProcess) -> None:
    """SIGWINCH to the PTY's foreground job: a full-screen program redraws what the lost output drew."""
    try:
        group = os.tcgetpgrp(proc.fd)
        os.killpg(group, signal.SIGWINCH)
    except OSError:
        pass


# -- a live restart -------------------------------------------------------------------------------------------
@dataclass
class Prepared:
    """A session rebuilt from the old server's handoff, its shells not yet read (the old server may still
    call the handoff off until ``commit``)."""

    session: Session
    processes: dict[int, KeptProcess]
    outcome: Outcome

    def commit(self, inputs: dict[int, bytes]) -> None:
        """Take the shells over: read their PTYs from here on and write the input the old server still held."""
        for pane_id, proc in self.processes.items():
            pane = self.session.panes[pane_id]
            pane.adopt(proc)
            data = inputs.get(pane_id)
            if data and pane.alive:
                pane.write(data)


def prebuild(session: Session, decoded: DecodedState) -> dict[int, Pane]:
    """Panes with the terminals of a restart's prestate, built while the old server still serves (neither
    installed nor attached to a process). StateError if a terminal cannot be restored."""
    outcome = Outcome("restart")
    panes: dict[int, Pane] = {}
    try:
        for record in decoded.header.panes:
            vt = terminal(session, decoded, record, outcome, strict=True)
            panes[record.id] = session.make_pane(record.id, record.cols, record.rows, cwd=record.cwd, vt=vt,
                                                 argv=record.argv)
    except BaseException:
        for pane in panes.values():
            pane.release()
        raise
    return panes


def prepare_takeover(session: Session, decoded: DecodedState, keeper: KeeperClient,
                     prebuilt: dict[int, Pane]) -> Prepared:
    """Raises (StateError, KeeperLost) on anything that would lose state: the old server then carries on.
    ``prebuilt`` (from ``prebuild``) supplies the panes whose records say ``same_screen``; the rest are freed."""
    header = decoded.header
    outcome = Outcome("restart", panes=len(header.panes))
    panes: list[Pane] = []
    processes: dict[int, KeptProcess] = {}
    try:
        for record in header.panes:
            if record.same_screen:
                reused = prebuilt.pop(record.id, None)
                if reused is None:
                    raise StateError(f"pane {record.id} keeps a screen that was never handed over")
                pane = reused
                pane.cwd, pane.argv = record.cwd, list(record.argv)
                pane.vt.carry_on(list(record.title_stack), record.carry)
            else:
                vt = terminal(session, decoded, record, outcome, strict=True)
                pane = session.make_pane(record.id, record.cols, record.rows, cwd=record.cwd, vt=vt,
                                         argv=record.argv)
            panes.append(pane)
            carry_meta(pane, record)
            if record.pid is not None:
                try:
                    processes[pane.id] = keeper.take(record.pid)
                except KeeperRefused as e:
                    raise StateError(f"pane {record.id}'s shell (pid {record.pid}) is not in the keeper: {e}") from e
            elif record.exit is not None:   # its program ended and could not be started again
                pane.exit = ExitStatus(record.exit.code, record.exit.signal)
            outcome.reattached += record.pid is not None
    except BaseException:
        for proc in processes.values():
            proc.close()
        for pane in panes:
            pane.release()
        raise
    finally:
        for unused in prebuilt.values():
            unused.release()
        prebuilt.clear()
    session.install(windows_from(header.windows, {r.id for r in header.panes}), panes, header.next_pane,
                    header.next_window, header.active_window)
    return Prepared(session, processes, outcome)


# -- after a crash -------------------------------------------------------------------------------------------
def recover(session: Session, decoded: DecodedState | None, keeper: KeeperClient,
            children: Sequence[KeptChild]) -> Outcome:
    """Reattach the keeper's shells to the saved panes (see the module's docstring). Never raises for what it
    finds; a pane that cannot be reattached is left out and logged."""
    outcome = Outcome("crash")
    live = {c.pid: c for c in children}
    records = list(decoded.header.panes) if decoded is not None else []
    known_pids: set[int] = set()
    panes: list[Pane] = []
    for record in records:
        if record.pid is None or record.pid not in live:
            outcome.dropped.append(record.id)
            continue
        known_pids.add(record.pid)
        pane = _reattached(session, keeper, record.pid, record.id, decoded, record, outcome)
        if pane is not None:
            panes.append(pane)
    windows = windows_from(decoded.header.windows, {p.id for p in panes}) if decoded is not None else []
    next_pane = max([decoded.header.next_pane if decoded else 1, *(p.id + 1 for p in panes)])
    next_window = max([decoded.header.next_window if decoded else 1, *(w.id + 1 for w in windows)])
    for pid in (c.pid for c in children if c.pid not in known_pids):
        pane = _reattached(session, keeper, pid, next_pane, None, None, outcome)
        if pane is None:
            continue
        outcome.unknown_shells.append(pid)
        panes.append(pane)
        cols, rows = pane.vt.size
        window = Window.create(next_window, layout.Leaf(), "single", cols, rows + 1)
        window.place(pane.id, 0)
        windows.append(window)
        next_pane, next_window = next_pane + 1, next_window + 1
    outcome.panes = len(panes)
    session.install(windows, panes, next_pane, next_window, decoded.header.active_window if decoded else None)
    for pane in panes:
        if isinstance(pane.proc, KeptProcess) and pane.alive:
            repaint(pane.proc)
    return outcome


def _reattached(session: Session, keeper: KeeperClient, pid: int, pane_id: int, decoded: DecodedState | None,
                record: PaneRecord | None, outcome: Outcome) -> Pane | None:
    try:
        proc = keeper.take(pid)
    except (KeeperLost, KeeperRefused) as e:
        log.error("server", "a kept shell could not be taken back", pid=pid, error=str(e))
        if record is not None:
            outcome.dropped.append(record.id)
        return None
    if record is not None and decoded is not None:
        vt = terminal(session, decoded, record, outcome)
        pane = session.make_pane(record.id, record.cols, record.rows, cwd=record.cwd, vt=vt, argv=record.argv)
        carry_meta(pane, record)
    else:
        cols, rows = winsize(proc.fd)
        pane = session.make_pane(pane_id, cols, rows)
    pane.adopt(proc)
    outcome.reattached += 1
    return pane


def winsize(fd: int) -> tuple[int, int]:
    try:
        size = os.get_terminal_size(fd)
        return clamp_size(size.columns, size.lines)
    except OSError:
        return 80, 24


# -- after a reboot -------------------------------------------------------------------------------------------
def reboot_restore(session: Session, decoded: DecodedState) -> Outcome:
    """Saved windows and screens with fresh shells (see the module's docstring). Never raises for what it
    finds: a pane whose shell cannot start stays, showing its restored screen, ready for ``respawn``."""
    header = decoded.header
    outcome = Outcome("reboot", panes=len(header.panes))
    now = time.time()
    panes: list[Pane] = []
    for record in header.panes:
        vt = terminal(session, decoded, record, outcome)
        vt.feed((LEAVE_ALT_SCREEN if vt.alt_screen() else b"") + RESET_AFTER_PROGRAM
                + marker(now, record.command, record.id))
        vt.take_effects()
        cwd = record.cwd if os.path.isdir(record.cwd) else None
        pane = session.make_pane(record.id, record.cols, record.rows, cwd=cwd, vt=vt)
        carry_meta(pane, record)
        pane.previous_command = record.command
        panes.append(pane)
    session.install(windows_from(header.windows, {p.id for p in panes}), panes, header.next_pane,
                    header.next_window, header.active_window)
    for pane in panes:
        try:
            pane.start()
            outcome.fresh_shells += 1
        except (SpawnError, OSError, SessionError) as e:
            log.error("pane", "cannot start a shell in a restored pane", pane=pane.id, error=str(e))
    return outcome
