"""Serial sensors: sans-I/O stream parsers, their reading builders and device simulators.

Each protocol has a stream parser in the shape of h11 (``feed(data)``, then ``next_event()``
until it returns :data:`NEED_DATA`) and a strict one-shot function that raises
:class:`~edge_agent.errors.ParseError`:

- :mod:`.nmea`: NMEA 0183 GGA, RMC and VTG from GNSS receivers; ``parse_sentence``.
- :mod:`.umb`: Lufft UMB binary frames on RS-485; ``parse_frame``.
- :mod:`.lines`: ``key=value`` or JSON lines from microcontrollers; ``parse_line``.

:mod:`.irs31` holds the channel table of the Lufft IRS31(Pro)-UMB road sensor,
:mod:`.to_readings` turns parsed events into :class:`~edge_agent.readings.Reading` objects, and
:mod:`.simulators` / :mod:`.pty_device` provide devices for tests and demos. The drivers
``serial.nmea``, ``serial.umb`` and ``serial.lines`` (:mod:`.driver`) open the port through
pyserial, read it in a thread, feed these parsers, and reopen the port after an unplug.
"""

from __future__ import annotations

from .need_data import NEED_DATA, NeedData

__all__ = ["NEED_DATA", "NeedData"]
