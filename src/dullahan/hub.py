"""The fan-out between the session and the connected clients.

The hub listens to the session: a pane's output marks that pane dirty for every client, a layout change
marks the layout dirty. It turns each pane's published view into one shared ``PaneState`` (rows interned
to content ids once, not once per client) and, for a client scrolled back in a pane, a per-client state
of history rows. It also holds the master role.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from dullahan.log import log
from dullahan.session.pane import Pane
from dullahan.session.session import Session
from dullahan.shapes import MODE_ALT_SCREEN
from dullahan.wire.rows import RowInterner
from dullahan.wire.sync import PaneState, pane_state

if TYPE_CHECKING:
    from dullahan.net.client import ClientConnection


class SyncHub:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.interner = RowInterner()
        self.clients: dict[int, ClientConnection] = {}
        self.master: ClientConnection | None = None
        self._states: dict[int, tuple[tuple[Any, ...], PaneState]] = {}
        self._layout: dict[str, Any] | None = None
        self._history: dict[tuple[int, int, int], PaneState] = {}
        session.listeners.append(self)

    # -- session events ----------------------------------------------------------------------------
    def pane_output(self, pane: Pane) -> None:
        for client in self.clients.values():
            client.mark_dirty(pane.id)

    def layout_changed(self) -> None:
        self._layout = None
        live = set(self.session.panes)
        for pid in [p for p in self._states if p not in live]:
            del self._states[pid]
        for client in self.clients.values():
            client.mark_layout()

    # -- clients -----------------------------------------------------------------------------------
    def add(self, client: ClientConnection) -> None:
        self.clients[client.id] = client
        if client.can_master and self.master is None:
            self._set_master(client)

    def remove(self, client: ClientConnection) -> None:
        self.clients.pop(client.id, None)
        if self.master is client:
            self.master = None
            log.info("connection", "master left; the role is free", client=client.id)
            self._announce_roles()

    def request_master(self, client: ClientConnection) -> bool:
        if not client.can_master:
            return False
        if self.master is not client:
            self._set_master(client)
        return True

    def _set_master(self, client: ClientConnection) -> None:
        previous = self.master
        self.master = client
        log.info("connection", "master role taken", client=client.id,
                 previous=previous.id if previous else None)
        self._announce_roles()

    def role_of(self, client: ClientConnection) -> str:
        return "master" if self.master is client else "view"

    def _announce_roles(self) -> None:
        for client in self.clients.values():
            client.role_changed()

    # -- what clients see --------------------------------------------------------------------------
    def visible_panes(self) -> list[int]:
        session = self.session
        window = session.windows.get(session.active_window) if session.active_window is not None else None
        if window is None:
            return []
        return [p for p in window.visible() if p in session.panes]

    def layout(self) -> dict[str, Any]:
        if self._layout is None:
            session = self.session
            templates = session.current_templates()
            self._layout = {**session.layout_json(), "templates": templates.to_json(),
                            "templates_error": templates.error}
        return self._layout

    def live_state(self, pane: Pane) -> PaneState | None:
        """The pane's shared state; None while its terminal is busy (a fresh view is on its way)."""
        view = pane.view()
        if view is None:
            return None
        meta = pane.meta
        exit_json = pane.exit.to_json() if pane.exit else None
        key = (view.seq, view.rows, meta.title, meta.bells, meta.event_seq, meta.progress, pane.exit)
        cached = self._states.get(pane.id)
        if cached is not None and cached[0] == key:
            return cached[1]
        state = pane_state(pane.id, view, self.interner, cached[1] if cached else None, title=meta.title,
                           exit=exit_json, bells=meta.bells, notifications=tuple(meta.notifications),
                           clipboard=meta.clipboard, progress=meta.progress)
        self._states[pane.id] = (key, state)
        return state

    def check_style_epoch(self) -> None:
        """Start a new style epoch if the table outgrew its capacity. Called before a frame collects its
        pane states, never while it does, so one frame never mixes style ids of two epochs."""
        if self.session.styles.full:
            self._new_style_epoch()

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
        for client in self.clients.values():
            client.mark_all()

    def state_for(self, client: ClientConnection, pane: Pane) -> PaneState | None:
        """The live state, or this client's scrolled-back view of the pane's history.

        While the client looks at history, new output pushes rows into the scrollback; the offset grows by
        as much so the rows in view stay put (until the scrollback is full and starts dropping its oldest).
        """
        live = self.live_state(pane)
        scroll = client.offsets.get(pane.id)
        if scroll is None or live is None:
            return live
        offset, anchored = scroll
        if live.modes & MODE_ALT_SCREEN or live.scrollback == 0:
            client.offsets.pop(pane.id, None)
            return live
        offset = min(live.scrollback, offset + max(0, live.scrollback - anchored))
        if offset <= 0:
            client.offsets.pop(pane.id, None)
            return live
        client.offsets[pane.id] = (offset, live.scrollback)
        key = (pane.id, pane.latest_view().seq, live.scrollback, offset, live.cols, live.rows)
        state = self._history.get(key)
        if state is None:
            _top, rows = pane.history(live.scrollback - offset, live.rows)
            ids = tuple(self.interner.intern(r) for r in rows)
            state = PaneState(pane.id, live.cols, len(rows), ids, tuple(rows), None, live.modes, live.scrollback,
                              offset, live.palette, live.fg, live.bg, live.title, live.exit, live.bells,
                              live.notifications, live.clipboard, live.progress)
            if len(self._history) > 256:
                self._history.clear()
            self._history[key] = state
        elif (state.title, state.bells, state.exit, state.notifications, state.clipboard, state.progress) != (
                live.title, live.bells, live.exit, live.notifications, live.clipboard, live.progress):
            state = replace(state, title=live.title, bells=live.bells, exit=live.exit,
                            notifications=live.notifications, clipboard=live.clipboard, progress=live.progress)
        return state

    def scroll(self, client: ClientConnection, pane: Pane, delta: int, to: str | None) -> None:
        """Move this client's view of a pane's scrollback (negative delta: older rows)."""
        live = self.live_state(pane)
        if live is None:
            view = pane.latest_view()
            scrollback, alt = view.scrollback, bool(view.modes & MODE_ALT_SCREEN)
        else:
            scrollback, alt = live.scrollback, bool(live.modes & MODE_ALT_SCREEN)
        offset, _anchored = client.offsets.get(pane.id, (0, scrollback))
        if to == "bottom":
            offset = 0
        elif to == "top":
            offset = scrollback
        else:
            offset -= delta
        offset = max(0, min(offset, scrollback))
        if alt:
            offset = 0
        if offset:
            client.offsets[pane.id] = (offset, scrollback)
        else:
            client.offsets.pop(pane.id, None)
        client.mark_dirty(pane.id)
