"""A pane: one child process on a PTY, feeding one Ghostty terminal.

Data path: the event loop reads the PTY master once per wake-up (Linux hands out at most about 4 KiB a
read, and each read of a flooding PTY costs ~0.1 ms, so reading "until it would block" would hold the loop
for milliseconds while other panes' echoes wait); a small read on an idle pane is parsed at once (an echo
costs no thread hop), anything else is queued for the terminal thread (``feeder``), so a flood never
stalls the loop. After each feed the pane's effects (replies to queries, bell, title, clipboard,
notifications, progress) are applied on the loop and the host is told the pane changed.

The screen is published as an immutable ``PaneView`` (rows, cursor, modes) that the sync layer reads
without touching the terminal; it is refreshed on demand, by the terminal thread while it is busy with
this pane, by the loop otherwise.

Locking: every call into the terminal holds ``_term_lock``. The loop takes it only for short operations
(input encoding, resize, capture); the terminal thread steps aside between chunks when the loop waits.
"""

from __future__ import annotations

import asyncio
import errno
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from dullahan.images.model import ImageConfig, strip_placeholders
from dullahan.log import log
from dullahan.session.feeder import Feeder
from dullahan.session.pty import ExitStatus, PtyProcess, clamp_size
from dullahan.shapes import KeyEvent, MouseEvent, PaneEvent, PaneImages, PaneView, Row, StyleTable, WheelEvent
from dullahan.term import search as term_search
from dullahan.term.ansi import styled_text
from dullahan.term.encode import InputEncoder
from dullahan.term.image_reader import ImageReader
from dullahan.term.screen import ScreenReader
from dullahan.term.snapshot import SnapshotError
from dullahan.term.view import read_history, read_view
from dullahan.term.vt import TermEffects, VTerm

READ_SIZE = 64 * 1024
INLINE_FEED_MAX = 1024      # an echo or a prompt: parsed at once on the loop; more goes to the terminal thread
PAUSE_READING_AT = 4 << 20
RESUME_READING_AT = 512 << 10
MAX_INPUT_QUEUE = 64 << 20
MAX_EVENTS = 8               # notifications and clipboard writes kept for clients that have not seen them
MAX_FEED_FAILURES = 3        # consecutive failures to parse output before a pane is marked failed
RENDER_HOLD_TIMEOUT = 0.1
COMPRESS_AFTER_IDLE = 5.0

class InputFull(Exception):
    """The pane's input queue is over its cap: the program is not reading its input."""


class PaneDead(Exception):
    """The pane's process has exited; input cannot be delivered."""


Spawn = Callable[[list[str], dict[str, str], str, int, int, tuple[int, int]], PtyProcess]
"""Starts ``argv`` with ``env`` in ``cwd`` on a PTY of ``cols`` x ``rows`` with cells of ``cell_px`` pixels
(``PtyProcess.spawn``, or the keeper's)."""


class PaneHost(Protocol):
    def pane_output(self, pane: Pane) -> None: ...
    def pane_exited(self, pane: Pane) -> None: ...


@dataclass
class PaneMeta:
    """Pane state that does not live in the terminal grid (loop thread only)."""

    title: str = ""
    pwd: str = ""
    bells: int = 0
    events: deque[PaneEvent] = field(default_factory=lambda: deque(maxlen=MAX_EVENTS))
    progress: tuple[int, int] | None = None               # (state, percent)
    event_seq: int = 0
    render_hold_since: float | None = None


