"""The device health the uplink reports: disk space and CPU temperature, where readable."""

from __future__ import annotations

import shutil
from pathlib import Path

THERMAL_ZONES = Path("/sys/class/thermal")


def disk_space(path: Path) -> dict[str, int] | None:
    """Free and total bytes of the file system holding ``path``; None if it cannot be read."""
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return None
    return {"free_bytes": usage.free, "total_bytes": usage.total}


def cpu_temperature(zones: Path = THERMAL_ZONES) -> float | None:
    """The CPU temperature in °C from the kernel's thermal zones (a Pi's ``cpu-thermal``);
    None where there is none (containers, most virtual machines)."""
    try:
        candidates = sorted(zones.glob("thermal_zone*"))
    except OSError:
        return None
    fallback: float | None = None
    for zone in candidates:
        try:
            kind = (zone / "type").read_text().strip()
            millidegrees = int((zone / "temp").read_text().strip())
        except (OSError, ValueError):
            continue
        celsius = millidegrees / 1000
        if "cpu" in kind or "soc" in kind or "x86_pkg" in kind:
            return celsius
        if fallback is None:
            fallback = celsius
    return fallback
