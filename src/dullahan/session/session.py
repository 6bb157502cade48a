"""The session: every window and pane of one server, and the operations on them.

Both the IPC commands and the browser's window/layout messages go through these methods. Pane and window
ids are never reused within a server's life. Closing the last pane of the last window starts a fresh shell
in a new window: the server lives until it is told to quit.

The pane operations (split, close, zoom, swap, join, break, select, resize) follow tmux's vocabulary; every
one raises ``SessionError`` with a message for the user when it cannot be done, changes nothing then, and
tells the listeners (``layout_changed``) when it did something.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import os
import signal
import time
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

from dullahan.config import Settings, config_dir
from dullahan.images.model import ImageConfig, storage_per_screen
from dullahan.log import log
from dullahan.session import layout
from dullahan.session.feeder import Feeder
from dullahan.session.layout import Direction, LayoutError, Leaf, Templates
from dullahan.session.pane import Pane, Spawn
from dullahan.session.pty import PtyProcess, SpawnError, clamp_size
from dullahan.session.window import Window
from dullahan.shapes import StyleTable
from dullahan.term.vt import VTerm

IDLE_CHECK_EVERY = 2.0


def release_freed_memory() -> None:
    """Hand the heap's free pages back to the system (glibc keeps them otherwise: a freed terminal's tens of
    MB would stay in RSS). Does nothing where there is no ``malloc_trim``."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _libc()
