"""A session described as state records (``persist.state``): windows, panes and what runs in them.

Runs on the loop thread and touches no terminal: screens are added by the caller (the saver from its thread,
the restart handoff on the loop) as blob references.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Literal

from dullahan import __version__
from dullahan.persist import procinfo
from dullahan.persist.state import BlobRef, ExitRecord, MetaRecord, PaneRecord, StateHeader, WindowRecord, tree_to_json
from dullahan.session.pane import Pane
from dullahan.session.session import Session
from dullahan.term.ghostty import PYGHOSTTY_VERSION


def window_records(session: Session) -> list[WindowRecord]:
    return [WindowRecord(id=w.id, layout=w.layout_name, tree=tree_to_json(w.tree), slots=list(w.slots),
                         hidden=list(w.hidden), active=w.active, cols=w.cols, rows=w.rows, name=w.name,
                         zoomed=w.zoomed, recent=list(w.recent))
            for w in session.windows.values()]


def pane_record(pane: Pane, screen: BlobRef | None = None, history_rows: int = 0, dropped_rows: int = 0,
                input_ref: BlobRef | None = None) -> PaneRecord:
    """What to remember of a pane; the size is the terminal's as last published (no terminal lock taken)."""
    view = pane.latest_view()
    meta = pane.meta
    command = None
    if pane.alive and pane.proc is not None and pane.proc.fd >= 0:
        command = procinfo.foreground_command(pane.proc.fd, pane.pid)
    cwd = (procinfo.pane_cwd(pane.pid, meta.pwd) if pane.alive else procinfo.cwd_from_osc7(meta.pwd)) or pane.cwd
    return PaneRecord(
        id=pane.id, pid=pane.pid, argv=list(pane.argv), cwd=cwd, cols=view.cols, rows=view.rows, title=meta.title,
        command=command, exit=ExitRecord(pane.exit.code, pane.exit.signal) if pane.exit else None,
        created=pane.created, bytes_out=pane.bytes_out, bytes_in=pane.bytes_in,
        meta=MetaRecord(bells=meta.bells, event_seq=meta.event_seq,
                        events=[(e.seq, e.kind, e.title, e.body) for e in meta.events], progress=meta.progress),
        screen=screen, history_rows=history_rows, dropped_rows=dropped_rows, input=input_ref)


def header(session: Session, purpose: Literal["save", "handoff"], panes: list[PaneRecord],
           clients: BlobRef | None) -> StateHeader:
    next_pane, next_window = session.next_ids
    return StateHeader(version=__version__, ghostty=PYGHOSTTY_VERSION, saved_at=time.time(),
                       port=session.settings.port, purpose=purpose,
                       next_pane=next_pane, next_window=next_window, active_window=session.active_window,
                       windows=window_records(session), panes=panes, clients=clients)


def live_panes(session: Session) -> Mapping[int, Pane]:
    """The panes a state describes, in a stable order (windows first to last)."""
    ordered: dict[int, Pane] = {}
    for window in session.windows.values():
        for pane_id in window.pane_ids():
            pane = session.panes.get(pane_id)
            if pane is not None:
                ordered[pane_id] = pane
    return ordered
