"""Parsers for three ``/proc`` files: ``meminfo``, ``loadavg`` and ``diskstats``.

Sans-I/O: text in, frozen dataclasses out; anything that does not decode raises
:class:`~edge_agent.errors.ParseError`. The formats are the kernel's (``man 5 proc``,
Documentation/admin-guide/iostats.rst) and the same on a Raspberry Pi as on x86-64.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from edge_agent.errors import ParseError

KIB: Final = 1024
"""``/proc/meminfo`` says ``kB`` but means KiB."""

SECTOR_BYTES: Final = 512
"""``/proc/diskstats`` counts 512-byte sectors whatever the device's own block size."""

_MEMINFO_LINE: Final = re.compile(r"^([A-Za-z0-9_()]+):\s+([0-9]{1,20})(?: kB)?$", re.ASCII)
_LOADAVG: Final = re.compile(
    r"^([0-9]{1,9}\.[0-9]{2}) ([0-9]{1,9}\.[0-9]{2}) ([0-9]{1,9}\.[0-9]{2}) "
    r"([0-9]{1,10})/([0-9]{1,10}) ([0-9]{1,10})$",
    re.ASCII,
)
_DISKSTATS_MIN_FIELDS: Final = 14
"""Major, minor, name and the 11 fields every kernel since 2.6 prints (4.18 adds 4, 5.5 2)."""
_NUMBER: Final = re.compile(r"^[0-9]{1,20}$", re.ASCII)
_DEVICE_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:!+-]{0,63}$", re.ASCII)


@dataclass(frozen=True, slots=True)
class MemInfo:
    """Memory figures from ``/proc/meminfo``.

    Attributes:
        total_bytes: ``MemTotal``: usable RAM (what the kernel got, less the GPU's share).
        available_bytes: ``MemAvailable``: what new programs can get without swapping
            (free memory plus the page cache and slabs that can be reclaimed).
    """

    total_bytes: int
    available_bytes: int

    @property
    def available_ratio(self) -> float:
        """``available_bytes / total_bytes``, 0 ... 1."""
        return self.available_bytes / self.total_bytes


def parse_meminfo(text: str) -> MemInfo:
    """Parse ``/proc/meminfo``; only ``MemTotal`` and ``MemAvailable`` are needed.

    Raises:
        ParseError: a line is not ``Name: number [kB]``, or either line is missing (kernels
            before 3.14 have no ``MemAvailable``), or ``MemTotal`` is zero.
    """
    values: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        match = _MEMINFO_LINE.match(stripped)
        if match is None:
            raise ParseError(f"meminfo line {number} is not 'Name: number [kB]': {line[:80]!r}")
        values.setdefault(match[1], int(match[2]))
    for name in ("MemTotal", "MemAvailable"):
        if name not in values:
            raise ParseError(
                f"meminfo has no {name} line (MemAvailable needs Linux 3.14 or newer): "
                f"{text[:80]!r}"
            )
    if values["MemTotal"] == 0:
        raise ParseError("meminfo says MemTotal: 0 kB")
    return MemInfo(
        total_bytes=values["MemTotal"] * KIB, available_bytes=values["MemAvailable"] * KIB
    )


@dataclass(frozen=True, slots=True)
class LoadAverage:
    """The scheduler's load averages from ``/proc/loadavg``.

    Attributes:
        load_1m / load_5m / load_15m: runnable plus uninterruptible (disk-waiting) tasks,
            exponentially averaged over 1, 5 and 15 minutes. A value above the number of
            cores (4 on a Pi 3B+/4/5) means work is waiting.
        runnable: tasks runnable right now.
        tasks: tasks (threads) that exist.
        last_pid: the most recently assigned process id.
    """

    load_1m: float
    load_5m: float
    load_15m: float
    runnable: int
    tasks: int
    last_pid: int


def parse_loadavg(text: str) -> LoadAverage:
    """Parse ``/proc/loadavg`` (``0.03 0.36 0.67 2/89 21859``).

    Raises:
        ParseError: the text is not five fields in that shape.
    """
    match = _LOADAVG.match(text.strip())
    if match is None:
        raise ParseError(
            f"loadavg is not '<1m> <5m> <15m> <runnable>/<tasks> <last pid>': {text[:80]!r}"
        )
    return LoadAverage(
        load_1m=float(match[1]),
        load_5m=float(match[2]),
        load_15m=float(match[3]),
        runnable=int(match[4]),
        tasks=int(match[5]),
        last_pid=int(match[6]),
    )


@dataclass(frozen=True, slots=True)
class BlockDeviceStats:
    """Counters of one block device or partition since boot, from ``/proc/diskstats``.

    Attributes:
        major / minor: the device numbers (179 for SD cards and eMMC).
        name: ``mmcblk0``, ``mmcblk0p2``, ``nvme0n1``, ``sda``...
        reads_completed / writes_completed: requests finished.
        sectors_read / sectors_written: 512-byte sectors transferred.
    """

    major: int
    minor: int
    name: str
    reads_completed: int
    sectors_read: int
    writes_completed: int
    sectors_written: int

    @property
    def bytes_written(self) -> int:
        """Bytes written since boot (``sectors_written`` x 512); the SD card's wear counter."""
        return self.sectors_written * SECTOR_BYTES


def parse_diskstats(text: str) -> dict[str, BlockDeviceStats]:
    """Parse ``/proc/diskstats`` into its devices, by name.

    Raises:
        ParseError: a line has fewer than 14 fields, a counter that is not a number, or a
            device name the kernel cannot have printed.
    """
    devices: dict[str, BlockDeviceStats] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < _DISKSTATS_MIN_FIELDS:
            raise ParseError(
                f"diskstats line {number} has {len(fields)} fields, expected at least "
                f"{_DISKSTATS_MIN_FIELDS}: {line[:100]!r}"
            )
        name = fields[2]
        counters = fields[:2] + fields[3:]
        if not _DEVICE_NAME.match(name) or not all(_NUMBER.match(f) for f in counters):
            raise ParseError(
                f"diskstats line {number} is not '<major> <minor> <name> <counters...>': "
                f"{line[:100]!r}"
            )
        devices[name] = BlockDeviceStats(
            major=int(fields[0]),
            minor=int(fields[1]),
            name=name,
            reads_completed=int(fields[3]),
            sectors_read=int(fields[5]),
            writes_completed=int(fields[7]),
            sectors_written=int(fields[9]),
        )
    return devices


__all__ = [
    "KIB",
    "SECTOR_BYTES",
    "BlockDeviceStats",
    "LoadAverage",
    "MemInfo",
    "parse_diskstats",
    "parse_loadavg",
    "parse_meminfo",
]
