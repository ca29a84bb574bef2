"""The local store: SQLite in WAL mode, the single source of truth for every reading.

A reading exists once :meth:`Store.write` has committed it. Its stable id is
``<store uid>-<row id>``: row ids count up from the highest ever committed (kept in ``meta`` as
``row_floor`` when retention deletes the newest rows, so they are never reused) and the store uid
is a random 64-bit value created with the database, so ids stay unique across restarts of the
agent and across a database that had to be replaced. The region deduplicates by
``(device id, reading id)``. One process writes a data directory at a time: the writing store
holds an exclusive lock on ``readings.db.lock``.
"""

from .batching import BatchWriter
from .database import Store, StoredReading, StreamStats
from .retention import RetentionPolicy, RetentionResult

__all__ = [
    "BatchWriter",
    "RetentionPolicy",
    "RetentionResult",
    "Store",
    "StoredReading",
    "StreamStats",
]
