"""Synthetic winter weather by a road: air, humidity and road surface, one value per minute.

The forecast model needs many winter nights to learn from, and no road-weather record can be
downloaded here, so ``train_forecast.py`` generates them with this model (and can also learn
from traces a lab recorded itself, which is what a lab should do once it has a winter of data).

The model, per minute:

- the daily mean air temperature follows a random walk around ``climate_c`` (fronts come and
  go); cloud cover follows a slower random walk in [0, 1];
- the air's daily swing is larger under a clear sky (up to ``8 K``) than under clouds;
- the dew point sits below the air temperature by a spread that is small at night and under
  clouds, so humidity is high on clear cold nights;
- the road surface exchanges heat with the air, gains from the sun by day and loses to a clear
  night sky by radiation (both scaled by cloud cover), and with the ground below, which follows
  the air's three-day mean. This is what makes a clear night freeze the road before the air.

It is a toy of the physics (a single-layer energy balance with made-up but plausible constants),
good for exercising and comparing forecasters, not for claims about real roads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MINUTE = 60.0


@dataclass(frozen=True)
class WeatherSeries:
    """Minute values: times (epoch s), air (°C), humidity (%), surface (°C), local hour."""

    time: npt.NDArray[np.float64]
    air_c: npt.NDArray[np.float64]
    humidity_pct: npt.NDArray[np.float64]
    surface_c: npt.NDArray[np.float64]
    local_hour: npt.NDArray[np.float64]


def simulate(
    days: float,
    seed: int,
    *,
    start: float = 1_733_011_200.0,  # 2024-12-01 00:00 UTC
    utc_offset_h: float = 1.0,
    climate_c: float = 1.5,
) -> WeatherSeries:
    """Generate ``days`` of minute values from ``seed`` (the same seed gives the same series)."""
    rng = np.random.default_rng(seed)
    n = int(days * 1440)
    t = start + MINUTE * np.arange(n)
    hour = ((t / 3600 + utc_offset_h) % 24).astype(np.float64)

    # Slow drivers: daily mean temperature and cloud cover, as smooth random walks.
    hours_total = n / 60
    knots = int(hours_total // 6) + 2
    mean_knots = np.empty(knots)
    cloud_knots = np.empty(knots)
    mean, cloud = climate_c + rng.normal(0, 2), rng.uniform(0, 1)
    for k in range(knots):
        mean += 0.15 * (climate_c - mean) + rng.normal(0, 1.2)
        cloud = min(1.0, max(0.0, cloud + 0.3 * (0.55 - cloud) + rng.normal(0, 0.25)))
        mean_knots[k], cloud_knots[k] = mean, cloud
    knot_minutes = np.arange(knots) * 360.0
    minutes = np.arange(n, dtype=np.float64)
    daily_mean = np.interp(minutes, knot_minutes, mean_knots)
    clouds = np.interp(minutes, knot_minutes, cloud_knots)

    swing = 1.5 + 6.5 * (1 - clouds)
    air = daily_mean + swing / 2 * np.cos(2 * np.pi * (hour - 14.5) / 24)
    air += np.cumsum(rng.normal(0, 0.02, n)) * 0.05 + rng.normal(0, 0.1, n)

    night = 0.5 + 0.5 * np.cos(2 * np.pi * (hour - 3) / 24)
    spread = 0.3 + (1 - clouds) * (0.5 + 4.5 * (1 - night)) + rng.normal(0, 0.2, n).clip(-0.2)
    dew = air - spread.clip(0.05)
    humidity = 100 * _vapour(dew) / _vapour(air)

    sun = np.clip(np.cos(2 * np.pi * (hour - 12.5) / 24), 0, None) ** 2  # low winter sun
    ground = (
        np.convolve(np.pad(air, (4319, 0), mode="edge"), np.ones(4320) / 4320, mode="valid") + 1.0
    )
    surface = np.empty(n)
    ts = air[0]
    for i in range(n):
        gain = (
            (air[i] - ts) / 90.0  # air exchange, time constant 90 min
            + (ground[i] - ts) / 300.0  # ground below
            + 0.035 * sun[i] * (1 - 0.8 * clouds[i])  # sunshine, K/min
            - 0.012 * (1 - clouds[i])  # clear-sky radiation loss, K/min
        )
        ts += gain
        surface[i] = ts
    surface += rng.normal(0, 0.05, n)
    return WeatherSeries(t, air, humidity.clip(5, 100), surface, hour)


def _vapour(temperature_c: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return 6.112 * np.exp(17.62 * temperature_c / (243.12 + temperature_c))


def local_hour(epoch_s: float, utc_offset_h: float) -> float:
    """Local time of day in hours [0, 24) of ``epoch_s`` in a zone ``utc_offset_h`` from UTC."""
    return math.fmod(epoch_s / 3600 + utc_offset_h, 24.0) % 24.0


__all__ = ["WeatherSeries", "local_hour", "simulate"]