HANGUP_GRACE = 0.6
TERM_GRACE = 0.6
KILL_GRACE = 0.6
MAX_WINDOWS = 64
MAX_PANES = 256
MAX_WINDOW_NAME = 64


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
        self._titles: dict[int, str] = {}      # pane id -> the title last seen, to notice tab title changes
        self._next_pane = 1
        self._next_window = 1
        self._templates_path = config_dir() / "layouts.json"
        self._templates_mtime: float | None = None
        self.templates = self._load_templates()
        self.started = time.time()
        self._hibernating: set[int] = set()   # pane ids being put to sleep on a worker thread
        self._idle_timer = loop.call_later(IDLE_CHECK_EVERY, self._rest_idle_panes)

    def _rest_idle_panes(self) -> None:
        """Idle terminals are compressed (Ghostty's pages shrink ~12x) and, idle for longer, put to sleep, so a
        server full of long scrollbacks stays small."""
        now = time.monotonic()
        for pane in list(self.panes.values()):
            try:
                pane.compress_if_idle(now)
                if pane.id not in self._hibernating and pane.hibernation_due(now, self.settings.hibernate_after):
                    self._hibernating.add(pane.id)
                    done = functools.partial(self._hibernation_done, pane.id)
                    self.loop.run_in_executor(None, self._hibernate, pane).add_done_callback(done)
            except Exception as e:   # memory housekeeping must never take a pane down
                log.error("pane", "idle housekeeping failed", pane=pane.id, error=repr(e))
        self._idle_timer = self.loop.call_later(IDLE_CHECK_EVERY, self._rest_idle_panes)

    def _hibernation_done(self, pane_id: int, _: object) -> None:
        self._hibernating.discard(pane_id)

    @staticmethod
    def _hibernate(pane: Pane) -> None:
        """(worker thread) Put an idle pane's terminal to sleep and give the memory it held back to the system."""
        try:
            kept = pane.hibernate()
        except Exception as e:   # as above: a terminal that cannot sleep stays awake
            log.error("pane", "hibernation failed", pane=pane.id, error=repr(e))
            return
        if kept is not None:
            release_freed_memory()
            log.debug("pane", "idle terminal asleep", pane=pane.id, kept=kept)

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
        if pane.meta.title != self._titles.get(pane.id, ""):
            self._title_seen(pane)
        for listener in self.listeners:
            listener.pane_output(pane)

    def _title_seen(self, pane: Pane) -> None:
        """A pane's title changed: the layout carries it as the tab title of windows it is active in."""
        self._titles[pane.id] = pane.meta.title
        if any(w.active == pane.id and not w.name for w in self.windows.values()):
            self._layout_changed()

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
                    feeder=self.feeder, host=self, loop=self.loop,
                    image_config=self._image_config(len(self.panes) + 1), spawn=self.spawn, vt=vt)

    def restored_terminal(self, snapshot: bytes) -> VTerm:
        """A pane's terminal from a snapshot, with this session's options (SnapshotError when it is not one)."""
        return VTerm.from_snapshot(snapshot, self.settings.scrollback_lines, self._image_config(len(self.panes) + 1))

    def blank_terminal(self, cols: int, rows: int) -> VTerm:
        return VTerm(cols, rows, self.settings.scrollback_lines, self._image_config(len(self.panes) + 1))

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
        self._share_image_budget()
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
        self._share_image_budget()
        return pane

    def _image_config(self, panes: int) -> ImageConfig:
        s = self.settings
        return ImageConfig(enabled=s.images, file_media=s.image_file_media,
                           storage_per_screen=storage_per_screen(s.image_storage_per_pane, s.image_storage_total,
                                                                 panes))

    def _share_image_budget(self) -> None:
        """Every pane gets the same share of the server's image budget: more panes, smaller shares (a
        pane over its new share loses its oldest images)."""
        share = self._image_config(len(self.panes)).storage_per_screen
        for pane in self.panes.values():
            pane.set_image_storage(share)

    def _discard(self, pane: Pane) -> None:
        self.panes.pop(pane.id, None)
        self._share_image_budget()
        self._titles.pop(pane.id, None)
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
        window.detach(pane_id)
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
            if window.zoomed not in (None, pane_id):
                window.unzoom()
                self._apply_geometry(window)
            window.activate(pane_id)
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
        for pane_id, rect in window.sizes_to_apply():
            if pane_id in self.panes:
                self.panes[pane_id].resize(rect.cols, rect.rows)

    # -- pane operations (tmux's split-window, kill-pane, resize-pane, swap-pane, join-pane ...) --------
    def active_pane(self, window_id: int | None = None) -> Pane:
        """The active pane of a window (the active window by default)."""
        window = self.window(window_id)
        if window.active is None or window.active not in self.panes:
            raise SessionError(f"window {window.id} has no active pane")
        return self.panes[window.active]

    def _target(self, pane_id: int | None) -> tuple[Window, int]:
        """The window and id of a pane given by id, or of the active window's active pane."""
        if pane_id is None:
            pane = self.active_pane()
            return self.window(), pane.id
        self.pane(pane_id)
        return self.window_of(pane_id), pane_id

    @staticmethod
    def _direction(direction: object) -> Direction:
        try:
            return layout.check_direction(direction)
        except LayoutError as e:
            raise SessionError(str(e)) from e

    @staticmethod
    def _shown_slot(window: Window, pane_id: int) -> int:
        slot = window.slot_of(pane_id)
        if slot is None:
            raise SessionError(f"pane {pane_id} is hidden; show it first")
        return slot

    def split_pane(self, pane_id: int | None = None, direction: str = "right", *, cwd: str | None = None) -> Pane:
        """A fresh shell beside a pane (the active one by default): the pane's slot is split in two.

        ``right``/``down`` put the new pane after it, ``left``/``up`` before it (tmux's ``-b``). The new
        shell starts in ``cwd``, else in the split pane's current directory. The new pane becomes active.
        """
        window, target = self._target(pane_id)
        where = self._direction(direction)
        self._shown_slot(window, target)
        if len(self.panes) >= MAX_PANES:
            raise SessionError(f"too many panes (limit {MAX_PANES})")
        if cwd is not None and not os.path.isdir(cwd):
            raise SessionError(f"cannot start a shell in {cwd[:200]!r}: not a directory")
        try:
            tree, slot = window.plan_split(target, where)
        except LayoutError as e:
            raise SessionError(str(e)) from e
        rect = layout.geometry(tree, window.cols, window.rows).panes[slot]
        start_in = cwd or self.pane_current_path(self.panes[target]) or None
        pane = self._spawn_pane(rect.cols, rect.rows, start_in if start_in and os.path.isdir(start_in) else None)
        window.insert(tree, slot, pane.id)
        window.activate(pane.id)
        self._apply_geometry(window)
        log.info("layout", "pane split", window=window.id, pane=target, new=pane.id, direction=where)
        self._layout_changed()
        return pane

    def zoom_pane(self, pane_id: int | None = None, zoom: bool | None = None) -> bool:
        """Zoom a pane to its whole window, or back (``zoom=None`` toggles); returns whether it is zoomed.

        The zoomed pane's PTY gets the window's size; the other panes keep theirs and are not drawn.
        """
        window, target = self._target(pane_id)
        self._shown_slot(window, target)
        want = window.zoomed != target if zoom is None else bool(zoom)
        if want and len(window.visible()) < 2:
            raise SessionError(f"pane {target} is the only pane shown in window {window.id}: nothing to zoom")
        if want == (window.zoomed == target):
            return want
        if want:
            window.zoom(target)
        else:
            window.unzoom()
        self._apply_geometry(window)
        log.info("layout", "zoomed" if want else "unzoomed", window=window.id, pane=target)
        self._layout_changed()
        return want

    def swap_panes(self, first: int, second: int) -> None:
        """Exchange two panes' places, in one window or across two (tmux's ``swap-pane``).

        A place is a slot or a place among the hidden panes. Within a window the active pane stays the same
        pane; across windows each window's active place stays active, now holding the other pane.
        """
        if first == second:
            raise SessionError(f"cannot swap pane {first} with itself")
        self.pane(first)
        self.pane(second)
        window_a, window_b = self.window_of(first), self.window_of(second)
        try:
            if window_a is window_b:
                window_a.swap(first, second)
            else:
                window_a.substitute(first, second)
                window_b.substitute(second, first)
        except LayoutError as e:
            raise SessionError(str(e)) from e
        for window in {window_a.id: window_a, window_b.id: window_b}.values():
            self._apply_geometry(window)
        log.info("layout", "panes swapped", first=first, second=second)
        self._layout_changed()

    def join_pane(self, pane_id: int, target_id: int, direction: str = "right") -> Window:
        """Move a pane next to another one, splitting the target's slot (tmux's ``join-pane``/``move-pane``).

        The pane keeps its program and history. Its old window closes the gap (and is dropped if it had no
        other pane); the moved pane becomes the active pane of the target's window, which becomes active.
        """
        if pane_id == target_id:
            raise SessionError(f"cannot join pane {pane_id} to itself")
        where = self._direction(direction)
        self.pane(pane_id)
        self.pane(target_id)
        source, dest = self.window_of(pane_id), self.window_of(target_id)
        self._shown_slot(dest, target_id)
        try:
            if source is dest:
                trial = dest.copy()
                trial.detach(pane_id)
                tree, slot = trial.plan_split(target_id, where)
                trial.insert(tree, slot, pane_id)
                trial.activate(pane_id)
                dest.adopt(trial)
            else:
                tree, slot = dest.plan_split(target_id, where)
                source.detach(pane_id)
                dest.insert(tree, slot, pane_id)
                dest.activate(pane_id)
        except LayoutError as e:
            raise SessionError(str(e)) from e
        if source is not dest:
            if source.pane_ids():
                self._apply_geometry(source)
            else:
                self._drop_window(source)
        self.active_window = dest.id
        self._apply_geometry(dest)
        log.info("layout", "pane joined", pane=pane_id, target=target_id, window=dest.id, direction=where)
        self._layout_changed()
        return dest

    def break_pane(self, pane_id: int | None = None, *, select: bool = True) -> Window:
        """Move a pane (the active one by default) out into a new window of its own (tmux's ``break-pane``)."""
        window, target = self._target(pane_id)
        if len(window.pane_ids()) < 2:
            raise SessionError(f"pane {target} is the only pane of window {window.id}")
        if len(self.windows) >= MAX_WINDOWS:
            raise SessionError(f"too many windows (limit {MAX_WINDOWS})")
        window.detach(target)
        new = Window.create(self._next_window, Leaf(), "single", window.cols, window.rows)
        self._next_window += 1
        new.place(target, 0)
        new.activate(target)
        self.windows[new.id] = new
        if select:
            self.active_window = new.id
        self._apply_geometry(window)
        self._apply_geometry(new)
        log.info("layout", "pane broken out", pane=target, window=new.id)
        self._layout_changed()
        return new

    def rename_window(self, window_id: int | None, name: str) -> Window:
        """Name a window (tabs show it instead of the active pane's title); an empty name clears it."""
        window = self.window(window_id)
        if not isinstance(name, str):
            raise SessionError("a window name must be text")
        name = name.strip()
        if len(name) > MAX_WINDOW_NAME:
            raise SessionError(f"a window name has at most {MAX_WINDOW_NAME} characters, not {len(name)}")
        if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in name):
            raise SessionError("a window name cannot contain control characters or line breaks")
        if name != window.name:
            window.name = name
            log.info("layout", "window renamed", window=window.id, name=name)
            self._layout_changed()
        return window

    def select_pane_direction(self, direction: str, window_id: int | None = None, *, wrap: bool = True,
                              keep_zoom: bool = False) -> Pane:
        """Activate the pane left/right/up/down of a window's active pane (tmux's ``select-pane -L/-R/-U/-D``).

        Geometry decides, in the unzoomed layout: the nearest pane beyond that edge overlapping the active
        one, the most recently used on a tie. With ``wrap`` (as tmux) the far side is next past the window's
        edge. A zoomed window is unzoomed, unless ``keep_zoom`` (tmux's ``-Z``) zooms the new pane instead.
        """
        where = self._direction(direction)
        window = self.window(window_id)
        if window.active is None:
            raise SessionError(f"window {window.id} has no active pane")
        rects = [rect if pane_id is not None else None
                 for pane_id, rect in zip(window.slots, window.geometry().panes, strict=True)]
        recent = [slot for slot in (window.slot_of(p) for p in window.recent) if slot is not None]
        found = layout.neighbour(rects, self._shown_slot(window, window.active), where, wrap=wrap, recent=recent)
        if found is None:
            raise SessionError(f"no pane {where} of pane {window.active}")
        target = window.slots[found]
        assert target is not None
        return self._select(window, target, keep_zoom)

    def select_pane_index(self, index: int, window_id: int | None = None, *, keep_zoom: bool = False) -> Pane:
        """Activate the pane in slot ``index`` (0-based, reading order) of a window."""
        window = self.window(window_id)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(window.slots):
            raise SessionError(f"window {window.id} has panes 0..{len(window.slots) - 1}, not {index!r}")
        target = window.slots[index]
        if target is None:
            raise SessionError(f"slot {index} of window {window.id} is empty")
        return self._select(window, target, keep_zoom)

    def _select(self, window: Window, target: int, keep_zoom: bool) -> Pane:
        zoomed = window.zoomed is not None
        if zoomed and window.zoomed != target:
            if keep_zoom:
                window.zoom(target)
            else:
                window.unzoom()
            self._apply_geometry(window)
        window.activate(target)
        self._layout_changed()
        return self.panes[target]

    def resize_pane(self, pane_id: int | None, direction: str, cells: int = 1) -> bool:
        """Move a pane's border by ``cells`` towards ``direction`` (tmux's ``resize-pane -L/-R/-U/-D N``).

        See ``layout.resize_leaf``: the border after the pane in the enclosing split of that axis moves (the
        one before it for a split's last pane), down to the other panes' minimum sizes. A zoomed window is
        unzoomed first. Returns False when nothing moved (everything beyond the border is at its minimum).
        """
        window, target = self._target(pane_id)
        where = self._direction(direction)
        slot = self._shown_slot(window, target)
        if isinstance(cells, bool) or not isinstance(cells, int) or not 1 <= cells <= layout.MAX_CELLS:
            raise SessionError(f"resize by 1..{layout.MAX_CELLS} cells, not {cells!r}")
        try:
            tree = layout.resize_leaf(window.tree, slot, where, cells, window.cols, window.rows)
        except LayoutError as e:
            raise SessionError(str(e)) from e
        unzoomed = window.unzoom()
        changed = tree is not window.tree
        window.tree = tree
        if changed or unzoomed:
            self._apply_geometry(window)
            self._layout_changed()
        return changed

    # -- what a pane is doing (display-message formats, the cwd a split inherits) ----------------------
    @staticmethod
    def _foreground_pids(pane: Pane) -> list[int]:
        """The PTY's foreground process group leader (what runs now), then the pane's own child."""
        pids: list[int] = []
        if pane.proc is not None and pane.exit is None:
            try:
                pids.append(os.tcgetpgrp(pane.proc.fd))
            except OSError:
                pass
            pids.append(pane.proc.pid)
        return pids

    def pane_current_path(self, pane: Pane) -> str:
        """The directory the pane's foreground program works in (as tmux's ``pane_current_path``), else the
        one the shell last reported (OSC 7), else ``""``."""
        for pid in self._foreground_pids(pane):
            try:
                return os.readlink(f"/proc/{pid}/cwd")
            except OSError:
                continue
        reported = pane.meta.pwd
        if reported.startswith("file:"):
            return unquote(urlparse(reported).path)
        return reported

    def pane_current_command(self, pane: Pane) -> str:
        for pid in self._foreground_pids(pane):
            try:
                with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as f:
                    return f.read().strip()
            except OSError:
                continue
        return os.path.basename(pane.argv[0]) if pane.argv else ""

    def _tab_titles(self) -> dict[int, str]:
        """Each pane's title for tabs: what the program set, else the name of the command it was started with."""
        return {pid: pane.meta.title or (os.path.basename(pane.argv[0]) if pane.argv else "")
                for pid, pane in self.panes.items()}

    def format_values(self, pane_id: int | None = None) -> dict[str, str]:
        """tmux format variables for a pane (the active one by default), for ``formats.expand``."""
        window, target = self._target(pane_id)
        pane = self.panes[target]
        cols, rows = pane.size
        slot = window.slot_of(target)
        window_index = list(self.windows).index(window.id)
        return {
            "session_name": f"dullahan-{self.settings.port}",
            "window_id": f"@{window.id}",
            "window_index": str(window_index),
            "window_name": window.title(self._tab_titles()),
            "window_panes": str(len(window.pane_ids())),
            "window_active": "1" if window.id == self.active_window else "0",
            "window_zoomed_flag": "1" if window.zoomed is not None else "0",
            "window_layout": window.layout_name,
            "window_width": str(window.cols),
            "window_height": str(window.rows),
            "pane_id": f"%{pane.id}",
            "pane_index": str(slot) if slot is not None else "",
            "pane_active": "1" if window.active == target else "0",
            "pane_title": pane.meta.title,
            "pane_current_path": self.pane_current_path(pane),
            "pane_current_command": self.pane_current_command(pane),
            "pane_pid": str(pane.proc.pid) if pane.proc is not None else "",
            "pane_width": str(cols),
            "pane_height": str(rows),
            "pane_dead": "1" if pane.exit is not None else "0",
            "pane_dead_status": str(pane.exit.code) if pane.exit is not None and pane.exit.code is not None else "",
            "pane_in_mode": "0",
            "history_size": str(pane.latest_view().scrollback),
        }

    def respawn(self, pane_id: int) -> Pane:
        pane = self.pane(pane_id)
        if pane.alive:
            raise SessionError(f"pane {pane_id} is still running; only an exited pane can be respawned "
                               f"('dullahan kill-pane {pane_id}' closes it)")
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
        self._idle_timer.cancel()
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
            "bells": pane.meta.bells,
            "cwd": pane.meta.pwd,
            "command": pane.argv,
            "previous_command": pane.previous_command,
            "bytes_out": pane.bytes_out,
            "bytes_in": pane.bytes_in,
            "created": pane.created,
            **pane.image_counts(),
        }

    def layout_json(self) -> dict[str, object]:
        return {
            "active": self.active_window,
            "windows": [w.to_json(self._tab_titles()) for w in self.windows.values()],
        }

    @property
    def templates_path(self) -> Path:
        return self._templates_path
