"""The serial drivers, as the ``edge_agent.drivers`` entry points name them.

- ``serial.nmea``: :class:`NmeaDriver`, a GNSS receiver (NMEA 0183);
- ``serial.umb``: :class:`UmbDriver`, a Lufft UMB device polled on RS-485 (IRS31Pro-UMB);
- ``serial.lines``: :class:`LineDriver`, a microcontroller printing ``key=value``/JSON lines.

Each has the backends ``pyserial`` (the configured port) and ``simulated`` (its simulator
behind a pseudo-terminal, read through the same port code); see
:mod:`drivers.serial.serial_driver`.
"""

from __future__ import annotations

from .line_driver import LineDriver, LineOptions
from .nmea_driver import NmeaDriver, NmeaOptions
from .umb_driver import UmbDriver, UmbOptions

__all__ = ["LineDriver", "LineOptions", "NmeaDriver", "NmeaOptions", "UmbDriver", "UmbOptions"]
