"""The session: every window and pane of one server, and the operations on them.

Both the IPC commands and the browser's window/layout messages go through these methods. Pane and window
ids are never reused within a server's life. Closing the last pane of the last window starts a fresh shell
in a new window: the server lives until it is told to quit.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from dullahan.config import Settings, config_dir
from dullahan.log import log
from dullahan.session import layout
from dullahan.session.feeder import Feeder
from dullahan.session.layout import LayoutError, Templates
from dullahan.session.pane import Pane, Spawn
from dullahan.session.pty import PtyProcess, SpawnError, clamp_size
from dullahan.session.window import Window
from dullahan.shapes import StyleTable
from dullahan.term.vt import VTerm

COMPRESS_CHECK_EVERY = 2.0
HANGUP_GRACE = 0.6
TERM_GRACE = 0.6
KILL_GRACE = 0.6
MAX_WINDOWS = 64
MAX_PANES = 256


class SessionError(Exception):
    """An operation that cannot be done, with a message for the user."""


class SessionListener(Protocol):
    def pane_output(self, pane: Pane) -> None: ...
    def layout_changed(self) -> None: ...


class Session:
    def __init__(self, settings: Settings, loop: asyncio.AbstractEventLoop, spawn: Spawn | None = None) -> None:
        self.settings = settings
        self.loop = loop
        self.spawn: Spawn = spawn or PtyProcess.spawn
        self.styles = StyleTable()
        self.feeder = Feeder()
        self.windows: dict[int, Window] = {}
        self.panes: dict[int, Pane] = {}
        self.active_window: int | None = None
        self.listeners: list[SessionListener] = []
        self._closing: list[Pane] = []
        self._next_pane = 1
        self._next_window = 1
        self._templates_path = config_dir() / "layouts.json"
        self._templates_mtime: float | None = None
        self.templates = self._load_templates()
        self.started = time.time()
        self._compress_timer = loop.call_later(COMPRESS_CHECK_EVERY, self._compress_idle)

    def _compress_idle(self) -> None:
        """Idle terminals are compressed (Ghostty's pages shrink ~12x), so a server full of long
        scrollbacks stays small."""
        now = time.monotonic()
        for pane in list(self.panes.values()):
            try:
                pane.compress_if_idle(now)
            except Exception as e:   # memory housekeeping must never take a pane down
                log.error("pane", "compression failed", pane=pane.id, error=repr(e))
        self._compress_timer = self.loop.call_later(COMPRESS_CHECK_EVERY, self._compress_idle)

    # -- templates ---------------------------------------------------------------------------------
    def _load_templates(self) -> Templates:
        templates = Templates.load(self._templates_path)
        if templates.error:
            log.error("config", "layout templates not loaded", error=templates.error)
        return templates

    def current_templates(self) -> Templates:
        """The templates, re-read when layouts.json changed on disk."""
        try:
            mtime: float | None = self._templates_path.stat().st_mtime
        except OSError:
            mtime = None
        if mtime != self._templates_mtime:
            self._templates_mtime = mtime
            self.templates = self._load_templates()
        return self.templates

    # -- notifications -----------------------------------------------------------------------------
    def pane_output(self, pane: Pane) -> None:
        for listener in self.listeners:
            listener.pane_output(pane)

    def pane_exited(self, pane: Pane) -> None:
        if pane in self._closing:
            self._closing.remove(pane)
            pane.release()
        else:
            self.pane_output(pane)

    def _layout_changed(self) -> None:
        for listener in self.listeners:
            listener.layout_changed()

    # -- lookups -----------------------------------------------------------------------------------
    def pane(self, pane_id: int) -> Pane:
        pane = self.panes.get(pane_id)
        if pane is None:
            raise SessionError(f"no pane {pane_id}; 'dullahan panes' lists them")
        return pane

    def window(self, window_id: int | None = None) -> Window:
        wid = self.active_window if window_id is None else window_id
        window = self.windows.get(wid) if wid is not None else None
        if window is None:
            raise SessionError(f"no window {window_id}; 'dullahan windows' lists them")
        return window

    def window_of(self, pane_id: int) -> Window:
        for window in self.windows.values():
            if pane_id in window.pane_ids():
                return window
        raise SessionError(f"pane {pane_id} is in no window")

    # -- windows and panes -------------------------------------------------------------------------
    def new_window(self, layout_name: str | None = None, cols: int | None = None, rows: int | None = None,
                   select: bool = True) -> Window:
        if len(self.windows) >= MAX_WINDOWS:
            raise SessionError(f"too many windows (limit {MAX_WINDOWS})")
        name = layout_name or self.settings.initial_layout
        try:
            tree = self.current_templates().get(name)
        except LayoutError as e:
            raise SessionError(str(e)) from e
        if len(self.panes) + layout.slot_count(tree) > MAX_PANES:
            raise SessionError(f"too many panes (limit {MAX_PANES})")
        if cols is None or rows is None:
            ref = self.windows.get(self.active_window) if self.active_window is not None else None
            cols, rows = (ref.cols, ref.rows) if ref else (80, 25)
        window = Window.create(self._next_window, tree, name, *clamp_size(cols, rows))
        self._next_window += 1
        rects = window.geometry().panes
        created: list[Pane] = []
        try:
            for slot, rect in enumerate(rects):
                pane = self._spawn_pane(rect.cols, rect.rows)
                created.append(pane)
                window.place(pane.id, slot)
        except SessionError:
            for pane in created:
                self._discard(pane)
            raise
        self.windows[window.id] = window
        if select or self.active_window is None:
            self.active_window = window.id
        log.info("layout", "window created", window=window.id, layout=name, panes=len(created))
        self._layout_changed()
        return window

    def make_pane(self, pane_id: int, cols: int, rows: int, cwd: str | None = None, vt: VTerm | None = None,
                  argv: list[str] | None = None) -> Pane:
        """A pane of this session, not started and not yet in ``panes`` (``vt``: a restored terminal)."""
        env = dict(os.environ)
        env.update(TERM="xterm-256color", COLORTERM="truecolor", TERM_PROGRAM="dullahan",
                   DULLAHAN_PANE=str(pane_id), DULLAHAN_PORT=str(self.settings.port))
        for var in ("TMUX", "TMUX_PANE", "LINES", "COLUMNS"):
            env.pop(var, None)
        return Pane(pane_id, argv=argv or self.settings.shell_argv(), env=env, cwd=cwd or os.getcwd(), cols=cols,
                    rows=rows, scrollback_lines=self.settings.scrollback_lines, styles=self.styles,
                    feeder=self.feeder, host=self, loop=self.loop, spawn=self.spawn, vt=vt)

    def install(self, windows: Sequence[Window], panes: Sequence[Pane], next_pane: int, next_window: int,
                active_window: int | None) -> None:
        """Take over windows and panes carried over from a previous server (``persist.restore``), ids and all."""
        for pane in panes:
            self.panes[pane.id] = pane
        for window in windows:
            self.windows[window.id] = window
        self._next_pane = max(self._next_pane, next_pane, *(p.id + 1 for p in panes))
        self._next_window = max(self._next_window, next_window, *(w.id + 1 for w in windows))
        self.active_window = active_window if active_window in self.windows else next(iter(self.windows), None)
        for window in windows:
            self._apply_geometry(window)
        self._layout_changed()

    @property
    def next_ids(self) -> tuple[int, int]:
        """The next pane and window ids (ids are never reused, also across restarts)."""
        return self._next_pane, self._next_window

    def _spawn_pane(self, cols: int, rows: int, cwd: str | None = None) -> Pane:
        pane_id = self._next_pane
        self._next_pane += 1
        pane = self.make_pane(pane_id, cols, rows, cwd)
        try:
            pane.start()
        except (SpawnError, OSError) as e:
            pane.release()
            log.error("pane", "cannot start shell", error=str(e))
            raise SessionError(f"cannot start a shell: {e}") from e
        self.panes[pane_id] = pane
        return pane

    def _discard(self, pane: Pane) -> None:
        self.panes.pop(pane.id, None)
        pane.close()
        if pane.proc is None or pane.exit is not None:
            pane.release()          # already ended and reaped: nothing to wait for
            return
        self._closing.append(pane)
        self._schedule_escalation(pane)

    def split_new_pane(self, window_id: int | None = None) -> Pane:
        """A new shell in the window's first empty slot (hidden if the layout is full)."""
        window = self.window(window_id)
        if len(self.panes) >= MAX_PANES:
            raise SessionError(f"too many panes (limit {MAX_PANES})")
        pane = self._spawn_pane(80, 24)
        window.place(pane.id)
        self._apply_geometry(window)
        self._layout_changed()
        return pane

    def kill_pane(self, pane_id: int) -> None:
        pane = self.pane(pane_id)
        window = self.window_of(pane_id)
        window.remove(pane_id)
        self._discard(pane)
        log.info("pane", "closed", pane=pane_id)
        if not window.pane_ids():
            self._drop_window(window)
        else:
            self._apply_geometry(window)
        self._ensure_a_shell()
        self._layout_changed()

    def kill_window(self, window_id: int) -> None:
        window = self.window(window_id)
        for pane_id in window.pane_ids():
            self._discard(self.panes[pane_id])
        self._drop_window(window)
        self._ensure_a_shell()
        self._layout_changed()

    def _drop_window(self, window: Window) -> None:
        self.windows.pop(window.id, None)
        if self.active_window == window.id:
            self.active_window = next(iter(self.windows), None)

    def _ensure_a_shell(self) -> None:
        if not self.windows:
            log.info("layout", "last pane closed; starting a fresh shell")
            self.new_window("single")

    def select_window(self, window_id: int) -> Window:
        window = self.window(window_id)
        self.active_window = window.id
        self._apply_geometry(window)
        self._layout_changed()
        return window

    def set_layout(self, window_id: int | None, name: str | None = None, tree_json: object = None) -> Window:
        window = self.window(window_id)
        try:
            if tree_json is not None:
                tree, label = layout.parse(tree_json), "custom"
            else:
                tree, label = self.current_templates().get(name or "single"), name or "single"
        except LayoutError as e:
            raise SessionError(str(e)) from e
        window.set_tree(tree, label)
        for slot in window.empty_slots():
            if len(self.panes) >= MAX_PANES:
                break
            pane = self._spawn_pane(80, 24)
            window.place(pane.id, slot)
        self._apply_geometry(window)
        log.info("layout", "layout set", window=window.id, layout=label)
        self._layout_changed()
        return window

    def set_split_sizes(self, window_id: int | None, path: Sequence[int], sizes: Sequence[float]) -> Window:
        window = self.window(window_id)
        try:
            window.tree = layout.set_sizes(window.tree, tuple(path), sizes)
        except LayoutError as e:
            raise SessionError(str(e)) from e
        self._apply_geometry(window)
        self._layout_changed()
        return window

    def show_pane(self, pane_id: int, slot: int, window_id: int | None = None) -> Window:
        """Put a (hidden or visible) pane of the window into a slot; the one there is hidden or swapped."""
        window = self.window(window_id) if window_id is not None else self.window_of(pane_id)
        self.pane(pane_id)
        if pane_id not in window.pane_ids():
            raise SessionError(f"pane {pane_id} is not in window {window.id}")
        if not 0 <= slot < len(window.slots):
            raise SessionError(f"window {window.id} has no slot {slot}")
        window.place(pane_id, slot)
        self._apply_geometry(window)
        self._layout_changed()
        return window

    def focus_pane(self, pane_id: int) -> None:
        window = self.window_of(pane_id)
        if pane_id not in window.visible():
            raise SessionError(f"pane {pane_id} is hidden")
        if window.active != pane_id or self.active_window != window.id:
            window.active = pane_id
            self.active_window = window.id
            self._layout_changed()

    def resize_window(self, window_id: int | None, cols: int, rows: int) -> bool:
        window = self.window(window_id)
        cols, rows = clamp_size(cols, rows)
        if (window.cols, window.rows) == (cols, rows):
            return False
        window.cols, window.rows = cols, rows
        self._apply_geometry(window)
        self._layout_changed()
        return True

    def resize_all_windows(self, cols: int, rows: int) -> None:
        for window in self.windows.values():
            window.cols, window.rows = clamp_size(cols, rows)
            self._apply_geometry(window)
        self._layout_changed()

    def _apply_geometry(self, window: Window) -> None:
        for pane_id, rect in zip(window.slots, window.geometry().panes, strict=True):
            if pane_id is not None and pane_id in self.panes:
                self.panes[pane_id].resize(rect.cols, rect.rows)

    def respawn(self, pane_id: int) -> Pane:
        pane = self.pane(pane_id)
        if pane.alive:
            raise SessionError(f"pane {pane_id} is still running; kill it first or use --kill")
        try:
            pane.respawn()
        except (SpawnError, OSError) as e:
            raise SessionError(f"cannot restart pane {pane_id}: {e}") from e
        log.info("pane", "respawned", pane=pane_id)
        return pane

    # -- children ----------------------------------------------------------------------------------
    def reap(self) -> None:
        """Collect every ended child (each pane also watches its child through a pidfd)."""
        for pane in list(self.panes.values()):
            pane.reap()
        for pane in list(self._closing):
            if (pane.proc is None or pane.reap() is not None) and pane in self._closing:
                self._closing.remove(pane)
                pane.release()

    def _schedule_escalation(self, pane: Pane) -> None:
        def escalate(sig: int, then: float | None) -> None:
            if pane in self._closing and pane.proc is not None and pane.reap() is None:
                pane.proc.signal_group(sig)
                if then is not None:
                    self.loop.call_later(then, escalate, signal.SIGKILL, None)
            self.reap()
        self.loop.call_later(HANGUP_GRACE, escalate, signal.SIGTERM, TERM_GRACE)

    async def shutdown(self) -> None:
        """SIGHUP every child, then SIGTERM, then SIGKILL; reap them all (about 2 s at most)."""
        self._compress_timer.cancel()
        everyone = list(self.panes.values()) + self._closing
        self.panes.clear()
        self.windows.clear()
        self._closing = []
        for pane in everyone:
            pane.close()
            if pane.proc is None or pane.exit is not None:
                pane.release()
            else:
                self._closing.append(pane)
        for sig, grace in ((None, HANGUP_GRACE), (signal.SIGTERM, TERM_GRACE), (signal.SIGKILL, KILL_GRACE)):
            if sig is not None:
                for pane in list(self._closing):
                    if pane.proc is not None and pane.reap() is None:
                        pane.proc.signal_group(sig)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                self.reap()
                if not self._closing:
                    break
                await asyncio.sleep(0.02)
            if not self._closing:
                break
        for pane in self._closing:
            log.error("pane", "child not reaped at shutdown", pane=pane.id,
                      pid=pane.proc.pid if pane.proc else None)
        self.feeder.stop()

    # -- reporting ---------------------------------------------------------------------------------
    def pane_info(self, pane: Pane) -> dict[str, object]:
        try:
            window = self.window_of(pane.id)
            wid, slot = window.id, window.slot_of(pane.id)
        except SessionError:
            wid, slot = None, None
        cols, rows = pane.size
        return {
            "id": pane.id,
            "window": wid,
            "slot": slot,
            "visible": slot is not None,
            "cols": cols,
            "rows": rows,
            "pid": pane.proc.pid if pane.proc else None,
            "running": pane.alive,
            "exit": pane.exit.to_json() if pane.exit else None,
            "title": pane.meta.title,
            "cwd": pane.meta.pwd,
            "command": pane.argv,
            "previous_command": pane.previous_command,
            "bytes_out": pane.bytes_out,
            "bytes_in": pane.bytes_in,
            "created": pane.created,
        }

    def layout_json(self) -> dict[str, object]:
        return {
            "active": self.active_window,
            "windows": [w.to_json() for w in self.windows.values()],
        }

    @property
    def templates_path(self) -> Path:
        return self._templates_path
