"""This Pi's own health: CPU temperature, under-voltage and throttling, memory, load, disk.

The parsers are sans-I/O (text in, frozen dataclasses out): :mod:`.proc` for ``/proc/meminfo``,
``/proc/loadavg`` and ``/proc/diskstats``, :mod:`.thermal` for a thermal zone's ``temp``,
:mod:`.throttling` for ``vcgencmd get_throttled`` and the ``rpi_volt`` hwmon alarm. The
driver ``system.health`` (:mod:`.health`) reads them on Linux (:mod:`.sources`) or from a
simulated Pi (:mod:`.simulated`). See README.md.
"""
