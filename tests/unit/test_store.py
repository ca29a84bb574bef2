"""The store keeps every committed reading, with a stable id, and answers queries."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from edge_agent.errors import StoreCorruptError, StoreError
from edge_agent.readings import Quality, Reading
from edge_agent.store import RetentionPolicy, Store
from edge_agent.store.retention import apply_retention
from edge_agent.store.schema import SCHEMA_VERSION

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def readings(n: int, stream: str = "air/temperature", start: float = T0) -> list[Reading]:
    return [Reading(stream, start + i, 20.0 + i / 10, "Cel") for i in range(n)]


def test_written_readings_come_back_with_their_values_units_and_flags(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.write(
            [
                Reading("air/temperature", T0, -3.25, "Cel"),
                Reading("bay-1/occupied", T0, True, ""),
                Reading("road/condition", T0, "wet", ""),
                Reading("road/condition", T0 + 1, "12", ""),
                Reading("probe/temperature", T0, 85.0, "Cel", Quality.OUT_OF_RANGE),
                Reading("probe/temperature", T0 + 1, None, "Cel", Quality.CHECKSUM_FAILED),
            ]
        )
        got = [(r.stream, r.time, r.value, r.unit, r.quality) for r in store.query()]
    assert got == [
        ("air/temperature", T0, -3.25, "Cel", Quality.GOOD),
        ("bay-1/occupied", T0, True, "", Quality.GOOD),
        ("road/condition", T0, "wet", "", Quality.GOOD),
        ("road/condition", T0 + 1, "12", "", Quality.GOOD),
        ("probe/temperature", T0, 85.0, "Cel", Quality.OUT_OF_RANGE),
        ("probe/temperature", T0 + 1, None, "Cel", Quality.CHECKSUM_FAILED),
    ]


def test_database_is_in_wal_mode_with_current_schema(tmp_path: Path) -> None:
    Store(tmp_path).close()
    conn = sqlite3.connect(tmp_path / "readings.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_ids_are_stable_and_unique_across_reopening_and_emptying(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.write(readings(3))
        first = [r.id for r in store.query()]
        uid = store.uid
        dropped = apply_retention(store, RetentionPolicy(max_age=1.0), now=T0 + 86400)
        assert dropped.by_age == 3 and store.count() == 0
    with Store(tmp_path) as store:
        assert store.uid == uid
        store.write(readings(2))
        second = [r.id for r in store.query()]
    assert first == [f"{uid}-1", f"{uid}-2", f"{uid}-3"]
    assert second == [f"{uid}-4", f"{uid}-5"]  # row ids never come back


def test_a_new_database_gets_a_new_uid(tmp_path: Path) -> None:
    with Store(tmp_path / "a") as a, Store(tmp_path / "b") as b:
        assert a.uid != b.uid
        assert len(a.uid) == 16


def test_latest_per_stream_and_pattern(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.write(readings(5, "air/temperature") + readings(3, "air/humidity"))
        store.write([Reading("bay-1/distance", T0 + 100, 2.5, "m")])
        latest = {r.stream: r.value for r in store.latest()}
        air = [r.stream for r in store.latest("air/*")]
    assert latest == {"air/humidity": 20.2, "air/temperature": 20.4, "bay-1/distance": 2.5}
    assert air == ["air/humidity", "air/temperature"]


def test_query_by_time_range_is_half_open(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.write(readings(10))
        times = [r.time - T0 for r in store.query(since=T0 + 2, until=T0 + 5)]
    assert times == [2.0, 3.0, 4.0]


def test_stats_per_stream(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.write(readings(4))
        store.write([Reading("air/temperature", T0 + 9, 85.0, "Cel", Quality.OUT_OF_RANGE)])
        store.write([Reading("bay-1/occupied", T0, True, "")])
        stats = {s.stream: s for s in store.stats()}
    temp = stats["air/temperature"]
    assert (temp.count, temp.flagged, temp.minimum, temp.maximum) == (5, 1, 20.0, 85.0)
    assert temp.first == T0 and temp.last == T0 + 9
    assert stats["bay-1/occupied"].mean is None  # no mean of booleans


def test_after_returns_commit_order_for_the_outbox(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.write(readings(5))
        rows = [r.row for r in store.after(2, limit=2)]
    assert rows == [3, 4]


def test_failed_batch_stores_nothing_and_the_store_stays_usable(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.write(readings(2))
        bad = [Reading("new/stream", T0, 1.0, ""), Reading("air/temperature", T0, object(), "")]
        with pytest.raises(StoreError, match="cannot write 2 readings"):
            store.write(bad)  # type: ignore[list-item]
        assert store.count() == 2
        assert store.streams() == ["air/temperature"]
        store.write([Reading("new/stream", T0, 1.0, "")])
        assert store.streams() == ["air/temperature", "new/stream"]


def test_readonly_store_sees_what_the_writer_commits(tmp_path: Path) -> None:
    with Store(tmp_path) as writer:
        writer.write(readings(1))
        with Store(tmp_path, readonly=True) as reader:
            writer.write(readings(1, "air/humidity"))
            assert reader.streams() == ["air/humidity", "air/temperature"]
            assert reader.count() == 2


def test_readonly_store_without_database_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"no readings database .* pass the right --data-dir"):
        Store(tmp_path, readonly=True)


def test_garbage_file_is_reported_as_corrupt(tmp_path: Path) -> None:
    (tmp_path / "readings.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreCorruptError, match="not a usable SQLite database"):
        Store(tmp_path)


def test_database_from_a_newer_agent_is_refused(tmp_path: Path) -> None:
    Store(tmp_path).close()
    conn = sqlite3.connect(tmp_path / "readings.db")
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this agent"):
        Store(tmp_path)


def test_events_and_counters_persist(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.record_event("retention", "dropped 3", severity="warning", data={"n": 3})
        store.add_counter("dropped.test", 2)
        store.add_counter("dropped.test", 3)
    with Store(tmp_path, readonly=True) as store:
        (event,) = store.recent_events(5)
        assert (event["kind"], event["severity"], event["data"]) == (
            "retention",
            "warning",
            {"n": 3},
        )
        assert store.counters() == {"dropped.test": 5}


def test_integrity_check_passes_on_a_fresh_store(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.write(readings(100))
        assert store.integrity_check() == []


def test_one_writer_per_data_directory(tmp_path: Path) -> None:
    with Store(tmp_path):
        with pytest.raises(StoreError, match="in use by another edge-agent"):
            Store(tmp_path)
        with Store(tmp_path, readonly=True) as reader:  # readers are always welcome
            assert reader.count() == 0
    Store(tmp_path).close()  # the lock goes with the writer


def test_outbox_cursor_only_moves_forward_and_survives_reopening(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.write(readings(10))
        assert store.backlog() == 10
        assert [r.row for r in store.outbox(limit=3)] == [1, 2, 3]
        store.set_outbox_cursor(4)
        store.set_outbox_cursor(2)  # a late acknowledgement does not move it back
    with Store(tmp_path) as store:
        assert store.outbox_cursor() == 4
        assert store.backlog() == 6
        assert [r.row for r in store.outbox(limit=2)] == [5, 6]
