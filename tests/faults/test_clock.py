"""Clock faults: a Pi without a real-time clock starts far in the past, the clock is stepped
forward by the time sync, then back by a correcting NTP server.

What must hold: readings keep their order; readings taken before the sync are flagged
``clock_unsynced`` and, once the clock is synchronised, moved to their true time; the timers
(sensor polling, an experiment's ``on_timer``, retention) keep working through every step; and
retention by age neither drops the pre-sync readings (whose recorded times lie decades back)
nor stops dropping what is really old. At the region, through a real mosquitto and the
collector: no reading arrives with a time from before its correction; the readings committed
before the first pre-sync one arrive while the clock is still wrong; in the end every reading
arrives exactly once, with the time the store holds, every stream in commit order.

The real agent runs in-process with an injected clock at its boundary (``Agent(clock=...)``):
the wall clock is the system's plus a shift the test sets, and whether it is synchronised is
what the test says, as the kernel's ``adjtimex`` status would.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import defaultdict
from pathlib import Path

import pytest

from edge_agent.readings import Quality, Reading
from edge_agent.store import Store
from tests.faults.rig import agent_config, read_store, running, wait_until, write_experiment
from tests.integration.mosquitto import (
    CITY,
    DEVICE,
    LAB,
    Broker,
    CollectorThread,
    Pki,
    RunningUplink,
    broker_fixture,  # noqa: F401
    collector_fixture,  # noqa: F401
    pki_fixture,  # noqa: F401
    uplink_table,
)
from tests.integration.mosquitto import wait_until as wait_until_blocking

PAST = 2 * 86400.0  # 3 January 1970, as a Pi without RTC and without fake-hwclock starts
YEAR = 365 * 86400.0

TICKER_MANIFEST = """
name = "ticker"
entry = "experiment:Ticker"
writes = ["tick"]
timer = "200ms"
"""

TICKER_CODE = """
from edge_agent import units
from edge_agent.experiments import Experiment


class Ticker(Experiment):
    async def on_timer(self, now):
        self.ctx.emit("tick", 1, units.COUNT)
"""


class SteppedClock:
    """The system's wall clock shifted by :attr:`shift` seconds; synchronised when told."""

    def __init__(self, *, at: float, synchronized: bool) -> None:
        self.shift = at - time.time()
        self.synchronized = synchronized

    def now(self) -> float:
        return time.time() + self.shift

    def step_to(self, at: float) -> None:
        self.shift = at - time.time()


def collected(db: Path) -> list[tuple[str, int, str]]:
    """(reading id, time in µs, quality flags) at the region collector, in arrival order."""
    if not db.exists():
        return []
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return [
            (rid, t, quality)
            for rid, t, quality in conn.execute(
                "SELECT id, t, quality FROM readings WHERE device = ? ORDER BY seq", (DEVICE,)
            )
        ]
    except sqlite3.OperationalError:  # the collector is creating its tables
        return []
    finally:
        conn.close()


