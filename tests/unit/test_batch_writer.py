"""The batch writer commits on count or time, whichever first, and never loses what it holds."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from edge_agent.readings import Reading
from edge_agent.store import BatchWriter, Store

T0 = 1_767_225_600.0


def batch(n: int, start: int = 0) -> list[Reading]:
    return [Reading("air/temperature", T0 + start + i, float(start + i), "Cel") for i in range(n)]


def wait_for(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail("condition not met in time")
        time.sleep(0.01)


def test_commits_when_the_count_is_reached(tmp_path: Path, logger: logging.Logger) -> None:
    commits: list[tuple[int, int]] = []
    writer = BatchWriter(
        lambda: Store(tmp_path),
        flush_count=100,
        flush_interval=3600,
        on_commit=lambda last, n: commits.append((last, n)),
        logger=logger,
    )
    writer.start()
    try:
        writer.add(batch(99))
        time.sleep(0.2)
        assert commits == []  # neither the count nor the interval is reached
        writer.add(batch(1, 99))
        wait_for(lambda: commits)
        assert commits == [(100, 100)]
    finally:
        writer.stop()


def test_commits_when_the_interval_has_passed(tmp_path: Path, logger: logging.Logger) -> None:
    writer = BatchWriter(
        lambda: Store(tmp_path), flush_count=10_000, flush_interval=0.1, logger=logger
    )
    writer.start()
    try:
        writer.add(batch(5))
        wait_for(lambda: writer.committed == 5, timeout=2.0)
    finally:
        writer.stop()


def test_stop_commits_everything_pending(tmp_path: Path, logger: logging.Logger) -> None:
    writer = BatchWriter(
        lambda: Store(tmp_path), flush_count=10_000, flush_interval=3600, logger=logger
    )
    writer.start()
    writer.add(batch(1234))
    writer.stop()
    with Store(tmp_path, readonly=True) as store:
        assert store.count() == 1234


def test_flush_returns_the_last_committed_row(tmp_path: Path, logger: logging.Logger) -> None:
    writer = BatchWriter(lambda: Store(tmp_path), flush_interval=3600, logger=logger)
    writer.start()
    try:
        writer.add(batch(7))
        assert writer.flush(timeout=5) == 7
    finally:
        writer.stop()


def test_overflow_beyond_max_pending_is_dropped_and_counted(
    tmp_path: Path, logger: logging.Logger
) -> None:
    writer = BatchWriter(
        lambda: Store(tmp_path),
        flush_count=10_000,
        flush_interval=3600,
        max_pending=50,
        logger=logger,
    )
    writer.start()
    writer.add(batch(40))
    writer.add(batch(20, 40))
    assert writer.dropped == 10
    writer.stop()
    with Store(tmp_path, readonly=True) as store:
        assert [r.value for r in store.query()] == [float(i) for i in range(50)]


def test_failing_disk_keeps_readings_and_retries(tmp_path: Path, logger: logging.Logger) -> None:
    stores: list[Store] = []

    def open_store() -> Store:
        stores.append(Store(tmp_path))
        return stores[0]

    writer = BatchWriter(open_store, flush_count=1, flush_interval=0.05, logger=logger)
    writer.start()
    try:
        # SQLite refuses every write on this connection, as it does on a read-only medium.
        writer.call(lambda s: s.connection.execute("PRAGMA query_only=1")).result(5)
        writer.add(batch(3))
        wait_for(lambda: writer.write_errors >= 1)
        assert writer.committed == 0
        assert "readonly" in (writer.last_error or "")
        stores[0].connection.execute("PRAGMA query_only=0")
        wait_for(lambda: writer.committed == 3, timeout=10)
    finally:
        writer.stop()
    with Store(tmp_path, readonly=True) as store:
        assert store.count() == 3


def test_work_in_the_writer_thread_runs_after_pending_commits(
    tmp_path: Path, logger: logging.Logger
) -> None:
    writer = BatchWriter(lambda: Store(tmp_path), flush_interval=3600, logger=logger)
    writer.start()
    try:
        writer.add(batch(3))
        assert writer.call(lambda store: store.count()).result(5) == 3
    finally:
        writer.stop()
