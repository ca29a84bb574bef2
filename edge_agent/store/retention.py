"""Retention: keep the store within an age and a size, dropping the oldest raw readings first.

Every drop is counted (persistent counters ``dropped.retention_age``,
``dropped.retention_size`` and ``dropped.retention_disk_full``) and recorded as an event, so
that nothing disappears silently. Readings are dropped by row id order, which is commit order:
oldest data goes first.

A full disk is the third limit (:func:`make_room`): when a commit fails because the file system
is full, the writer releases the store's reserve file, drops the oldest ``chunk`` readings in
one transaction with their counter and event, and checkpoints the WAL, so that new readings are
stored in the pages the oldest held. The WAL file keeps its size (it is reused from its start
after each checkpoint) and, while the disk stays full, the writer drops the next chunk before
the database's free pages run out (:class:`~edge_agent.store.BatchWriter`): the store then
lives within the blocks it already holds, whatever else fills the disk. Once the disk has room
again nothing more is dropped, and the writer makes the reserve file anew.

Flagged readings of clock segments that wait for the clock's synchronisation
(:mod:`edge_agent.store.clocksync`) carry a time that is not known yet; retention by age stops
at them until they are corrected.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from ..readings import Quality
from .clocksync import pending_ranges
from .database import Store

_US = 1_000_000
_UNSYNCED = int(Quality.CLOCK_UNSYNCED)


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Limits of the store.

    Attributes:
        max_age: readings older than this many seconds are dropped; None keeps them.
        max_bytes: the database's used pages are kept at or below this many bytes; None: no cap.
        chunk: rows deleted per transaction, so the writer never stalls for long.
    """

    max_age: float | None = None
    max_bytes: int | None = None
    chunk: int = 5000


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """What one retention pass dropped; ``unsynced`` counts drops not yet sent to the region."""

    by_age: int = 0
    by_size: int = 0
    unsynced: int = 0
    by_disk_full: int = 0

    @property
    def total(self) -> int:
        """Readings dropped by this pass."""
        return self.by_age + self.by_size + self.by_disk_full


def _delete_through(store: Store, last_row: int, synced_row: int | None) -> tuple[int, int]:
    with store.transaction() as conn:
        return _delete_rows(conn, last_row, synced_row)


def _delete_rows(
    conn: sqlite3.Connection, last_row: int, synced_row: int | None
) -> tuple[int, int]:
    """Delete readings up to ``last_row`` inside the caller's transaction.

    Returns (readings deleted, of them not yet acknowledged by the region after ``synced_row``).
    """
    unsynced = 0
    if synced_row is not None:
        unsynced = conn.execute(
            "SELECT count(*) FROM readings WHERE id > ? AND id <= ?", (synced_row, last_row)
        ).fetchone()[0]
    deleted = conn.execute("DELETE FROM readings WHERE id <= ?", (last_row,)).rowcount
    # Remember the highest id ever used, so that ids are not reused if this emptied the table.
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('row_floor', ?) ON CONFLICT (key) "
        "DO UPDATE SET value = max(value, excluded.value)",
        (last_row,),
    )
    return deleted, unsynced


def apply_retention(
    store: Store, policy: RetentionPolicy, *, now: float, synced_row: int | None = None
) -> RetentionResult:
    """Drop what ``policy`` says must go; ``synced_row`` is the uplink's acknowledged row id
    (None when no uplink is configured, so no drop counts as unsynced)."""
    conn = store.connection
    by_age = by_size = unsynced = 0
    if policy.max_age is not None:
        cutoff = int((now - policy.max_age) * _US)
        waiting = pending_ranges(store)
        while True:
            head = conn.execute(
                "SELECT id, t, quality FROM readings ORDER BY id LIMIT ?", (policy.chunk,)
            ).fetchall()
            old = 0
            for row, t, quality in head:
                if t >= cutoff:
                    break
                if quality & _UNSYNCED and any(a <= row <= b for a, b in waiting):
                    break  # its true time comes with the clock's synchronisation
                old += 1
            if old == 0:
                break
            deleted, lost = _delete_through(store, head[old - 1][0], synced_row)
            by_age += deleted
            unsynced += lost
            if old < len(head):
                break
    if policy.max_bytes is not None:
        while store.size_bytes() > policy.max_bytes:
            head = conn.execute(
                "SELECT id FROM readings ORDER BY id LIMIT 1 OFFSET ?", (policy.chunk - 1,)
            ).fetchone()
            if head is None:
                head = conn.execute("SELECT max(id) FROM readings").fetchone()
                if head[0] is None:
                    break
            deleted, lost = _delete_through(store, head[0], synced_row)
            by_size += deleted
            unsynced += lost
            if deleted == 0:
                break
    result = RetentionResult(by_age=by_age, by_size=by_size, unsynced=unsynced)
    if by_age:
        store.add_counter("dropped.retention_age", by_age)
    if by_size:
        store.add_counter("dropped.retention_size", by_size)
    if unsynced:
        store.add_counter("dropped.unsynced", unsynced)
    if result.total:
        store.record_event(
            "retention",
            f"dropped {result.total} oldest readings ({by_age} past max age, {by_size} over "
            f"max size; {unsynced} of them not yet synced)",
            severity="warning" if unsynced else "info",
            data={"by_age": by_age, "by_size": by_size, "unsynced": unsynced},
            at=now,
        )
    return result


def make_room(
    store: Store, policy: RetentionPolicy, *, now: float, synced_row: int | None = None
) -> RetentionResult:
    """The disk is full: drop the oldest ``policy.chunk`` readings to make room for new ones.

    Releases the reserve file first, so that the deletion and the WAL checkpoint have space to
    work in; counts the drop (``dropped.retention_disk_full``, and ``dropped.unsynced`` for
    readings the region has not acknowledged) and records a ``retention`` event, all in one
    transaction. Returns what was dropped (nothing when the store holds no readings, or when
    even the deletion finds no room: the caller keeps its readings in memory and tries again).
    """
    released = store.release_reserve()
    conn = store.connection
    # A checkpoint may complete now that the reserve is gone. RESTART, not TRUNCATE: the WAL
    # keeps its blocks, and the next transactions write over it from its start.
    store.checkpoint("RESTART")
    head = conn.execute(
        "SELECT id FROM readings ORDER BY id LIMIT 1 OFFSET ?", (policy.chunk - 1,)
    ).fetchone()
    if head is None:
        head = conn.execute("SELECT max(id) FROM readings").fetchone()
    if head is None or head[0] is None:
        return RetentionResult()
    last_row = int(head[0])
    try:
        with store.transaction():
            deleted, unsynced = _delete_rows(conn, last_row, synced_row)
            counters = [("dropped.retention_disk_full", deleted)]
            if unsynced:
                counters.append(("dropped.unsynced", unsynced))
            for name, amount in counters:
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
                    (f"counter.{name}", amount),
                )
            conn.execute(
                "INSERT INTO events (t, kind, severity, message, data) VALUES (?, ?, ?, ?, ?)",
                (
                    int(now * _US),
                    "retention",
                    "warning",
                    f"disk full: dropped {deleted} oldest readings to store new ones "
                    f"({unsynced} of them not yet synced); free space on {store.data_dir}",
                    json.dumps(
                        {"disk_full": deleted, "unsynced": unsynced, "reserve_released": released},
                        sort_keys=True,
                    ),
                ),
            )
    except sqlite3.Error:
        return RetentionResult()
    store.checkpoint("RESTART")
    return RetentionResult(unsynced=unsynced, by_disk_full=deleted)
