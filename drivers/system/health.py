"""``system.health``: the Pi's own health as readings.

Each poll reads the raw sources (:mod:`drivers.system.sources`, in a thread; or the model of
:mod:`drivers.system.simulated`), parses them with the sans-I/O parsers of
:mod:`~drivers.system.proc`, :mod:`~drivers.system.thermal` and
:mod:`~drivers.system.throttling`, and publishes what is available:

==========================  =====  ==================================================
stream ``<sensor>/...``     unit   from
==========================  =====  ==================================================
``cpu_temperature``         Cel    the CPU's thermal zone (``thermal_zone*/temp``)
``under_voltage`` ...       -      ``vcgencmd get_throttled``, else the ``rpi_volt``
                                   hwmon alarm (``under_voltage`` only)
``memory_available``        B      ``/proc/meminfo`` ``MemAvailable``
``memory_available_ratio``  /      ``MemAvailable / MemTotal``
``load_1m`` ``load_5m``     -      ``/proc/loadavg``
``load_15m``
``disk_free``               B      ``statvfs(path)``: space the agent may still use
``disk_free_ratio``         /      free / size of that file system
``bytes_written``           B      ``/proc/diskstats``: written to ``block_device``
                                   since boot (a counter; it restarts at 0 on boot)
==========================  =====  ==================================================

The flags are ``under_voltage``, ``freq_capped``, ``throttled``, ``soft_temp_limit`` (now) and
the same with ``_occurred`` (since boot), booleans without a unit.

A source that is not there (no thermal zone in a VM, no vcgencmd and no ``rpi_volt`` on a
laptop, a block device that does not exist) is logged and counted once per kind under
``missing_<kind>``, and its readings are left out; content that does not parse is counted
under ``bad_<kind>`` every time. Nothing here raises into the agent.

Backends (family ``system``): ``linux`` and ``simulated``.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar, TypeVar

from pydantic import Field, field_validator

from edge_agent import units
from edge_agent.backends import SIMULATED, Backend, always, needs_path
from edge_agent.driver import HardwareOptions, PollingDriver
from edge_agent.durations import Duration
from edge_agent.errors import ConfigError, ParseError

from .proc import parse_diskstats, parse_loadavg, parse_meminfo
from .simulated import SimulatedHealthOptions, SimulatedPi
from .sources import LinuxSources, RawHealth
from .thermal import parse_thermal_temp
from .throttling import ThrottleFlags, parse_get_throttled, parse_hwmon_alarm

T = TypeVar("T")

_BLOCK_DEVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_THERMAL_ZONE = re.compile(r"^(auto|thermal_zone[0-9]{1,3})$")
_RATIO_DIGITS = 4


class HealthOptions(HardwareOptions):
    """Options of ``system.health``.

    Attributes:
        path: a directory on the file system whose free space is reported. The driver does
            not know the store's data directory: set this to it (``/var/lib/edge-agent``);
            the default ``/`` is the root file system, the same on a Pi with one SD card.
        block_device: the disk whose written bytes are counted, as ``/proc/diskstats`` and
            ``lsblk`` name it: ``mmcblk0`` (SD card), ``nvme0n1``, ``sda`` (USB SSD).
        thermal_zone: ``auto`` (the CPU's zone) or a zone directory name (``thermal_zone0``).
        root: where ``/proc`` and ``/sys`` are; change it only for tests.
        vcgencmd_timeout: how long ``vcgencmd get_throttled`` may take.
        simulation: the model behind the ``simulated`` backend (ignored by ``linux``).
    """

    path: Path = Path("/")
    block_device: str = "mmcblk0"
    thermal_zone: str = "auto"
    root: Path = Path("/")
    vcgencmd_timeout: Duration = 2.0
    simulation: SimulatedHealthOptions = Field(default_factory=SimulatedHealthOptions)

    @field_validator("block_device")
    @classmethod
    def _block_device_is_a_name(cls, value: str) -> str:
        if not _BLOCK_DEVICE.match(value):
            raise ConfigError(
                f"block_device {value!r} is not a block device name: write it as lsblk shows "
                "it, without /dev/ (for example 'mmcblk0', 'nvme0n1' or 'sda')"
            )
        return value

    @field_validator("thermal_zone")
    @classmethod
    def _thermal_zone_is_a_zone(cls, value: str) -> str:
        if not _THERMAL_ZONE.match(value):
            raise ConfigError(
                f"thermal_zone {value!r} is not understood: write 'auto' (the CPU's zone) or a "
                "directory name from /sys/class/thermal such as 'thermal_zone0'"
            )
        return value


class HealthDriver(PollingDriver):
    """CPU temperature, throttling, memory, load, disk space and SD-card writes of this Pi."""

    Options = HealthOptions
    options: HealthOptions
    summary = "this Pi's health: CPU temperature, under-voltage/throttling, memory, load, disk"
    family: ClassVar[str | None] = "system"
    backends: ClassVar[tuple[Backend, ...]] = (
        Backend(
            "linux",
            "/proc, /sys and vcgencmd of this machine",
            needs_path("/proc/meminfo", "/proc file system"),
        ),
        Backend(SIMULATED, "a simulated Pi 4 in a roadside cabinet", always),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._linux: LinuxSources | None = None
        self._model: SimulatedPi | None = None
        self._missing_reported: set[str] = set()

    async def start(self) -> None:
        """Choose the backend; on Linux, look for vcgencmd on ``PATH``."""
        opts = self.options
        if self.choose_backend().name == SIMULATED:
            self._model = SimulatedPi(
                self.sensor,
                opts.simulation,
                interval=self.interval,
                clock=self.clock,
                logger=self.log,
            )
            self._linux = None
            return
        vcgencmd = await asyncio.to_thread(shutil.which, "vcgencmd")
        self._linux = LinuxSources(
            root=opts.root,
            disk_path=opts.path,
            thermal_zone=opts.thermal_zone,
            vcgencmd=vcgencmd,
            vcgencmd_timeout=opts.vcgencmd_timeout,
        )
        self._model = None
        self.log.info(
            "sensor %r: system health from %s, disk space of %s, writes to %s, vcgencmd %s",
            self.sensor,
            opts.root,
            opts.path,
            opts.block_device,
            vcgencmd or "not found",
        )

    async def read_raw(self) -> RawHealth:
        """One poll's raw texts from the chosen backend."""
        if self._model is not None:
            return await self._model.read()
        if self._linux is None:
            raise RuntimeError("HealthDriver.start() was not called")
        return await asyncio.to_thread(self._linux.read)

    async def poll(self) -> None:
        """Read every source and publish what is there."""
        at = self.clock.now()
        raw = await self.read_raw()
        for kind, why in raw.missing.items():
            self._missing(kind, why)

        if raw.thermal_temp is not None:
            celsius = self._parse("thermal", parse_thermal_temp, raw.thermal_temp)
            if celsius is not None:
                self.emit("cpu_temperature", celsius, units.CELSIUS, at=at)

        flags: ThrottleFlags | None = None
        if raw.get_throttled is not None:
            flags = self._parse("get_throttled", parse_get_throttled, raw.get_throttled)
        if flags is None and raw.hwmon_alarm is not None:
            flags = self._parse("hwmon", parse_hwmon_alarm, raw.hwmon_alarm)
        if flags is not None:
            for name, value in flags.known().items():
                self.emit(name, value, units.NONE, at=at)

        if raw.meminfo is not None:
            memory = self._parse("meminfo", parse_meminfo, raw.meminfo)
            if memory is not None:
                self.emit("memory_available", memory.available_bytes, units.BYTE, at=at)
                ratio = round(memory.available_ratio, _RATIO_DIGITS)
                self.emit("memory_available_ratio", ratio, units.RATIO, at=at)

        if raw.loadavg is not None:
            load = self._parse("loadavg", parse_loadavg, raw.loadavg)
            if load is not None:
                # SenML has no dimensionless unit; a load average is a number of tasks.
                self.emit("load_1m", load.load_1m, units.NONE, at=at)
                self.emit("load_5m", load.load_5m, units.NONE, at=at)
                self.emit("load_15m", load.load_15m, units.NONE, at=at)

        if raw.diskstats is not None:
            devices = self._parse("diskstats", parse_diskstats, raw.diskstats)
            if devices is not None:
                device = devices.get(self.options.block_device)
                if device is None:
                    self._missing(
                        "block_device",
                        f"block device {self.options.block_device!r} is not in /proc/diskstats "
                        f"(there: {', '.join(devices) or 'none'}); set options.block_device",
                    )
                else:
                    self.emit("bytes_written", device.bytes_written, units.BYTE, at=at)

        if raw.disk is not None:
            self.emit("disk_free", raw.disk.free_bytes, units.BYTE, at=at)
            ratio = round(raw.disk.free_ratio, _RATIO_DIGITS)
            self.emit("disk_free_ratio", ratio, units.RATIO, at=at)

    def _parse(self, kind: str, parser: Callable[[str], T], text: str) -> T | None:
        """``parser(text)``, or None after counting ``bad_<kind>``."""
        try:
            return parser(text)
        except ParseError as exc:
            self.count_error(f"bad_{kind}", exc)
            return None

    def _missing(self, kind: str, why: str) -> None:
        """Count and log a missing source the first time it is missing; quiet afterwards."""
        if kind in self._missing_reported:
            return
        self._missing_reported.add(kind)
        self.count_error(f"missing_{kind}", why)
        self.log.warning("sensor %r: %s; leaving its readings out", self.sensor, why)


__all__ = ["HealthDriver", "HealthOptions"]
