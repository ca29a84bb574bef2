"""Correcting the times of readings taken before the clock was synchronised.

A Raspberry Pi has no real-time clock. Until NTP sets it, the wall clock runs from whatever the
last shutdown left (``fake-hwclock``) or from 1970, and drivers flag what they read then
``clock_unsynced``. The monotonic clock (``CLOCK_MONOTONIC``) runs steadily from boot and is
never stepped, so a reading's true time is its monotonic time plus the offset between the wall
clock and the monotonic clock once the wall clock is right::

    true time = reading time - offset when it was taken + offset after the sync

How the agent does it:

1. While the clock is not synchronised, the agent hands each flagged reading to
   :meth:`ClockWatch.note` as it is published, on the event loop, right after the driver read
   the clock. The watch measures ``offset = wall - monotonic`` there and groups the readings
   into *segments* of one offset; a step of the wall clock (more than ``tolerance``, 0.5 s)
   starts a new segment.
2. The batch writer asks :meth:`ClockWatch.spans` which readings of a batch belong to which
   segment (readings are recognised by identity, in publish order, so readings lost on the way
   are skipped), and records in the same transaction as the readings one ``clock_segments`` row
   per segment: the boot id, the offset in microseconds and the first and last row.
3. Once the kernel reports the clock synchronised (:meth:`ClockWatch.check`, on the agent's
   housekeeping tick), the writer moves every pending segment of this boot by
   ``synced offset - segment offset`` (:func:`correct_segments`): ``t += shift`` for the
   flagged rows of the segment, in one transaction, followed by an event ``clock`` that says
   how many readings moved and by how much, and the counter ``clock.corrected``. Segments of
   earlier boots cannot be corrected (their monotonic clock is gone): they are marked ``lost``,
   counted in ``clock.uncorrectable`` and keep their recorded times. An agent restarted within
   the same boot corrects what the previous run left pending.

Corrected readings keep their ``clock_unsynced`` flag: it records that the time was
reconstructed (accurate to the crystal's drift over the unsynchronised spell, about 0.2 s per
hour at 50 ppm), not read from a synchronised clock. Row order, which is commit order, never
changes, so readings keep their order whatever the clock does. Retention by age does not judge
flagged readings of pending segments, whose times are not known yet (retention by size does).
Timers (polling, flushing, experiment ticks, retention) run on the monotonic clock and are not
disturbed by steps of the wall clock.

A step of a clock that is already synchronised (NTP correcting itself) is reported by
:meth:`ClockWatch.check` so that the agent records an event; such readings are neither flagged
nor moved.
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ..clock import Clock
from ..readings import Quality, Reading
from .database import Store

BOOT_ID_PATH: Final = Path("/proc/sys/kernel/random/boot_id")
_US: Final = 1_000_000
_UNSYNCED: Final = int(Quality.CLOCK_UNSYNCED)


def read_boot_id(path: Path = BOOT_ID_PATH) -> str:
    """The kernel's id of this boot; a random per-process id where the kernel gives none.

    Without a boot id, segments of an earlier process are never corrected (they might come from
    another boot, whose monotonic clock is not ours).
    """
    try:
        return path.read_text().strip()
    except OSError:
        import secrets  # noqa: PLC0415 - only off Linux

        return "process-" + secrets.token_hex(8)


@dataclass(eq=False, slots=True)
class Segment:
    """Readings taken with one offset between the wall clock and the monotonic clock."""

    boot: str
    offset: float
    """Wall clock minus monotonic clock, seconds."""
    db_id: int | None = None
    """Its row in ``clock_segments`` once recorded (set in the writer thread)."""


@dataclass(frozen=True, slots=True)
class ClockStep:
    """A step of a synchronised wall clock, seconds (negative: backwards)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Correction:
    """What one correction pass did."""

    corrected: int
    """Flagged readings whose times were moved."""
    segments: int
    shift_min: float
    shift_max: float
    """Smallest and largest shift applied, seconds."""
    lost: int
    """Flagged readings of earlier boots that cannot be corrected."""


class _Entry:
    __slots__ = ("reading", "segment", "seq")

    def __init__(self, seq: int, reading: Reading, segment: Segment) -> None:
        self.seq = seq
        self.reading = reading
        self.segment = segment


@dataclass(slots=True)
class Run:
    """Batch indexes ``start`` to ``stop`` (inclusive) hold the flagged readings of a segment."""

    segment: Segment
    start: int
    stop: int


