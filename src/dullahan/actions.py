"""What a browser's messages do to the session: input into panes, the commands of the table, the role.

A ``Peer`` handles the messages about its own sync state itself and hands the others back; the
connection passes them here. A failure comes back as an ``ActionFailed`` with the error code the client
is told (the command table's codes, ``pane_dead``, ``input_full``, ``not_allowed``), never as a dropped
connection.
"""

from __future__ import annotations

from dullahan.commands import CommandError, carry_out, lookup
from dullahan.commands.table import NOT_ALLOWED, Host
from dullahan.hub import SyncHub
from dullahan.session.pane import InputFull, Pane, PaneDead
from dullahan.session.session import SessionError
from dullahan.shapes import MODE_MOUSE
from dullahan.wire import protocol as p
from dullahan.wire.peer import Peer

MODIFIER_CODES = frozenset({"ShiftLeft", "ShiftRight", "ControlLeft", "ControlRight", "AltLeft", "AltRight",
                            "MetaLeft", "MetaRight", "CapsLock", "NumLock", "ScrollLock", "Fn", "OSLeft", "OSRight"})


class ActionFailed(Exception):
    def __init__(self, code: str, message: str, ref: str | None = None, request: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.ref, self.request = code, message, ref, request


class BrowserActions:
    def __init__(self, host: Host, hub: SyncHub) -> None:
        self.host = host
        self.hub = hub

    async def carry_out(self, peer: Peer, msg: p.Message) -> None:
        if isinstance(msg, p.Cmd):
            await self._command(peer, msg)
            return
        try:
            self._input(peer, msg)
        except SessionError as e:
            raise ActionFailed("failed", str(e)) from e
        except PaneDead as e:
            raise ActionFailed("pane_dead", str(e)) from e
        except InputFull as e:
            raise ActionFailed("input_full", str(e)) from e

    async def _command(self, peer: Peer, msg: p.Cmd) -> None:
        try:
            if not lookup(msg.name).browser:
                raise CommandError(NOT_ALLOWED, f"{msg.name} is for the command line, not for browsers")
            result = await carry_out(self.host, msg.name, msg.args)
        except CommandError as e:
            raise ActionFailed(e.code, e.message, msg.name, msg.id) from e
        if msg.id is not None:
            peer.result(msg.id, result)

    def _pane(self, pane_id: int) -> Pane:
        return self.host.session.pane(pane_id)

    def _input(self, peer: Peer, msg: p.Message) -> None:
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
            case p.RequestMaster():
                if not self.hub.request_master(peer):
                    raise ActionFailed("not_allowed", "this client connected with the view token")
            case _:
                raise ActionFailed("bad_message", f"unexpected {p.message_type(msg)}")
