"""What moves the mock pins of the ``simulated`` backend, so the demo shows life.

The simulated backend is gpiozero's own ``MockFactory``; the drivers read its pins through the
same gpiozero devices as on a Pi. These coroutines play the world outside the pins:

- :func:`simulate_bay`: cars arrive at and leave a parking bay under an HC-SR04. It sets the
  echo time of gpiozero's ``MockTriggerPin``, which answers every trigger pulse with an echo of
  that length on the echo pin, so ``DistanceSensor`` measures it like a real echo.
- :func:`simulate_pulses`: a PIR that sees someone now and then, a door that opens, a rain
  switch that tips; ``drive_high``/``drive_low`` on a ``MockPin``, with contact chatter if asked.

Random but reproducible: each sensor draws from its own generator seeded with ``seed`` and its
name.
"""

from __future__ import annotations

import asyncio
import random
import time
import zlib
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from edge_agent.durations import Duration

_STEP_S = 0.1
"""How often the bay simulation moves the echo time, seconds."""

SPEED_OF_SOUND_M_S = 343.26
"""The speed of sound gpiozero's ``DistanceSensor`` converts echo times with (air at 20 °C)."""


class _SimulationOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = 0


class BaySimulationOptions(_SimulationOptions):
    """A bay under a ceiling-mounted sensor; used by the ``simulated`` backend only.

    Attributes:
        mean_stay / mean_gap: how long a car stays, and the bay stays free, on average
            (exponentially distributed).
        car_distance_m / floor_distance_m: distance to the car roof and to the floor (m).
        drive_in: how long a car takes to roll in or out; meanwhile the distance passes
            through the values between floor and roof.
        noise_m: standard deviation of the distance (m).
    """

    mean_stay: Duration = 120.0
    mean_gap: Duration = 60.0
    car_distance_m: float = Field(default=1.1, gt=0)
    floor_distance_m: float = Field(default=2.6, gt=0)
    drive_in: Duration = 2.0
    noise_m: float = Field(default=0.02, ge=0)


class PulseSimulationOptions(_SimulationOptions):
    """Random active periods on an input pin; used by the ``simulated`` backend only.

    Attributes:
        mean_gap: average time between two active periods (exponentially distributed).
        mean_active: average length of an active period.
        chatter: extra bounces at each edge (a contact that chatters for a few ms).
    """

    mean_gap: Duration = 30.0
    mean_active: Duration = 3.0
    chatter: int = Field(default=0, ge=0, le=20)


def seeded_random(seed: int, sensor: str) -> random.Random:
    """The random source of ``sensor``'s simulation: same seed, other name, other sequence."""
    return random.Random(seed ^ zlib.crc32(sensor.encode()))


def echo_time_s(distance_m: float, speed_of_sound: float = SPEED_OF_SOUND_M_S) -> float:
    """The HC-SR04's echo pulse (s) for a reflector ``distance_m`` away: there and back."""
    return 2 * distance_m / speed_of_sound


async def simulate_bay(trigger_pin: Any, options: BaySimulationOptions, rng: random.Random) -> None:
    """Move ``trigger_pin.echo_time`` (a ``MockTriggerPin``) as cars come and go; runs until
    cancelled."""
    occupied = False
    now = time.monotonic()
    changed_at = now - options.drive_in  # the bay starts empty, not with a car rolling out
    next_change = now + rng.expovariate(1 / options.mean_gap)
    car, floor = options.car_distance_m, options.floor_distance_m
    while True:
        now = time.monotonic()
        if now >= next_change:
            occupied = not occupied
            changed_at = now
            mean = options.mean_stay if occupied else options.mean_gap
            next_change = now + options.drive_in + rng.expovariate(1 / mean)
        rolled = min(1.0, (now - changed_at) / options.drive_in)
        start, end = (floor, car) if occupied else (car, floor)
        distance = start + (end - start) * rolled
        distance = max(0.02, distance + rng.gauss(0, options.noise_m))
        trigger_pin.echo_time = echo_time_s(distance)
        await asyncio.sleep(_STEP_S)


async def _edge(to: Callable[[], None], back: Callable[[], None], chatter: int) -> None:
    to()
    for _ in range(chatter):
        await asyncio.sleep(0.002)
        back()
        await asyncio.sleep(0.002)
        to()


async def simulate_pulses(
    pin: Any, active_high: bool, options: PulseSimulationOptions, rng: random.Random
) -> None:
    """Drive the input ``pin`` (a ``MockPin``) active now and then; runs until cancelled."""
    high: Callable[[], None] = pin.drive_high
    low: Callable[[], None] = pin.drive_low
    active, inactive = (high, low) if active_high else (low, high)
    while True:
        await asyncio.sleep(rng.expovariate(1 / options.mean_gap))
        await _edge(active, inactive, options.chatter)
        await asyncio.sleep(max(0.05, rng.expovariate(1 / options.mean_active)))
        await _edge(inactive, active, options.chatter)
