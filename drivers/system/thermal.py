"""Parser for a thermal zone's ``temp`` file: ``/sys/class/thermal/thermal_zone*/temp``.

The kernel prints the zone's temperature in millidegrees Celsius as one integer and a newline
(``48686``). On a Raspberry Pi, ``thermal_zone0`` is the SoC (type ``cpu-thermal``); on x86-64
the package sensor has type ``x86_pkg_temp``. Sans-I/O: text in, °C out.
"""

from __future__ import annotations

import re
from typing import Final

from edge_agent.errors import ParseError

CPU_ZONE_TYPES: Final = ("cpu-thermal", "cpu_thermal", "x86_pkg_temp", "soc_thermal", "soc-thermal")
"""Zone types that measure the processor, in order of preference, for ``thermal_zone = "auto"``."""

_MILLI_C: Final = re.compile(r"^-?[0-9]{1,7}$", re.ASCII)


def parse_thermal_temp(text: str) -> float:
    """Parse a zone's ``temp`` (``"48686\\n"``) into °C (``48.686``).

    Raises:
        ParseError: the text is not one integer (some zones fail the read or print nothing
            while their sensor is asleep).
    """
    stripped = text.strip()
    if not _MILLI_C.match(stripped):
        raise ParseError(f"thermal zone temp is not millidegrees Celsius: {text[:40]!r}")
    return int(stripped) / 1000


__all__ = ["CPU_ZONE_TYPES", "parse_thermal_temp"]
