"""The local store: SQLite in WAL mode, the single source of truth for every reading.

A reading exists once :meth:`Store.write` has committed it. Its stable id is
``<store uid>-<row id>``: row ids count up from the highest ever committed (kept in ``meta`` as
``row_floor`` when retention deletes the newest rows, so they are never reused) and the store uid
is a random 64-bit value created with the database, so ids stay unique across restarts of the
agent and across a database that had to be replaced. The region deduplicates by
``(device id, reading id)``. One process writes a data directory at a time: the writing store
holds an exclusive lock on ``readings.db.lock``.

What the store does when things go wrong: a damaged database, found at start or while the
writer uses it, is set aside and replaced (:mod:`.recovery`); a full disk drops the oldest
readings, counted (:func:`.retention.make_room`); readings taken before the clock was
synchronised are corrected once it is, and the uplink holds them back until then, within limits
(:mod:`.clocksync`).
"""

from ..errors import StoreFullError
from .batching import BatchWriter
from .clocksync import ClockWatch
from .database import Store, StoredReading, StreamStats
from .recovery import open_store
from .retention import RetentionPolicy, RetentionResult

__all__ = [
    "BatchWriter",
    "ClockWatch",
    "RetentionPolicy",
    "RetentionResult",
    "Store",
    "StoreFullError",
    "StoredReading",
    "StreamStats",
    "open_store",
]
