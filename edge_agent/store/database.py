"""The SQLite database behind the store: opening, migrating, writing and querying readings.

Opening for writing checks the file before trusting it: the SQLite header, the file's length
against the page count the header records (a truncated file), and ``PRAGMA quick_check`` where
that is cheap (files up to :data:`QUICK_CHECK_ALWAYS` bytes) or needed (up to
:data:`QUICK_CHECK_AFTER_CRASH` bytes when a WAL file left by a writer that did not close is
found). A file that fails raises :class:`~edge_agent.errors.StoreCorruptError`;
:func:`edge_agent.store.recovery.open_store` sets it aside and starts a fresh one.

A full disk makes :meth:`Store.write` raise :class:`StoreFullError`. The writing store keeps a
reserve file (``readings.db-reserve``, :data:`RESERVE_BYTES`) on the data directory's file
system; releasing it gives SQLite room to delete old readings and checkpoint its WAL when
nothing else is left (see :func:`edge_agent.store.retention.make_room`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ..errors import StoreCorruptError, StoreError, StoreFullError
from ..readings import Quality, Reading, Value, stream_matcher
from .schema import MIGRATIONS, SCHEMA_VERSION

DB_FILENAME: Final = "readings.db"
RESERVE_SUFFIX: Final = "-reserve"
RESERVE_BYTES: Final = 8 * 1024 * 1024
"""Size of the reserve file: room for a checkpoint of a full WAL (SQLite checkpoints at about
4 MB) and for the deletion that makes room, when the disk is otherwise full."""
QUICK_CHECK_ALWAYS: Final = 32 * 1024 * 1024
"""Databases up to this size get ``PRAGMA quick_check`` at every start (well under a second
on a Pi 4)."""
QUICK_CHECK_AFTER_CRASH: Final = 512 * 1024 * 1024
"""Databases up to this size get ``PRAGMA quick_check`` when the last writer did not close (a
WAL file is left); larger ones are trusted to SQLite's own checks as pages are read, so that
a start never outlasts systemd's start timeout."""
_US: Final = 1_000_000
_SQLITE_CORRUPT: Final = 11
_SQLITE_FULL: Final = 13
_SQLITE_NOTADB: Final = 26
_HEADER: Final = b"SQLite format 3\x00"


def is_corruption(exc: BaseException) -> bool:
    """Whether a SQLite error says the file is damaged (``SQLITE_CORRUPT``, ``SQLITE_NOTADB``)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return (
        isinstance(exc, sqlite3.DatabaseError)
        and code is not None
        and (code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB))
    )


def damage_of(exc: BaseException) -> str | None:
    """What was said about a damaged file, if ``exc`` or one of its causes says the database
    is damaged (:func:`is_corruption`, or :class:`~edge_agent.errors.StoreCorruptError`);
    SQLite's own words where they are in the chain. None for any other error."""
    found: str | None = None
    seen: BaseException | None = exc
    while seen is not None:
        if is_corruption(seen):
            return str(seen)
        if found is None and isinstance(seen, StoreCorruptError):
            found = str(seen)
        seen = seen.__cause__
    return found


def is_disk_full(exc: BaseException) -> bool:
    """Whether a SQLite or OS error says the disk is full (``SQLITE_FULL``, ``ENOSPC``)."""
    if isinstance(exc, OSError):
        return exc.errno == errno.ENOSPC
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == _SQLITE_FULL


def file_damage(path: Path, *, wal: bool = False) -> str | None:
    """What is wrong with the database file at ``path`` by its header and length, or None.

    Reads 100 bytes; does not open the database. A missing or empty file is not damaged (SQLite
    makes a new database of it). With a ``wal`` left by a writer that did not close, only the
    header is judged: the file may be in the middle of a checkpoint that the WAL completes.
    """
    try:
        size = path.stat().st_size
        if size == 0:
            return None
        with path.open("rb") as f:
            header = f.read(100)
    except FileNotFoundError:
        return None
    if len(header) < 100 or not header.startswith(_HEADER):
        return f"it does not start with the SQLite header ({len(header)} bytes read)"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        return f"its header gives an impossible page size ({page_size})"
    if wal:
        return None
    if size % page_size:
        return f"its length ({size} bytes) is not a whole number of {page_size}-byte pages"
    # The header's page count is valid when its "version valid for" matches the change counter.
    pages = int.from_bytes(header[28:32], "big")
    if header[92:96] == header[24:28] and pages * page_size > size:
        held = size // page_size
        return f"it is truncated: the header counts {pages} pages, the file holds {held}"
    return None


