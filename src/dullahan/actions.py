"""What a browser's messages do to the session: input into panes, window and pane operations, the role.

A ``Peer`` handles the messages about its own sync state itself and hands the others back; the
connection passes them here. A failure comes back as an ``ActionFailed`` with the error code the client
is told (``failed``, ``pane_dead``, ``input_full``, ``not_allowed``), never as a dropped connection.
"""

from __future__ import annotations

from dullahan.hub import SyncHub
from dullahan.session.pane import InputFull, Pane, PaneDead
from dullahan.session.session import Session, SessionError
from dullahan.shapes import MODE_MOUSE
from dullahan.wire import protocol as p
from dullahan.wire.peer import Peer

MODIFIER_CODES = frozenset({"ShiftLeft", "ShiftRight", "ControlLeft", "ControlRight", "AltLeft", "AltRight",
                            "MetaLeft", "MetaRight", "CapsLock", "NumLock", "ScrollLock", "Fn", "OSLeft", "OSRight"})


class ActionFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class BrowserActions:
    def __init__(self, session: Session, hub: SyncHub) -> None:
        self.session = session
        self.hub = hub

    def carry_out(self, peer: Peer, msg: p.Message) -> None:
        try:
            self._carry_out(peer, msg)
        except SessionError as e:
            raise ActionFailed("failed", str(e)) from e
        except PaneDead as e:
            raise ActionFailed("pane_dead", str(e)) from e
        except InputFull as e:
            raise ActionFailed("input_full", str(e)) from e

    def _pane(self, pane_id: int) -> Pane:
        return self.session.pane(pane_id)

    def _carry_out(self, peer: Peer, msg: p.Message) -> None:
        session = self.session
        match msg:
            case p.Key(pane=pid):
                ev = msg.event
                sent = self._pane(pid).send_key(ev)
                if sent and ev.action != "release" and ev.code not in MODIFIER_CODES:
                    peer.follow_output(pid)
            case p.Text(pane=pid, data=data):
                self._pane(pid).send_text(data)
                peer.follow_output(pid)
            case p.Paste(pane=pid, data=data):
                self._pane(pid).send_paste(data)
                peer.follow_output(pid)
            case p.Mouse(pane=pid):
                self._pane(pid).send_mouse(msg.event)
            case p.Wheel(pane=pid):
                pane = self._pane(pid)
                # The master's wheel goes to a program that tracks the mouse (or to the alternate screen's
                # arrow keys) unless this client is looking at history; otherwise it scrolls its own view.
                sent = 0
                if peer.role == "master" and (pane.latest_view().modes & MODE_MOUSE or not peer.scrolled(pid)):
                    sent = pane.send_wheel(msg.event)
                if not sent:
                    peer.scroll(pid, msg.dy, None)
            case p.Focus(pane=pid, on=on):
                self._pane(pid).send_focus(on)
            case p.Resize(window=wid, cols=cols, rows=rows):
                session.resize_window(wid, cols, rows)
            case p.SetLayout(window=wid, name=name, tree=tree):
                session.set_layout(wid, name, tree)
            case p.SetSizes(window=wid, path=path, sizes=sizes):
                session.set_split_sizes(wid, path, sizes)
            case p.NewWindow(layout=name):
                session.new_window(name)
            case p.SelectWindow(window=wid):
                session.select_window(wid)
            case p.CloseWindow(window=wid):
                session.kill_window(wid)
            case p.NewPane(window=wid):
                session.split_new_pane(wid)
            case p.ClosePane(pane=pid):
                session.kill_pane(pid)
            case p.FocusPane(pane=pid):
                session.focus_pane(pid)
            case p.Respawn(pane=pid):
                session.respawn(pid)
            case p.ShowPane(pane=pid, slot=slot, window=wid):
                session.show_pane(pid, slot, wid)
            case p.RequestMaster():
                if not self.hub.request_master(peer):
                    raise ActionFailed("not_allowed", "this client connected with the view token")
            case _:
                raise ActionFailed("bad_message", f"unexpected {p.message_type(msg)}")