class Spans:
    """The segments of one batch's flagged readings, as runs of batch indexes.

    :meth:`record` writes them inside the batch's transaction; :meth:`ClockWatch.consumed`
    is called once that transaction has committed.
    """

    def __init__(self, runs: list[Run], last_seq: int) -> None:
        self.runs = runs
        self.last_seq = last_seq
        self.new: list[tuple[Segment, int]] = []
        """Segments inserted by :meth:`record`, with their new row ids."""

    def record(self, conn: sqlite3.Connection, first_row: int) -> None:
        """Insert or extend the ``clock_segments`` rows (inside the batch's transaction)."""
        self.new = []
        for run in self.runs:
            segment, start, stop = run.segment, run.start, run.stop
            if segment.db_id is None:
                cur = conn.execute(
                    "INSERT INTO clock_segments (boot, offset_us, first_row, last_row) "
                    "VALUES (?, ?, ?, ?)",
                    (
                        segment.boot,
                        round(segment.offset * _US),
                        first_row + start,
                        first_row + stop,
                    ),
                )
                self.new.append((segment, int(cur.lastrowid or 0)))
            else:
                conn.execute(
                    "UPDATE clock_segments SET last_row = max(last_row, ?) WHERE id = ?",
                    (first_row + stop, segment.db_id),
                )


