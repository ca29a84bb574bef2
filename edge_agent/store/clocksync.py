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

Holding back at the uplink
--------------------------

Readings must not leave the device with times that are about to change: the outbox
(:mod:`edge_agent.uplink.outbox`) sends nothing from the first row of the oldest segment that is
still *held* (``state = 'pending'`` and ``released IS NULL``) until that segment is corrected.
Readings committed before it keep flowing; everything after it waits, so the region still
receives every stream in commit order. Row and segment are committed in one transaction and the
outbox reads the boundary and the readings in one statement, so it never sees a flagged
reading without its segment, nor a corrected segment with the old times.

Holding back cannot last for ever: a Pi without any time source would never send again, and
retention by size would drop what it holds. With a :class:`HoldLimit` (the agent sets one when
an uplink is configured) the writer looks every :data:`RELEASE_CHECK` seconds and *releases* a
segment, that is, lets the uplink send its readings with the times they carry, still flagged
``clock_unsynced``, when

- it was recorded in an earlier boot: its monotonic clock is gone, it can never be corrected;
- its first reading was taken :data:`HOLD_MAX_WAIT` (24 h) ago on the monotonic clock and the
  clock is still not synchronised;
- the readings held back from it on take more than :data:`HOLD_MAX_SHARE` (half) of
  ``store.max_size``; retention by size would otherwise begin to drop them unsent.

Each release is counted (``clock.released_unsynced``) and recorded as a ``clock`` warning event
with the first and last reading id, which goes to the region ahead of the readings: flagged
readings named in such an event carry unsynchronised times, flagged readings outside one carry
corrected times. A released segment is closed (readings of the same spell that follow start a
new segment, held back again) but stays pending for the correction: if the clock is synchronised
later in the same boot, its readings are still corrected here, and the correction event lists
the released ids with their shift, so that the region can move its copies too.
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
from typing import Any, Final

from ..clock import Clock
from ..readings import Quality, Reading
from .database import Store

BOOT_ID_PATH: Final = Path("/proc/sys/kernel/random/boot_id")
HOLD_MAX_WAIT: Final = 24 * 3600.0
"""Seconds (monotonic) the uplink holds back readings taken before the clock's synchronisation:
a day covers a lab whose network, and with it NTP, is down overnight or over a weekend day,
and bounds the delay of a device that has no time source at all."""
HOLD_MAX_SHARE: Final = 0.5
"""Share of ``store.max_size`` the held-back readings may take before they are released: well
before retention by size (which drops the oldest rows, the held ones last) reaches them."""
RELEASE_CHECK: Final = 60.0
"""Seconds between two looks of the writer at the held-back segments."""
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
class HoldLimit:
    """When the uplink stops holding back readings that wait for their correction.

    Attributes:
        max_wait: seconds since a segment's first reading (monotonic clock).
        max_bytes: bytes the held-back readings may take in the database; None: no limit.
    """

    max_wait: float = HOLD_MAX_WAIT
    max_bytes: int | None = None

    @classmethod
    def for_store(cls, max_size: int | None) -> HoldLimit:
        """The limits for a store of ``store.max_size`` bytes (None: no size limit)."""
        return cls(max_bytes=None if max_size is None else int(max_size * HOLD_MAX_SHARE))


@dataclass(frozen=True, slots=True)
class Release:
    """Segments released for one reason by one look (see the module docstring)."""

    reason: str
    """``earlier boot``, ``waited`` or ``size``."""
    segments: int
    readings: int
    """Flagged readings in them: sent with the times they carry."""
    first_row: int
    last_row: int
    waited: float | None
    """Seconds the oldest of them waited on the monotonic clock (None for an earlier boot)."""


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
    released: tuple[tuple[int, int, float], ...] = ()
    """(first row, last row, shift in seconds) of corrected segments the uplink had released:
    the region holds their readings with the uncorrected times."""


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
            # A segment grows only while it is held and waits for its correction. Readings that
            # come after its correction (noted before the sync, committed after it) or after its
            # release start a new row of the same offset, which is held and corrected in turn.
            if (
                segment.db_id is not None
                and conn.execute(
                    "UPDATE clock_segments SET last_row = max(last_row, ?) "
                    "WHERE id = ? AND state = 'pending' AND released IS NULL",
                    (first_row + stop, segment.db_id),
                ).rowcount
            ):
                continue
            cur = conn.execute(
                "INSERT INTO clock_segments (boot, offset_us, first_row, last_row) "
                "VALUES (?, ?, ?, ?)",
                (segment.boot, round(segment.offset * _US), first_row + start, first_row + stop),
            )
            self.new.append((segment, int(cur.lastrowid or 0)))


