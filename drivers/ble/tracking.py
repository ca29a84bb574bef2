"""What the driver remembers about one tag: repeats, its measurement interval, whether it is stale.

Sans-I/O like the decoders: every method takes the time explicitly, in seconds on a monotonic
scale (the driver passes ``time.monotonic()``; tests pass a :class:`~edge_agent.clock.ManualClock`),
so a wall-clock jump at NTP sync never makes a tag look silent.

**Repeats.** A tag sends each measurement in several advertisements (a LYWSD03MMC with pvvx
firmware: every 2.5 s, a new measurement every 10 s). The formats carry a counter that changes
with each measurement (:attr:`~drivers.ble.BleSample.packet_id`): an advertisement whose counter
equals the last accepted one is a repeat and is dropped. A tag that sends no counter is never
deduplicated. After an outage the first packet is dropped only if its counter happens to equal
the last one seen (1 in 256 for 8-bit counters); the next one is accepted.

**Interval.** The measurement interval is the median of the last :data:`WINDOW` gaps between
accepted packets. A missed packet doubles one gap; the median ignores that as long as fewer
than half of them are missed. Gaps that span an outage (the tag was stale) are not learnt.

**Staleness.** A tag is stale when no new measurement arrived for ``stale_after`` (the option),
else :data:`STALE_FACTOR` times the learnt interval, at least :data:`MIN_STALE_AFTER`; before
the interval is learnt, :data:`UNLEARNT_STALE_AFTER`. Repeats do not keep a tag fresh: a
firmware that hangs but keeps advertising its last frame goes stale.

**Publishing.** ``publish_every`` (the sensor's ``interval``) caps how often measurements are
published: the first measurement at or after each due time is published, the due times advance
by ``publish_every``, and half a measurement interval of slack (the last gap until the interval
is learnt) keeps a tag that measures exactly as often as the cap from being halved by jitter.
"""

from __future__ import annotations

import statistics
from collections import deque
from typing import Final

WINDOW: Final = 15
"""How many recent gaps the interval is the median of."""
MIN_GAPS: Final = 3
"""Gaps needed before the interval counts as learnt."""
STALE_FACTOR: Final = 3.0
"""A tag is stale after this many learnt intervals without a new measurement."""
MIN_STALE_AFTER: Final = 60.0
"""Seconds; a tag that measures every second is not flagged for a few lost packets."""
UNLEARNT_STALE_AFTER: Final = 600.0
"""Seconds a tag may stay silent before its interval is learnt (slow BTHome sensors: 5 min)."""


class TagTracker:
    """Repeats, interval, staleness and the publishing schedule of one tag.

    Args:
        stale_after: seconds of silence after which the tag is stale; ``None`` learns it.
        publish_every: least seconds between two published measurements; 0 publishes all.
    """

    def __init__(self, *, stale_after: float | None = None, publish_every: float = 0.0) -> None:
        self.stale_after = stale_after
        self.publish_every = publish_every
        self.online: bool | None = None
        """``None`` until the first measurement, then whether the tag is fresh."""
        self.last_packet_id: int | None = None
        self.last_new_at: float | None = None
        self.new = 0
        """Measurements accepted."""
        self.repeats = 0
        """Advertisements dropped because they repeated the last measurement."""
        self.held_back = 0
        """Measurements accepted but not published because of ``publish_every``."""
        self._gaps: deque[float] = deque(maxlen=WINDOW)
        self._interval: float | None = None
        self._next_due: float | None = None

    def is_repeat(self, packet_id: int | None) -> bool:
        """Whether a packet with ``packet_id`` repeats the last accepted measurement (counted)."""
        if packet_id is not None and packet_id == self.last_packet_id:
            self.repeats += 1
            return True
        return False

    def count_repeat(self) -> None:
        """Count a repeat recognised by other means (the same bytes as the last packet)."""
        self.repeats += 1

    def accept(self, packet_id: int | None, at: float) -> bool:
        """Take a new measurement received at ``at``; True when the tag came (back) online."""
        if self.last_new_at is not None and self.online:
            gap = at - self.last_new_at
            if gap > 0:
                self._gaps.append(gap)
                self._interval = None
        self.last_packet_id = packet_id
        self.last_new_at = at
        self.new += 1
        came_online = not self.online
        self.online = True
        return came_online

    @property
    def interval(self) -> float | None:
        """The learnt measurement interval in seconds, ``None`` until :data:`MIN_GAPS` gaps."""
        if len(self._gaps) < MIN_GAPS:
            return None
        if self._interval is None:
            self._interval = statistics.median(self._gaps)
        return self._interval

    @property
    def stale_limit(self) -> float:
        """Seconds without a new measurement after which the tag is stale."""
        if self.stale_after is not None:
            return self.stale_after
        interval = self.interval
        if interval is None:
            return UNLEARNT_STALE_AFTER
        return max(STALE_FACTOR * interval, MIN_STALE_AFTER)

    @property
    def deadline(self) -> float | None:
        """When the tag goes stale unless a new measurement comes; ``None`` if not online."""
        if not self.online or self.last_new_at is None:
            return None
        return self.last_new_at + self.stale_limit

    def check(self, at: float) -> bool:
        """Mark the tag stale if its deadline has passed; returns True on that transition."""
        deadline = self.deadline
        if deadline is None or at < deadline:
            return False
        self.online = False
        return True

    def due(self, at: float) -> bool:
        """Whether the measurement accepted at ``at`` is to be published (see module docstring)."""
        every = self.publish_every
        if every <= 0:
            return True
        if self._next_due is None or at >= self._next_due + every:
            self._next_due = at + every
            return True
        basis = self.interval or (self._gaps[-1] if self._gaps else 0.0)
        slack = min(basis / 2, every / 2)
        if at >= self._next_due - slack:
            self._next_due += every
            return True
        self.held_back += 1
        return False


__all__ = [
    "MIN_GAPS",
    "MIN_STALE_AFTER",
    "STALE_FACTOR",
    "UNLEARNT_STALE_AFTER",
    "WINDOW",
    "TagTracker",
]
