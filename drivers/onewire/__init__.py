"""1-Wire temperature sensors (DS18B20 and the rest of the kernel's ``w1_therm`` family).

Sans-I/O: :func:`parse_w1_slave` turns the content of ``/sys/bus/w1/devices/28-*/w1_slave``
into a :class:`W1SlaveSample`, and :func:`to_readings` turns that into readings with the right
quality flags. The driver that reads the files follows separately.
"""

from __future__ import annotations

from .readings import to_readings
from .w1_slave import W1SlaveSample, crc8, parse_w1_slave

__all__ = ["W1SlaveSample", "crc8", "parse_w1_slave", "to_readings"]