@dataclass(frozen=True, slots=True)
class StoredReading:
    """A committed reading with its stable id (``<store uid>-<row id>``) and row id."""

    id: str
    row: int
    stream: str
    time: float
    value: Value
    unit: str
    quality: Quality

    def as_dict(self) -> dict[str, Any]:
        """The reading as plain JSON-ready data (time in epoch seconds, quality as names)."""
        return {
            "id": self.id,
            "stream": self.stream,
            "time": self.time,
            "value": self.value,
            "unit": self.unit,
            "quality": self.quality.names(),
        }


@dataclass(frozen=True, slots=True)
class StreamStats:
    """Statistics of one stream over a time range; numeric figures are None for non-numbers."""

    stream: str
    unit: str
    count: int
    flagged: int
    first: float | None
    last: float | None
    minimum: float | None
    maximum: float | None
    mean: float | None


def _kind_of(value: Value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "text"
    return "number"


def _decode_value(kind: str, raw: Any) -> Value:
    if raw is None:
        return None
    if kind == "bool":
        return bool(raw)
    if kind == "number":
        # SQLite keeps integers and reals apart in an untyped column: give back what was stored.
        return raw if isinstance(raw, int | float) else float(raw)
    return str(raw)


class Store:
    """One SQLite database in WAL mode under a data directory.

    A :class:`Store` object is used from one thread at a time (SQLite connections are not
    shared); the agent writes through :class:`~edge_agent.store.BatchWriter` in a dedicated
    thread, and readers such as the CLI open their own read-only store with ``readonly=True``.
    """

    def __init__(self, data_dir: Path, *, readonly: bool = False) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / DB_FILENAME
        self.readonly = readonly
        self._lock_fd: int | None = None
        crashed = False
        if not readonly:
            self._lock()
            crashed = _leftover_wal(self.path)
            damage = file_damage(self.path, wal=crashed)
            if damage is not None:
                self._unlock()
                raise StoreCorruptError(f"{self.path} is not a usable SQLite database: {damage}")
        try:
            self._conn = self._connect()
            self._file_id = _file_id(self.path)
        except BaseException:
            self._unlock()
            raise
        self._streams: dict[str, tuple[int, str, str]] = {}
        self._last_event = 0
        try:
            if not readonly:
                self._quick_check(crashed)
                self._migrate()
            self.uid = self._read_uid()
            self._load_streams()
            self._next_row = max(self.last_row(), int(self.meta("row_floor", 0))) + 1
            self._last_event = self.last_event_id()
        except sqlite3.DatabaseError as exc:
            self.close()
            if is_corruption(exc):
                raise StoreCorruptError(f"{self.path} is damaged: {exc}") from exc
            raise StoreError(f"cannot open {self.path}: {exc}") from exc
        except BaseException:
            self.close()
            raise

    def _lock(self) -> None:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.data_dir / f"{DB_FILENAME}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot open {self.path}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(
                f"{self.path} is in use by another edge-agent; stop it first "
                "(systemctl stop edge-agent) or give this one another store.data_dir"
            ) from None
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def is_replaced(self) -> bool:
        """Whether the database file this store opened is no longer the one at :attr:`path`
        (the writer found it damaged while in use, set it aside and started a fresh one; see
        :func:`edge_agent.store.recovery.replace_damaged`). A read-only store then still reads
        the old file and should be opened again."""
        return _file_id(self.path) != self._file_id

    def _quick_check(self, crashed: bool) -> None:
        size = self.path.stat().st_size
        if size > (QUICK_CHECK_AFTER_CRASH if crashed else QUICK_CHECK_ALWAYS):
            return
        problems = [r[0] for r in self._conn.execute("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            raise StoreCorruptError(f"{self.path} is damaged: {'; '.join(problems)}")

    # -- opening ---------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self.readonly:
            if not self.path.exists():
                raise StoreError(
                    f"no readings database at {self.path}; start the agent once "
                    "(edge-agent run, or edge-agent demo) or pass the right --data-dir"
                )
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            try:
                conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open {self.path} for reading: {exc}") from exc
        else:
            try:
                self.data_dir.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                # WAL: readers never block the writer; NORMAL sync is durable across an agent
                # crash (kill -9) and loses at most the last commits on power loss, without an
                # fsync per commit that would wear out the SD card.
                mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA foreign_keys=OFF")
            except sqlite3.DatabaseError as exc:
                if not is_corruption(exc):  # locked, I/O error, full: the file may be fine
                    raise StoreError(f"cannot open {self.path}: {exc}") from exc
                raise StoreCorruptError(
                    f"{self.path} is not a usable SQLite database ({exc}); move it aside "
                    "and the agent creates a fresh one"
                ) from exc
            except (sqlite3.Error, OSError) as exc:
                raise StoreError(f"cannot open {self.path}: {exc}") from exc
            if mode != "wal":
                raise StoreError(f"{self.path}: SQLite refused WAL mode (got {mode!r})")
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    def _migrate(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this agent's "
                f"{SCHEMA_VERSION}; upgrade the agent, or move the file aside to start afresh"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self.transaction():
                for statement in MIGRATIONS[target - 1]:
                    self._conn.execute(statement)
                if target == 1:
                    self._conn.execute(
                        "INSERT INTO meta (key, value) VALUES ('uid', ?), ('created', ?)",
                        (secrets.token_hex(8), time.time()),
                    )
                self._conn.execute(f"PRAGMA user_version={target}")

    def _read_uid(self) -> str:
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE key='uid'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreCorruptError(f"{self.path} cannot be read ({exc})") from exc
        if row is None:
            raise StoreError(f"{self.path} has no store uid; it was not made by the agent")
        return str(row[0])

    def _load_streams(self) -> None:
        for sid, name, unit, kind in self._conn.execute("SELECT id, name, unit, kind FROM streams"):
            self._streams[name] = (sid, unit, kind)

    def transaction(self) -> _Commit:
        """``with store.transaction() as conn:`` commits on success and rolls back on error."""
        # With isolation_level=None the connection is in autocommit mode; "with conn" would not
        # open a transaction, so BEGIN explicitly.
        self._conn.execute("BEGIN IMMEDIATE")
        return _Commit(self._conn)

    def close(self) -> None:
        """Close the database; in WAL mode the last connection also checkpoints the WAL."""
        try:
            self._conn.close()
        finally:
            self._unlock()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- integrity -------------------------------------------------------------------------

    def integrity_check(self) -> list[str]:
        """Run ``PRAGMA integrity_check``; an empty list means the database is intact."""
        rows = [r[0] for r in self._conn.execute("PRAGMA integrity_check")]
        return [] if rows == ["ok"] else rows

    # -- writing ---------------------------------------------------------------------------

    def _stream_id(self, reading: Reading) -> int:
        known = self._streams.get(reading.stream)
        if known is not None:
            return known[0]
        kind = _kind_of(reading.value)
        cur = self._conn.execute(
            "INSERT INTO streams (name, unit, kind) VALUES (?, ?, ?)",
            (reading.stream, reading.unit, kind),
        )
        sid = int(cur.lastrowid or 0)
        self._streams[reading.stream] = (sid, reading.unit, kind)
        return sid

    def write(
        self,
        readings: Sequence[Reading],
        *,
        also: Callable[[sqlite3.Connection, int], None] | None = None,
    ) -> int:
        """Commit ``readings`` in one transaction and return the last row id written.

        The readings are stored once this returns; on any error nothing of the batch is.
        ``also(connection, first_row)`` runs inside the same transaction after the inserts
        (the clock correction records which rows were taken before the clock was synchronised).
        :class:`StoreFullError` says the disk is full.
        """
        if not readings:
            return 0
        streams = self._streams
        first = self._next_row
        try:
            with self.transaction():
                rows = []
                row = first
                for r in readings:
                    known = streams.get(r.stream)
                    sid = known[0] if known is not None else self._stream_id(r)
                    # Quality is an int subclass: SQLite binds it as an integer as it is.
                    rows.append((row, sid, int(r.time * _US), r.value, r.quality))
                    row += 1
                self._conn.executemany(
                    "INSERT INTO readings (id, stream, t, value, quality) VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
                if also is not None:
                    also(self._conn, first)
        except sqlite3.Error as exc:
            if is_corruption(exc):
                raise StoreCorruptError(
                    f"cannot write {len(readings)} readings to {self.path}: it is damaged ({exc})"
                ) from exc
            # A failed transaction may have created stream rows that were rolled back.
            self._streams.clear()
            self._load_streams()
            if is_disk_full(exc):
                raise StoreFullError(
                    f"cannot write {len(readings)} readings to {self.path}: the disk is full"
                ) from exc
            raise StoreError(
                f"cannot write {len(readings)} readings to {self.path}: {exc}"
            ) from exc
        self._next_row = row
        return row - 1

    def record_event(
        self,
        kind: str,
        message: str,
        *,
        severity: str = "info",
        data: dict[str, Any] | None = None,
        at: float | None = None,
    ) -> int:
        """Commit one event (retention drops, restarts, alerts) and return its id."""
        with self.transaction():
            cur = self._conn.execute(
                "INSERT INTO events (t, kind, severity, message, data) VALUES (?, ?, ?, ?, ?)",
                (
                    int((time.time() if at is None else at) * _US),
                    kind,
                    severity,
                    message,
                    None if data is None else json.dumps(data, sort_keys=True),
                ),
            )
        self._last_event = max(self._last_event, int(cur.lastrowid or 0))
        return self._last_event

    def add_counter(self, name: str, amount: int) -> None:
        """Add ``amount`` to a persistent counter in ``meta`` (e.g. ``dropped.retention``)."""
        with self.transaction():
            self._conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
                (f"counter.{name}", amount),
            )

    # -- reading ---------------------------------------------------------------------------

    def _row_to_reading(self, row: tuple[Any, ...]) -> StoredReading:
        rid, name, unit, kind, t, value, quality = row
        return StoredReading(
            id=f"{self.uid}-{rid}",
            row=rid,
            stream=name,
            time=t / _US,
            value=_decode_value(kind, value),
            unit=unit,
            quality=Quality(quality),
        )

    _SELECT: Final = (
        "SELECT r.id, s.name, s.unit, s.kind, r.t, r.value, r.quality "
        "FROM readings r JOIN streams s ON s.id = r.stream "
    )

    def refresh_streams(self) -> None:
        """Re-read the stream table (a read-only store sees streams the writer added since)."""
        self._streams.clear()
        self._load_streams()

    def streams(self, pattern: str = "*") -> list[str]:
        """Names of the streams matching a shell-style ``pattern``, sorted."""
        self.refresh_streams()
        matcher = stream_matcher(pattern)
        return sorted(name for name in self._streams if matcher.match(name))

    def latest(self, pattern: str = "*") -> list[StoredReading]:
        """The newest reading (by time) of each stream matching ``pattern``, by stream name."""
        out = []
        for name in self.streams(pattern):
            sid = self._streams[name][0]
            row = self._conn.execute(
                self._SELECT + "WHERE r.stream = ? ORDER BY r.t DESC, r.id DESC LIMIT 1", (sid,)
            ).fetchone()
            if row is not None:
                out.append(self._row_to_reading(row))
        return out

    def query(
        self,
        pattern: str = "*",
        *,
        since: float | None = None,
        until: float | None = None,
        limit: int | None = None,
    ) -> Iterator[StoredReading]:
        """Readings of streams matching ``pattern`` with ``since <= time < until`` (epoch s),
        in commit order. Streams are filtered through the ``(stream, t)`` index."""
        ids = [self._streams[name][0] for name in self.streams(pattern)]
        if not ids:
            return
        clauses = [f"r.stream IN ({','.join('?' * len(ids))})"]
        params: list[Any] = list(ids)
        if since is not None:
            clauses.append("r.t >= ?")
            params.append(int(since * _US))
        if until is not None:
            clauses.append("r.t < ?")
            params.append(int(until * _US))
        sql = self._SELECT + "WHERE " + " AND ".join(clauses) + " ORDER BY r.id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        for row in self._conn.execute(sql, params):
            yield self._row_to_reading(row)

    def after(self, row: int, *, limit: int = 1000) -> list[StoredReading]:
        """Readings with a row id greater than ``row``, oldest first: the outbox and ``tail -f``."""
        rows = self._conn.execute(
            self._SELECT + "WHERE r.id > ? ORDER BY r.id LIMIT ?", (row, limit)
        ).fetchall()
        return [self._row_to_reading(r) for r in rows]

    # -- outbox ----------------------------------------------------------------------------

    def outbox_cursor(self) -> int:
        """Row id up to which every reading was acknowledged by the region (0: none yet)."""
        return int(self.meta("outbox.readings", 0))

    def set_outbox_cursor(self, row: int) -> None:
        """Record that every reading up to ``row`` was acknowledged; never moves backwards."""
        with self.transaction():
            self._conn.execute(
                "INSERT INTO meta (key, value) VALUES ('outbox.readings', ?) ON CONFLICT (key) "
                "DO UPDATE SET value = max(value, excluded.value)",
                (row,),
            )

    def outbox(self, *, limit: int = 1000) -> list[StoredReading]:
        """The oldest committed readings the region has not acknowledged, in commit order."""
        return self.after(self.outbox_cursor(), limit=limit)

    def backlog(self) -> int:
        """How many committed readings wait for the uplink."""
        row = self._conn.execute(
            "SELECT count(*) FROM readings WHERE id > ?", (self.outbox_cursor(),)
        ).fetchone()
        return int(row[0])

    def last_row(self) -> int:
        """The highest row id committed so far (0 for an empty store)."""
        row = self._conn.execute("SELECT max(id) FROM readings").fetchone()
        return int(row[0] or 0)

    @property
    def next_row(self) -> int:
        """The row id the next reading written gets."""
        return self._next_row

    @property
    def events_seen(self) -> int:
        """The highest event id this store saw at opening or wrote since."""
        return self._last_event

    def last_event_id(self) -> int:
        """The highest event id ever given (ids of deleted events are not reused)."""
        row = self._conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        return max(self._last_event, 0 if row is None else int(row[0]))

    def raise_floors(self, *, row: int, event: int) -> None:
        """Give new readings row ids above ``row`` and new events ids above ``event``.

        A database that replaces a damaged one at run time continues the old one's numbering:
        positions that refer to the old file (an outbox cursor written late by the uplink)
        then never skip anything of the new one.
        """
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('row_floor', ?) ON CONFLICT (key) "
                "DO UPDATE SET value = max(value, excluded.value)",
                (row,),
            )
            if not conn.execute(
                "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'events'", (event,)
            ).rowcount:
                conn.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)", (event,)
                )
        self._next_row = max(self._next_row, row + 1)
        self._last_event = max(self._last_event, event)

    def stats(
        self, pattern: str = "*", *, since: float | None = None, until: float | None = None
    ) -> list[StreamStats]:
        """Per-stream count, flagged count, time span and, for numbers, min/max/mean."""
        out = []
        for name in self.streams(pattern):
            sid, unit, kind = self._streams[name]
            clauses, params = ["stream = ?"], [sid]
            if since is not None:
                clauses.append("t >= ?")
                params.append(int(since * _US))
            if until is not None:
                clauses.append("t < ?")
                params.append(int(until * _US))
            count, flagged, first, last, lo, hi, mean = self._conn.execute(
                "SELECT count(*), sum(quality != 0), min(t), max(t), min(value), max(value), "
                "avg(value) FROM readings WHERE " + " AND ".join(clauses),
                params,
            ).fetchone()
            numeric = kind == "number"
            out.append(
                StreamStats(
                    stream=name,
                    unit=unit,
                    count=count,
                    flagged=flagged or 0,
                    first=None if first is None else first / _US,
                    last=None if last is None else last / _US,
                    minimum=lo if numeric else None,
                    maximum=hi if numeric else None,
                    mean=mean if numeric else None,
                )
            )
        return out

    def events(self, *, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """Events with an id greater than ``after``, oldest first, as plain data."""
        rows = self._conn.execute(
            "SELECT id, t, kind, severity, message, data FROM events WHERE id > ? "
            "ORDER BY id LIMIT ?",
            (after, limit),
        ).fetchall()
        return [
            {
                "id": f"{self.uid}-e{eid}",
                "row": eid,
                "time": t / _US,
                "kind": kind,
                "severity": severity,
                "message": message,
                "data": None if data is None else json.loads(data),
            }
            for eid, t, kind, severity, message, data in rows
        ]

    def recent_events(self, count: int) -> list[dict[str, Any]]:
        """The newest ``count`` events, oldest first."""
        row = self._conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
        return self.events(after=max(0, int(row[0]) - count), limit=count)

    def meta(self, key: str, default: Any = None) -> Any:
        """A value from the ``meta`` table (counters live under ``counter.<name>``)."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else row[0]

    def set_meta(self, key: str, value: Any) -> None:
        """Set a value in the ``meta`` table, committed at once."""
        with self.transaction():
            self._conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def counters(self) -> dict[str, int]:
        """Persistent counters (``counter.*`` in ``meta``) without their prefix."""
        return {
            key.removeprefix("counter."): int(value)
            for key, value in self._conn.execute(
                "SELECT key, value FROM meta WHERE key LIKE 'counter.%'"
            )
        }

    def size_bytes(self) -> int:
        """Bytes in use by the database's pages (free pages excluded), without the WAL."""
        page_size = self._conn.execute("PRAGMA page_size").fetchone()[0]
        pages = self._conn.execute("PRAGMA page_count").fetchone()[0]
        free = self._conn.execute("PRAGMA freelist_count").fetchone()[0]
        return int((pages - free) * page_size)

    def file_bytes(self) -> int:
        """Bytes the database takes on disk, WAL included."""
        total = 0
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                total += os.stat(f"{self.path}{suffix}").st_size
        return total

    def count(self) -> int:
        """Number of readings stored."""
        return int(self._conn.execute("SELECT count(*) FROM readings").fetchone()[0])

    # -- room on a full disk ---------------------------------------------------------------

    @property
    def reserve_path(self) -> Path:
        """The reserve file kept beside the database (see the module docstring)."""
        return self.path.with_name(DB_FILENAME + RESERVE_SUFFIX)

    def ensure_reserve(self, size: int = RESERVE_BYTES) -> bool:
        """Create the reserve file if it is missing and the disk has room for it twice over.

        Returns whether the reserve is in place. Blocks are allocated for real
        (``posix_fallocate``), so the space is held, not promised.
        """
        path = self.reserve_path
        if path.exists():
            return True
        try:
            stat = os.statvfs(self.data_dir)
            if stat.f_bavail * stat.f_frsize < 2 * size:
                return False
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError:
            return False
        try:
            os.posix_fallocate(fd, 0, size)
        except OSError:
            os.close(fd)
            path.unlink(missing_ok=True)
            return False
        os.close(fd)
        return True

    def release_reserve(self) -> int:
        """Delete the reserve file to give its space to SQLite; returns the bytes freed."""
        try:
            size = self.reserve_path.stat().st_size
            self.reserve_path.unlink()
        except FileNotFoundError:
            return 0
        return size

    def free_pages(self) -> int:
        """Pages of the database file that are free for new rows (``PRAGMA freelist_count``)."""
        return int(self._conn.execute("PRAGMA freelist_count").fetchone()[0])

    def checkpoint(self, mode: str = "TRUNCATE") -> bool:
        """Copy the WAL into the database (``PRAGMA wal_checkpoint``); False if incomplete.

        ``TRUNCATE`` also gives the WAL file's space back to the file system.
        """
        if mode not in ("PASSIVE", "FULL", "RESTART", "TRUNCATE"):
            raise ValueError(f"unknown checkpoint mode {mode!r}")
        try:
            busy, _, _ = self._conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        except sqlite3.Error:
            return False
        return not busy

    @property
    def connection(self) -> sqlite3.Connection:
        """The underlying connection, for the store's own helpers (retention)."""
        return self._conn


def _file_id(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path``, or None when there is none."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return (stat.st_dev, stat.st_ino)


def _leftover_wal(path: Path) -> bool:
    """Whether a non-empty WAL file lies beside the database: its last writer did not close."""
    try:
        return os.stat(f"{path}-wal").st_size > 0
    except FileNotFoundError:
        return False


class _Commit:
    """Context manager that commits a transaction begun with ``BEGIN``, or rolls it back."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> sqlite3.Connection:
        return self._conn

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self._conn.execute("COMMIT")
        elif self._conn.in_transaction:  # SQLite already rolled back after e.g. SQLITE_FULL
            self._conn.execute("ROLLBACK")


__all__ = [
    "DB_FILENAME",
    "QUICK_CHECK_AFTER_CRASH",
    "QUICK_CHECK_ALWAYS",
    "RESERVE_BYTES",
    "RESERVE_SUFFIX",
    "Store",
    "StoreFullError",  # defined in edge_agent.errors; still importable from here
    "StoredReading",
    "StreamStats",
    "damage_of",
    "file_damage",
    "is_corruption",
    "is_disk_full",
]
