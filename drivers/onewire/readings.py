"""A :class:`~drivers.onewire.W1SlaveSample` as readings, with the right quality flags.

One stream, ``<sensor>/temperature`` in ``Cel``:

- ``CHECKSUM_FAILED`` when the scratchpad failed its CRC (the kernel's ``NO``);
- ``OUT_OF_RANGE`` for the 85.000 °C power-on reset value and for values outside the
  DS18B20's measuring range of -55 ... +125 °C.
"""

from __future__ import annotations

from typing import Final

from edge_agent import units
from edge_agent.readings import Quality, Reading, make_stream

from .w1_slave import W1SlaveSample

MEASURING_RANGE_C: Final = (-55.0, 125.0)
"""DS18B20 datasheet: -55 °C to +125 °C."""


def to_readings(
    sample: W1SlaveSample, sensor: str, time: float, *, quality: Quality = Quality.GOOD
) -> list[Reading]:
    """The temperature reading of one ``w1_slave`` read.

    Args:
        sample: the parsed file.
        sensor: the sensor's name from the config; the stream is ``<sensor>/temperature``.
        time: when the file was read, seconds since the Unix epoch (UTC).
        quality: flags the reading gets in any case (e.g. ``Quality.CLOCK_UNSYNCED``).

    Raises:
        ConfigError: ``sensor`` is not a valid sensor name.
    """
    flags = quality
    if not sample.crc_ok:
        flags |= Quality.CHECKSUM_FAILED
    low, high = MEASURING_RANGE_C
    if sample.power_on_reset or not low <= sample.temperature_c <= high:
        flags |= Quality.OUT_OF_RANGE
    stream = make_stream(sensor, "temperature")
    return [Reading(stream, time, sample.temperature_c, units.CELSIUS, flags)]
