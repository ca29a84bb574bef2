"""The batch writer: one thread that owns the store's write connection.

Readings arrive from the event loop through :meth:`BatchWriter.add`, which only appends to a
list; the thread commits them when ``flush_count`` are pending or ``flush_interval`` seconds
have passed since the oldest pending one, whichever comes first. Few, large transactions spare
the SD card and keep the event loop free of disk work. Other work on the database (events,
retention) goes through :meth:`BatchWriter.call` so that one thread does all writing.

When a commit fails because the disk is full, the writer asks ``on_full`` to make room (the
agent drops the oldest readings, :func:`~edge_agent.store.retention.make_room`) and tries
again at once; otherwise it keeps the batch in memory and retries with backoff. Until the disk
has room for the reserve file again, the writer asks ``on_full`` once more whenever the
database file runs low on free pages, so that the store never needs a block the disk lacks.
Readings it had to drop because its memory bound was reached are counted in
``dropped.writer_overflow`` as soon as a commit succeeds again.

When SQLite says the database is damaged (``SQLITE_CORRUPT``, ``SQLITE_NOTADB``) while the
writer commits, reads for a call, corrects or keeps counters, the writer sets the file aside and
continues on a fresh database, with the ``store_replaced`` alert, exactly as a start on a
damaged file does (:func:`~edge_agent.store.recovery.replace_damaged`): the batch it holds is
committed there, a call is run again there. If even that fails, it keeps the readings in memory
and tries to open the store again with backoff. With a
:class:`~edge_agent.store.clocksync.ClockWatch`, each batch records which of its rows were taken
before the clock was synchronised, and the writer corrects their times once it is (and, with
the watch's hold limit, releases to the uplink what waited too long for that).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any, Final, TypeVar

from ..errors import StoreCorruptError, StoreError, StoreFullError
from ..readings import Reading
from .clocksync import ClockWatch
from .database import Store, damage_of
from .recovery import replace_damaged

T = TypeVar("T")

CommitHook = Callable[[int, int], None]
"""Called in the writer thread after each commit with (last row id, readings committed)."""

FullHook = Callable[[Store], int]
"""Called in the writer thread when the disk is full; returns how many readings it dropped."""

RESERVE_RETRY: Final = 10.0
"""Seconds between two attempts to make the reserve file anew after the disk was full."""

LOW_FREE_PAGES: Final = 16
"""While the disk is full, room is made before fewer free pages than this are left in the
database file (a batch of 1000 readings of one stream takes about 14 pages of 4 kB; dropping
5000 readings frees about 60)."""


class BatchWriter:
    """Commits readings in batches from a dedicated thread.

    Args:
        open_store: makes the :class:`Store` (called in :meth:`start`).
        flush_count: commit once this many readings are pending.
        flush_interval: commit at the latest this many seconds after a reading arrived.
        max_pending: readings held in memory at most while the disk is slow or failing; more
            are dropped and counted in :attr:`dropped` (and the persistent counter
            ``dropped.writer_overflow``).
        on_commit: see :data:`CommitHook`.
        on_full: see :data:`FullHook`.
        clock_watch: records and corrects readings taken before the clock's synchronisation.
    """

    def __init__(
        self,
        open_store: Callable[[], Store],
        *,
        flush_count: int = 1000,
        flush_interval: float = 1.0,
        max_pending: int = 200_000,
        on_commit: CommitHook | None = None,
        on_full: FullHook | None = None,
        clock_watch: ClockWatch | None = None,
        logger: logging.Logger,
    ) -> None:
        self._open_store = open_store
        self.flush_count = flush_count
        self.flush_interval = flush_interval
        self.max_pending = max_pending
        self._on_commit = on_commit
        self._on_full = on_full
        self._clock_watch = clock_watch
        self._dropped_counted = 0
        self._reserve_retry_at: float | None = None
        self._log = logger
        self._cond = threading.Condition()
        self._pending: list[Reading] = []
        self._oldest_pending = 0.0
        self._calls: list[tuple[Callable[[Store], Any], Future[Any]]] = []
        self._stopping = False
        self._flush_requested = False
        self._thread: threading.Thread | None = None
        self._store: Store | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self.committed = 0
        self.last_row = 0
        self.dropped = 0
        self.write_errors = 0
        self.replaced = 0
        """Databases found damaged while in use and replaced by a fresh one."""
        self.last_error: str | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Open the store in the writer thread and start committing; raises if it cannot open."""
        self._thread = threading.Thread(target=self._main, name="store-writer", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._start_error is not None:
            raise self._start_error

    def stop(self) -> None:
        """Commit everything pending, close the store and end the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()

    @property
    def pending(self) -> int:
        """Readings waiting to be committed."""
        return len(self._pending)

    # -- from the event loop ---------------------------------------------------------------

    def add(self, readings: Iterable[Reading]) -> None:
        """Queue readings for the next commit; never blocks on disk."""
        batch = list(readings)
        with self._cond:
            room = self.max_pending - len(self._pending)
            if room < len(batch):
                lost = len(batch) - max(room, 0)
                self.dropped += lost
                batch = batch[: max(room, 0)]
                self._log.warning(
                    "store writer is %d readings behind; dropped %d newest", self.max_pending, lost
                )
            was_empty = not self._pending
            if was_empty:
                self._oldest_pending = time.monotonic()
            self._pending.extend(batch)
            # Wake the thread when its deadline changes (first reading) or the batch is full.
            if was_empty or len(self._pending) >= self.flush_count:
                self._cond.notify()

    def call(self, fn: Callable[[Store], T]) -> Future[T]:
        """Run ``fn(store)`` in the writer thread after the pending readings are committed."""
        future: Future[T] = Future()
        with self._cond:
            self._calls.append((fn, future))
            self._cond.notify()
        return future

    def wake(self) -> None:
        """Let the thread look for work it was not told about (a clock correction that is due)."""
        with self._cond:
            self._cond.notify()

    def check_rows(self, after: int, limit: int = 2000) -> Future[bool]:
        """Read the readings after row ``after`` from the file, as the writer (another reader,
        such as the uplink, found them damaged); if the writer finds the damage too, the store
        is replaced as for damage it meets itself. The result says whether it was."""
        replaced = self.replaced

        def read(store: Store) -> bool:
            store.connection.execute("PRAGMA shrink_memory")  # read the file, not the cache
            store.after(after, limit=limit)
            return self.replaced > replaced

        return self.call(read)

    def flush(self, timeout: float | None = None) -> int:
        """Commit what is pending now and return the last committed row id (blocking)."""
        return self.call(lambda store: self.last_row).result(timeout)

    # -- the thread ------------------------------------------------------------------------

    def _main(self) -> None:
        try:
            self._store = self._open_store()
            self.last_row = self._store.last_row()
            self._store.ensure_reserve()
        except BaseException as exc:
            self._start_error = exc
            self._ready.set()
            return
        self._ready.set()
        failures = 0
        try:
            while True:
                with self._cond:
                    while not self._due():
                        self._cond.wait(self._wait_time())
                    batch, self._pending = self._pending, []
                    calls, self._calls = self._calls, []
                    stopping = self._stopping
                if self._store is None:
                    self._reopen()
                if self._store is None or (batch and not self._commit(batch)):
                    failures += 1
                    if stopping and failures >= 3:
                        if batch:
                            self._log.error(
                                "giving up on %d readings that could not be committed at shutdown",
                                len(batch),
                            )
                            self.dropped += len(batch)
                            batch = []
                        if self._store is None:
                            for _, future in calls:
                                if future.set_running_or_notify_cancel():
                                    future.set_exception(StoreError(self.last_error or "no store"))
                            break
                    else:
                        with self._cond:  # put the batch back in front, within the memory bound
                            self._pending[:0] = batch[: self.max_pending]
                            self._oldest_pending = time.monotonic()
                            self._calls[:0] = calls
                        time.sleep(min(0.25 * 2**failures, 30.0))
                        continue
                failures = 0
                if batch:
                    self._after_commit()
                if self._clock_watch is not None:
                    self._follow_clock(self._clock_watch)
                for fn, future in calls:
                    if future.set_running_or_notify_cancel():
                        try:
                            future.set_result(self._call(fn))
                        except BaseException as exc:
                            future.set_exception(exc)
                if stopping:
                    with self._cond:
                        if not self._pending and not self._calls:
                            break
        finally:
            if self._store is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._store.close()

    def _due(self) -> bool:
        if self._stopping or self._calls or len(self._pending) >= self.flush_count:
            return True
        watch = self._clock_watch
        if watch is not None and (watch.correction_due() or watch.release_in() == 0):
            return True
        return bool(self._pending) and (
            time.monotonic() - self._oldest_pending >= self.flush_interval
        )

    def _wait_time(self) -> float | None:
        """Seconds until the oldest pending reading or the clock watch's next look is due."""
        waits = []
        if self._pending:
            waits.append(self._oldest_pending + self.flush_interval - time.monotonic())
        release_in = None if self._clock_watch is None else self._clock_watch.release_in()
        if release_in is not None:
            waits.append(release_in)
        return max(0.0, min(waits)) if waits else None

    def _follow_clock(self, watch: ClockWatch) -> None:
        """Correct the readings taken before the clock's synchronisation once it is; release
        the held-back ones that reached the hold limit to the uplink."""
        if watch.correction_due() and self._store is not None:
            try:
                result = watch.correct(self._store)
            except (StoreError, sqlite3.Error) as exc:
                if not self._recovered(exc):
                    self._log.error("cannot correct the times of readings: %s", exc)
            else:
                if result is not None and result.corrected:
                    self._log.info(
                        "clock synchronised: moved %d readings taken before it by %+.3f to %+.3f s",
                        result.corrected,
                        result.shift_min,
                        result.shift_max,
                    )
        if watch.release_in() == 0 and self._store is not None:
            try:
                releases = watch.release(self._store)
            except (StoreError, sqlite3.Error) as exc:
                if not self._recovered(exc):
                    self._log.error("cannot release held-back readings to the uplink: %s", exc)
            else:
                for release in releases:
                    if release.readings:
                        self._log.warning(
                            "the uplink sends %d readings taken before the clock was "
                            "synchronised with their unsynchronised times (%s)",
                            release.readings,
                            release.reason,
                        )

    def _commit(self, batch: list[Reading]) -> bool:
        watch = self._clock_watch
        made_room = recovered = False
        while self._store is not None:
            store = self._store
            spans = watch.spans(batch) if watch is not None else None
            try:
                last = store.write(batch, also=None if spans is None else spans.record)
            except StoreError as exc:
                self.write_errors += 1
                self.last_error = str(exc)
                if not recovered and isinstance(exc, StoreCorruptError):
                    recovered = True
                    if self._recovered(exc):
                        continue  # the same batch, into the fresh database
                    return False
                if not made_room and isinstance(exc, StoreFullError):
                    made_room = True
                    if self._make_room(store):
                        continue
                self._log.error("%s; keeping them in memory and retrying", exc)
                return False
            break
        else:
            return False
        if watch is not None and spans is not None:
            watch.consumed(spans)
        self.committed += len(batch)
        self.last_row = last
        if self._on_commit is not None:
            self._on_commit(last, len(batch))
        return True

    def _call(self, fn: Callable[[Store], T]) -> T:
        """``fn(store)``; run again on the fresh database if it found the store damaged."""
        if self._store is None:
            raise StoreError(f"the store is not open: {self.last_error}")
        try:
            return fn(self._store)
        except Exception as exc:
            if not self._recovered(exc):
                raise
        assert self._store is not None
        return fn(self._store)

    def _recovered(self, exc: BaseException) -> bool:
        """If ``exc`` says the database is damaged, set it aside and open a fresh one in its
        place (:func:`~edge_agent.store.recovery.replace_damaged`); whether that happened."""
        damage = damage_of(exc)
        store = self._store
        if damage is None or store is None:
            return False
        self._store = None
        self.last_error = f"{store.path} turned out damaged while in use ({damage})"
        try:
            fresh = replace_damaged(store, self.last_error, logger=self._log)
        except (StoreError, sqlite3.Error, OSError) as err:
            self._log.error(
                "%s and cannot be replaced: %s; keeping the readings in memory and retrying",
                self.last_error,
                err,
            )
            return False
        self.replaced += 1
        self._adopt(fresh)
        return True

    def _reopen(self) -> None:
        """Open the store again after a replacement that failed (with backoff, by the loop)."""
        store: Store | None = None
        try:
            store = self._open_store()
            if store.next_row <= self.last_row:  # a fresh file: go on with the numbering
                store.raise_floors(row=self.last_row, event=store.events_seen)
        except (StoreError, sqlite3.Error, OSError) as exc:
            if store is not None:
                with contextlib.suppress(sqlite3.Error):
                    store.close()
            self.last_error = str(exc)
            self._log.error("cannot open the store again: %s; retrying", exc)
            return
        self._adopt(store)

    def _adopt(self, store: Store) -> None:
        self._store = store
        if self._clock_watch is not None:
            self._clock_watch.forget_rows()  # its segments' rows were in the old file
        store.ensure_reserve()

    def _make_room(self, store: Store) -> bool:
        """Ask ``on_full`` to drop old readings; whether it dropped any."""
        if self._on_full is None:
            return False
        self._reserve_retry_at = time.monotonic() + RESERVE_RETRY
        try:
            return self._on_full(store) > 0
        except (StoreError, sqlite3.Error) as exc:
            self._log.error("the disk is full and no room could be made: %s", exc)
            return False

    def _after_commit(self) -> None:
        """Count overflow drops; while the disk is full, keep free pages in the database file;
        remake the reserve file once the disk has room again."""
        store = self._store
        if store is None:
            return
        try:
            if self.dropped > self._dropped_counted:
                dropped = self.dropped
                store.add_counter("dropped.writer_overflow", dropped - self._dropped_counted)
                self._dropped_counted = dropped
            retry_at = self._reserve_retry_at
            if retry_at is None:
                return
            if time.monotonic() >= retry_at:
                if store.ensure_reserve():
                    self._reserve_retry_at = None
                    self._log.info("the disk has room again; the store's reserve is back")
                    return
                self._reserve_retry_at = time.monotonic() + RESERVE_RETRY
            if self._on_full is not None and store.free_pages() < LOW_FREE_PAGES:
                self._on_full(store)
        except (StoreError, sqlite3.Error) as exc:
            if not self._recovered(exc):
                self._log.warning("cannot update the store's counters: %s", exc)
