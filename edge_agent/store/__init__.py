"""The local store: SQLite in WAL mode, the single source of truth for every reading.

A reading exists once :meth:`Store.write` has committed it. Its stable id is
``<store uid>-<row id>``: the row id comes from an ``AUTOINCREMENT`` key (never reused, even after
retention deletes everything) and the store uid is a random 64-bit value created with the
database, so ids stay unique across restarts of the agent and across a database that had to be
replaced. The region deduplicates by ``(device id, reading id)``.
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
