"""The regional collector: subscribes to the devices' topics and keeps what arrives in SQLite.

For labs and regions without a data platform yet, and for the tests, which use it to check
delivery. It holds a persistent session (the broker keeps its messages while it is away),
acknowledges each message only after the readings in it are committed (so a crash of the
collector loses nothing either), and drops repeats by ``(device, reading id)``: at-least-once
delivery becomes exactly-once storage.

Tables of the collector's database:

- ``readings``: ``seq`` (arrival order), ``device``, ``id``, ``city``, ``lab``, ``stream``,
  ``t`` (µs since the epoch), ``value``, ``unit``, ``quality`` (flag names, comma-separated),
  ``received`` (epoch s), ``message`` (number of the MQTT message that brought it, counting
  every message this database received); unique on ``(device, id)``.
- ``events``: the same for events, with ``kind``, ``severity``, ``text`` and ``data``.
- ``devices``: the last ``status`` (``online``/``offline``) and ``health`` of each device.
- ``meta``: counters ``messages``, ``readings``, ``duplicates``, ``events``, ``rejected``.
"""

from __future__ import annotations

import csv
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, TextIO

import paho.mqtt.client as mqtt

from ..errors import ParseError, StoreError
from .connection import BrokerSettings, MqttSession, UplinkError, connect_session, tls_context
from .pacing import Backoff
from .senml import decode_pack
from .topics import TopicParts, check_prefix, parse_topic

_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS readings (
        seq INTEGER PRIMARY KEY,
        device TEXT NOT NULL,
        id TEXT,
        city TEXT NOT NULL,
        lab TEXT NOT NULL,
        stream TEXT NOT NULL,
        t INTEGER NOT NULL,
        value,
        unit TEXT NOT NULL,
        quality TEXT NOT NULL DEFAULT '',
        received REAL NOT NULL,
        message INTEGER NOT NULL,
        UNIQUE (device, id)
    )""",
    """CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY,
        device TEXT NOT NULL,
        id TEXT,
        city TEXT NOT NULL,
        lab TEXT NOT NULL,
        kind TEXT NOT NULL,
        severity TEXT NOT NULL,
        t INTEGER NOT NULL,
        text TEXT NOT NULL,
        data TEXT,
        received REAL NOT NULL,
        message INTEGER NOT NULL,
        UNIQUE (device, id)
    )""",
    """CREATE TABLE IF NOT EXISTS devices (
        device TEXT PRIMARY KEY,
        city TEXT NOT NULL,
        lab TEXT NOT NULL,
        status TEXT,
        status_at REAL,
        health TEXT,
        health_at REAL
    )""",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID",
)
COUNTERS: Final = ("messages", "readings", "duplicates", "events", "rejected")


def open_database(path: Path) -> sqlite3.Connection:
    """Open (and create) a collector database in WAL mode."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=5000")
        for statement in _SCHEMA:
            conn.execute(statement)
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"cannot open the collector database {path}: {exc}") from exc
    return conn


