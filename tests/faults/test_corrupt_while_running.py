"""A database file damaged under a running agent: pages in the middle of the file overwritten
through a file handle of another process, as a failing SD card does to pages that were sound
when the agent started.

What must hold: the agent notices when its writer next reads those pages (here: retention
dropping the oldest readings reaches them); it keeps running; the damaged file is set aside
under a name with the time, with the damage in it untouched; a fresh database takes its place,
with the ``store_replaced`` alert and the counter that ``edge-agent status`` shows; new readings
are committed to it, their row ids going on from the last one committed to the old file, none
missing; and it is intact when the agent stops. The uplink, which read the old file through its
own connection, moves to the new one: the region collector (through a real mosquitto)
receives the alert and every reading committed to either file while the agent ran.
"""

from __future__ import annotations

import calendar
import random
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edge_agent.readings import Reading
from edge_agent.store import Store
from edge_agent.store.recovery import SET_ASIDE_PATTERN
from tests.integration.agent_process import AgentProcess
from tests.integration.mosquitto import (
    CITY,
    DEVICE,
    LAB,
    Broker,
    CollectorThread,
    Pki,
    broker_fixture,  # noqa: F401
    collector_fixture,  # noqa: F401
    pki_fixture,  # noqa: F401
    uplink_meta,
    uplink_table,
)

PAGE = 4096
PREFILL = 300_000
SPREAD = 120.0
"""Seconds of reading times the prefill covers: retention drops them bit by bit meanwhile."""
MAX_AGE = 3600.0


