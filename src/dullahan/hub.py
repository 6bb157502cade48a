"""The fan-out between the session and the connected clients, and the pane states they share.

The hub listens to the session: a pane's output marks that pane dirty for every client's ``Peer``, a
layout change marks the layout dirty, and each client's sender is woken. It turns each pane's published
view into one shared ``PaneState`` (rows interned to content ids once, not once per client) and, for a
client scrolled back in a pane, a state of history rows; it is the ``FrameSource`` every peer builds its
frames from. Images in those states come from the terminal's view (so they are whatever the terminal holds,
after a reconnect, a window switch or a scroll into history alike), encoded for the wire once, off the
loop (``images.encoder``); a placement whose image is still being encoded is left out until it is done.
Roles and resume belong to its ``Registry``. The hub has no network code: a connection attaches its peer
with two callbacks, one to wake its sender and one to close it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import replace
from typing import Any

from dullahan.images.encoder import ImageEncoder
from dullahan.log import log
from dullahan.session.pane import Pane
from dullahan.session.session import Session
from dullahan.shapes import PaneEvents, StyleTable
from dullahan.wire.images import image_fields
from dullahan.wire.peer import Close, Peer
from dullahan.wire.registry import Registry
from dullahan.wire.rows import RowInterner
from dullahan.wire.sync import PaneState, pane_state

MAX_HISTORY_STATES = 256


class SyncHub:
    def __init__(self, session: Session, registry: Registry) -> None:
        self.session = session
        self.registry = registry
        self.interner = RowInterner()
        self._wakers: dict[int, Callable[[], None]] = {}
        self._closers: dict[int, Callable[[Close], None]] = {}
        self._states: dict[int, tuple[tuple[Any, ...], PaneState]] = {}
        self._events: dict[int, tuple[tuple[int, int], PaneEvents]] = {}
        self._layout: dict[str, Any] | None = None
        self._history: dict[tuple[int, int, int, int, int, int], PaneState] = {}
        self.encoder = ImageEncoder(session.loop, self._images_encoded)
        session.listeners.append(self)

    @property
    def styles(self) -> StyleTable:
        return self.session.styles

    # -- clients -----------------------------------------------------------------------------------
    def attach(self, peer: Peer, resume: str | None, now: float, wake: Callable[[], None],
               close: Callable[[Close], None]) -> None:
        """Admit a peer that said hello; a connection it supersedes is closed (reason ``superseded``)."""
        superseded = self.registry.admit(peer, resume, now)
        self._wakers[peer.id] = wake
        self._closers[peer.id] = close
        if superseded is None:
            peer.baseline(self)
        else:
            log.info("connection", "client resumed on a new connection", client=peer.id, previous=superseded.id)
            closer = self._closers.get(superseded.id)
            if closer is not None:
                closer(Close("superseded", f"the same page reconnected as client {peer.id}"))
        peer.mark_layout(self.visible_panes())
        self._wake_all()

    def detach(self, peer: Peer, now: float, clean: bool) -> None:
        was_master = self.registry.master is peer
        self.registry.leave(peer, now, clean)
        self._wakers.pop(peer.id, None)
        self._closers.pop(peer.id, None)
        if was_master:
            reserved = self.registry.reserved_for is not None
            log.info("connection", "master left" + ("; the role is kept for its return" if reserved else ""),
                     client=peer.id, master=self.registry.master.id if self.registry.master else None)
        self._wake_all()

    def request_master(self, peer: Peer) -> bool:
        previous = self.registry.master
        taken = self.registry.request_master(peer)
        if taken and previous is not peer:
            log.info("connection", "master role taken", client=peer.id, previous=previous.id if previous else None)
            self._wake_all()
        return taken

    def tick(self, now: float) -> float | None:
        """Expire a kept master role whose grace ran out; returns when to call again."""
        before = self.registry.master
        self.registry.expire(now)
        if self.registry.master is not before:
            self._wake_all()
        return self.registry.deadline()

    def peers(self) -> list[Peer]:
        return list(self.registry.peers.values())

    # -- across a server restart (the server's ClientStateHooks) -----------------------------------
    def export_clients(self) -> bytes:
        return self.registry.export()

    def import_clients(self, data: bytes) -> None:
        count = self.registry.restore(data, time.monotonic())
        log.info("connection", "browser tabs carried over from the previous server", tabs=count,
                 master_kept=self.registry.reserved_for is not None)

    def _wake_all(self) -> None:
        """Wake every sender, the master's first: its task then runs first, so the typist's echo does not
        wait behind the viewers' frames (whatever order they connected in)."""
        master = self.registry.master
        first = self._wakers.get(master.id) if master is not None else None
        if first is not None:
            first()
        for wake in list(self._wakers.values()):
            wake()   # setting the master's event again does nothing

    # -- session events ----------------------------------------------------------------------------
    def pane_output(self, pane: Pane) -> None:
        pane_id = pane.id
        for peer in self.registry.peers.values():
            peer.mark_dirty(pane_id)
        self._wake_all()

    def layout_changed(self) -> None:
        self._layout = None
        live = set(self.session.panes)
        for pid in [p for p in self._states if p not in live]:
            del self._states[pid]
            self._events.pop(pid, None)
        visible = self.visible_panes()
        for peer in self.registry.peers.values():
            peer.mark_layout(visible)
        self._wake_all()

    # -- the FrameSource every peer builds from ----------------------------------------------------
    def begin_frame(self) -> None:
        """Start a new style epoch if the table outgrew its capacity. Called before a frame collects its
        pane states, never while it does, so one frame never mixes style ids of two epochs."""
        if self.session.styles.full:
            self._new_style_epoch()

    def pane_ids(self) -> Sequence[int]:
        return list(self.session.panes)

    def visible_panes(self) -> list[int]:
        session = self.session
        window = session.windows.get(session.active_window) if session.active_window is not None else None
        if window is None:
            return []
        return [p for p in window.shown() if p in session.panes]

    def layout(self) -> dict[str, Any]:
        if self._layout is None:
            session = self.session
            templates = session.current_templates()
            self._layout = {**session.layout_json(), "templates": templates.to_json(),
                            "templates_error": templates.error}
        return self._layout

    def output_bytes(self, pane_id: int) -> int | None:
        pane = self.session.panes.get(pane_id)
        return pane.bytes_out if pane is not None else None

    def render_held(self, pane_id: int) -> bool:
        pane = self.session.panes.get(pane_id)
        return pane is not None and pane.render_held()

    def events(self, pane_id: int) -> PaneEvents | None:
        pane = self.session.panes.get(pane_id)
        if pane is None:
            return None
        meta = pane.meta
        key = (meta.event_seq, meta.bells)
        cached = self._events.get(pane_id)
        if cached is None or cached[0] != key:
            cached = self._events[pane_id] = (key, PaneEvents(meta.bells, tuple(meta.events)))
        return cached[1]

    def live_state(self, pane_id: int) -> PaneState | None:
        """The pane's shared state; None while its terminal is busy (a fresh view is on its way)."""
        pane = self.session.panes.get(pane_id)
        if pane is None:
            return None
        view = pane.view()
        if view is None:
            return None
        meta = pane.meta
        key = (view.seq, view.rows, meta.title, meta.progress, pane.exit, pane.failed)
        cached = self._states.get(pane_id)
        if cached is not None and cached[0] == key:
            return cached[1]
        exit_json = pane.exit.to_json() if pane.exit else None
        if pane.failed:
            exit_json = {"code": None, "signal": None, "text": pane.failed}
        state = pane_state(pane_id, view, self.interner, cached[1] if cached else None, title=meta.title,
                           exit=exit_json, progress=meta.progress, encoded=self.encoder.encoded)
        self._states[pane_id] = (key, state)
        return state

    def history_state(self, pane_id: int, live: PaneState, offset: int) -> PaneState:
        """The rows ``offset`` rows above the live screen, with the live state's other fields."""
        pane = self.session.panes[pane_id]
        key = (pane_id, pane.latest_view().seq, live.scrollback, offset, live.cols, live.rows)
        state = self._history.get(key)
        if state is None:
            _top, rows, images = pane.history_view(live.scrollback - offset, live.rows)
            ids = tuple(self.interner.intern(r) for r in rows)
            state = PaneState(pane_id, live.cols, len(rows), ids, tuple(rows), None, live.modes, live.scrollback,
                              offset, live.palette, live.fg, live.bg, live.title, live.exit, live.progress,
                              *image_fields(images, self.encoder.encoded))
            if len(self._history) >= MAX_HISTORY_STATES:
                self._history.clear()
            self._history[key] = state
        elif (state.title, state.exit, state.progress) != (live.title, live.exit, live.progress):
            state = replace(state, title=live.title, exit=live.exit, progress=live.progress)
        return state

    def _images_encoded(self) -> None:
        """An image finished encoding: states that left its placements out are built again, and every
        client hears about those panes."""
        waiting: set[int] = set()
        for pane_id, (_key, state) in list(self._states.items()):
            if state.images_pending:
                self._states[pane_id] = ((), state)     # a key no view has: built again on the next frame
                waiting.add(pane_id)
        for key, state in list(self._history.items()):
            if state.images_pending:
                del self._history[key]
                waiting.add(state.id)
        if not waiting:
            return
        for peer in self.registry.peers.values():
            for pane_id in waiting:
                peer.mark_dirty(pane_id)
        self._wake_all()

    def _new_style_epoch(self) -> None:
        """Reset the style table (it outgrew its capacity): every view is read again with new style ids and
        every client gets a frame that clears its caches. Taken with every terminal locked, so no row read
        with the old ids can slip into the new epoch."""
        session = self.session
        with ExitStack() as stack:
            for pane in session.panes.values():
                stack.enter_context(pane.locked_terminal())
                pane.invalidate_view()
            session.styles.reset()
        self.interner.clear()
        self._states.clear()
        self._history.clear()
        log.info("sync", "style table reset (new epoch)", epoch=session.styles.epoch)
        visible = self.visible_panes()
        for peer in self.registry.peers.values():
            peer.mark_layout(visible)
        self._wake_all()
