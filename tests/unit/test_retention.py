"""Retention drops the oldest readings first, by age and by size, and counts every drop."""

from __future__ import annotations

from pathlib import Path

from edge_agent.readings import Reading
from edge_agent.store import RetentionPolicy, Store
from edge_agent.store.retention import apply_retention

T0 = 1_767_225_600.0
DAY = 86400.0


def fill(store: Store, n: int, *, start: float = T0, step: float = 60.0) -> None:
    store.write([Reading("air/temperature", start + i * step, float(i), "Cel") for i in range(n)])


def test_readings_past_max_age_go_and_younger_stay(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        fill(store, 100, step=3600.0)  # 100 hourly readings
        result = apply_retention(
            store, RetentionPolicy(max_age=2 * DAY, chunk=7), now=T0 + 99 * 3600.0
        )
        remaining = [r.value for r in store.query()]
        assert result.by_age == 51  # hours 0..50 are older than 48 h before hour 99
        assert remaining == [float(i) for i in range(51, 100)]
        assert store.counters() == {"dropped.retention_age": 51}
        (event,) = store.recent_events(1)
        assert event["kind"] == "retention" and "dropped 51 oldest readings" in event["message"]


def test_nothing_to_drop_records_nothing(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        fill(store, 10)
        result = apply_retention(store, RetentionPolicy(max_age=DAY), now=T0 + 600)
        assert result.total == 0
        assert store.counters() == {}
        assert store.recent_events(1) == []


def test_size_cap_drops_oldest_until_under_the_cap(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        fill(store, 20_000, step=1.0)
        before = store.size_bytes()
        cap = before // 2
        result = apply_retention(store, RetentionPolicy(max_bytes=cap, chunk=1000), now=T0)
        assert store.size_bytes() <= cap
        assert result.by_size > 0
        rows = [r.row for r in store.query()]
        assert rows == list(range(result.by_size + 1, 20_001))  # the oldest went first
        assert store.counters()["dropped.retention_size"] == result.by_size


def test_drops_of_unsynced_readings_are_counted_apart(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        fill(store, 10, step=DAY)
        result = apply_retention(
            store, RetentionPolicy(max_age=DAY * 3.5), now=T0 + 9 * DAY, synced_row=3
        )
        assert result.by_age == 6  # rows 1..6 are older than 3.5 days
        assert result.unsynced == 3  # rows 4, 5, 6 had not reached the region
        assert store.counters()["dropped.unsynced"] == 3
        (event,) = store.recent_events(1)
        assert event["severity"] == "warning"
