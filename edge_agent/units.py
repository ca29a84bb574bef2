"""Units of measurement, spelled as SenML (RFC 8428 section 12.1, and RFC 8798 secondary units).

A reading's unit is one of these strings; the empty string marks a value without a unit (a
boolean state such as a parking bay's ``occupied`` flag, or a text such as a road condition).
"""

from __future__ import annotations

CELSIUS = "Cel"
KELVIN = "K"
RELATIVE_HUMIDITY = "%RH"
HECTOPASCAL = "hPa"
PASCAL = "Pa"
METRE = "m"
MILLIMETRE = "mm"
METRE_PER_SECOND = "m/s"
KILOMETRE_PER_HOUR = "km/h"
COUNT = "count"
RATIO = "/"
PERCENT = "%"
BATTERY_PERCENT = "%EL"
VOLT = "V"
MILLIVOLT = "mV"
SECOND = "s"
LATITUDE = "lat"
LONGITUDE = "lon"
DEGREE = "deg"
LUX = "lx"
DECIBEL_MILLIWATT = "dBm"
BYTE = "B"
BYTE_PER_SECOND = "B/s"
HERTZ = "Hz"
NONE = ""

KNOWN_UNITS: frozenset[str] = frozenset(
    {
        CELSIUS,
        KELVIN,
        RELATIVE_HUMIDITY,
        HECTOPASCAL,
        PASCAL,
        METRE,
        MILLIMETRE,
        METRE_PER_SECOND,
        KILOMETRE_PER_HOUR,
        COUNT,
        RATIO,
        PERCENT,
        BATTERY_PERCENT,
        VOLT,
        MILLIVOLT,
        SECOND,
        LATITUDE,
        LONGITUDE,
        DEGREE,
        LUX,
        DECIBEL_MILLIWATT,
        BYTE,
        BYTE_PER_SECOND,
        HERTZ,
        NONE,
    }
)
