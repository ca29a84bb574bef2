"""Readings taken before the clock's synchronisation wait in the outbox until their times are
corrected; readings before them keep flowing; the hold ends after 24 h, for an earlier boot's
readings, or when they would fill the store, and then they go out flagged, with an event.

Real SQLite stores, the real batch writer and clock watch; the wall clock is a
:class:`ManualClock` and the monotonic clock a counter the test advances with it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from edge_agent.clock import ManualClock
from edge_agent.readings import Quality, Reading
from edge_agent.store import BatchWriter, ClockWatch, RetentionPolicy, Store
from edge_agent.store.clocksync import HOLD_MAX_WAIT, HoldLimit
from edge_agent.store.retention import apply_retention
from edge_agent.uplink.outbox import Outbox
from edge_agent.uplink.senml import SenmlRecord, decode_pack

PAST = 2 * 86400.0  # 3 January 1970: a Pi without RTC
TRUE = 1_767_225_600.0  # the real time when the clock is synchronised
UNSYNCED = Quality.CLOCK_UNSYNCED
A_DAY = HoldLimit()  # the agent's limits with an uplink and no store.max_size


class Monotonic:
    """A monotonic clock that only moves when the test says so."""

    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


class Device:
    """A writer with a clock watch on a real store, and a way to publish as the agent does."""

    def __init__(self, data: Path, log: logging.Logger, *, boot: str, hold: HoldLimit | None):
        self.clock = ManualClock(PAST, synchronized=False)
        self.mono = Monotonic()
        self.watch = ClockWatch(self.clock, boot_id=boot, monotonic=self.mono, hold=hold)
        self.writer = BatchWriter(
            lambda: Store(data),
            flush_count=100_000,
            flush_interval=3600,
            clock_watch=self.watch,
            logger=log,
        )

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.mono.now += seconds

    def publish(self, value: float, *, flagged: bool = True) -> Reading:
        """A reading taken now, noted as the agent notes flagged ones, and queued."""
        quality = UNSYNCED if flagged and not self.clock.synchronized else Quality.GOOD
        reading = Reading("air/temperature", self.clock.now(), value, "Cel", quality)
        if quality:
            self.watch.note(reading)
        self.writer.add([reading])
        return reading

    def sync(self) -> None:
        """NTP sets the clock to the true time and the kernel reports it synchronised."""
        self.clock.time = TRUE
        self.clock.synchronized = True
        assert self.watch.check() is None
        self.writer.flush(10)  # the writer corrects before it runs the call


@contextmanager
def device(
    data: Path, log: logging.Logger, *, boot: str = "boot-1", hold: HoldLimit | None = A_DAY
) -> Iterator[Device]:
    dev = Device(data, log, boot=boot, hold=hold)
    dev.writer.start()
    try:
        yield dev
    finally:
        dev.writer.stop()


def drain(outbox: Outbox) -> list[SenmlRecord]:
    """Every reading the outbox gives now, acknowledged, as the region decodes them."""
    out: list[SenmlRecord] = []
    while (pack := outbox.next_readings(500, 1 << 20)) is not None:
        out += decode_pack(pack.payload, now=0.0)
        outbox.acknowledge(pack)
    return out


def rows_of(records: list[SenmlRecord]) -> list[int]:
    return [int(str(r.id).rsplit("-", 1)[1]) for r in records]


def test_held_until_corrected_while_earlier_readings_flow(
    tmp_path: Path, logger: logging.Logger
) -> None:
    data = tmp_path / "data"
    with Store(data) as store:  # committed by an earlier run, with a synchronised clock
        store.write(
            [Reading("air/temperature", TRUE - 3600 + i, float(i), "Cel") for i in range(5)]
        )
    with device(data, logger) as dev, Store(data, readonly=True) as ro:
        outbox = Outbox(ro, "pi")
        for i in range(10):
            dev.publish(100.0 + i)
            dev.advance(1.0)
        dev.publish(200.0, flagged=False)  # unflagged, but after the flagged ones: waits too
        dev.writer.flush(10)

        sent = drain(outbox)
        assert rows_of(sent) == [1, 2, 3, 4, 5]  # the earlier readings left at once
        assert outbox.held_back() == 11 and outbox.backlog() == 11
        assert outbox.next_readings(500, 1 << 20) is None  # still nothing: not corrected yet

        synced_at = dev.mono.now
        dev.sync()
        sent = drain(outbox)
        assert outbox.held_back() == 0
    assert rows_of(sent) == list(range(6, 17))  # the held ones, in commit order
    for i, record in enumerate(sent[:10]):
        # The true time: the sync came 10 s (monotonic) after the first of them.
        assert abs(record.time - (TRUE - (synced_at - 5000.0) + i)) < 1e-6, record
        assert record.quality == ("clock_unsynced",)


def test_released_after_a_day_flagged_with_an_event_and_corrected_here_later(
    tmp_path: Path, logger: logging.Logger
) -> None:
    data = tmp_path / "data"
    with device(data, logger) as dev, Store(data, readonly=True) as ro:
        outbox = Outbox(ro, "pi")
        uid = outbox.uid
        taken = []
        for i in range(3):
            taken.append(dev.mono.now)
            dev.publish(float(i))
            dev.advance(10.0)
        dev.advance(HOLD_MAX_WAIT - 90.0)  # 60 s short of the limit for the first reading
        dev.writer.flush(10)
        assert drain(outbox) == []

        dev.advance(61.0)  # the limit is reached, and the writer's next look is due
        dev.writer.flush(10)
        sent = drain(outbox)
        assert rows_of(sent) == [1, 2, 3]
        assert [r.time for r in sent] == [PAST, PAST + 10, PAST + 20]  # as they were taken
        assert all(r.quality == ("clock_unsynced",) for r in sent)
        (release,) = [e for e in ro.events() if e["kind"] == "clock"]
        assert release["severity"] == "warning"
        assert release["data"]["reason"] == "waited" and release["data"]["released"] == 3
        assert release["data"]["first_id"] == f"{uid}-1"
        assert release["data"]["last_id"] == f"{uid}-3"
        assert "not been synchronised for 24 h" in release["message"]
        assert ro.counters()["clock.released_unsynced"] == 3
        # The event goes to the region before the next readings.
        events = outbox.next_events()
        assert events is not None and b"not been synchronised for 24 h" in events.payload

        # The spell goes on: what follows is held back again, for another day at most.
        taken.append(dev.mono.now)
        dev.publish(3.0)
        dev.writer.flush(10)
        assert drain(outbox) == [] and outbox.held_back() == 1

        # Retention by age leaves the released readings alone: their true time is not known.
        dropped = dev.writer.call(
            lambda s: apply_retention(s, RetentionPolicy(max_age=30 * 86400.0), now=TRUE)
        ).result(10)
        assert dropped.total == 0

        synced_at = dev.mono.now
        dev.sync()
        sent = drain(outbox)
        true_times = [TRUE - (synced_at - m) for m in taken]
        assert rows_of(sent) == [4] and abs(sent[0].time - true_times[3]) < 1e-6
        # The released ones are corrected here too, and the correction event names them, with
        # their shift, for the region.
        assert [r.time for r in ro.query()] == pytest.approx(true_times, abs=1e-6)
        (correction,) = [e for e in ro.events() if e["message"].startswith("clock synchronised")]
        assert correction["data"]["corrected"] == 4
        (moved,) = correction["data"]["released"]
        assert (moved["first_id"], moved["last_id"]) == (f"{uid}-1", f"{uid}-3")
        assert moved["shift_s"] == pytest.approx(true_times[0] - PAST, abs=1e-6)


def test_an_earlier_boots_readings_go_at_once_as_they_can_never_be_corrected(
    tmp_path: Path, logger: logging.Logger
) -> None:
    data = tmp_path / "data"
    with device(data, logger, boot="boot-1") as dev:
        for i in range(4):
            dev.publish(float(i))
            dev.advance(1.0)
        dev.writer.flush(10)

    # Without a hold limit (no uplink configured) nothing is ever released.
    with device(data, logger, boot="boot-2", hold=None) as dev, Store(data, readonly=True) as ro:
        dev.writer.flush(10)
        assert drain(Outbox(ro, "pi")) == []

    with device(data, logger, boot="boot-2") as dev, Store(data, readonly=True) as ro:
        dev.writer.flush(10)  # the first look comes at the writer's start
        outbox = Outbox(ro, "pi")
        sent = drain(outbox)
        assert rows_of(sent) == [1, 2, 3, 4]
        assert [r.time for r in sent] == [PAST, PAST + 1, PAST + 2, PAST + 3]
        (event,) = [e for e in ro.events() if e["kind"] == "clock"]
    assert event["data"]["reason"] == "earlier boot" and event["data"]["released"] == 4
    assert "in an earlier boot cannot be corrected" in event["message"]


def test_released_when_the_held_readings_would_fill_half_the_store(
    tmp_path: Path, logger: logging.Logger
) -> None:
    data = tmp_path / "data"
    with Store(data) as store:
        store.write([Reading("air/humidity", TRUE - 1e5 + i, 50.0, "%RH") for i in range(3000)])
    with device(data, logger) as dev:
        for i in range(3000):
            dev.publish(float(i))
        dev.writer.flush(10)
    with Store(data, readonly=True) as ro:
        outbox = Outbox(ro, "pi")
        size = ro.size_bytes()
        assert len(drain(outbox)) == 3000  # the readings before the held ones
        assert outbox.held_back() == 3000

        # Half of the store's limit is more than the held readings take: they stay held.
        with device(data, logger, hold=HoldLimit.for_store(size)) as dev:
            dev.writer.flush(10)
            assert drain(outbox) == [] and outbox.held_back() == 3000
        # They take more than half of the limit: released, with the reason.
        with device(data, logger, hold=HoldLimit.for_store(size // 2)) as dev:
            dev.writer.flush(10)
            sent = drain(outbox)
        assert len(sent) == 3000 and outbox.held_back() == 0
        (event,) = [e for e in ro.events() if e["kind"] == "clock"]
    assert event["data"]["reason"] == "size"
    assert "take over 50% of store.max_size" in event["message"]


def test_a_reading_noted_before_the_sync_and_committed_after_the_correction_is_corrected(
    tmp_path: Path, logger: logging.Logger
) -> None:
    data = tmp_path / "data"
    with device(data, logger) as dev, Store(data, readonly=True) as ro:
        early = dev.publish(1.0)
        dev.advance(1.0)
        # Taken and noted before the sync, but still on its way to the writer at the sync.
        late = Reading("air/temperature", dev.clock.now(), 2.0, "Cel", UNSYNCED)
        dev.watch.note(late)
        dev.advance(1.0)
        dev.sync()
        assert [r.time for r in ro.query()] == [pytest.approx(TRUE - 2, abs=1e-6)]
        dev.writer.add([late])
        dev.writer.flush(10)
        sent = drain(Outbox(ro, "pi"))
    assert [r.value for r in sent] == [early.value, late.value]
    assert abs(sent[1].time - (TRUE - 1)) < 1e-6  # moved like the reading before it
