"""A simulated Raspberry Pi 4 in a roadside cabinet, as raw health texts.

:class:`SimulatedPi` writes what the real sources would print (``/proc/meminfo``,
``/proc/loadavg``, ``/proc/diskstats``, the thermal zone's ``temp``, ``vcgencmd
get_throttled``) into a :class:`~drivers.system.sources.RawHealth`, so the ``simulated``
backend goes through the same parsers as ``linux``.

The model: the cabinet's air follows the day like the demo's air sensor (it *is*
:class:`~drivers.simulated.air.AirSimulator`, with the cabinet's range); the SoC sits about
24 °C above it plus 5 °C per unit of load; the load averages are the kernel's exponential
averages of a run queue that is now and then busy (an experiment running inference); the SD
card receives the store's writes at about ``write_rate`` bytes per second; and the supply sags
below the under-voltage threshold in a share ``under_voltage_rate`` of the polls, which sets
the firmware's sticky "has occurred" bit for the rest of the run.
"""

from __future__ import annotations

import logging
import math
import random
import zlib
from typing import Final

from pydantic import Field

from drivers.simulated.air import AirOptions, AirSimulator
from drivers.simulated.model import SimulatedOptions
from edge_agent.clock import Clock
from edge_agent.durations import Size
from edge_agent.readings import Reading

from .proc import KIB, SECTOR_BYTES
from .sources import DiskSpace, RawHealth

_LOAD_PERIODS_S: Final = (60.0, 300.0, 900.0)
_SOC_ABOVE_AIR_C: Final = 24.0
_SOC_PER_LOAD_C: Final = 5.0
_SOFT_LIMIT_C: Final = 60.0
_THROTTLE_C: Final = 80.0
_BOOT_SECTORS: Final = 2_400_000
"""What a Pi OS boot has already written (about 1.2 GB: first-boot resize, logs, apt)."""


class SimulatedHealthOptions(SimulatedOptions):
    """The simulated Pi (seed, day length and time zone as for every simulated sensor).

    Attributes:
        cabinet_low_c / cabinet_high_c: the cabinet's air before dawn and in the afternoon, °C.
        memory_total: RAM the kernel sees (``MemTotal``), bytes or ``"3.7GiB"``.
        disk_size: the SD card's file system, bytes or ``"32GB"``.
        disk_free_at_start: share of ``disk_size`` free when the simulation starts.
        write_rate: bytes the agent writes per second on average (``"20kB"``).
        under_voltage_rate: share of polls during which the supply sags.
    """

    cabinet_low_c: float = -2.0
    cabinet_high_c: float = 14.0
    memory_total: Size = 3_976_000_000
    disk_size: Size = 31_000_000_000
    disk_free_at_start: float = Field(default=0.78, ge=0, le=1)
    write_rate: Size = 20_000
    under_voltage_rate: float = Field(default=0.02, ge=0, le=1)


def _meminfo(total_kib: int, available_kib: int) -> str:
    cached = available_kib // 2
    free = available_kib - cached
    lines = {
        "MemTotal": total_kib,
        "MemFree": free,
        "MemAvailable": available_kib,
        "Buffers": 32_768,
        "Cached": cached,
        "SwapCached": 0,
        "Active": (total_kib - available_kib) // 2,
        "Inactive": cached,
        "SwapTotal": 524_284,
        "SwapFree": 524_284,
        "Dirty": 96,
        "Writeback": 0,
        "AnonPages": (total_kib - available_kib) // 2,
        "Shmem": 8_192,
        "CmaTotal": 524_288,
        "CmaFree": 497_152,
    }
    # The kernel prints "%-16s%8lu kB" (name padded to 16 columns, value to 8).
    return "".join(f"{name + ':':<16}{value:>8} kB\n" for name, value in lines.items())


def _diskstats_line(major: int, minor: int, name: str, counters: list[int]) -> str:
    return f"{major:4d} {minor:7d} {name} {' '.join(str(c) for c in counters)}\n"


