"""What the agent's live stream brought, kept between two repaints.

The live stream (``GET /v1/live``) may deliver hundreds of readings a second; the screen is
repainted a few times a second at most. :class:`LiveCache` takes every message as it comes
(cheap: a dictionary write and a deque append), and :meth:`LiveCache.take_changes` hands the
current screen what changed since it last looked, in one batch. Screens that are not shown read
the cache when they come back, so nothing is lost and nothing is painted twice.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from edge_agent.api.models import EventDict, Health

from .format import numeric

HISTORY_POINTS = 120
"""Values kept per stream for sparklines and charts."""

EVENTS_KEPT = 200
"""Recent events kept for the alerts lists."""


@dataclass(frozen=True)
class Latest:
    """The newest reading of a stream."""

    stream: str
    time: float
    value: float | int | bool | str | None
    unit: str
    quality: tuple[str, ...] = ()

    @classmethod
    def of(cls, reading: Mapping[str, Any]) -> Latest:
        """From a reading as the API sends it (``ReadingDict``, a live ``reading`` message)."""
        return cls(
            reading["stream"],
            reading["time"],
            reading["value"],
            reading["unit"],
            tuple(reading.get("quality") or ()),
        )


@dataclass
class Changes:
    """What arrived since the last :meth:`LiveCache.take_changes`."""

    streams: set[str] = field(default_factory=set)
    events: list[EventDict] = field(default_factory=list)
    health: bool = False
    skipped: int = 0
    """Readings the agent skipped because the console read too slowly."""

    def __bool__(self) -> bool:
        return bool(self.streams or self.events or self.health or self.skipped)


class LiveCache:
    """The latest reading per stream, a short history per stream, recent events and health."""

    def __init__(self, history_points: int = HISTORY_POINTS, events_kept: int = EVENTS_KEPT):
        self.history_points = history_points
        self.latest: dict[str, Latest] = {}
        self.history: dict[str, deque[tuple[float, float]]] = {}
        self.events: deque[EventDict] = deque(maxlen=events_kept)
        self.health: Health | None = None
        self.instance: str | None = None
        self.skipped_total = 0
        self._changes = Changes()

    def add(self, message: Mapping[str, Any]) -> None:
        """Take one message of the live stream (a :data:`~edge_agent.api.models.LiveMessage`)."""
        kind = message.get("type")
        if kind == "reading":
            self.add_reading(Latest.of(message))
        elif kind == "event":
            event: EventDict = message["event"]
            self.events.append(event)
            self._changes.events.append(event)
        elif kind == "heartbeat":
            if message["health"] != self.health:
                self.health = message["health"]
                self._changes.health = True
        elif kind == "hello":
            self.instance = message["instance"]
        elif kind == "skipped" and message.get("what") == "readings":
            self.skipped_total += int(message["count"])
            self._changes.skipped += int(message["count"])

    def add_reading(self, reading: Latest) -> None:
        """Take one reading (from the live stream or a screen's first load)."""
        current = self.latest.get(reading.stream)
        if current is not None and current.time > reading.time:
            return  # an older reading (a history load racing the live stream)
        self.latest[reading.stream] = reading
        number = numeric(reading.value)
        if number is not None:
            points = self.history.get(reading.stream)
            if points is None:
                points = self.history[reading.stream] = deque(maxlen=self.history_points)
            if not points or points[-1][0] < reading.time:
                points.append((reading.time, number))
        self._changes.streams.add(reading.stream)

    def seed_history(self, stream: str, points: Iterable[tuple[float, float]]) -> None:
        """Put stored readings (oldest first) before what the live stream brought."""
        known = self.history.get(stream)
        newer = list(known) if known else []
        first_live = newer[0][0] if newer else float("inf")
        merged = [p for p in points if p[0] < first_live] + newer
        self.history[stream] = deque(merged[-self.history_points :], maxlen=self.history_points)
        self._changes.streams.add(stream)

    def values(self, stream: str) -> list[float]:
        """The stream's recent values, oldest first."""
        return [v for _, v in self.history.get(stream, ())]

    def take_changes(self) -> Changes:
        """What changed since the last call (and forget it)."""
        changes, self._changes = self._changes, Changes()
        return changes
