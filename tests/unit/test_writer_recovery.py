"""A database that turns out damaged while the batch writer uses it is set aside and replaced by
a fresh one, as at start, and the writer goes on: the batch it held is committed there, a call
runs again there, row and event ids go on from the old file's, and an outbox still reading the
old file says so.

Real SQLite files damaged through a second file handle. To make the writer read the damaged
pages from the file, as it does for pages that fell out of its page cache on a long-running
device, the test checkpoints the WAL into the file and asks SQLite to release its cache
(``PRAGMA shrink_memory``) before it overwrites them.
"""

from __future__ import annotations

import logging
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.clock import ManualClock
from edge_agent.errors import StoreCorruptError, StoreError
from edge_agent.readings import Quality, Reading
from edge_agent.store import BatchWriter, ClockWatch, Store, open_store
from edge_agent.store.recovery import SET_ASIDE_PATTERN
from edge_agent.uplink.outbox import Outbox
from edge_agent.uplink.senml import decode_pack
from edge_agent.uplink.state import EVENT_CURSOR

PAGE = 4096
T0 = 1_767_225_600.0
OLD_ROWS = 20_000


def readings(n: int, start: float, quality: Quality = Quality.GOOD) -> list[Reading]:
    return [Reading("air/temperature", start + i, float(i), "Cel", quality) for i in range(n)]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A store of 20,000 readings and three events, as an earlier run left it."""
    data = tmp_path / "data"
    with Store(data) as store:
        store.write([Reading(f"s{i % 4}/x", T0 + i, float(i), "Cel") for i in range(OLD_ROWS)])
        for n in range(3):
            store.record_event("test", f"event {n}")
    return data


@pytest.fixture
def writer(data: Path, logger: logging.Logger) -> Iterator[BatchWriter]:
    writer = BatchWriter(
        lambda: open_store(data, logger=logger), flush_interval=3600, logger=logger
    )
    writer.start()
    try:
        yield writer
    finally:
        writer.stop()


def damage(writer: BatchWriter, data: Path, *, rightmost: bool) -> dict[int, bytes]:
    """Overwrite pages of the ``readings`` table under the running writer: its root and
    interior pages and the last leaf (``rightmost``, which the next insert reads) or the first
    leaves (which a read in row order meets first). Returns what was written where."""
    writer.call(lambda s: s.checkpoint("TRUNCATE")).result(10)
    writer.call(lambda s: s.connection.execute("PRAGMA shrink_memory")).result(10)
    conn = sqlite3.connect(f"{(data / 'readings.db').as_uri()}?mode=ro", uri=True)
    try:
        pages = conn.execute(
            "SELECT pageno, pagetype FROM dbstat WHERE name = 'readings' ORDER BY path"
        ).fetchall()
    except sqlite3.OperationalError as exc:
        pytest.skip(f"this SQLite has no dbstat table to find pages by ({exc})")
    finally:
        conn.close()
    leaves = [page for page, kind in pages if kind == "leaf"]
    targets = [page for page, kind in pages if kind != "leaf"]
    targets += leaves[-1:] if rightmost else leaves[:5]
    garbage = {page: random.Random(page).randbytes(PAGE) for page in targets}
    with (data / "readings.db").open("r+b") as f:
        for page, junk in garbage.items():
            f.seek((page - 1) * PAGE)
            f.write(junk)
    return garbage


def check_replaced(data: Path, garbage: dict[int, bytes]) -> dict[str, object]:
    """The damaged file is set aside untouched; the fresh store holds the alert; its event."""
    (moved,) = data.glob(SET_ASIDE_PATTERN)
    kept = moved.read_bytes()
    assert all(kept[(p - 1) * PAGE : p * PAGE] == junk for p, junk in garbage.items())
    with Store(data, readonly=True) as store:
        assert store.integrity_check() == []
        (alert,) = [e for e in store.events() if e["severity"] == "alert"]
        assert store.counters()["store.replaced"] == 1
    assert alert["kind"] == "store_replaced" and alert["data"]["moved_to"] == str(moved)
    assert "turned out damaged while in use" in alert["message"]
    assert "malformed" in alert["message"]
    return alert


def test_the_batch_that_meets_the_damage_is_committed_to_a_fresh_database(
    writer: BatchWriter, data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    writer.add(readings(5, T0 + 1e5))
    assert writer.flush(10) == OLD_ROWS + 5
    garbage = damage(writer, data, rightmost=True)

    writer.add(readings(5, T0 + 2e5))
    with caplog.at_level(logging.ERROR):
        assert writer.flush(10) == OLD_ROWS + 10  # committed, numbered on
    writer.add(readings(5, T0 + 3e5))
    assert writer.flush(10) == OLD_ROWS + 15  # and it goes on
    assert writer.replaced == 1 and writer.write_errors == 1 and writer.dropped == 0
    assert "set it aside" in caplog.text

    alert = check_replaced(data, garbage)
    with Store(data, readonly=True) as store:
        stored = store.after(0, limit=100)
    assert [r.row for r in stored] == list(range(OLD_ROWS + 6, OLD_ROWS + 16))
    assert [r.time for r in stored] == [T0 + 2e5 + i for i in range(5)] + [
        T0 + 3e5 + i for i in range(5)
    ]
    assert alert["row"] == 4  # after the old file's three events


def test_a_call_that_meets_the_damage_runs_again_on_the_fresh_database(
    writer: BatchWriter, data: Path
) -> None:
    garbage = damage(writer, data, rightmost=False)
    rows = writer.call(lambda s: [r.row for r in s.after(0, limit=10**9)]).result(10)
    assert rows == []  # the fresh database's answer
    assert writer.replaced == 1
    writer.add(readings(3, T0 + 1e5))
    assert writer.flush(10) == OLD_ROWS + 3
    check_replaced(data, garbage)


def test_readings_taken_before_the_clock_sync_are_still_corrected_in_the_fresh_database(
    data: Path, logger: logging.Logger
) -> None:
    clock = ManualClock(2 * 86400.0, synchronized=False)
    watch = ClockWatch(clock, boot_id="boot-1")
    writer = BatchWriter(
        lambda: open_store(data, logger=logger),
        flush_interval=3600,
        clock_watch=watch,
        logger=logger,
    )
    writer.start()
    try:

        def publish(n: int) -> None:
            batch = readings(n, clock.now(), Quality.CLOCK_UNSYNCED)
            for reading in batch:
                watch.note(reading)
            writer.add(batch)

        publish(3)
        writer.flush(10)  # a segment in the old file
        damage(writer, data, rightmost=True)
        publish(3)  # the same segment goes on, in the fresh file
        writer.flush(10)
        assert writer.replaced == 1
        clock.time = T0
        clock.synchronized = True
        watch.check()
        writer.flush(10)
    finally:
        writer.stop()
    with Store(data, readonly=True) as store:
        stored = store.after(0, limit=100)
        assert store.counters()["clock.corrected"] == 3
    assert [r.row for r in stored] == list(range(OLD_ROWS + 4, OLD_ROWS + 7))
    assert all(abs(r.time - T0) < 5 for r in stored)  # moved from 1970 to now


def test_an_outbox_on_the_old_file_says_so_and_old_positions_skip_nothing_new(
    writer: BatchWriter, data: Path
) -> None:
    with Store(data, readonly=True) as ro:
        outbox = Outbox(ro, "pi")
        while (pack := outbox.next_readings(5000, 1 << 22)) is not None:
            outbox.acknowledge(pack)
        while (events := outbox.next_events()) is not None:
            outbox.acknowledge(events)
        assert outbox.acked_row == OLD_ROWS and outbox.acked_event == 3

        damage(writer, data, rightmost=True)
        # The outbox meets the damage first; the writer, asked to look, finds it too.
        with pytest.raises(StoreCorruptError, match="damaged where the uplink reads it"):
            outbox.next_readings(5000, 1 << 22)
        assert writer.check_rows(outbox.sent_row).result(10) is True
        assert writer.replaced == 1
        writer.add(readings(5, T0 + 1e5))
        writer.flush(10)
        # The old file has nothing more to give: the outbox says the file was replaced.
        with pytest.raises(StoreError, match="replaced by a fresh database") as raised:
            outbox.next_events()
        assert "the uplink starts again on the new one" in str(raised.value)

        # The uplink writes the positions it learnt from the old file as it stops.
        def late_positions(store: Store) -> None:
            store.set_outbox_cursor(outbox.acked_row)
            store.set_meta(EVENT_CURSOR, outbox.acked_event)

        writer.call(late_positions).result(10)

    # Started again on the new file: every reading and the alert still go out.
    with Store(data, readonly=True) as ro:
        outbox = Outbox(ro, "pi")
        events = outbox.next_events()
        pack = outbox.next_readings(5000, 1 << 22)
    assert events is not None and b"event/store_replaced" in events.payload
    assert pack is not None and pack.count == 5
    assert [r.value for r in decode_pack(pack.payload, now=0.0)] == [0.0, 1.0, 2.0, 3.0, 4.0]