class Pane:
    def __init__(self, pane_id: int, *, argv: list[str], env: dict[str, str], cwd: str, cols: int, rows: int,
                 scrollback_lines: int, styles: StyleTable, feeder: Feeder, host: PaneHost,
                 loop: asyncio.AbstractEventLoop, image_config: ImageConfig | None = None,
                 spawn: Spawn = PtyProcess.spawn, vt: VTerm | None = None) -> None:
        self.id = pane_id
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.created = time.time()
        cols, rows = clamp_size(cols, rows)
        self.vt = vt if vt is not None else VTerm(cols, rows, scrollback_lines, image_config)
        self.previous_command: list[str] | None = None   # what ran here before a restore (shown, never re-run)
        self.released = False
        self._spawn = spawn
        self._frozen = False
        self._moved = False             # handed over to a restarted server: input here would be lost
        self.reader = ScreenReader(self.vt, styles)
        self.images = ImageReader(self.vt, styles)
        self.encoder = InputEncoder(self.vt)
        self.meta = PaneMeta()
        self.proc: PtyProcess | None = None
        self.exit: ExitStatus | None = None
        self.failed: str | None = None   # why the terminal stopped parsing this pane's output, if it did
        self._feed_failures = 0
        self.closed = False
        self.bytes_out = 0     # from the program
        self.bytes_in = 0      # to the program
        self._host = host
        self._loop = loop
        self._feeder = feeder
        self._term_lock = threading.Lock()
        self._loop_waiting = 0
        self._pending: deque[bytes] = deque()   # PTY output not yet parsed, in arrival order
        self._pending_size = 0
        self._pending_lock = threading.Lock()
        self._scheduled = False          # queued on the terminal thread; implies pending output
        self._fed_seq = 0                # bumped by every feed, under _term_lock
        self._needs_full_read = False
        self._view_wanted = False
        self._thread_view = False        # _view was read by the terminal thread on request
        self._effects: deque[tuple[TermEffects, str | None, str | None]] = deque()   # with title, pwd
        self._after_feed_queued = False
        self._reading = False
        self._outq = bytearray()
        self._writing = False
        self._eof = False
        self._activity = (-1, 0.0)       # (terminal compression activity, when it last moved)
        self._compressed_at = -1         # the activity value the terminal was last compressed at
        self._idle_mark = (-1, -1)       # (feed count, terminal generation) when the idle clock last started
        self._idle_since = 0.0
        self._view = self._extract()

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        cols, rows = self.vt.size
        self.adopt(self._spawn(self.argv, self.env, self.cwd, cols, rows, self.vt.cell_px))
        log.debug("pane", "started", pane=self.id, pid=self.pid, argv=" ".join(self.argv))

    def adopt(self, proc: PtyProcess) -> None:
        """Run on ``proc``: a child just started, or one that outlived the previous server (kept by the keeper
        or handed over by a restart). Its unread output is still in the PTY and is read from here on."""
        self.proc = proc
        self.exit = proc.status
        self._eof = False
        if proc.pidfd >= 0 and self.exit is None:
            self._loop.add_reader(proc.pidfd, self.reap)
        self._start_reading()

    def respawn(self) -> None:
        if self.proc is not None and self.exit is None:
            raise RuntimeError(f"pane {self.id} is still running")
        self._release_process()
        with self._terminal() as vt:
            # Leave whatever the last program left behind (alternate screen, modes), keep the history. 1049 only
            # when on the alternate screen: otherwise it moves the cursor to the top left.
            vt.feed((b"\x1b[?1049l" if vt.alt_screen() else b"") + b"\x1b[!p\r\n")
            self._fed_seq += 1
        self.start()
        self._host.pane_output(self)

    def close(self) -> None:
        """Stop reading and writing, hang up the child (SIGHUP), keep it for reaping."""
        if self.closed:
            return
        self.closed = True
        if self.proc is not None and self.exit is None:
            self.proc.signal_group(1)   # SIGHUP
        self._stop_io()

    def release(self) -> None:
        """Free the terminal once the pane is gone for good."""
        self._release_process()
        with self._terminal():
            self.released = True
            self.encoder.close()
            self.images.close()
            self.reader.close()
            self.vt.close()

    def _release_process(self) -> None:
        self._stop_io()
        if self.proc is not None:
            self.proc.close()
            self._unwatch_exit()
            self.proc.discard()

    def _unwatch_exit(self) -> None:
        if self.proc is not None and self.proc.pidfd >= 0:
            self._loop.remove_reader(self.proc.pidfd)
            self.proc.close_pidfd()

    def _stop_io(self) -> None:
        if self.proc is not None and self.proc.fd >= 0:
            if self._reading:
                self._loop.remove_reader(self.proc.fd)
                self._reading = False
            if self._writing:
                self._loop.remove_writer(self.proc.fd)
                self._writing = False
        self._outq.clear()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.exit is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def reap(self) -> ExitStatus | None:
        """Collect the child's exit status if it ended; tells the host once."""
        if self.proc is None or self.exit is not None:
            return self.exit
        status = self.proc.reap()
        if status is not None:
            self.exit = status
            self._unwatch_exit()
            log.info("pane", "process ended", pane=self.id, status=status.describe())
            self._host.pane_exited(self)
        return status

    # -- output: PTY -> terminal -------------------------------------------------------------------
    def _start_reading(self) -> None:
        if self.proc is not None and self.proc.fd >= 0 and not self._reading and not self._eof and not self._frozen:
            self._loop.add_reader(self.proc.fd, self._on_readable)
            self._reading = True

    def _pause_reading(self) -> None:
        if self._reading and self.proc is not None:
            self._loop.remove_reader(self.proc.fd)
            self._reading = False

    def _on_readable(self) -> None:
        """Read what the PTY holds, one read per wake-up (see the module's docstring), and ingest it."""
        assert self.proc is not None
        try:
            data = os.read(self.proc.fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno != errno.EIO:
                log.warning("pty", "read failed", pane=self.id, error=e.strerror)
            data = b""
        if not data:
            self._on_eof()
            return
        self.bytes_out += len(data)
        log.debug("pty", "read", pane=self.id, bytes=len(data))
        self._ingest(data)

    def _on_eof(self) -> None:
        self._eof = True
        self._pause_reading()
        self.reap()

    def _ingest(self, data: bytes) -> None:
        if self.failed is not None:
            return
        with self._pending_lock:
            idle = not self._scheduled
            if not (idle and len(data) <= INLINE_FEED_MAX):
                self._pending.append(data)
                self._pending_size += len(data)
                if self._pending_size > PAUSE_READING_AT:
                    self._pause_reading()
                if idle:
                    self._scheduled = True
                    self._feeder.submit(self)
                return
        if not self._term_lock.acquire(blocking=False):
            with self._pending_lock:
                self._pending.append(data)
                self._pending_size += len(data)
                self._scheduled = True
            self._feeder.submit(self)
            return
        try:
            self._feed_guarded(data)
        finally:
            self._term_lock.release()
        self._after_feed()

    def _take_pending(self, limit: int) -> bytes:
        """Up to about ``limit`` bytes of pending output (caller holds _pending_lock)."""
        parts: list[bytes] = []
        size = 0
        pending = self._pending
        while pending and size < limit:
            chunk = pending.popleft()
            if size + len(chunk) > limit and parts:
                pending.appendleft(chunk)
                break
            parts.append(chunk)
            size += len(chunk)
        self._pending_size -= size
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def feed_step(self, limit: int) -> bool:
        """Terminal thread: parse one chunk of pending output."""
        with self._pending_lock:
            if not self._pending:
                self._scheduled = False
                # A view asked for after this thread's last chunk: nobody would read it, so wake the loop,
                # which reads it itself now that the thread is idle (view() set the flag under this lock).
                if self._view_wanted:
                    self._view_wanted = False
                    self._queue_after_feed()
                return False
            data = self._take_pending(limit)
            resume = not self._reading and self._pending_size < RESUME_READING_AT
        with self._term_lock:
            self._feed_guarded(data)
            if self._view_wanted and self.failed is None:
                self._view_wanted = False
                self._view = self._extract()
                self._thread_view = True
        self._queue_after_feed()
        if resume:
            self._loop.call_soon_threadsafe(self._maybe_resume_reading)
        while self._loop_waiting:   # let the event loop take the terminal between chunks
            time.sleep(0.0001)
        return True

    def feed_crashed(self, error: BaseException) -> None:
        """Terminal thread: ``feed_step`` raised outside the parse itself (reading the view, say). The pane
        is marked failed and taken off the thread for good, so it cannot wedge itself half-scheduled."""
        log.error("term", "terminal thread failed on a pane", pane=self.id, error=repr(error)[:200])
        with self._pending_lock:
            self.failed = self.failed or f"terminal failed: {error.__class__.__name__}"
            self._pending.clear()
            self._pending_size = 0
            self._scheduled = False
            self._view_wanted = False
        self._queue_after_feed()

    def _queue_after_feed(self) -> None:
        """Terminal thread: have the loop run ``_after_feed`` once, however many feeds come before it runs."""
        if not self._after_feed_queued:
            self._after_feed_queued = True
            self._loop.call_soon_threadsafe(self._after_feed)

    def _maybe_resume_reading(self) -> None:
        with self._pending_lock:
            low = self._pending_size < RESUME_READING_AT
        if low and not self.closed:
            self._start_reading()

    def _feed_guarded(self, data: bytes) -> None:
        """Parse output (caller holds the terminal lock, on either thread). A failure is logged with the
        pane's id and the chunk dropped; after a few in a row the pane is marked failed and stops
        parsing (its program and the other panes carry on)."""
        if self.failed is not None:
            return
        try:
            self._feed_locked(data)
        except Exception as e:
            self._feed_failures += 1
            log.error("term", "parsing a pane's output failed", pane=self.id, error=repr(e)[:200],
                      failures=self._feed_failures)
            if self._feed_failures >= MAX_FEED_FAILURES:
                self.failed = f"terminal failed: {e.__class__.__name__}"
                self._needs_full_read = True
            return
        self._feed_failures = 0

    def _feed_locked(self, data: bytes) -> None:
        self.vt.feed(data)
        self._fed_seq += 1
        effects = self.vt.take_effects()
        if effects:
            # Read here, under the lock; PaneMeta itself is only written on the loop (``_apply``).
            title = self.vt.title if effects.title_changed else None
            pwd = self.vt.pwd if effects.pwd_changed else None
            self._effects.append((effects, title, pwd))

    def _after_feed(self) -> None:
        """Loop thread, after one or more feeds: apply effects, tell the host."""
        self._after_feed_queued = False
        while self._effects:
            self._apply(*self._effects.popleft())
        if self.failed is not None and self._reading:
            self._pause_reading()           # nothing parses it any more: leave it in the PTY
        if not self.closed:
            self._host.pane_output(self)

    def _apply(self, fx: TermEffects, title: str | None, pwd: str | None) -> None:
        meta = self.meta
        if title is not None:
            meta.title = title
        if pwd is not None:
            meta.pwd = pwd
        for reply in fx.replies:
            self._queue_input(reply)
        if fx.bells:
            meta.bells += fx.bells
        for note_title, body in fx.notifications:
            meta.event_seq += 1
            meta.events.append(PaneEvent(meta.event_seq, "notify", note_title, body))
        for location, text in fx.clipboard:
            meta.event_seq += 1
            meta.events.append(PaneEvent(meta.event_seq, "clip", location, text))
            log.debug("clipboard", "program wrote clipboard", pane=self.id, chars=len(text))
        if fx.progress is not None:
            state, pct = fx.progress
            meta.progress = None if state == 0 else (state, max(0, min(100, pct)))
        if fx.render_hold is not None:
            meta.render_hold_since = time.monotonic() if fx.render_hold else None
        for message, over_limit in fx.image_refusals:
            if over_limit:
                log.warning("images", "image refused", pane=self.id, reply=message,
                            limit=self.vt.image_config.storage_per_screen)
            else:
                log.debug("images", "image command failed", pane=self.id, reply=message)

    def render_held(self) -> bool:
        """Whether the program asked to hold rendering (DEC 2026) within the last 100 ms."""
        since = self.meta.render_hold_since
        return since is not None and time.monotonic() - since < RENDER_HOLD_TIMEOUT

    # -- the published screen ----------------------------------------------------------------------
    def view(self) -> PaneView | None:
        """The current view, or None while the terminal thread is busy with this pane.

        While the thread is busy it reads a fresh view after its current chunk when asked, and the host
        hears about it (``pane_output``); that view is returned once even if the thread has parsed more
        since, because more output means another ``pane_output`` follows. Once the thread is idle, the view
        is always read up to date: the last frame of a burst is never a stale one.
        """
        view = self._view
        if view.seq == self._fed_seq or self.failed is not None:
            return view
        with self._pending_lock:
            busy = self._scheduled
            if busy and not self._thread_view:
                self._view_wanted = True
        if busy:
            if self._thread_view:
                self._thread_view = False
                return self._view        # the one the thread published, not the one read above
            return None
        with self._terminal():
            self._view = self._extract()
        return self._view

    def invalidate_view(self) -> None:
        """Forget the published view: the next one is read in full (the style table started a new epoch).
        The caller holds the terminal lock."""
        self._needs_full_read = True
        self._thread_view = False
        self._fed_seq += 1

    def latest_view(self) -> PaneView:
        """The last view read, possibly a little behind the terminal (for listings and mode checks)."""
        return self._view

    def _extract(self) -> PaneView:
        """Read the terminal into a new view (caller holds the terminal lock, or is constructing)."""
        full = self._needs_full_read
        self._needs_full_read = False
        return read_view(self.vt, self.reader, getattr(self, "_view", None), self._fed_seq, full, self.images)

    def compress_if_idle(self, now: float) -> bool:
        """Compress the terminal once it has been idle for a while (called periodically by the session)."""
        with self._pending_lock:
            if self._scheduled or self.closed:
                return False
        with self._terminal() as vt:
            if vt.hibernated:
                return False
            activity = vt.compression_activity()
            if activity != self._activity[0]:
                self._activity = (activity, now)
                return False
            if now - self._activity[1] < COMPRESS_AFTER_IDLE or activity == self._compressed_at:
                return False
            vt.compress()
            self._compressed_at = vt.compression_activity()
            self._activity = (self._compressed_at, now)
        log.debug("pane", "idle terminal compressed", pane=self.id)
        return True

    def hibernation_due(self, now: float, after: float) -> bool:
        """Whether the terminal has had no output and no use for ``after`` seconds (cheap; on the loop)."""
        vt = self.vt
        if after <= 0 or self.closed or vt.hibernated or vt.images_possible:
            return False
        mark = (self._fed_seq, vt.generation)
        if mark != self._idle_mark:
            self._idle_mark, self._idle_since = mark, now
            return False
        return now - self._idle_since >= after

    def hibernate(self) -> int | None:
        """Put the idle terminal to sleep (``VTerm.hibernate``); the bytes it keeps, or None when it got output
        meanwhile or cannot sleep. Runs on a worker thread: encoding a long history takes tens of ms."""
        with self._pending_lock:
            if self._scheduled or self.closed:
                return None
        with self._term_lock:   # plainly, as ``snapshot_from_thread``: the waiting counter is the loop's
            vt = self.vt
            if self.released or vt.hibernated or (self._fed_seq, vt.generation) != self._idle_mark:
                return None
            try:
                kept = vt.hibernate()
            except SnapshotError as e:
                log.debug("pane", "terminal stays awake", pane=self.id, reason=str(e))
                return None
            self.reader.forget()
        return kept

    # -- terminal access from the loop -------------------------------------------------------------
    def locked_terminal(self) -> AbstractContextManager[VTerm]:
        """Hold this pane's terminal (for session-wide operations such as a style-table reset)."""
        return self._terminal()

    @contextmanager
    def _terminal(self) -> Iterator[VTerm]:
        self._loop_waiting += 1
        try:
            self._term_lock.acquire()
        finally:
            self._loop_waiting -= 1
        try:
            yield self.vt
        finally:
            self._term_lock.release()

    def capture(self, scrollback: bool = False, ansi: bool = False) -> str:
        """The screen as text (``tmux capture-pane -p``), or with ``ansi`` as the page shows it, in SGR."""
        with self._terminal() as vt:
            if not ansi:
                return vt.capture(scrollback=scrollback)
            styles = StyleTable()
            rows = self.reader.screen_rows(scrollback, styles)
            self._needs_full_read = True
            return strip_placeholders(styled_text(rows, vt.size[0], styles))

    def screen_rows(self, top: int, count: int) -> list[Row]:
        """Up to ``count`` rows of the whole screen (history + active) from absolute row ``top``, read for their
        text: their styles go to a table of their own, so reading them never grows the one the clients share."""
        with self._terminal():
            try:
                return self.reader.history_rows(top, count, StyleTable())
            finally:
                self._needs_full_read = True

    def history(self, top: int, count: int) -> tuple[int, list[Row]]:
        """Rows of the whole screen (history + active) from absolute row ``top``: (top actually used, rows).

        Moves the viewport there and back under the lock; the next view is then read in full, since
        moving the viewport marks every row dirty.
        """
        top, got, _images = self._history(top, count, with_images=False)
        return top, got

    def history_view(self, top: int, count: int) -> tuple[int, list[Row], PaneImages | None]:
        """``history``, with the kitty graphics placed on those rows (read at the same viewport)."""
        return self._history(top, count, with_images=True)

    def _history(self, top: int, count: int, with_images: bool) -> tuple[int, list[Row], PaneImages | None]:
        with self._terminal() as vt:
            try:
                return read_history(vt, self.reader, top, count, self.images if with_images else None)
            finally:
                self._needs_full_read = True

    def search(self, query: str, *, case_sensitive: bool = False, limit: int = term_search.DEFAULT_LIMIT,
               start: tuple[int, int] | None = None, backward: bool = True) -> term_search.SearchResult:
        """Find text in the whole history and screen; see ``term.search.search``. Rows are ``history``'s."""
        with self._terminal() as vt:
            return term_search.search(vt, query, case_sensitive=case_sensitive, limit=limit, start=start,
                                      backward=backward)

    def rows_around(self, row: int, count: int) -> tuple[int, list[Row]]:
        """Up to ``count`` rows (at most a screenful) around absolute row ``row``, to show a match: (top, rows).

        ``row`` is in the middle unless the top or the bottom of the screen is nearer.
        """
        _cols, screen_rows = self.size
        count = max(1, min(count, screen_rows))
        top, rows = self.history(max(0, row - count // 2), screen_rows)
        first = max(0, min(row - count // 2 - top, len(rows) - count))
        return top + first, rows[first:first + count]

    def resize(self, cols: int, rows: int) -> bool:
        """Resize the PTY (TIOCSWINSZ) and reflow the terminal; False when the size did not change."""
        cols, rows = clamp_size(cols, rows)
        with self._terminal() as vt:
            if vt.size == (cols, rows):
                return False
            vt.resize(cols, rows)
            self._fed_seq += 1
        if self.proc is not None and self.proc.fd >= 0:
            try:
                self.proc.resize(cols, rows, self.vt.cell_px)
            except OSError as e:
                log.warning("pty", "resize failed", pane=self.id, error=e.strerror)
        log.debug("pane", "resized", pane=self.id, cols=cols, rows=rows)
        self._host.pane_output(self)
        return True

    @property
    def size(self) -> tuple[int, int]:
        with self._terminal() as vt:
            return vt.size

    def image_counts(self) -> dict[str, int]:
        """Kitty graphics in the pane: images with a placement, placements, decoded bytes (as of the latest
        view, read now unless the terminal thread is busy with the pane)."""
        images = (self.view() or self._view).images
        if images is None:
            return {"images": 0, "image_placements": 0, "image_bytes": 0}
        return {"images": images.placed_images, "image_placements": images.placements_total,
                "image_bytes": images.placed_bytes}

    def set_image_storage(self, per_screen: int) -> None:
        """The pane's new share of the image budget (lowering it evicts its oldest images)."""
        with self._terminal() as vt:
            vt.set_image_storage(per_screen)

    # -- input: browser/CLI -> program ---------------------------------------------------------------
    def _encode(self, fn: Callable[[InputEncoder], bytes]) -> bytes:
        with self._terminal():
            return fn(self.encoder)

    def send_key(self, ev: KeyEvent) -> int:
        return self.write(self._encode(lambda enc: enc.key(ev)))

    def send_text(self, text: str) -> int:
        return self.write(self._encode(lambda enc: enc.text(text)))

    def send_paste(self, text: str) -> int:
        return self.write(self._encode(lambda enc: enc.paste(text)))

    def send_focus(self, gained: bool) -> int:
        return self.write(self._encode(lambda enc: enc.focus(gained)))

    def send_mouse(self, ev: MouseEvent) -> int:
        return self.write(self._encode(lambda enc: enc.mouse(ev)))

    def send_wheel(self, ev: WheelEvent) -> int:
        return self.write(self._encode(lambda enc: enc.wheel(ev)))

    def write(self, data: bytes) -> int:
        """Queue bytes for the program without blocking; returns how many were queued."""
        if not data:
            return 0
        if self._moved:
            raise PaneDead(f"pane {self.id} has just moved to the restarted server; try again")
        if not self.alive or self.closed:
            raise PaneDead(f"pane {self.id} is not running")
        if len(self._outq) + len(data) > MAX_INPUT_QUEUE:
            raise InputFull(f"pane {self.id}: {len(self._outq)} bytes of input are still waiting for the program")
        self._queue_input(data)
        log.debug("input", "queued", pane=self.id, bytes=len(data))
        return len(data)

    def _queue_input(self, data: bytes) -> None:
        if self.proc is None or self.proc.fd < 0:
            return
        self._outq += data
        self.bytes_in += len(data)
        self._flush_input()

    def _flush_input(self) -> None:
        assert self.proc is not None
        if self._frozen:
            return
        while self._outq:
            try:
                n = os.write(self.proc.fd, self._outq[:READ_SIZE])
            except BlockingIOError:
                break
            except OSError as e:
                log.warning("pty", "write failed", pane=self.id, error=e.strerror)
                self._outq.clear()
                break
            del self._outq[:n]
        if self._outq and not self._writing:
            self._loop.add_writer(self.proc.fd, self._flush_input)
            self._writing = True
        elif not self._outq and self._writing:
            self._loop.remove_writer(self.proc.fd)
            self._writing = False

    def input_pending(self) -> int:
        return len(self._outq)

    # -- carrying a pane over to another server (persist.handoff) and saving it (persist.saver) ----------
    @property
    def content_seq(self) -> int:
        """Moves whenever the terminal may have changed (output, resize): a snapshot taken at an equal value
        is still current."""
        return self._fed_seq

    def freeze(self) -> None:
        """Stop reading and writing the PTY: what the program prints from now on waits in the PTY, input
        waits in the queue (``hand_over_input``). ``thaw`` undoes it."""
        self._frozen = True
        self._pause_reading()
        if self._writing and self.proc is not None:
            self._loop.remove_writer(self.proc.fd)
            self._writing = False

    def thaw(self) -> None:
        self._frozen = False
        if not self.closed:
            self._start_reading()
            if self._outq and self.proc is not None and self.proc.fd >= 0:
                self._flush_input()

    def parse_pending(self) -> bool:
        """Whether output read from the PTY is still waiting for the terminal thread."""
        with self._pending_lock:
            return self._scheduled

    def apply_effects(self) -> None:
        """Apply what parsing produced (replies to queries go into the input queue) without waiting for the loop
        to get to it."""
        if self._effects:
            self._after_feed()

    def hand_over_input(self) -> bytes:
        """The input not yet written to the program, for the next server to write; from now on this pane
        refuses input (it belongs to the next server)."""
        self._moved = True
        data = bytes(self._outq)
        self._outq.clear()
        return data

    def snapshot(self) -> bytes:
        """The terminal's exact state (loop thread)."""
        with self._terminal() as vt:
            return vt.snapshot()

    def snapshot_from_thread(self) -> tuple[bytes, int, int] | None:
        """From a thread other than the loop: (snapshot, content_seq, history rows), None once released.
        Takes the terminal lock plainly: the loop's waiting counter is the loop's alone."""
        with self._term_lock:
            if self.released:
                return None
            return self.vt.snapshot(), self._fed_seq, self.vt.scrollback_rows()
