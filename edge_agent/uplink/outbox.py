"""Reading the outbox: committed readings and events the region has not acknowledged, cut into
SenML packs in commit order.

The outbox is the store itself: everything above the acknowledged row (``outbox.readings`` in
``meta``, see :meth:`edge_agent.store.Store.outbox_cursor`) and above the acknowledged event
(``outbox.events``). :class:`Outbox` reads through its own read-only connection, so the writer
is never blocked, and queries the ``readings`` table directly rather than through
:meth:`~edge_agent.store.Store.after`: building a :class:`~edge_agent.store.StoredReading` per
row costs about five times the whole rest of the drain (``bench/sync.py``).

Two positions per kind: *sent* (what went to the broker on this connection) and *acked* (the
contiguous prefix the broker acknowledged). A lost connection rewinds *sent* to *acked*; only
*acked* is ever persisted.

Readings taken before the clock was synchronised are held back until the store has corrected
their times: nothing is read from the first row of the oldest clock segment that is still held
(:data:`HELD_FROM`; see "Holding back at the uplink" in :mod:`edge_agent.store.clocksync`),
so the region receives no reading with a time that is about to change, and every stream still
in commit order. The boundary and the readings come from one statement, hence one snapshot of
the database.

When the agent's writer finds the database damaged while it runs, it sets the file aside and
starts a fresh one (:func:`edge_agent.store.recovery.replace_damaged`); this outbox's read-only
connection still reads the old file. Once that has nothing more to give, the outbox raises
:class:`~edge_agent.errors.StoreError`, so that the uplink opens the new file and starts again
from its cursor. Damage the outbox meets first raises
:class:`~edge_agent.errors.StoreCorruptError`; the writer can then look at the same rows
(:meth:`edge_agent.store.BatchWriter.check_rows`) and replace the file.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal

from ..errors import StoreCorruptError, StoreError
from ..store import Store
from ..store.database import is_corruption
from .senml import OutboxRow, PackEncoder

_US: Final = 1_000_000
EVENTS_PER_PACK: Final = 100
HELD_FROM: Final = (
    "(SELECT coalesce(min(first_row), 9223372036854775807) FROM clock_segments "
    "WHERE state = 'pending' AND released IS NULL)"
)
"""SQL for the first row held back for its clock correction (the largest row id: none)."""


@dataclass(slots=True)
class Pack:
    """One MQTT message of the outbox: a SenML pack of readings or of events."""

    kind: Literal["readings", "events"]
    payload: bytes
    first: int
    """Row id (readings) or event id (events) of the first entry."""
    last: int
    """Row id or event id of the last entry; acknowledging the pack acknowledges up to here."""
    count: int
    last_time: float
    """Time of the last entry, epoch seconds."""
    acked: bool = False


class Outbox:
    """Packs of what the region has not acknowledged, oldest first, events before readings.

    Args:
        store: a read-only store of the agent's data directory.
        device: the device id (the packs' base name).
    """

    def __init__(self, store: Store, device: str) -> None:
        self.store = store
        self.encoder = PackEncoder(device, store.uid)
        self.acked_row = store.outbox_cursor()
        self.acked_event = int(store.meta("outbox.events", 0))
        self.sent_row = self.acked_row
        self.sent_event = self.acked_event
        self.last_acked: Pack | None = None
        """The last readings pack acknowledged (for "last acknowledged reading")."""
        self._rows: list[OutboxRow] = []
        self._next = 0

    # -- positions ---------------------------------------------------------------------------

    def rewind(self) -> None:
        """Forget what was sent but not acknowledged; it will be read again."""
        self.sent_row = self.acked_row
        self.sent_event = self.acked_event
        self._rows = []
        self._next = 0

    def acknowledge(self, pack: Pack) -> None:
        """Record that ``pack`` and everything before it was acknowledged."""
        if pack.kind == "readings":
            self.acked_row = max(self.acked_row, pack.last)
            self.last_acked = pack
        else:
            self.acked_event = max(self.acked_event, pack.last)

    @property
    def uid(self) -> str:
        """The store uid (the first half of every reading id)."""
        return self.store.uid

    # -- reading -----------------------------------------------------------------------------

    def next_events(self) -> Pack | None:
        """A pack of the next unsent events, or None."""
        with self._damage_named():
            events = self.store.events(after=self.sent_event, limit=EVENTS_PER_PACK)
        if not events:
            self._check_file()
            return None
        self.sent_event = events[-1]["row"]
        return Pack(
            kind="events",
            payload=self.encoder.events(events),
            first=events[0]["row"],
            last=events[-1]["row"],
            count=len(events),
            last_time=events[-1]["time"],
        )

    def next_readings(self, count: int, max_bytes: int) -> Pack | None:
        """A pack of at most ``count`` unsent readings and about ``max_bytes``, or None."""
        if self._next >= len(self._rows) and not self._fill(max(count * 4, 2000)):
            return None
        rows = self._rows[self._next : self._next + count]
        payload = self.encoder.readings(rows)
        while len(payload) > max_bytes and len(rows) > 1:
            rows = rows[: max(1, int(len(rows) * max_bytes / len(payload) * 0.9))]
            payload = self.encoder.readings(rows)
        self._next += len(rows)
        self.sent_row = rows[-1][0]
        return Pack(
            kind="readings",
            payload=payload,
            first=rows[0][0],
            last=rows[-1][0],
            count=len(rows),
            last_time=rows[-1][2] / _US,
        )

    def _fill(self, limit: int) -> bool:
        conn = self.store.connection
        with self._damage_named():
            rows: list[OutboxRow] = conn.execute(
                "SELECT id, stream, t, value, quality FROM readings "
                f"WHERE id > ? AND id < {HELD_FROM} ORDER BY id LIMIT ?",
                (self.sent_row, limit),
            ).fetchall()
        self._rows = rows
        self._next = 0
        if not rows:
            self._check_file()
            return False
        encoder = self.encoder
        if not all(encoder.knows(row[1]) for row in rows):
            for sid, name, unit, kind in conn.execute("SELECT id, name, unit, kind FROM streams"):
                encoder.add_stream(sid, name, unit, kind)
        return True

    @contextlib.contextmanager
    def _damage_named(self) -> Iterator[None]:
        """Turn SQLite's word for a damaged file into :class:`StoreCorruptError`."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise
            raise StoreCorruptError(
                f"{self.store.path} is damaged where the uplink reads it, after row "
                f"{self.sent_row} ({exc})"
            ) from exc

    def _check_file(self) -> None:
        """Raise when the store's file was replaced (see the module docstring)."""
        if self.store.is_replaced():
            raise StoreError(
                f"{self.store.path} was replaced by a fresh database while the uplink read the "
                "old one (it was found damaged); the uplink starts again on the new one"
            )

    # -- figures -----------------------------------------------------------------------------

    def backlog(self) -> int:
        """Committed readings not yet acknowledged."""
        row = self.store.connection.execute(
            "SELECT count(*) FROM readings WHERE id > ?", (self.acked_row,)
        ).fetchone()
        return int(row[0])

    def held_back(self) -> int:
        """Committed readings not sent because they wait for their clock correction."""
        row = self.store.connection.execute(
            f"SELECT count(*) FROM readings WHERE id >= {HELD_FROM} AND id > ?", (self.acked_row,)
        ).fetchone()
        return int(row[0])

    def oldest_unsynced(self) -> float | None:
        """Time (epoch s) of the oldest reading not yet acknowledged, or None."""
        row = self.store.connection.execute(
            "SELECT t FROM readings WHERE id > ? ORDER BY id LIMIT 1", (self.acked_row,)
        ).fetchone()
        return None if row is None else row[0] / _US

    def events_pending(self) -> int:
        """Events not yet acknowledged."""
        row = self.store.connection.execute(
            "SELECT count(*) FROM events WHERE id > ?", (self.acked_event,)
        ).fetchone()
        return int(row[0])

    def reading_id(self, row: int) -> str:
        """The stable id of the reading in ``row``."""
        return f"{self.store.uid}-{row}"
