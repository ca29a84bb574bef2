"""Simulated BLE thermometer (a LYWSD03MMC or RuuviTag in the lab), advertising now and then."""

from __future__ import annotations

from pydantic import Field

from edge_agent import units

from .model import SimulatedDriver, SimulatedOptions


class BleThermometerOptions(SimulatedOptions):
    """An indoor tag around ``indoor_c`` (°C); ``miss_rate`` of advertisements never arrive."""

    indoor_c: float = 21.0
    humidity_pct: float = Field(default=45.0, ge=0, le=100)
    battery_pct: float = Field(default=87.0, ge=0, le=100)
    miss_rate: float = Field(default=0.1, ge=0, lt=1)


class BleThermometerSimulator(SimulatedDriver):
    """Temperature (Cel), humidity (%RH), battery (%EL) and signal (dBm) of a BLE tag."""

    Options = BleThermometerOptions
    options: BleThermometerOptions
    summary = "simulated BLE thermometer: temperature, humidity, battery, RSSI"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._drift = 0.0

    async def poll(self) -> None:
        """Emit one advertisement's readings, unless this one was missed on air."""
        opts = self.options
        if self.random.random() < opts.miss_rate:
            return
        self._drift = 0.95 * self._drift + self.random.gauss(0, 0.05)
        self.emit("temperature", round(opts.indoor_c + self._drift * 10, 2), units.CELSIUS)
        humidity = opts.humidity_pct - self._drift * 20 + self.random.gauss(0, 0.3)
        self.emit("humidity", round(min(100.0, max(0.0, humidity)), 1), units.RELATIVE_HUMIDITY)
        self.emit("battery", opts.battery_pct, units.BATTERY_PERCENT)
        self.emit("rssi", round(-68 + self.random.gauss(0, 3)), units.DECIBEL_MILLIWATT)
