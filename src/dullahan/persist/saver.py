"""Saving the session state, debounced: at most one save every ``state_save_interval`` seconds while anything
changes, and on demand (quit, before a restart).

The loop collects windows and pane records (cheap: no terminal is touched); a worker thread takes each
changed pane's snapshot under that pane's lock (an unchanged pane's compressed snapshot is read back from the
file written last: holding them in memory would cost as much as the file), applies the caps
(``state_scrollback_lines`` of history per pane, ``state_max_bytes`` in all), compresses with zlib and writes
the file atomically. A failed save is logged and shown in ``dullahan status``; the previous file stays.
"""

from __future__ import annotations

import asyncio
import os
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from dullahan.config import Settings
from dullahan.log import log
from dullahan.persist import capture, state
from dullahan.persist.state import BlobWriter, PaneCost, PaneRecord
from dullahan.persist.store import StateStore
from dullahan.session.pane import Pane
from dullahan.session.session import Session
from dullahan.term import snapshot
from dullahan.term.snapshot import SnapshotError

COMPRESS_LEVEL = 1
HEADER_ALLOWANCE = 256 * 1024   # kept free of screens in the budget: the header and the clients' state
FIT_ROUNDS = 3


@dataclass(frozen=True)
class WrittenScreen:
    """Where a pane's compressed screen lies in the state file written last."""

    seq: int
    offset: int          # from the start of the file
    length: int
    history_rows: int
    dropped_rows: int


@dataclass(frozen=True)
class SavedScreen:
    seq: int              # the pane's content_seq it was taken at
    data: bytes           # zlib-compressed Ghostty snapshot
    history_rows: int
    dropped_rows: int


@dataclass
class SaveReport:
    saved_at: float | None = None
    seconds: float = 0.0
    bytes: int = 0
    panes: int = 0
    dropped_rows: int = 0
    screens_left_out: int = 0
    error: str | None = None
    saves: int = 0
    skipped_screens: list[int] = field(default_factory=list)