class ClockWatch:
    """Follows the wall clock against the monotonic clock (see the module docstring).

    Args:
        clock: the agent's clock (its :attr:`~edge_agent.clock.Clock.synchronized` decides).
        boot_id: the boot's id (default: the kernel's).
        tolerance: seconds by which the offset may wander before it counts as a step.
        monotonic: the monotonic clock (tests may pass their own).
        hold: when held-back readings are released to the uplink (None: never; the agent
            passes :meth:`HoldLimit.for_store` when an uplink is configured).
    """

    def __init__(
        self,
        clock: Clock,
        *,
        boot_id: str | None = None,
        tolerance: float = 0.5,
        monotonic: Callable[[], float] = time.monotonic,
        hold: HoldLimit | None = None,
    ) -> None:
        self._clock = clock
        self.boot = boot_id if boot_id is not None else read_boot_id()
        self.tolerance = tolerance
        self._monotonic = monotonic
        self.hold = hold
        self._next_release = monotonic()  # at once: an earlier boot may have left segments
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

    def release_in(self) -> float | None:
        """Seconds until :meth:`release` is due (0 when it is; None without a hold limit)."""
        if self.hold is None:
            return None
        return max(0.0, self._next_release - self._monotonic())

    def release(self, store: Store, *, at: float | None = None) -> list[Release]:
        """Release the held segments that reached the hold limit (writer thread)."""
        if self.hold is None:
            return []
        now = self._monotonic()
        self._next_release = now + RELEASE_CHECK
        releases = release_segments(store, self.boot, monotonic_now=now, limit=self.hold)
        for release in releases:
            record_release(store, release, at=at)
        return releases

    def forget_rows(self) -> None:
        """The store was replaced by a fresh database: segments get new rows when they grow.

        Called in the writer thread; readings noted but not committed yet keep their segment.
        """
        with self._lock:
            segments = {id(e.segment): e.segment for e in self._queue}
        current = self._segment
        if current is not None:
            segments[id(current)] = current
        for segment in segments.values():
            segment.db_id = None


def correct_segments(store: Store, boot: str, synced_offset: float) -> Correction:
    """Shift every pending segment of ``boot`` to ``synced_offset``; mark other boots' lost."""
    conn = store.connection
    target = round(synced_offset * _US)
    corrected = 0
    shifts: list[int] = []
    released: list[tuple[int, int, float]] = []
    with store.transaction():
        pending = conn.execute(
            "SELECT id, offset_us, first_row, last_row, released FROM clock_segments "
            "WHERE state = 'pending' AND boot = ?",
            (boot,),
        ).fetchall()
        for segment_id, offset_us, first, last, was_released in pending:
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
            if was_released is not None:
                released.append((int(first), int(last), shift / _US))
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
        released=tuple(released),
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
    data: dict[str, Any] = {
        "corrected": result.corrected,
        "segments": result.segments,
        "shift_min_s": result.shift_min,
        "shift_max_s": result.shift_max,
        "uncorrectable": result.lost,
    }
    if result.released:
        message += (
            "; the uplink had sent some of them before with their unsynchronised times: "
            "this event's data gives their ids and shifts"
        )
        data["released"] = [
            {"first_id": f"{store.uid}-{a}", "last_id": f"{store.uid}-{b}", "shift_s": shift}
            for a, b, shift in result.released
        ]
    store.record_event(
        "clock",
        message,
        severity="warning" if result.lost else "info",
        data=data,
        at=at,
    )


def _held_bytes(store: Store, first_row: int) -> float:
    """Bytes the readings from ``first_row`` on take in the database, estimated by their share
    of the rows. Row ids are dense above the oldest row (retention deletes from the oldest
    on), so the ids give the counts without counting."""
    low, high = store.connection.execute("SELECT min(id), max(id) FROM readings").fetchone()
    if high is None or high < first_row:
        return 0.0
    held = high - max(first_row, low) + 1
    return float(store.size_bytes() * held / (high - low + 1))


