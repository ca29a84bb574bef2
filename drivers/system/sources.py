"""Where the health figures come from: the raw texts of one poll, and reading them on Linux.

:class:`RawHealth` holds what one poll found, unparsed: each text exactly as the kernel or
vcgencmd printed it, ``None`` for a source that is not there (with the reason in
:attr:`RawHealth.missing`). The ``linux`` backend fills it with :class:`LinuxSources`; the
``simulated`` backend (:mod:`drivers.system.simulated`) fills it from a model. Either way the
driver parses it with the same parsers.

:class:`LinuxSources` does blocking I/O (files, ``statvfs``, a subprocess): run
:meth:`LinuxSources.read` in a thread. All kernel paths are taken below ``root``, so tests
point it at a directory tree holding captured files; the data directory ``disk_path`` is used
as it is.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from .thermal import CPU_ZONE_TYPES
from .throttling import RPI_VOLT_HWMON

_ZONE_NUMBER: Final = re.compile(r"^thermal_zone([0-9]+)$")


@dataclass(frozen=True, slots=True)
class DiskSpace:
    """Space on the file system that holds a directory (``statvfs``).

    Attributes:
        free_bytes: what an unprivileged process may still write (``f_bavail``): the agent's
            share, without the blocks reserved for root.
        total_bytes: the file system's size.
    """

    free_bytes: int
    total_bytes: int

    @property
    def free_ratio(self) -> float:
        """``free_bytes / total_bytes``, 0 ... 1 (0 for a file system of size 0)."""
        return self.free_bytes / self.total_bytes if self.total_bytes else 0.0


@dataclass(frozen=True)
class RawHealth:
    """The raw texts of one poll; ``None`` where the source is missing.

    Attributes:
        thermal_temp: the CPU thermal zone's ``temp`` (millidegrees Celsius).
        get_throttled: the output of ``vcgencmd get_throttled``.
        hwmon_alarm: ``in0_lcrit_alarm`` of the ``rpi_volt`` hwmon device.
        meminfo / loadavg / diskstats: the ``/proc`` files.
        disk: space on the data directory's file system.
        missing: why a source gave nothing, by kind (``thermal``, ``throttling``,
            ``vcgencmd``, ``hwmon``, ``meminfo``, ``loadavg``, ``diskstats``, ``disk``).
    """

    thermal_temp: str | None = None
    get_throttled: str | None = None
    hwmon_alarm: str | None = None
    meminfo: str | None = None
    loadavg: str | None = None
    diskstats: str | None = None
    disk: DiskSpace | None = None
    missing: dict[str, str] = field(default_factory=dict)


def _read_text(path: Path) -> str:
    # /proc and /sys files are ASCII; a stray byte must reach the parser, not raise here.
    return path.read_bytes().decode("ascii", errors="replace")


def find_thermal_zone(thermal_dir: Path, zone: str) -> Path | None:
    """The ``temp`` file of ``zone`` (``thermal_zone0``), or for ``auto`` of the CPU's zone.

    ``auto`` takes the first zone whose ``type`` is one of
    :data:`~drivers.system.thermal.CPU_ZONE_TYPES`, else the lowest-numbered zone.
    """
    if zone != "auto":
        temp = thermal_dir / zone / "temp"
        return temp if temp.exists() else None
    try:
        zones = [(int(m[1]), p) for p in thermal_dir.iterdir() if (m := _ZONE_NUMBER.match(p.name))]
    except OSError:
        return None
    zones.sort()
    typed: dict[str, Path] = {}
    for _, path in zones:
        try:
            typed.setdefault(_read_text(path / "type").strip(), path)
        except OSError:
            continue
    for kind in CPU_ZONE_TYPES:
        if kind in typed:
            return typed[kind] / "temp"
    return zones[0][1] / "temp" if zones else None


def find_hwmon(hwmon_dir: Path, name: str) -> Path | None:
    """The hwmon device directory whose ``name`` file says ``name`` (``rpi_volt``)."""
    try:
        devices = sorted(hwmon_dir.iterdir())
    except OSError:
        return None
    for device in devices:
        try:
            if _read_text(device / "name").strip() == name:
                return device
        except OSError:
            continue
    return None


class LinuxSources:
    """Reads the health sources of a Linux machine (see the module docstring).

    Args:
        root: where ``/proc`` and ``/sys`` are (``/``; a directory tree in tests).
        disk_path: the directory whose file system's free space is reported.
        thermal_zone: ``auto`` or a zone directory name (``thermal_zone0``).
        vcgencmd: the path of vcgencmd, or ``None`` where it is not installed.
        vcgencmd_timeout: seconds before a hanging vcgencmd is killed.
    """

    def __init__(
        self,
        *,
        root: Path,
        disk_path: Path,
        thermal_zone: str,
        vcgencmd: str | None,
        vcgencmd_timeout: float,
    ) -> None:
        self.root = root
        self.disk_path = disk_path
        self.thermal_zone = thermal_zone
        self.vcgencmd = vcgencmd
        self.vcgencmd_timeout = vcgencmd_timeout

    def read(self) -> RawHealth:
        """Read every source once; never raises for a missing or failing source."""
        missing: dict[str, str] = {}
        texts: dict[str, str | None] = {}
        proc = self.root / "proc"
        for kind in ("meminfo", "loadavg", "diskstats"):
            texts[kind] = self._file(proc / kind, kind, missing)

        thermal_dir = self.root / "sys" / "class" / "thermal"
        temp_file = find_thermal_zone(thermal_dir, self.thermal_zone)
        if temp_file is None:
            missing["thermal"] = f"no thermal zone {self.thermal_zone!r} in {thermal_dir}"
            thermal_temp = None
        else:
            thermal_temp = self._file(temp_file, "thermal", missing)

        get_throttled = self._run_vcgencmd(missing)
        hwmon_dir = self.root / "sys" / "class" / "hwmon"
        rpi_volt = find_hwmon(hwmon_dir, RPI_VOLT_HWMON)
        hwmon_alarm = None
        if rpi_volt is not None:
            hwmon_alarm = self._file(rpi_volt / "in0_lcrit_alarm", "hwmon", missing)
        if get_throttled is None and hwmon_alarm is None:
            why = missing.get("vcgencmd", "vcgencmd is not installed")
            missing["throttling"] = f"{why}, and no {RPI_VOLT_HWMON} device in {hwmon_dir}"

        return RawHealth(
            thermal_temp=thermal_temp,
            get_throttled=get_throttled,
            hwmon_alarm=hwmon_alarm,
            meminfo=texts["meminfo"],
            loadavg=texts["loadavg"],
            diskstats=texts["diskstats"],
            disk=self._disk_space(missing),
            missing=missing,
        )

    @staticmethod
    def _file(path: Path, kind: str, missing: dict[str, str]) -> str | None:
        try:
            return _read_text(path)
        except OSError as exc:
            missing[kind] = f"cannot read {path}: {exc.strerror or exc}"
            return None

    def _run_vcgencmd(self, missing: dict[str, str]) -> str | None:
        if self.vcgencmd is None:
            return None
        command = [self.vcgencmd, "get_throttled"]
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=self.vcgencmd_timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            missing["vcgencmd"] = f"vcgencmd get_throttled hung for {self.vcgencmd_timeout:g} s"
            return None
        except OSError as exc:
            missing["vcgencmd"] = f"cannot run {self.vcgencmd}: {exc.strerror or exc}"
            return None
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip()[:200]
            missing["vcgencmd"] = (
                f"vcgencmd get_throttled failed (exit {done.returncode}: {said!r}); the agent's "
                "user needs access to /dev/vchiq (group 'video')"
            )
            return None
        return done.stdout

    def _disk_space(self, missing: dict[str, str]) -> DiskSpace | None:
        try:
            stat = os.statvfs(self.disk_path)
        except OSError as exc:
            missing["disk"] = (
                f"cannot stat {self.disk_path}: {exc.strerror or exc}; set options.path to the "
                "agent's data directory"
            )
            return None
        return DiskSpace(
            free_bytes=stat.f_bavail * stat.f_frsize, total_bytes=stat.f_blocks * stat.f_frsize
        )


__all__ = ["DiskSpace", "LinuxSources", "RawHealth", "find_hwmon", "find_thermal_zone"]
