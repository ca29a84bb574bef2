"""A :class:`~drivers.ble.BleSample` as :class:`~edge_agent.readings.Reading` objects.

======================  ==================  =======  ==============================
stream                  sample field        unit     flagged out of range outside
======================  ==================  =======  ==============================
``<s>/temperature``     ``temperature_c``   ``Cel``  -40 ... 125 °C (sensor limits)
``<s>/humidity``        ``humidity_pct``    ``%RH``  0 ... 100 %
``<s>/pressure``        ``pressure_hpa``    ``hPa``  300 ... 1100 hPa (BME280)
``<s>/battery``         ``battery_pct``     ``%EL``  0 ... 100 %
``<s>/battery_voltage`` ``battery_mv``      ``V``
``<s>/illuminance``     ``illuminance_lx``  ``lx``
``<s>/movement_count``  ``movement_count``  count
======================  ==================  =======  ==============================

A fixed-layout format (ATC1441, pvvx, RuuviTag) yields every stream it carries, with value
``None`` where the sensor said "not available"; BTHome yields the streams the device sent.
Acceleration, transmit power, packet ids and :attr:`~drivers.ble.BleSample.extra` stay in the
sample: they describe the radio or need units the kit does not define.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from edge_agent import units
from edge_agent.readings import Quality, Reading, make_stream

from .sample import BleFormat, BleSample


@dataclass(frozen=True, slots=True)
class _Quantity:
    """One stream: which sample field feeds it, its unit, scale and plausible range."""

    name: str
    field: str
    unit: str
    divisor: int = 1
    valid: tuple[float, float] | None = None


QUANTITIES: Final = (
    _Quantity("temperature", "temperature_c", units.CELSIUS, valid=(-40.0, 125.0)),
    _Quantity("humidity", "humidity_pct", units.RELATIVE_HUMIDITY, valid=(0.0, 100.0)),
    _Quantity("pressure", "pressure_hpa", units.HECTOPASCAL, valid=(300.0, 1100.0)),
    _Quantity("battery", "battery_pct", units.BATTERY_PERCENT, valid=(0.0, 100.0)),
    _Quantity("battery_voltage", "battery_mv", units.VOLT, divisor=1000),
    _Quantity("illuminance", "illuminance_lx", units.LUX),
    _Quantity("movement_count", "movement_count", units.COUNT),
)

_CUSTOM_FIRMWARE: Final = frozenset({"temperature", "humidity", "battery", "battery_voltage"})
CARRIED: Final = MappingProxyType(
    {
        BleFormat.ATC1441: _CUSTOM_FIRMWARE,
        BleFormat.PVVX: _CUSTOM_FIRMWARE,
        BleFormat.RUUVI_DF5: frozenset(
            {"temperature", "humidity", "pressure", "battery_voltage", "movement_count"}
        ),
    }
)
"""The streams a fixed-layout format always yields; formats not listed yield what they sent."""


class SensorReadings:
    """:func:`to_readings` for one sensor, with its stream names made and checked once.

    A driver builds one per sensor: every advertisement then costs no name checks.

    Raises:
        ConfigError: ``sensor`` is not a valid sensor name.
    """

    __slots__ = ("_rows", "sensor")

    def __init__(self, sensor: str) -> None:
        self.sensor = sensor
        self._rows = tuple((q, make_stream(sensor, q.name)) for q in QUANTITIES)

    def __call__(
        self, sample: BleSample, time: float, *, quality: Quality = Quality.GOOD
    ) -> list[Reading]:
        """The readings of ``sample`` received at ``time``; see :func:`to_readings`."""
        carried = CARRIED.get(sample.format)
        readings: list[Reading] = []
        for quantity, stream in self._rows:
            raw = getattr(sample, quantity.field)
            if raw is None and (carried is None or quantity.name not in carried):
                continue
            value = raw if raw is None or quantity.divisor == 1 else raw / quantity.divisor
            flags = quality
            if value is not None and quantity.valid is not None:
                low, high = quantity.valid
                if not low <= value <= high:
                    flags |= Quality.OUT_OF_RANGE
            readings.append(Reading(stream, time, value, quantity.unit, flags))
        return readings


def to_readings(
    sample: BleSample, sensor: str, time: float, *, quality: Quality = Quality.GOOD
) -> list[Reading]:
    """The readings of one sample.

    Args:
        sample: a decoded advertisement.
        sensor: the sensor's name from the config; streams are ``<sensor>/<quantity>``.
        time: when the advertisement was received, seconds since the Unix epoch (UTC).
        quality: flags every reading gets (e.g. ``Quality.CLOCK_UNSYNCED``); a value outside
            its plausible range adds ``Quality.OUT_OF_RANGE``.

    Raises:
        ConfigError: ``sensor`` is not a valid sensor name.
    """
    return SensorReadings(sensor)(sample, time, quality=quality)