class Collector:
    """Receives the packs of every device under ``prefix`` and stores them in ``db``.

    Args:
        settings: broker, credentials and client id (a fixed id keeps the session).
        db: the SQLite file to store into.
        prefix: the devices' topic prefix (``digitallabor``); subscribes to ``<prefix>/#``.
        password: the password read from ``settings.password_file``.
    """

    def __init__(
        self,
        settings: BrokerSettings,
        db: Path,
        *,
        prefix: str = "digitallabor",
        password: str | None = None,
        logger: logging.Logger,
        reconnect_min: float = 1.0,
        reconnect_max: float = 60.0,
    ) -> None:
        self.settings = settings
        self.db_path = Path(db)
        self.prefix = check_prefix(prefix)
        self._password = password
        self._tls = tls_context(settings) if settings.tls else None
        self._log = logger
        self._backoff = (reconnect_min, reconnect_max)
        self._conn = open_database(self.db_path)
        self.counts = dict.fromkeys(COUNTERS, 0)
        for key in COUNTERS:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            if row is not None:
                self.counts[key] = int(row[0])
        self.ready = threading.Event()
        """Set once the subscription is granted (every later message is collected)."""
        self.last_error: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask :meth:`run` to disconnect and return."""
        self._stop.set()
        self._wake.set()

    def close(self) -> None:
        """Close the database."""
        self._conn.close()

    def run(self, *, duration: float | None = None) -> None:
        """Collect until :meth:`stop` (or for ``duration`` seconds), reconnecting with backoff."""
        deadline = None if duration is None else time.monotonic() + duration
        backoff = Backoff(*self._backoff)
        topic = f"{self.prefix}/#"
        while not self._stop.is_set():
            try:
                session = connect_session(
                    self.settings,
                    self.settings.protocol,
                    make=self._make_session,
                    logger=self._log,
                    stop=self._stop,
                )
            except UplinkError as exc:
                if self._stop.is_set():
                    break
                self.last_error = str(exc)
                delay = backoff.next()
                self._log.warning("%s; retrying in %.1f s", exc, delay)
                if self._wait(delay, deadline):
                    break
                continue
            session.subscribe(topic)
            granted = False
            while session.connected and not self._stop.is_set():
                if not granted and session.subscribed.is_set():
                    granted = True
                    if session.subscribe_refused is not None:
                        self.last_error = (
                            f"the broker at {self.settings.address} refused the subscription to "
                            f"{topic} ({session.subscribe_refused}); its ACL must let "
                            f"{self.settings.username or self.settings.client_id!r} read {topic}"
                        )
                        self._log.error("%s", self.last_error)
                        break
                    backoff.reset()
                    self._log.info(
                        "collecting %s from %s into %s", topic, self.settings.address, self.db_path
                    )
                    self.ready.set()
                if self._wait(1.0, deadline):
                    break
            lost = session.lost_reason
            session.close()
            if self._stop.is_set() or (deadline is not None and time.monotonic() >= deadline):
                break
            self._log.warning(
                "connection to %s lost (%s); reconnecting", self.settings.address, lost
            )
            if self._wait(backoff.next(), deadline):
                break

    def _wait(self, seconds: float, deadline: float | None) -> bool:
        """Wait up to ``seconds`` (or the deadline); True when it is time to stop."""
        if deadline is not None:
            seconds = min(seconds, deadline - time.monotonic())
        if seconds > 0:
            self._wake.wait(seconds)
        self._wake.clear()
        return self._stop.is_set() or (deadline is not None and time.monotonic() >= deadline)

    def _make_session(self, protocol: Literal["5", "3.1.1"]) -> MqttSession:
        return MqttSession(
            self.settings,
            protocol=protocol,
            password=self._password,
            tls=self._tls,
            wake=self._wake,
            on_message=self._on_message,
            manual_ack=True,
            logger=self._log,
        )

    # -- in paho's thread ------------------------------------------------------------------------

    def _on_message(self, message: mqtt.MQTTMessage) -> bool:
        try:
            self.store(message.topic, bytes(message.payload))
        except sqlite3.Error as exc:
            # Not acknowledged: the broker sends it again after the next reconnect.
            self._log.error("cannot store a message from %s: %s", message.topic, exc)
            self.last_error = str(exc)
            return False
        return True

    def store(self, topic: str, payload: bytes) -> None:
        """Store one message (a readings or events pack, a status or health message)."""
        parts = parse_topic(self.prefix, topic)
        counts = dict.fromkeys(COUNTERS, 0)
        counts["messages"] = 1
        now = time.time()
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            if parts is None:
                self._log.debug("ignoring a message on %s", topic)
            elif parts.kind in ("readings", "events"):
                try:
                    records = decode_pack(payload, now=now)
                except ParseError as exc:
                    counts["rejected"] = 1
                    self._log.warning("rejected a pack on %s: %s", topic, exc)
                else:
                    if parts.kind == "readings":
                        self._readings(parts, records, now, counts)
                    else:
                        self._events(parts, records, now, counts)
            else:
                self._device(parts, payload, now)
            for key, amount in counts.items():
                if amount:
                    conn.execute(
                        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                        "DO UPDATE SET value = value + excluded.value",
                        (key, amount),
                    )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        for key, amount in counts.items():
            self.counts[key] += amount

    def _readings(
        self, parts: TopicParts, records: list[Any], now: float, counts: dict[str, int]
    ) -> None:
        message = self.counts["messages"] + 1
        own = f"{parts.device}/"
        rows = [
            (
                parts.device,
                r.id,
                parts.city,
                parts.lab,
                r.name.removeprefix(own),
                r.time_us,
                r.value,
                r.unit,
                ",".join(r.quality),
                now,
                message,
            )
            for r in records
        ]
        cur = self._conn.executemany(
            "INSERT OR IGNORE INTO readings (device, id, city, lab, stream, t, value, unit, "
            "quality, received, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        counts["readings"] += cur.rowcount
        counts["duplicates"] += len(rows) - cur.rowcount

    def _events(
        self, parts: TopicParts, records: list[Any], now: float, counts: dict[str, int]
    ) -> None:
        message = self.counts["messages"] + 1
        own = f"{parts.device}/"
        rows = [
            (
                parts.device,
                r.id,
                parts.city,
                parts.lab,
                r.name.removeprefix(own).removeprefix("event/"),
                str(r.extra.get("sev", "info")),
                r.time_us,
                "" if r.value is None else str(r.value),
                None if r.extra.get("data") is None else json.dumps(r.extra["data"]),
                now,
                message,
            )
            for r in records
        ]
        cur = self._conn.executemany(
            "INSERT OR IGNORE INTO events (device, id, city, lab, kind, severity, t, text, "
            "data, received, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        counts["events"] += cur.rowcount
        counts["duplicates"] += len(rows) - cur.rowcount

    def _device(self, parts: TopicParts, payload: bytes, now: float) -> None:
        text = payload.decode("utf-8", errors="replace")
        column = "status" if parts.kind == "status" else "health"
        self._conn.execute(
            f"INSERT INTO devices (device, city, lab, {column}, {column}_at) "
            f"VALUES (?, ?, ?, ?, ?) ON CONFLICT (device) DO UPDATE SET "
            f"city = excluded.city, lab = excluded.lab, {column} = excluded.{column}, "
            f"{column}_at = excluded.{column}_at",
            (parts.device, parts.city, parts.lab, text, now),
        )


# -- reading a collector database ---------------------------------------------------------------


def collected(db: Path, *, device: str | None = None) -> Iterator[dict[str, Any]]:
    """The readings in a collector database in arrival order, as plain data."""
    if not db.exists():
        raise StoreError(f"no collector database at {db}; run edge-agent region collect first")
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        sql = (
            "SELECT device, id, city, lab, stream, t, value, unit, quality, received FROM readings"
        )
        params: tuple[Any, ...] = ()
        if device is not None:
            sql += " WHERE device = ?"
            params = (device,)
        for row in conn.execute(sql + " ORDER BY seq", params):
            dev, rid, city, lab, stream, t, value, unit, quality, received = row
            yield {
                "device": dev,
                "id": rid,
                "city": city,
                "lab": lab,
                "stream": stream,
                "time": t / 1_000_000,
                "value": value,
                "unit": unit,
                "quality": quality.split(",") if quality else [],
                "received": received,
            }
    finally:
        conn.close()


def export(rows: Iterator[dict[str, Any]], out: TextIO, fmt: Literal["csv", "jsonl"]) -> int:
    """Write collected readings as CSV or JSON lines; returns how many."""
    count = 0
    writer = None
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(
            [
                "device",
                "id",
                "time",
                "iso_time",
                "stream",
                "value",
                "unit",
                "quality",
                "city",
                "lab",
            ]
        )
    for row in rows:
        if writer is not None:
            iso = datetime.fromtimestamp(row["time"], UTC).isoformat(timespec="microseconds")
            writer.writerow(
                [
                    row["device"],
                    row["id"],
                    f"{row['time']:.6f}",
                    iso,
                    row["stream"],
                    row["value"],
                    row["unit"],
                    "|".join(row["quality"]),
                    row["city"],
                    row["lab"],
                ]
            )
        else:
            out.write(json.dumps(row) + "\n")
        count += 1
    return count
