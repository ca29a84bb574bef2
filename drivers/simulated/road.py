"""Simulated road-surface temperature probe (the DS18B20 in the road, or a Lufft sensor)."""

from __future__ import annotations

from pydantic import Field

from edge_agent import units
from edge_agent.readings import Quality

from .model import SimulatedDriver, SimulatedOptions, diurnal


class RoadSurfaceOptions(SimulatedOptions):
    """A winter road: ``night_low_c`` before dawn, ``day_high_c`` in the afternoon (°C).

    ``glitch_rate`` is the share of samples that come back as the DS18B20's 85 °C power-on
    value, which the driver flags ``out_of_range`` as the real one does.
    """

    night_low_c: float = -4.0
    day_high_c: float = 6.0
    noise_c: float = Field(default=0.15, ge=0)
    glitch_rate: float = Field(default=0.0, ge=0, le=1)


class RoadSurfaceSimulator(SimulatedDriver):
    """Road-surface temperature in °C, freezing at night; stream ``<sensor>/temperature``."""

    Options = RoadSurfaceOptions
    options: RoadSurfaceOptions
    summary = "simulated road-surface temperature with a day/night cycle (Cel)"

    async def poll(self) -> None:
        """Emit one surface temperature."""
        opts = self.options
        if opts.glitch_rate and self.random.random() < opts.glitch_rate:
            self.emit("temperature", 85.0, units.CELSIUS, Quality.OUT_OF_RANGE)
            return
        # The surface lags the air by about two hours and is coldest just before dawn.
        value = diurnal(
            self.day_fraction(self.clock.now()),
            low=opts.night_low_c,
            high=opts.day_high_c,
            warmest=15 / 24,
        ) + self.random.gauss(0, opts.noise_c)
        self.emit("temperature", round(value, 2), units.CELSIUS)
