"""A damaged database file at start: garbage, cut short, or a page overwritten.

What must hold: the damage is detected when the agent opens the store; the file is set aside
under a name with the time (its WAL with it), untouched; a fresh database is created and holds
an ``alert`` event that says what was wrong and where the old file went; the agent runs on
without anyone's help. A database that is merely locked, or newer than the agent, is refused as
before and never moved.
"""

from __future__ import annotations

import logging
import random
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edge_agent.errors import StoreError
from edge_agent.readings import Reading
from edge_agent.store import Store, open_store
from edge_agent.store.recovery import SET_ASIDE_PATTERN
from edge_agent.store.schema import SCHEMA_VERSION
from tests.integration.agent_process import AgentProcess, write_config

PAGE = 4096
T0 = 1_767_225_600.0


def healthy_database(data: Path, readings: int = 20_000) -> str:
    """A database as a stopped agent leaves it; returns its store uid."""
    with Store(data) as store:
        store.write([Reading(f"s{i % 4}/x", T0 + i, float(i), "Cel") for i in range(readings)])
        return store.uid


def garbage(path: Path) -> None:
    path.write_bytes(random.Random(1).randbytes(path.stat().st_size))


def truncated(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.truncate(size * 6 // 10 // PAGE * PAGE)  # whole pages: only the header tells


def cut_mid_page(path: Path) -> None:
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size - PAGE // 3)


def page_overwritten(path: Path) -> None:
    pages = path.stat().st_size // PAGE
    with path.open("r+b") as f:  # a torn write in the middle of the file
        f.seek(pages // 2 * PAGE)
        f.write(random.Random(2).randbytes(PAGE))


DAMAGE: dict[str, Callable[[Path], None]] = {
    "garbage": garbage,
    "truncated": truncated,
    "cut-mid-page": cut_mid_page,
    "page-overwritten": page_overwritten,
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_database_is_set_aside_and_replaced(
    damage: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    old_uid = healthy_database(data)
    db = data / "readings.db"
    DAMAGE[damage](db)
    damaged_bytes = db.read_bytes()

    found_at = time.time()
    with caplog.at_level(logging.ERROR), open_store(data, logger=logging.getLogger("t")) as store:
        assert store.count() == 0 and store.uid != old_uid  # fresh: ids never repeat
        store.write([Reading("air/temperature", T0, 1.0, "Cel")])  # and usable
        (event,) = store.recent_events(5)
        counters = store.counters()
    (moved,) = data.glob(SET_ASIDE_PATTERN)
    assert moved.read_bytes() == damaged_bytes  # set aside untouched
    stamp = time.strftime("%Y%m%dT%H%M", time.gmtime(found_at))
    assert moved.name.startswith(f"readings-corrupt-{stamp}")
    assert event["kind"] == "store_replaced" and event["severity"] == "alert"
    assert moved.name in event["message"] and event["data"]["moved_to"] == str(moved)
    assert "damaged" in event["message"]
    assert counters == {"store.replaced": 1}
    assert "set it aside" in caplog.text

    # The next start finds the fresh database sound and leaves it alone.
    with open_store(data, logger=logging.getLogger("t")) as store:
        assert store.count() == 1
    assert list(data.glob(SET_ASIDE_PATTERN)) == [moved]


def test_a_crashed_writers_wal_moves_with_the_damaged_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    healthy_database(data)
    conn = sqlite3.connect(data / "readings.db")  # a writer that dies with its WAL in place
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("INSERT INTO meta (key, value) VALUES ('x', 1)")
    wal = (data / "readings.db-wal").read_bytes()
    page_overwritten(data / "readings.db")
    with open_store(data, logger=logging.getLogger("t")) as store:
        assert store.count() == 0
    conn.close()
    (moved,) = data.glob(SET_ASIDE_PATTERN)
    assert Path(f"{moved}-wal").read_bytes()[:32] == wal[:32]


def test_locked_or_newer_databases_are_refused_and_never_moved(tmp_path: Path) -> None:
    data = tmp_path / "data"
    healthy_database(data, readings=10)
    with Store(data), pytest.raises(StoreError, match="in use by another edge-agent"):
        open_store(data, logger=logging.getLogger("t"))
    conn = sqlite3.connect(data / "readings.db")
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this agent"):
        open_store(data, logger=logging.getLogger("t"))
    assert list(data.glob(SET_ASIDE_PATTERN)) == []


@pytest.mark.slow
def test_agent_starts_on_a_truncated_database(edge_agent_cmd: list[str], tmp_path: Path) -> None:
    data = tmp_path / "data"
    healthy_database(data)
    truncated(data / "readings.db")
    agent = AgentProcess(edge_agent_cmd, write_config(tmp_path / "agent.toml", data))
    deadline = time.monotonic() + 60
    while agent.committed_row < 1:
        if agent.proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the agent did not start on a fresh database:\n{agent.log}")
        time.sleep(0.05)
    agent.proc.send_signal(signal.SIGTERM)
    assert agent.wait() == 0, agent.log
    assert "is not a usable SQLite database" in agent.log and "set it aside" in agent.log
    (moved,) = data.glob(SET_ASIDE_PATTERN)
    with Store(data, readonly=True) as store:
        assert store.integrity_check() == []
        assert store.count() >= 1
        alerts = [e for e in store.recent_events(10) if e["severity"] == "alert"]
    assert [e["kind"] for e in alerts] == ["store_replaced"]
    assert alerts[0]["data"]["moved_to"] == str(moved)
