"""The server's continuity: keeper, saved state, restore on start, and the hooks the web layer plugs into.

``Server`` owns one ``Continuity``. At start it finds (or starts) the keeper, then rebuilds the session:

- a live restart (``serve --takeover``): from the old server's handoff (``persist.handoff``);
- a keeper with shells and no server (a crash): the shells are reattached (``restore.recover``);
- no keeper but a state file (a reboot, or ``quit`` then ``serve``): ``restore.reboot_restore``;
- otherwise, or with ``--fresh``: an empty session (the server opens its first window).

A state file that cannot be used is logged, shown in ``status``, renamed aside and the server starts fresh.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from dullahan import __version__
from dullahan.config import RuntimePaths, Settings
from dullahan.log import log
from dullahan.persist import restore, state
from dullahan.persist.keeper_client import KeeperClient, KeeperLost, KeeperPaths, keeper_pid
from dullahan.persist.saver import StateSaver, WrittenScreen, report_json
from dullahan.persist.state import DecodedState, StateError
from dullahan.persist.store import StateStore
from dullahan.session.pane import Pane
from dullahan.session.pty import PtyProcess
from dullahan.session.session import Session
from dullahan.term.ghostty import PYGHOSTTY_VERSION

MAX_CLIENT_STATE = 16 << 20


class ClientStateHooks(Protocol):
    """The web layer's own state (browser resume secrets, roles), carried across restarts and saved with the
    session. ``export_clients`` must be cheap (it runs at every save, on the loop); what ``import_clients``
    gets is exactly what an earlier ``export_clients`` returned, possibly from an older version."""

    def export_clients(self) -> bytes: ...
    def import_clients(self, data: bytes) -> None: ...


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class Continuity:
    def __init__(self, settings: Settings, paths: RuntimePaths) -> None:
        self.settings = settings
        self.keeper_paths = KeeperPaths.in_dir(paths.directory, settings.port)
        self.store = StateStore(settings.port, settings.state_max_bytes)
        self.keeper: KeeperClient | None = None
        self.keeper_error: str | None = None
        self.saver: StateSaver | None = None
        self.restart_notice: dict[str, Any] | None = None
        self.state_error: str | None = None
        self.outcome: restore.Outcome | None = None
        self._hooks: ClientStateHooks | None = None
        self._pending_clients: bytes | None = None
        self._direct_spawn_logged = False

    # -- the web layer's hooks -------------------------------------------------------------------------
    def register_client_state(self, hooks: ClientStateHooks) -> None:
        """Plug the web layer in; it gets the state carried over from the previous server at once, if any."""
        self._hooks = hooks
        if self._pending_clients is not None:
            data, self._pending_clients = self._pending_clients, None
            self._import_clients(data)

    def export_clients(self) -> bytes | None:
        if self._hooks is None:
            return self._pending_clients   # not plugged in yet: keep what came from before
        data = self._hooks.export_clients()
        if len(data) > MAX_CLIENT_STATE:
            log.error("server", "the clients' state is too large to carry over; left out", bytes=len(data))
            return None
        return data

    def _import_clients(self, data: bytes) -> None:
        assert self._hooks is not None
        try:
            self._hooks.import_clients(data)
        except Exception as e:   # a state the web layer cannot use must not stop the server
            log.error("server", "the clients' state from before could not be imported", error=repr(e))

    def _carry_clients(self, decoded: DecodedState) -> None:
        ref = decoded.header.clients
        if ref is None:
            return
        data = decoded.blob(ref)
        if self._hooks is not None:
            self._import_clients(data)
        else:
            self._pending_clients = data

    # -- spawning ------------------------------------------------------------------------------------------
    def spawn(self, argv: list[str], env: dict[str, str], cwd: str, cols: int, rows: int,
              cell_px: tuple[int, int] = (0, 0)) -> PtyProcess:
        """A shell for a pane: the keeper's child when there is a keeper, else our own (it then dies with us)."""
        keeper = self.keeper
        if keeper is not None:
            try:
                return keeper.spawn(argv, env, cwd, cols, rows, cell_px)
            except KeeperLost as e:
                self.keeper_error = str(e)
                self.keeper = None
                log.error("server", "the keeper is gone; new shells will not survive a crash of the server",
                          error=str(e))
        if not self._direct_spawn_logged:
            self._direct_spawn_logged = True
            log.warning("server", "starting shells without a keeper: they end if the server crashes")
        return PtyProcess.spawn(argv, env, cwd, cols, rows, cell_px)

    def _open_keeper(self, fresh: bool) -> KeeperClient | None:
        try:
            keeper = KeeperClient.connect(self.keeper_paths)
            if keeper is not None and fresh and keeper.children_at_start:
                log.info("server", "--fresh: ending the shells the keeper still held",
                         shells=len(keeper.children_at_start))
                keeper.shutdown()
                keeper = None
                self._wait_keeper_gone()
            if keeper is None:
                keeper = KeeperClient.start(self.keeper_paths)
                log.info("server", "keeper started", pid=keeper.pid)
            else:
                log.info("server", "keeper found", pid=keeper.pid, shells=len(keeper.children_at_start))
            return keeper
        except KeeperLost as e:
            self.keeper_error = str(e)
            log.error("server", "no keeper: shells will not survive a crash of the server", error=str(e))
            return None

    def _wait_keeper_gone(self, timeout: float = 5.0) -> None:
        """Until the old keeper has removed its socket and lock (it ends its shells first: about 2 s at most)."""
        deadline = time.monotonic() + timeout
        paths = self.keeper_paths
        while (paths.socket.exists() or paths.lock.exists()) and time.monotonic() < deadline:
            time.sleep(0.02)

    # -- start ---------------------------------------------------------------------------------------------
    def _load_state(self) -> DecodedState | None:
        try:
            data = self.store.read()
            if data is None:
                return None
            decoded = state.decode(data)
        except StateError as e:
            kept = self.store.set_aside()
            self.state_error = f"{e} (kept as {kept})" if kept else str(e)
            log.error("server", "the saved state cannot be used; starting fresh", path=str(self.store.path),
                      error=str(e), kept_as=str(kept))
            return None
        if decoded.header.ghostty != PYGHOSTTY_VERSION:
            log.warning("server", "the saved state was written by another pyghostty; trying anyway",
                        saved=decoded.header.ghostty)
        return decoded

    def open_session(self, session: Session, fresh: bool) -> None:
        """Fill a new, empty session from whatever survived (see the module's docstring). Never raises for
        what it finds."""
        self.keeper = self._open_keeper(fresh)
        self.store.remove_leftovers()
        decoded = None if fresh else self._load_state()
        children = self.keeper.children_at_start if self.keeper is not None else []
        try:
            if self.keeper is not None and children:
                self.outcome = restore.recover(session, decoded, self.keeper, children)
            elif decoded is not None:
                self.outcome = restore.reboot_restore(session, decoded)
        except Exception as e:   # a bug here must not stop the server from serving a fresh session
            self.state_error = f"restoring failed: {e!r}"
            log.error("server", "restoring the session failed; starting fresh", error=repr(e))
        if decoded is not None:
            self._carry_clients(decoded)
        if self.outcome is not None:
            saved = decoded.header if decoded is not None else None
            self.restart_notice = {"kind": self.outcome.kind, "from": saved.version if saved else None,
                                   "to": __version__, "at": iso(time.time()),
                                   "saved_at": iso(saved.saved_at) if saved else None}
            log.info("server", "session restored", **{k: v for k, v in self.outcome.to_json().items() if v})

    def prepare_takeover(self, session: Session, decoded: DecodedState, from_version: str,
                         prebuilt: dict[int, Pane]) -> restore.Prepared:
        """A live restart's session (raises: the old server then carries on)."""
        keeper = KeeperClient.connect(self.keeper_paths)
        if keeper is None:
            raise KeeperLost("the old server's keeper is not running")
        self.keeper = keeper
        prepared = restore.prepare_takeover(session, decoded, keeper, prebuilt)
        self.outcome = prepared.outcome
        self._carry_clients(decoded)
        self.restart_notice = {"kind": "restart", "from": from_version, "to": __version__, "at": iso(time.time()),
                               "saved_at": None}
        return prepared

    # -- saving ----------------------------------------------------------------------------------------------
    def start_saver(self, session: Session, saved: dict[int, tuple[int, int, int, int]] | None = None) -> None:
        """``saved``: from a restart, the panes whose screens the state file holds as they are now."""
        self.saver = StateSaver(session, self.settings, self.store, self.export_clients)
        written = None
        if saved is not None:
            written = {pid: WrittenScreen(session.panes[pid].content_seq, *where) for pid, where in saved.items()
                       if pid in session.panes}
        self.saver.start(written)

    async def save_now(self) -> None:
        if self.saver is not None:
            await self.saver.save_now()

    # -- end -------------------------------------------------------------------------------------------------
    def end_keeper(self) -> None:
        """``quit``: the keeper hangs up whatever still runs and exits."""
        if self.keeper is not None:
            try:
                self.keeper.shutdown()
            except Exception as e:
                log.warning("server", "the keeper did not acknowledge its shutdown", error=repr(e))
            self.keeper = None

    def let_go(self) -> None:
        """After a restart handed everything over: close our connection, leave the keeper to the new server."""
        if self.saver is not None:
            self.saver.stop()
        if self.keeper is not None:
            self.keeper.close()
            self.keeper = None

    # -- reporting -------------------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        keeper = self.keeper
        return {
            "keeper": {"pid": keeper.pid if keeper else keeper_pid(self.keeper_paths),
                       "connected": keeper is not None and keeper.lost is None,
                       "error": self.keeper_error or (keeper.lost if keeper else None),
                       "socket": str(self.keeper_paths.socket),
                       "log": str(self.keeper_paths.log)},
            "state": {**report_json(self.saver, self.store), "load_error": self.state_error},
            "restored": self.outcome.to_json() if self.outcome else None,
            "restart_notice": self.restart_notice,
        }

