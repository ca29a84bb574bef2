"""Retention: keep the store within an age and a size, dropping the oldest raw readings first.

Every drop is counted (persistent counters ``dropped.retention_age`` and
``dropped.retention_size``) and recorded as an event, so that nothing disappears silently.
Readings are dropped by row id order, which is commit order: oldest data goes first.
"""

from __future__ import annotations

from dataclasses import dataclass

from .database import Store

_US = 1_000_000


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

    @property
    def total(self) -> int:
        """Readings dropped by this pass."""
        return self.by_age + self.by_size


def _delete_through(store: Store, last_row: int, synced_row: int | None) -> tuple[int, int]:
    unsynced = 0
    with store.transaction() as conn:
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
        while True:
            head = conn.execute(
                "SELECT id, t FROM readings ORDER BY id LIMIT ?", (policy.chunk,)
            ).fetchall()
            old = 0
            for _, t in head:
                if t >= cutoff:
                    break
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