def config(tmp_path: Path, data: Path, uplink: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(
        f"""
[device]
id = "{DEVICE}"
city = "{CITY}"
lab = "{LAB}"
trust_clock = true

[store]
data_dir = "{data}"
flush_interval = "200ms"
max_age = "1h"
retention_interval = "250ms"

[api]
socket = "{tmp_path / "api.sock"}"

[discovery]
enabled = false

[[sensor]]
name = "air"
driver = "simulated.air"
interval = "50ms"

{uplink}
"""
    )
    return path


def prefill(data: Path) -> str:
    """A database of 20 MB (well beyond SQLite's page cache) whose readings reach retention's
    age limit one after another over the next two minutes; its store uid."""
    start = time.time() - MAX_AGE + 5
    with Store(data) as store:
        for first in range(0, PREFILL, 50_000):
            store.write(
                [
                    Reading(f"archive/s{i % 4}", start + i * SPREAD / PREFILL, float(i), "Cel")
                    for i in range(first, first + 50_000)
                ]
            )
        return store.uid


def leaves_ahead(db: Path, skip: int, count: int) -> list[int]:
    """Page numbers of the ``readings`` table's leaves that hold the rows ``skip`` to
    ``skip + count`` after the oldest one (SQLite's dbstat table lists leaves in key order)."""
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        leaves = conn.execute(
            "SELECT pageno, ncell FROM dbstat WHERE name = 'readings' AND pagetype = 'leaf' "
            "ORDER BY path"
        ).fetchall()
    except sqlite3.OperationalError as exc:
        pytest.skip(f"this SQLite has no dbstat table to find pages by ({exc})")
    finally:
        conn.close()
    pages, seen = [], 0
    for page, cells in leaves:
        if skip <= seen < skip + count:
            pages.append(page)
        seen += cells
    return pages


def committed_rows(lines: list[str]) -> list[int]:
    """The row ids of the agent's "committed ... through row N" log lines."""
    return [int(line.rsplit(" ", 1)[1]) for line in lines if "through row" in line]


def at_region(db: Path, sql: str) -> list[tuple[object, ...]]:
    """Rows of the region collector's database (none while it creates its tables)."""
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(sql, (DEVICE,)).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def wait_for(condition: Callable[[], bool], what: str, agent: AgentProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if agent.proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{agent.log[-5000:]}")
        time.sleep(0.1)


@pytest.mark.slow
def test_damage_under_a_running_agent_is_set_aside_and_the_agent_goes_on(
    edge_agent_cmd: list[str],
    tmp_path: Path,
    broker: Broker,
    pki: Pki,
    collector: CollectorThread,
) -> None:
    data = tmp_path / "data"
    old_uid = prefill(data)
    db = data / "readings.db"
    uplink = uplink_table(broker.port, pki, tmp_path)
    agent = AgentProcess(edge_agent_cmd, config(tmp_path, data, uplink))
    region_ids = "SELECT id FROM readings WHERE device = ?"
    try:
        wait_for(lambda: agent.committed_row > PREFILL, "the agent's start", agent, 60)
        # The region has the backlog (the damage is not in the uplink's way).
        wait_for(
            lambda: uplink_meta(data).get("backlog", 1 << 30) < 100,  # type: ignore[operator]
            "the backlog at the region",
            agent,
            120,
        )

        # Overwrite leaves a little ahead of the oldest reading: retention, which drops the
        # oldest readings every few seconds, reads them soon, from the file (not from its cache:
        # they were not touched since the start).
        targets = leaves_ahead(db, 5_000, 40_000)
        assert len(targets) > 50
        garbage = {page: random.Random(page).randbytes(PAGE) for page in targets}
        with db.open("r+b") as f:
            for page, junk in garbage.items():
                f.seek((page - 1) * PAGE)
                f.write(junk)
        damaged_at = time.time()

        wait_for(
            lambda: any("set it aside" in line for line in agent.lines),
            "the damage to be noticed",
            agent,
            60,
        )
        noticed_at = time.time()
        found = next(i for i, line in enumerate(agent.lines) if "set it aside" in line)
        before = committed_rows(agent.lines[:found])[-1]
        # The agent goes on: it commits new readings, to the fresh database.
        wait_for(lambda: agent.committed_row >= before + 20, "commits after it", agent, 30)
        assert agent.proc.poll() is None

        # The region gets the alert, what was committed to the old file while the agent ran,
        # and what is committed to the new one.
        with Store(data, readonly=True) as store:
            fresh = {r.id for r in store.after(0, limit=10**9)}
            new_uid = store.uid
        live_old = {f"{old_uid}-{row}" for row in range(PREFILL + 1, before + 1)}
        wait_for(
            lambda: {rid for (rid,) in at_region(collector.db, region_ids)} >= fresh | live_old,
            "every reading at the region",
            agent,
            60,
        )
        wait_for(
            lambda: bool(
                at_region(
                    collector.db,
                    "SELECT id FROM events WHERE device = ? AND kind = 'store_replaced'",
                )
            ),
            "the alert at the region",
            agent,
            30,
        )

        status = subprocess.run(
            [*edge_agent_cmd, "status", "--data-dir", str(data)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    finally:
        agent.proc.send_signal(signal.SIGTERM)
        code = agent.wait(30)
    assert code == 0, agent.log[-5000:]

    (moved,) = data.glob(SET_ASIDE_PATTERN)
    stamp = moved.name.removeprefix("readings-corrupt-").removesuffix(".db")
    set_aside_at = calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ"))
    assert damaged_at - 1 <= set_aside_at <= noticed_at + 1, stamp  # named with the UTC time
    kept = moved.read_bytes()
    assert all(kept[(p - 1) * PAGE : p * PAGE] == junk for p, junk in garbage.items())
    assert "turned out damaged while in use" in agent.lines[found]

    with Store(data, readonly=True) as store:
        assert store.integrity_check() == []
        assert store.uid != old_uid
        rows = [r.row for r in store.after(0, limit=10**9)]
        (alert,) = [e for e in store.recent_events(20) if e["severity"] == "alert"]
        counters = store.counters()
    # Numbered on from the old file, none missing: the readings the writer held when it found
    # the damage were committed here.
    assert rows == list(range(before + 1, rows[-1] + 1)) and len(rows) >= 20
    assert alert["kind"] == "store_replaced"
    assert alert["data"]["moved_to"] == str(moved)
    assert "malformed" in alert["message"] and moved.name in alert["message"]
    assert counters["store.replaced"] == 1
    assert "dropped.writer_overflow" not in counters
    arrived = [rid for (rid,) in at_region(collector.db, region_ids)]
    assert all(rid.startswith((old_uid, new_uid)) for rid in arrived)  # type: ignore[union-attr]
    # The uplink noticed that its file was replaced and opened the new one.
    assert "the uplink starts again on the new one" in agent.log
    assert "counter    store.replaced = 1" in status
    assert "alert: the readings database was damaged and was replaced by a fresh one" in status
