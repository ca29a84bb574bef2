"""Turn parsed serial events into :class:`~edge_agent.readings.Reading` objects.

Each function takes one event, the sensor's name and the time the bytes arrived (seconds
since the Unix epoch; passed in, never read from a clock here) and returns the readings, with
SenML units and quality flags. Stream names are ``<sensor>/<quantity>``.

Quality flags, the same for every protocol:

- ``CHECKSUM_FAILED``: the frame itself was fine (bad checksums never get this far), but the
  device's own status says the value is not valid: an NMEA fix of quality 0, RMC status
  ``V``, FAA mode ``N``; a UMB status other than OK or its channel's "error" value.
- ``OUT_OF_RANGE``: the value lies outside the quantity's physical range (course beyond
  0-360 degrees; a UMB over/underrange status or a value outside the channel's range; a
  configured range for line values).

Empty NMEA fields produce no reading (nothing was measured). UMB channels without a valid
value produce a reading with value ``None`` and a flag, so that gaps stay visible.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from types import MappingProxyType
from typing import Final

from edge_agent import units
from edge_agent.readings import Quality, Reading, Value, check_unit, make_stream

from . import irs31
from .lines import LineRecord
from .nmea import GgaFix, NmeaEvent, RmcFix, VtgVelocity
from .umb import ChannelValue, MultiChannelResponse, OnlineDataResponse, UmbEvent
from .umb_channels import ChannelSpec, channel_value

_KMH_IN_MS: Final = 1 / 3.6

NMEA_QUANTITIES: Final[Mapping[str, tuple[str, str, float]]] = MappingProxyType(
    {
        "latitude": ("latitude_deg", units.LATITUDE, 1.0),
        "longitude": ("longitude_deg", units.LONGITUDE, 1.0),
        "altitude": ("altitude_m", units.METRE, 1.0),
        "fix_quality": ("fix_quality", units.NONE, 1.0),
        "satellites": ("satellites_used", units.COUNT, 1.0),
        "hdop": ("hdop", units.RATIO, 1.0),
        "speed": ("speed_kmh", units.METRE_PER_SECOND, _KMH_IN_MS),
        "course": ("course_true_deg", units.DEGREE, 1.0),
    }
)
"""Quantity -> (event attribute, SenML unit, factor from the attribute's unit) for NMEA
readings. Speed is sent in m/s, SenML's base unit (the events keep km/h and knots)."""

NMEA_SENTENCE_QUANTITIES: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "GGA": ("latitude", "longitude", "altitude", "fix_quality", "satellites", "hdop"),
        "RMC": ("latitude", "longitude", "speed", "course"),
        "VTG": ("speed", "course"),
    }
)
"""The quantities each sentence type gives, by sentence type."""

_STATUS_VALIDATED = frozenset({"latitude", "longitude", "altitude", "speed", "course"})


def nmea_readings(
    event: NmeaEvent, sensor: str, time: float, *, quantities: Collection[str] | None = None
) -> list[Reading]:
    """Readings from one GGA, RMC or VTG sentence.

    GGA gives latitude, longitude, altitude, fix quality (the GGA code: 0 none, 1 GNSS,
    2 differential, 4 RTK fixed, 5 RTK float, 6 dead reckoning), satellites and hdop; RMC
    latitude, longitude, speed (m/s) and course; VTG speed and course. A receiver that sends
    GGA and RMC every second thus reports the position twice: pass ``quantities`` (a subset
    of :data:`NMEA_QUANTITIES`) to keep only what this sentence type should contribute.
    Position and motion values are flagged ``CHECKSUM_FAILED`` when the receiver says it has
    no valid fix.
    """
    match event:
        case GgaFix():
            kind, invalid = "GGA", not event.has_fix
        case RmcFix():
            kind, invalid = "RMC", event.valid is False or event.mode == "N"
        case VtgVelocity():
            kind, invalid = "VTG", event.mode == "N"
    readings = []
    for name in NMEA_SENTENCE_QUANTITIES[kind]:
        if quantities is not None and name not in quantities:
            continue
        attribute, unit, factor = NMEA_QUANTITIES[name]
        value = getattr(event, attribute)
        if value is None:
            continue
        if factor != 1.0:
            value *= factor
        quality = Quality.GOOD
        if invalid and name in _STATUS_VALIDATED:
            quality |= Quality.CHECKSUM_FAILED
        if name == "course" and not 0 <= value <= 360:
            quality |= Quality.OUT_OF_RANGE
        readings.append(Reading(make_stream(sensor, name), time, value, unit, quality))
    return readings


def umb_readings(
    event: UmbEvent,
    sensor: str,
    time: float,
    *,
    channels: Mapping[int, ChannelSpec] = irs31.CHANNELS,
) -> list[Reading]:
    """Readings from a UMB response, one per channel value; requests give none.

    ``channels`` is the device's channel table (default: the IRS31Pro-UMB's). A channel
    missing from it becomes quantity ``channel-<n>`` with its raw value and no unit, so that
    nothing is dropped silently.
    """
    values: tuple[ChannelValue, ...]
    if isinstance(event, OnlineDataResponse):
        values = () if event.value is None else (event.value,)
    elif isinstance(event, MultiChannelResponse):
        values = event.values
    else:
        return []
    readings = []
    for value in values:
        spec = channels.get(value.channel) or ChannelSpec(
            value.channel, f"channel-{value.channel}", units.NONE
        )
        converted, quality = channel_value(spec, value)
        readings.append(
            Reading(make_stream(sensor, spec.quantity), time, converted, spec.unit, quality)
        )
    return readings


def line_readings(
    record: LineRecord,
    sensor: str,
    time: float,
    *,
    units_by_key: Mapping[str, str] | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> list[Reading]:
    """Readings from one microcontroller line, one per key.

    ``units_by_key`` gives the SenML unit of numeric keys (``{"temp": "Cel"}``); numbers
    without one, booleans and strings get ``""``. ``ranges`` gives ``(low, high)`` per key;
    numbers outside are flagged ``OUT_OF_RANGE``. Raises
    :class:`~edge_agent.errors.ConfigError` for a unit SenML does not know.
    """
    unit_of = units_by_key or {}
    range_of = ranges or {}
    readings = []
    for key, value in record.values:
        unit = units.NONE
        quality = Quality.GOOD
        reading_value: Value = value
        if isinstance(value, int | float) and not isinstance(value, bool):
            unit = check_unit(unit_of.get(key, units.NONE))
            low, high = range_of.get(key, (float("-inf"), float("inf")))
            if not low <= value <= high:
                quality |= Quality.OUT_OF_RANGE
        readings.append(Reading(make_stream(sensor, key), time, reading_value, unit, quality))
    return readings