def release_segments(
    store: Store, boot: str, *, monotonic_now: float, limit: HoldLimit
) -> list[Release]:
    """Release the held segments that reached ``limit`` (oldest first; see the module
    docstring). ``monotonic_now`` is this boot's monotonic clock, seconds."""
    conn = store.connection
    held = conn.execute(
        "SELECT id, boot, offset_us, first_row, last_row FROM clock_segments "
        "WHERE state = 'pending' AND released IS NULL ORDER BY first_row"
    ).fetchall()
    chosen: list[tuple[int, int, int, str, float | None]] = []
    for segment_id, segment_boot, offset_us, first, last in held:
        waited: float | None = None
        if segment_boot != boot:
            reason = "earlier boot"
        else:
            head = conn.execute(
                "SELECT t FROM readings WHERE id BETWEEN ? AND ? AND quality & ? "
                "ORDER BY id LIMIT 1",
                (first, last, _UNSYNCED),
            ).fetchone()
            if head is not None:
                # The monotonic time of the reading: its recorded time minus the offset.
                waited = monotonic_now - (head[0] - offset_us) / _US
            if head is None or (waited is not None and waited >= limit.max_wait):
                reason = "waited"  # (nothing left of it: retention dropped its readings)
            elif limit.max_bytes is not None and _held_bytes(store, first) > limit.max_bytes:
                reason = "size"
            else:
                break  # the later segments are younger and hold back less
        chosen.append((segment_id, first, last, reason, waited))
    if not chosen:
        return []
    groups: dict[str, list[tuple[int, int, int, float | None]]] = {}
    with store.transaction():
        for segment_id, first, last, reason, waited in chosen:
            conn.execute(
                "UPDATE clock_segments SET released = ? WHERE id = ?", (reason, segment_id)
            )
            flagged = conn.execute(
                "SELECT count(*) FROM readings WHERE id BETWEEN ? AND ? AND quality & ?",
                (first, last, _UNSYNCED),
            ).fetchone()[0]
            groups.setdefault(reason, []).append((int(first), int(last), int(flagged), waited))
    return [
        Release(
            reason=reason,
            segments=len(parts),
            readings=sum(p[2] for p in parts),
            first_row=min(p[0] for p in parts),
            last_row=max(p[1] for p in parts),
            waited=max((p[3] for p in parts if p[3] is not None), default=None),
        )
        for reason, parts in groups.items()
    ]


def record_release(store: Store, release: Release, *, at: float | None = None) -> None:
    """Count a release and record it as a ``clock`` warning event (none for empty segments)."""
    if not release.readings:
        return
    store.add_counter("clock.released_unsynced", release.readings)
    count = release.readings
    ids = f"ids {store.uid}-{release.first_row} to {store.uid}-{release.last_row}"
    carried = "with the times they carry (flagged clock_unsynced)"
    if release.reason == "earlier boot":
        message = (
            f"{count} readings taken before the clock was synchronised in an earlier boot "
            f"cannot be corrected; the uplink sends them {carried}: {ids}"
        )
    else:
        if release.reason == "waited":
            hours = (release.waited or 0.0) / 3600
            why = f"the clock has not been synchronised for {hours:.0f} h"
        else:
            why = (
                f"the readings waiting for the clock's synchronisation take over "
                f"{HOLD_MAX_SHARE:.0%} of store.max_size"
            )
        message = (
            f"{why}: the uplink sends {count} readings taken before it {carried} instead of "
            f"holding them back: {ids}; they are corrected here once the clock is "
            "synchronised; check the time sync (timedatectl status)"
        )
    store.record_event(
        "clock",
        message,
        severity="warning",
        data={
            "released": count,
            "reason": release.reason,
            "segments": release.segments,
            "first_id": f"{store.uid}-{release.first_row}",
            "last_id": f"{store.uid}-{release.last_row}",
            "waited_s": release.waited,
        },
        at=at,
    )


def pending_ranges(store: Store) -> list[tuple[int, int]]:
    """Row ranges of segments not corrected yet, released or not (retention leaves their
    readings' age alone)."""
    return [
        (int(a), int(b))
        for a, b in store.connection.execute(
            "SELECT first_row, last_row FROM clock_segments WHERE state = 'pending'"
        )
    ]


__all__ = [
    "HOLD_MAX_SHARE",
    "HOLD_MAX_WAIT",
    "RELEASE_CHECK",
    "ClockStep",
    "ClockWatch",
    "Correction",
    "HoldLimit",
    "Release",
    "Run",
    "Segment",
    "Spans",
    "correct_segments",
    "pending_ranges",
    "read_boot_id",
    "record_correction",
    "record_release",
    "release_segments",
]