class ClockWatch:
    """Follows the wall clock against the monotonic clock (see the module docstring).

    Args:
        clock: the agent's clock (its :attr:`~edge_agent.clock.Clock.synchronized` decides).
        boot_id: the boot's id (default: the kernel's).
        tolerance: seconds by which the offset may wander before it counts as a step.
        monotonic: the monotonic clock (tests may pass their own).
    """

    def __init__(
        self,
        clock: Clock,
        *,
        boot_id: str | None = None,
        tolerance: float = 0.5,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self.boot = boot_id if boot_id is not None else read_boot_id()
        self.tolerance = tolerance
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._queue: deque[_Entry] = deque()
        self._by_id: dict[int, _Entry] = {}
        self._seq = itertools.count(1)
        self._segment: Segment | None = None
        self._last_offset: float | None = None
        self.synced_offset: float | None = None
        """The offset once the clock is synchronised (None before)."""
        self._correction_due = True  # an earlier run of this boot may have left segments
        self.noted = 0

    def offset(self) -> float:
        """Wall clock minus monotonic clock now, seconds."""
        return self._clock.now() - self._monotonic()

    # -- on the event loop -----------------------------------------------------------------

    def note(self, reading: Reading) -> None:
        """Remember the segment of a reading flagged ``clock_unsynced``, as it is published."""
        offset = self.offset()
        segment = self._segment
        if segment is None or abs(offset - segment.offset) > self.tolerance:
            segment = self._segment = Segment(self.boot, offset)
        entry = _Entry(next(self._seq), reading, segment)
        with self._lock:
            self._queue.append(entry)
            self._by_id[id(reading)] = entry
        self.noted += 1

    def check(self) -> ClockStep | None:
        """Follow the clock's state; returns a step of the clock while it was synchronised."""
        offset = self.offset()
        last, self._last_offset = self._last_offset, offset
        was_synced = self.synced_offset is not None
        if not self._clock.synchronized:
            self.synced_offset = None  # a new unsynchronised spell: its segments wait for sync
            return None
        if not was_synced:
            self.synced_offset = offset
            self._segment = None
            self._correction_due = True
            return None
        if last is not None and abs(offset - last) > self.tolerance:
            return ClockStep(offset - last)
        return None

    # -- in the writer thread --------------------------------------------------------------

    def spans(self, batch: Sequence[Reading]) -> Spans | None:
        """The segments of ``batch``'s flagged readings (None when there are none)."""
        if not self._by_id:
            return None
        runs: list[Run] = []
        last_seq = 0
        with self._lock:
            by_id = self._by_id
            for index, reading in enumerate(batch):
                if not reading.quality & _UNSYNCED:
                    continue
                entry = by_id.get(id(reading))
                if entry is None or entry.reading is not reading:
                    continue  # not published through note(): no known segment
                last_seq = max(last_seq, entry.seq)
                if runs and runs[-1].segment is entry.segment:
                    runs[-1].stop = index
                else:
                    runs.append(Run(entry.segment, index, index))
        if not runs:
            return None
        return Spans(runs, last_seq)

    def consumed(self, spans: Spans) -> None:
        """The batch of ``spans`` is committed: forget its readings (and any lost before)."""
        for segment, db_id in spans.new:
            segment.db_id = db_id
        with self._lock:
            queue, by_id = self._queue, self._by_id
            while queue and queue[0].seq <= spans.last_seq:
                entry = queue.popleft()
                if by_id.get(id(entry.reading)) is entry:
                    del by_id[id(entry.reading)]
        if self.synced_offset is not None:
            self._correction_due = True  # readings noted before the sync, committed after it

    def correction_due(self) -> bool:
        """Whether :meth:`correct` has work: synchronised, with segments possibly pending."""
        return self._correction_due and self.synced_offset is not None

    def correct(self, store: Store, *, at: float | None = None) -> Correction | None:
        """Move the pending segments of this boot to the synchronised time (writer thread)."""
        synced = self.synced_offset
        if synced is None:
            return None
        self._correction_due = False
        try:
            result = correct_segments(store, self.boot, synced)
        except BaseException:
            self._correction_due = True
            raise
        if result.corrected or result.lost:
            record_correction(store, result, at=at)
        return result


def correct_segments(store: Store, boot: str, synced_offset: float) -> Correction:
    """Shift every pending segment of ``boot`` to ``synced_offset``; mark other boots' lost."""
    conn = store.connection
    target = round(synced_offset * _US)
    corrected = 0
    shifts: list[int] = []
    with store.transaction():
        pending = conn.execute(
            "SELECT id, offset_us, first_row, last_row FROM clock_segments "
            "WHERE state = 'pending' AND boot = ?",
            (boot,),
        ).fetchall()
        for segment_id, offset_us, first, last in pending:
            shift = target - offset_us
            corrected += conn.execute(
                "UPDATE readings SET t = t + ? WHERE id BETWEEN ? AND ? AND quality & ?",
                (shift, first, last, _UNSYNCED),
            ).rowcount
            conn.execute(
                "UPDATE clock_segments SET state = 'corrected', shift_us = ? WHERE id = ?",
                (shift, segment_id),
            )
            shifts.append(shift)
        lost = conn.execute(
            "SELECT count(*) FROM clock_segments c JOIN readings r "
            "ON r.id BETWEEN c.first_row AND c.last_row "
            "WHERE c.state = 'pending' AND c.boot != ? AND r.quality & ?",
            (boot, _UNSYNCED),
        ).fetchone()[0]
        conn.execute(
            "UPDATE clock_segments SET state = 'lost' WHERE state = 'pending' AND boot != ?",
            (boot,),
        )
    return Correction(
        corrected=corrected,
        segments=len(shifts),
        shift_min=min(shifts, default=0) / _US,
        shift_max=max(shifts, default=0) / _US,
        lost=int(lost),
    )


def record_correction(store: Store, result: Correction, *, at: float | None = None) -> None:
    """Count a correction and record it as a ``clock`` event."""
    if result.corrected:
        store.add_counter("clock.corrected", result.corrected)
    if result.lost:
        store.add_counter("clock.uncorrectable", result.lost)
    if result.shift_min == result.shift_max:
        by = f"{result.shift_max:+.3f} s"
    else:
        by = f"{result.shift_min:+.3f} to {result.shift_max:+.3f} s"
    message = (
        f"clock synchronised: {result.corrected} readings taken before moved by {by}"
        if result.corrected
        else "clock synchronised"
    )
    if result.lost:
        message += (
            f"; {result.lost} readings of an earlier boot keep their unsynchronised times "
            "(flagged clock_unsynced)"
        )
    store.record_event(
        "clock",
        message,
        severity="warning" if result.lost else "info",
        data={
            "corrected": result.corrected,
            "segments": result.segments,
            "shift_min_s": result.shift_min,
            "shift_max_s": result.shift_max,
            "uncorrectable": result.lost,
        },
        at=at,
    )


def pending_ranges(store: Store) -> list[tuple[int, int]]:
    """Row ranges of segments not corrected yet (retention leaves their readings' age alone)."""
    return [
        (int(a), int(b))
        for a, b in store.connection.execute(
            "SELECT first_row, last_row FROM clock_segments WHERE state = 'pending'"
        )
    ]


__all__ = [
    "ClockStep",
    "ClockWatch",
    "Correction",
    "Run",
    "Segment",
    "Spans",
    "correct_segments",
    "pending_ranges",
    "read_boot_id",
    "record_correction",
]