@pytest.mark.slow
def test_clock_far_in_the_past_then_forward_then_back(
    tmp_path: Path, broker: Broker, pki: Pki, collector: CollectorThread
) -> None:
    write_experiment(tmp_path, "ticker", TICKER_MANIFEST, TICKER_CODE)
    config = agent_config(
        tmp_path,
        store='retention_interval = "500ms"\nmax_age = "365d"',
        device=f'id = "{DEVICE}"\ncity = "{CITY}"\nlab = "{LAB}"',
        extra=uplink_table(broker.port, pki, tmp_path) + '\n[[experiment]]\nname = "ticker"',
    )
    data = config.store.data_dir
    # A device that has run before: readings from two years ago, which retention must drop
    # once it knows the date.
    real_start = time.time()
    with Store(data) as store:
        store.write(
            [Reading("old/temperature", real_start - 2 * YEAR + i, 1.0, "Cel") for i in range(50)]
        )
        old_ids = {f"{store.uid}-{row}" for row in range(1, 51)}
    region: dict[str, list[tuple[str, int, str]]] = {}

    clock = SteppedClock(at=PAST, synchronized=False)
    published: dict[str, list[tuple[float, float]]] = defaultdict(list)
    phase = ["past"]
    per_phase: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def seen(reading: Reading) -> None:
        # (time the reading carries, true time when it was published)
        published[reading.stream].append((reading.time, time.time()))
        per_phase[phase[0]][reading.stream.split("/")[0]] += 1

    def enough(name: str, ticks: int = 3, polls: int = 10) -> bool:
        counts = per_phase[name]
        return counts["ticker"] >= ticks and counts["road-surface"] >= polls

    async def scenario() -> None:
        async with running(config, clock=clock, on_reading=seen) as agent:
            await wait_until(lambda: enough("past"), "readings and ticks before the sync")
            # What was committed before the first pre-sync reading flows while the clock is
            # wrong; nothing after it does.
            await wait_until(
                lambda: {rid for rid, _, _ in collected(collector.db)} >= old_ids,
                "the readings from before the pre-sync ones at the region",
            )

            # NTP steps the clock to the right time; the kernel reports it synchronised a moment
            # later (the agent's SystemClock re-checks every 10 s).
            phase[0] = "stepped"
            clock.step_to(time.time())
            await wait_until(lambda: enough("stepped", ticks=2, polls=5), "readings after step")
            # Retention runs while the clock is right but not yet reported synchronised: it
            # drops the two-year-old readings and must stop at the pre-sync ones, whose
            # recorded times (1970) are not their true times.
            await wait_until(
                lambda: (
                    agent.writer.call(lambda s: s.counters())
                    .result()
                    .get("dropped.retention_age", 0)
                    >= 50
                ),
                "retention to drop the two-year-old readings",
            )
            # Time enough for the uplink to have sent anything it would send (it is woken by
            # every commit, and acknowledged packs arrive within milliseconds here).
            await asyncio.sleep(2.0)
            region["before sync"] = collected(collector.db)
            phase[0] = "synced"
            clock.synchronized = True
            await wait_until(
                lambda: (
                    agent.writer.call(lambda s: s.counters()).result().get("clock.corrected")
                    is not None
                ),
                "the correction",
            )
            await wait_until(lambda: enough("synced"), "readings after the sync")

            # A correcting NTP server steps the synchronised clock an hour back.
            phase[0] = "back"
            clock.step_to(time.time() - 3600)
            await wait_until(lambda: enough("back"), "readings and ticks after the step back")
            await wait_until(
                lambda: any(
                    e["kind"] == "clock" and "stepped" in e["message"]
                    for e in agent.writer.call(lambda s: s.recent_events(20)).result()
                ),
                "the step event",
            )

    asyncio.run(scenario())

    # Send what the agent committed last (its uplink stopped with it), as a restarted agent
    # would, then compare the region with the store.
    with RunningUplink(config) as run:
        wait_until_blocking(
            lambda: run.uplink.state == "connected" and run.status().backlog == 0,
            60,
            lambda: f"the outbox did not empty: {run.status()}",
        )
    region["end"] = collected(collector.db)

    with read_store(data) as store:
        assert store.integrity_check() == []
        events = store.recent_events(50)
        counters = store.counters()
        rows = {name: list(store.query(name)) for name in store.streams()}

    # Timers kept working: polls and experiment ticks in every phase.
    for name in ("past", "stepped", "synced", "back"):
        assert per_phase[name]["ticker"] >= 2 and per_phase[name]["road-surface"] >= 5, name

    # Retention by age dropped the two-year-old readings, and none of the pre-sync ones.
    assert rows.pop("old/temperature") == []
    assert counters["dropped.retention_age"] == 50

    for stream, stored in rows.items():
        sent = published[stream]
        # Every published reading is stored, in publish order (row order never changes).
        assert len(stored) == len(sent), stream
        assert [r.row for r in stored] == sorted(r.row for r in stored)
        for r, (_, true_time) in zip(stored, sent, strict=True):
            if r.quality & Quality.CLOCK_UNSYNCED:
                # Pre-sync readings: flagged and moved to the time they were really taken.
                assert abs(r.time - true_time) < 0.05, (stream, r, true_time)
            elif r.time < real_start - 1800:  # after the step back: the clock's time as it is
                assert abs(r.time - (true_time - 3600)) < 0.05, (stream, r, true_time)
            else:
                assert abs(r.time - true_time) < 0.05, (stream, r, true_time)
        # Up to the step back, corrected times rise with the row order.
        times = [r.time for r in stored if r.time > real_start - 60]
        step_back = next(
            (i for i in range(1, len(times)) if times[i] < times[i - 1] - 1000), len(times)
        )
        assert times[:step_back] == sorted(times[:step_back]), stream

    flagged = sum(r.quality & Quality.CLOCK_UNSYNCED != 0 for s in rows.values() for r in s)
    past_and_stepped = sum(
        per_phase[p][sensor] for p in ("past", "stepped") for sensor in ("road-surface", "air")
    )
    assert flagged >= past_and_stepped  # ticks of the experiment are flagged too
    assert counters["clock.corrected"] == flagged
    (sync_event,) = [e for e in events if e["message"].startswith("clock synchronised")]
    assert sync_event["data"]["corrected"] == flagged
    assert sync_event["data"]["shift_max_s"] > real_start - PAST - 120  # decades forward
    assert abs(sync_event["data"]["shift_min_s"]) < 0.5  # the stepped, not yet synced ones
    (step_event,) = [e for e in events if "stepped" in e["message"]]
    assert abs(step_event["data"]["step_s"] + 3600) < 1
    # After the step back the clock's times are kept as they are (not flagged, not moved).
    back = [r for s in rows.values() for r in s if r.time < real_start - 1800]
    assert back and not any(r.quality & Quality.CLOCK_UNSYNCED for r in back)

    # At the region: before the sync, the old readings and nothing after them (no pre-sync
    # reading, nor a later one ahead of it).
    assert {rid for rid, _, _ in region["before sync"]} == old_ids
    # In the end: every stored reading exactly once, with the corrected time the store holds,
    # every stream in commit order (the old ones were dropped here by retention after they
    # were sent).
    with read_store(data) as store:
        stored = {r.id: r for r in store.after(0, limit=10**9)}
    arrived = [rid for rid, _, _ in region["end"]]
    assert len(arrived) == len(set(arrived)), "a reading arrived twice at the region"
    assert set(arrived) == set(stored) | old_ids
    times = {rid: t for rid, t, _ in region["end"]}
    wrong = [
        (rid, times[rid] / 1e6, r.time)
        for rid, r in stored.items()
        if abs(times[rid] - round(r.time * 1e6)) > 1
    ]
    assert not wrong, f"{len(wrong)} readings arrived with another time than stored: {wrong[:3]}"
    flagged_at_region = {rid for rid, _, q in region["end"] if "clock_unsynced" in q}
    assert flagged_at_region == {
        rid for rid, r in stored.items() if r.quality & Quality.CLOCK_UNSYNCED
    }
    order: dict[str, list[int]] = defaultdict(list)
    for rid in arrived:
        if rid in stored:
            order[stored[rid].stream].append(stored[rid].row)
    assert all(rows == sorted(rows) for rows in order.values())