class SimulatedPi:
    """Produces one :class:`RawHealth` per call to :meth:`read`, deterministic per seed.

    Args:
        sensor: the sensor's name (seeds the model, as for every simulated sensor).
        options: the model's options.
        interval: the driver's poll interval, seconds (the first step of the load average).
        clock: the agent's clock.
        logger: the driver's logger.
    """

    def __init__(
        self,
        sensor: str,
        options: SimulatedHealthOptions,
        *,
        interval: float,
        clock: Clock,
        logger: logging.Logger,
    ) -> None:
        self._options = options
        self._clock = clock
        self._interval = interval
        self._random = random.Random(options.seed ^ zlib.crc32(sensor.encode()))
        self._air_samples: list[Reading] = []
        air = AirOptions(
            seed=options.seed,
            day_length=options.day_length,
            utc_offset_h=options.utc_offset_h,
            night_low_c=options.cabinet_low_c,
            day_high_c=options.cabinet_high_c,
        )
        self._air = AirSimulator(
            sensor,
            air,
            interval=interval,
            publish=self._air_samples.append,
            clock=clock,
            logger=logger,
        )
        self._last: float | None = None
        self._busy = False
        self._load = [0.4, 0.3, 0.25]
        self._sticky = 0
        self._sectors_written = _BOOT_SECTORS
        self._writes = _BOOT_SECTORS // 8
        self._free = round(options.disk_size * options.disk_free_at_start)
        self._last_pid = 1200

    async def _cabinet_air_c(self) -> float:
        await self._air.poll()
        readings = self._air_samples.copy()
        self._air_samples.clear()
        return next(float(r.value or 0.0) for r in readings if r.stream.endswith("/temperature"))

    async def read(self) -> RawHealth:
        """The raw texts a real Pi would show now."""
        now = self._clock.now()
        step = self._interval if self._last is None else max(0.0, now - self._last)
        self._last = now
        rnd = self._random

        if rnd.random() < 0.08:
            self._busy = not self._busy
        running = 2 + rnd.randint(0, 2) if self._busy else int(rnd.random() < 0.3)
        for index, period in enumerate(_LOAD_PERIODS_S):
            decay = math.exp(-step / period)
            self._load[index] = self._load[index] * decay + running * (1 - decay)

        soc = (
            await self._cabinet_air_c()
            + _SOC_ABOVE_AIR_C
            + _SOC_PER_LOAD_C * self._load[0]
            + rnd.gauss(0, 0.4)
        )
        under_voltage = rnd.random() < self._options.under_voltage_rate
        soft_limit = soc >= _SOFT_LIMIT_C
        throttled = under_voltage or soc >= _THROTTLE_C
        capped = throttled or soft_limit
        now_bits = (
            int(under_voltage) | int(capped) << 1 | int(throttled) << 2 | int(soft_limit) << 3
        )
        self._sticky |= now_bits << 16

        total_kib = self._options.memory_total // KIB
        share = min(0.95, max(0.05, 0.8 - 0.06 * self._load[0] + rnd.gauss(0, 0.01)))

        written = self._options.write_rate * step * rnd.uniform(0.5, 1.5)
        sectors = round(written / SECTOR_BYTES)
        self._sectors_written += sectors
        self._writes += math.ceil(sectors / 8)
        # Most writes rewrite the database's WAL and pages; a twentieth is new data.
        self._free = max(0, self._free - round(written / 20))

        self._last_pid += rnd.randint(0, 6)
        return RawHealth(
            thermal_temp=f"{round(soc * 1000)}\n",
            get_throttled=f"throttled=0x{now_bits | self._sticky:x}\n",
            meminfo=_meminfo(total_kib, round(total_kib * share)),
            loadavg=(
                f"{self._load[0]:.2f} {self._load[1]:.2f} {self._load[2]:.2f} "
                f"{running + 1}/{176 + rnd.randint(0, 12)} {self._last_pid}\n"
            ),
            diskstats=self._diskstats(),
            disk=DiskSpace(free_bytes=self._free, total_bytes=self._options.disk_size),
        )

    def _diskstats(self) -> str:
        reads, read_sectors = 21_480, 1_392_766
        boot = [412, 1_680, 18_720, 301, 1, 0, 2, 4, 0, 318, 305, 0, 0, 0, 0, 0, 0]
        root = [
            reads - 412,
            9_113,
            read_sectors - 18_720,
            30_118,
            self._writes,
            self._writes // 3,
            self._sectors_written - 2,
            self._writes * 3,
            0,
            self._writes * 2,
            self._writes * 3 + 30_118,
            0,
            0,
            0,
            0,
            self._writes // 40,
            self._writes // 10,
        ]
        disk = [a + b for a, b in zip(boot, root, strict=True)]
        lines = [_diskstats_line(7, minor, f"loop{minor}", [0] * 17) for minor in range(8)]
        lines.append(_diskstats_line(179, 0, "mmcblk0", disk))
        lines.append(_diskstats_line(179, 1, "mmcblk0p1", boot))
        lines.append(_diskstats_line(179, 2, "mmcblk0p2", root))
        return "".join(lines)


__all__ = ["SimulatedHealthOptions", "SimulatedPi"]