class StateSaver:
    def __init__(self, session: Session, settings: Settings, store: StateStore,
                 export_clients: Callable[[], bytes | None]) -> None:
        self.session = session
        self.settings = settings
        self.store = store
        self.export_clients = export_clients
        self.report = SaveReport()
        self._written: dict[int, WrittenScreen] = {}
        self._writing: dict[int, WrittenScreen] = {}
        self._dirty = False
        self._enabled = False
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_start = 0.0
        session.listeners.append(self)

    # -- session events (called often: keep them cheap) ---------------------------------------------------------
    def pane_output(self, pane: Pane) -> None:
        self._mark()

    def layout_changed(self) -> None:
        self._mark()

    def _mark(self) -> None:
        self._dirty = True
        if self._enabled and self._timer is None and self._task is None:
            delay = max(0.0, self._last_start + self.settings.state_save_interval - time.monotonic())
            self._timer = self.session.loop.call_later(delay, self._begin)

    # -- life ---------------------------------------------------------------------------------------------------
    def start(self, saved: dict[int, WrittenScreen] | None = None) -> None:
        """Save from now on. ``saved``: screens the state file already holds as they are (a restarted server
        carries on with the file its predecessor wrote just before the handoff): the first save waits the
        usual interval and reads those back instead of encoding every terminal again."""
        self._enabled = True
        if saved is not None:
            self._written = dict(saved)
            self._last_start = time.monotonic()
        self._mark()

    def unchanged_screens(self) -> dict[int, tuple[int, int, int, int]]:
        """Panes whose screen in the file written last is still current: id -> (offset, length, history rows,
        dropped rows), for the server a restart hands over to."""
        panes = self.session.panes
        return {pid: (w.offset, w.length, w.history_rows, w.dropped_rows) for pid, w in self._written.items()
                if pid in panes and panes[pid].content_seq == w.seq}

    def stop(self) -> None:
        """No more saves (a running one finishes)."""
        self._enabled = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    @property
    def pending(self) -> bool:
        return self._dirty or self._task is not None

    async def save_now(self) -> None:
        """Save the current state and return once it is written (or failed: see ``report``)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._task is not None:
            await asyncio.wait([self._task])
        self._task = asyncio.ensure_future(self._save())
        await asyncio.wait([self._task])

    def _begin(self) -> None:
        self._timer = None
        if self._enabled and self._task is None:
            self._task = asyncio.ensure_future(self._save())

    async def _save(self) -> None:
        self._last_start = time.monotonic()
        self._dirty = False
        try:
            panes = dict(capture.live_panes(self.session))
            records = {pid: capture.pane_record(pane) for pid, pane in panes.items()}
            try:
                clients = self.export_clients()
            except Exception as e:   # the web layer's hook must not stop the session from being saved
                log.error("server", "the clients' state could not be exported for saving", error=repr(e))
                clients = None
            skeleton = capture.header(self.session, "save", [], None)
            parts = await asyncio.to_thread(self._build, skeleton, panes, records, clients)
            await asyncio.to_thread(self.store.write, parts)
            self._written = self._writing
            size = sum(len(p) for p in parts)
            del parts
        except Exception as e:
            message = f"{e.__class__.__name__}: {e}"[:300]
            if message != self.report.error:
                log.error("server", "saving the session state failed", path=str(self.store.path), error=message)
            self.report.error = message
        else:
            if self.report.error is not None:
                log.info("server", "saving the session state works again", path=str(self.store.path))
            self.report.error = None
            self.report.saved_at = time.time()
            self.report.seconds = time.monotonic() - self._last_start
            self.report.bytes = size
            self.report.saves += 1
            log.debug("server", "session state saved", bytes=size, seconds=self.report.seconds,
                      panes=len(panes))
        finally:
            self._task = None
            if self._dirty:
                self._mark()

    # -- the worker thread --------------------------------------------------------------------------------------
    def _build(self, skeleton: state.StateHeader, panes: Mapping[int, Pane], records: Mapping[int, PaneRecord],
               clients: bytes | None) -> list[bytes]:
        screens: dict[int, SavedScreen] = {}
        skipped: list[int] = []
        previous = self._open_written()
        try:
            for pane_id, pane in panes.items():
                screen = self._screen(pane, previous)
                if screen is None:
                    skipped.append(pane_id)
                else:
                    screens[pane_id] = screen
        finally:
            if previous is not None:
                os.close(previous)
        budget = self.settings.state_max_bytes - HEADER_ALLOWANCE - (len(clients) if clients else 0)
        screens, left_out = fit(screens, budget)
        blobs = BlobWriter()
        out: list[PaneRecord] = []
        for pane_id, record in records.items():
            screen = screens.get(pane_id)
            if screen is None:
                out.append(record)
                continue
            out.append(msgspec.structs.replace(record, screen=blobs.add(screen.data, compressed=True),
                                               history_rows=screen.history_rows, dropped_rows=screen.dropped_rows))
        clients_ref = blobs.add(clients, compressed=False) if clients else None
        header = msgspec.structs.replace(skeleton, panes=out, clients=clients_ref)
        self.report.panes = len(out)
        self.report.dropped_rows = sum(s.dropped_rows for s in screens.values())
        self.report.screens_left_out = len(left_out)
        self.report.skipped_screens = skipped
        parts = state.encode_parts(header, blobs.parts())
        start = state.blob_area_offset(parts[0] + parts[1])
        self._writing = {r.id: WrittenScreen(screens[r.id].seq, start + r.screen.offset, r.screen.length,
                                             r.history_rows, r.dropped_rows)
                         for r in out if r.screen is not None}
        return parts

    def _open_written(self) -> int | None:
        if not self._written:
            return None
        try:
            return os.open(self.store.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None

    def _read_written(self, pane_id: int, fd: int | None) -> SavedScreen | None:
        written = self._written.get(pane_id)
        if written is None or fd is None:
            return None
        try:
            data = os.pread(fd, written.length, written.offset)
        except OSError:
            return None
        if len(data) != written.length:
            return None
        return SavedScreen(written.seq, data, written.history_rows, written.dropped_rows)

    def _screen(self, pane: Pane, previous: int | None) -> SavedScreen | None:
        written = self._written.get(pane.id)
        if written is not None and written.seq == pane.content_seq:
            reused = self._read_written(pane.id, previous)
            if reused is not None:
                return reused
        try:
            taken = pane.snapshot_from_thread()
        except SnapshotError as e:   # mid-way through an over-long escape sequence: keep the last one
            log.debug("server", "pane not snapshotted this time", pane=pane.id, error=str(e))
            return self._read_written(pane.id, previous)
        if taken is None:
            return None
        raw, seq, rows = taken
        dropped = 0
        cap = self.settings.state_scrollback_lines
        if rows > cap:
            raw, kept = snapshot.trim(raw, cap)
            dropped, rows = rows - kept, kept
        return SavedScreen(seq, zlib.compress(raw, COMPRESS_LEVEL), rows, dropped)


def fit(screens: dict[int, SavedScreen], budget: int) -> tuple[dict[int, SavedScreen], set[int]]:
    """Screens within ``budget`` bytes: history cut evenly (a few rounds), then all of it, then whole screens
    left out, largest first. Returns the screens and the panes whose screen was left out."""
    def costs() -> list[PaneCost]:
        return [PaneCost(pid, len(s.data), s.history_rows) for pid, s in screens.items()]

    def cut(pane_id: int, keep: int) -> None:
        old = screens[pane_id]
        trimmed, kept = snapshot.trim(zlib.decompress(old.data), keep)
        screens[pane_id] = SavedScreen(old.seq, zlib.compress(trimmed, COMPRESS_LEVEL), kept,
                                       old.dropped_rows + old.history_rows - kept)

    screens = dict(screens)
    for _round in range(FIT_ROUNDS):
        cuts = state.plan_history_cuts(costs(), budget)
        if not cuts:
            break
        for pane_id, keep in cuts.items():
            cut(pane_id, keep)
    if sum(len(s.data) for s in screens.values()) > budget:
        for pane_id, screen in list(screens.items()):
            if screen.history_rows:
                cut(pane_id, 0)
    left_out = state.screens_to_drop(costs(), budget)
    for pane_id in left_out:
        del screens[pane_id]
    return screens, left_out


def report_json(saver: StateSaver | None, store: StateStore) -> dict[str, Any]:
    r = saver.report if saver is not None else SaveReport()
    return {"path": str(store.path), "bytes": store.size(), "saved_at": r.saved_at, "seconds": round(r.seconds, 3),
            "saves": r.saves, "panes": r.panes, "dropped_rows": r.dropped_rows,
            "screens_left_out": r.screens_left_out, "error": r.error,
            "pending": saver.pending if saver is not None else False,
            "interval": saver.settings.state_save_interval if saver is not None else None}
