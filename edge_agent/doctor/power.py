"""Power and heat: under-voltage, throttling and the CPU temperature.

Read as the ``system.health`` driver reads them (``vcgencmd get_throttled``, else the kernel's
``rpi_volt`` alarm; the CPU's thermal zone) and parsed by its parsers.
"""

from __future__ import annotations

from typing import Final

from drivers.system.thermal import parse_thermal_temp
from drivers.system.throttling import ThrottleFlags, parse_get_throttled, parse_hwmon_alarm

from ..errors import ParseError
from .device import Device
from .result import CheckResult, fail, ok, warn

TEMPERATURE_WARN_C: Final = 70.0
"""Above this the cabinet is too warm for comfort; a Pi 4 starts to throttle at 80 °C."""
TEMPERATURE_FAIL_C: Final = 80.0

SUPPLY_FIX: Final = (
    "use the official power supply (Pi 4: 5.1 V 3 A; Pi 5: 5.1 V 5 A) and a short, thick "
    "cable; a long USB lead or a weak adapter sags under load"
)


def _flags(device: Device) -> tuple[ThrottleFlags | None, str]:
    raw = device.raw_health()
    try:
        if raw.get_throttled is not None:
            return parse_get_throttled(raw.get_throttled), "vcgencmd get_throttled"
        if raw.hwmon_alarm is not None:
            return parse_hwmon_alarm(raw.hwmon_alarm), "the rpi_volt alarm"
    except ParseError as exc:
        return None, str(exc)
    return None, raw.missing.get("throttling", "no throttling source")


def check_power(device: Device) -> CheckResult:
    """Under-voltage and throttling, now and since boot."""
    name = "power"
    flags, source = _flags(device)
    if flags is None:
        if device.is_raspberry_pi():
            return warn(
                name,
                f"cannot tell: {source}",
                "add the agent's user to the group 'video' for vcgencmd "
                "(usermod -aG video edge-agent), or load the rpi_volt hwmon driver",
            )
        return ok(name, "not a Raspberry Pi: no under-voltage source to read")
    known = flags.known()
    details = {"source": source, "raw": flags.raw, **known}
    now = [k for k in ("under_voltage", "throttled", "freq_capped") if known.get(k)]
    if now:
        return fail(name, f"{', '.join(now)} now (from {source})", SUPPLY_FIX, **details)
    since = [
        k.removesuffix("_occurred")
        for k in ("under_voltage_occurred", "throttled_occurred", "freq_capped_occurred")
        if known.get(k)
    ]
    if known.get("soft_temp_limit") or known.get("soft_temp_limit_occurred"):
        since.append("soft temperature limit")
    if since:
        return warn(
            name,
            f"{', '.join(since)} since boot, not now (from {source})",
            SUPPLY_FIX + "; then reboot to clear the record",
            **details,
        )
    return ok(name, f"no under-voltage or throttling since boot (from {source})", **details)


def check_temperature(device: Device) -> CheckResult:
    """The CPU's temperature against :data:`TEMPERATURE_WARN_C` and :data:`TEMPERATURE_FAIL_C`."""
    name = "temperature"
    raw = device.raw_health()
    if raw.thermal_temp is None:
        why = raw.missing.get("thermal", "no thermal zone")
        if device.is_raspberry_pi():
            return warn(name, f"cannot tell: {why}", "check /sys/class/thermal")
        return ok(name, f"no CPU thermal zone here ({why})")
    try:
        celsius = parse_thermal_temp(raw.thermal_temp)
    except ParseError as exc:
        return warn(name, f"cannot tell: {exc}", "check /sys/class/thermal")
    fix = "give the Pi air: a heat sink or a fan case, out of direct sun, a vented cabinet"
    if celsius >= TEMPERATURE_FAIL_C:
        return fail(name, f"CPU at {celsius:.1f} °C: throttling", fix, celsius=celsius)
    if celsius >= TEMPERATURE_WARN_C:
        return warn(name, f"CPU at {celsius:.1f} °C", fix, celsius=celsius)
    return ok(name, f"CPU at {celsius:.1f} °C", celsius=celsius)
