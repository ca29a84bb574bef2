"""Sensors alive: the newest stored reading of every enabled sensor, against its interval.

Read from the store (read-only, as ``edge-agent status`` reads it), so the check sees what
reached the database, whatever the driver believes. A sensor whose newest reading is older than
:data:`STALE_INTERVALS` intervals (and at least :data:`MIN_STALE_S`) is a warning; older than
:data:`DEAD_INTERVALS` intervals (and at least :data:`MIN_DEAD_S`), or never heard, a failure.
"""

from __future__ import annotations

from typing import Final

from ..durations import format_duration
from ..errors import StoreError
from ..store import Store
from .device import Device
from .result import CheckResult, Status, fail, ok, warn, worst

STALE_INTERVALS: Final = 3
MIN_STALE_S: Final = 120.0
DEAD_INTERVALS: Final = 10
MIN_DEAD_S: Final = 600.0


def check_sensors(device: Device) -> CheckResult:
    """Every enabled sensor has a recent reading in the store."""
    name = "sensors"
    config = device.config
    if config is None:
        return warn(name, "cannot tell without a config", "fix the config first")
    sensors = [s for s in config.sensors if s.enabled]
    if not sensors:
        return warn(name, "no sensor is configured", "add [[sensor]] entries to the config")
    try:
        with Store(config.store.data_dir, readonly=True) as store:
            latest = {s.name: store.latest(f"{s.name}/*") for s in sensors}
    except StoreError as exc:
        return fail(
            name,
            f"no readings to look at: {exc}",
            "start the agent (systemctl start edge-agent) and look at its log "
            "(journalctl -u edge-agent)",
        )
    now = device.now()
    statuses: list[Status] = []
    problems: list[str] = []
    ages: dict[str, float | None] = {}
    for sensor in sensors:
        readings = latest[sensor.name]
        if not readings:
            statuses.append("fail")
            problems.append(f"{sensor.name!r} has never stored a reading")
            ages[sensor.name] = None
            continue
        age = max(0.0, now - max(r.time for r in readings))
        ages[sensor.name] = age
        if age > max(DEAD_INTERVALS * sensor.interval, MIN_DEAD_S):
            statuses.append("fail")
        elif age > max(STALE_INTERVALS * sensor.interval, MIN_STALE_S):
            statuses.append("warn")
        else:
            statuses.append("ok")
            continue
        problems.append(
            f"{sensor.name!r} silent for {format_duration(round(age))} "
            f"(every {format_duration(round(sensor.interval)) or '0s'} expected)"
        )
    status = worst(statuses)
    alive = statuses.count("ok")
    summary = f"{alive} of {len(sensors)} sensors alive"
    if status == "ok":
        return ok(name, summary, ages_s=ages)
    fix = (
        "check the wiring and the sensor's log lines (journalctl -u edge-agent | grep NAME); "
        "edge-agent status shows its input errors"
    )
    result = fail if status == "fail" else warn
    return result(name, f"{summary}; " + "; ".join(problems), fix, ages_s=ages)
