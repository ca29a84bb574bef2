"""Simulated air temperature and relative humidity (a shielded SHT/BME sensor by the road)."""

from __future__ import annotations

from pydantic import Field

from edge_agent import units

from .model import SimulatedDriver, SimulatedOptions, diurnal


class AirOptions(SimulatedOptions):
    """Air between ``night_low_c`` and ``day_high_c`` (°C); humidity is highest when coldest."""

    night_low_c: float = -1.0
    day_high_c: float = 7.0
    humidity_low_pct: float = Field(default=65.0, ge=0, le=100)
    humidity_high_pct: float = Field(default=97.0, ge=0, le=100)
    noise_c: float = Field(default=0.1, ge=0)


class AirSimulator(SimulatedDriver):
    """Air temperature (Cel) and relative humidity (%RH); streams ``temperature``, ``humidity``."""

    Options = AirOptions
    options: AirOptions
    summary = "simulated air temperature (Cel) and relative humidity (%RH)"

    async def poll(self) -> None:
        """Emit one temperature and one humidity."""
        opts = self.options
        fraction = self.day_fraction(self.clock.now())
        temperature = diurnal(fraction, low=opts.night_low_c, high=opts.day_high_c)
        # Relative humidity runs opposite to temperature over the day.
        humidity = diurnal(
            fraction, low=opts.humidity_low_pct, high=opts.humidity_high_pct, warmest=2 / 24
        )
        temperature += self.random.gauss(0, opts.noise_c)
        humidity = min(100.0, max(0.0, humidity + self.random.gauss(0, 1.0)))
        self.emit("temperature", round(temperature, 2), units.CELSIUS)
        self.emit("humidity", round(humidity, 1), units.RELATIVE_HUMIDITY)
