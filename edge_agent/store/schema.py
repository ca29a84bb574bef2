"""Schema of the store and its migrations, versioned by SQLite's ``user_version``.

Each migration is a list of statements that takes the database from version ``n`` to ``n + 1``.
Migrations only ever append; a database newer than this code is refused with a clear message
rather than opened and damaged.

Space per reading matters (SD cards wear): a row holds the stream as a small integer, the time as
integer microseconds and the value in SQLite's compact encodings; the unit and the value's kind
live once per stream in ``streams``.
"""

from __future__ import annotations

from typing import Final

MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    # 0 -> 1: the first schema.
    (
        """CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value
        ) WITHOUT ROWID""",
        """CREATE TABLE streams (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            unit TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('number', 'bool', 'text'))
        )""",
        # value has no declared type, hence no affinity: numbers, texts and NULL keep their own
        # encoding, and a text such as "12" is never turned into a number.
        # Row ids are assigned by the store (see Store.write), not by AUTOINCREMENT, whose
        # per-row sqlite_sequence update costs more than a third of an insert.
        """CREATE TABLE readings (
            id INTEGER PRIMARY KEY,
            stream INTEGER NOT NULL REFERENCES streams(id),
            t INTEGER NOT NULL,
            value,
            quality INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX readings_by_stream_time ON readings (stream, t)",
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            t INTEGER NOT NULL,
            kind TEXT NOT NULL,
            severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'alert')),
            message TEXT NOT NULL,
            data TEXT
        )""",
    ),
    # 1 -> 2: readings taken before the clock was synchronised, for their correction
    # (edge_agent/store/clocksync.py). One row per stretch of rows taken with one offset
    # between the wall clock and the monotonic clock of one boot.
    (
        """CREATE TABLE clock_segments (
            id INTEGER PRIMARY KEY,
            boot TEXT NOT NULL,
            offset_us INTEGER NOT NULL,
            first_row INTEGER NOT NULL,
            last_row INTEGER NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'corrected', 'lost')),
            shift_us INTEGER
        )""",
        "CREATE INDEX clock_segments_pending ON clock_segments (state, boot)",
    ),
    # 2 -> 3: the uplink holds back the readings of pending segments until they are corrected;
    # ``released`` says why it stopped waiting for a segment (NULL: it still waits).
    ("ALTER TABLE clock_segments ADD COLUMN released TEXT",),
)

SCHEMA_VERSION: Final = len(MIGRATIONS)
