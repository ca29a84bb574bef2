"""Shared pieces of the simulated sensors: their options and the day/night cycle."""

from __future__ import annotations

import math
import random
import zlib

from pydantic import Field

from edge_agent.driver import DriverOptions, PollingDriver
from edge_agent.durations import Duration

_DAY = 86400.0


class SimulatedOptions(DriverOptions):
    """Options every simulated sensor has.

    Attributes:
        seed: makes the sequence of values reproducible.
        day_length: how long a simulated day lasts (``"24h"`` is real time; ``"10m"`` shows a
            whole night's freeze in ten minutes).
        utc_offset_h: the local time zone of the simulated place, in hours (1 for CET).
    """

    seed: int = 0
    day_length: Duration = _DAY
    utc_offset_h: float = Field(default=1.0, ge=-12, le=14)


class SimulatedDriver(PollingDriver):
    """A polling driver with a seeded random source and a simulated time of day."""

    options: SimulatedOptions

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # Each sensor gets its own stream of random numbers: same seed, other name, other noise.
        self.random = random.Random(self.options.seed ^ zlib.crc32(self.sensor.encode()))

    def day_fraction(self, now: float) -> float:
        """Time of the simulated day in [0, 1): 0 is local midnight, 0.5 is noon."""
        return day_fraction(
            now, day_length=self.options.day_length, utc_offset_h=self.options.utc_offset_h
        )


def day_fraction(now: float, *, day_length: float, utc_offset_h: float) -> float:
    """Time of a simulated day in [0, 1) at epoch ``now`` (s): 0 is local midnight, 0.5 noon.

    A day lasts ``day_length`` seconds of real time (86400 is real time) in a time zone
    ``utc_offset_h`` hours from UTC.
    """
    scaled = now * _DAY / day_length
    return ((scaled + utc_offset_h * 3600) % _DAY) / _DAY


def diurnal(fraction: float, *, low: float, high: float, warmest: float = 14 / 24) -> float:
    """A daily cycle between ``low`` (12 h from the warmest time) and ``high`` at ``warmest``."""
    mean, amplitude = (high + low) / 2, (high - low) / 2
    return mean + amplitude * math.cos(2 * math.pi * (fraction - warmest))
