"""Simulated ultrasonic parking-bay sensor: a car comes, stays, leaves."""

from __future__ import annotations

from pydantic import Field

from edge_agent import units
from edge_agent.durations import Duration

from .model import SimulatedDriver, SimulatedOptions


class ParkingBayOptions(SimulatedOptions):
    """A sensor above (or in front of) one bay.

    Attributes:
        mean_stay: how long a car stays on average (exponentially distributed).
        mean_gap: how long the bay stays free on average.
        car_distance_m / floor_distance_m: distance measured with and without a car (m).
    """

    mean_stay: Duration = 120.0
    mean_gap: Duration = 60.0
    car_distance_m: float = Field(default=0.45, gt=0)
    floor_distance_m: float = Field(default=2.6, gt=0)
    noise_m: float = Field(default=0.02, ge=0)


class ParkingBaySimulator(SimulatedDriver):
    """An ultrasonic bay sensor: streams ``distance`` (m) and ``occupied`` (boolean)."""

    Options = ParkingBayOptions
    options: ParkingBayOptions
    summary = "simulated ultrasonic parking-bay sensor: distance (m) and occupied flag"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.occupied = False
        self._next_change: float | None = None

    async def poll(self) -> None:
        """Emit the distance and the occupied flag, flipping the state when its time has come."""
        opts = self.options
        now = self.clock.now()
        if self._next_change is None:
            self._next_change = now + self.random.expovariate(1 / opts.mean_gap)
        while now >= self._next_change:
            self.occupied = not self.occupied
            mean = opts.mean_stay if self.occupied else opts.mean_gap
            self._next_change += self.random.expovariate(1 / mean)
        base = opts.car_distance_m if self.occupied else opts.floor_distance_m
        distance = max(0.02, base + self.random.gauss(0, opts.noise_m))
        self.emit("distance", round(distance, 3), units.METRE)
        self.emit("occupied", self.occupied, units.NONE)
