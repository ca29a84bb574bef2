"""The clock: synchronised (NTP), or trusted by the config."""

from __future__ import annotations

from .device import Device
from .result import CheckResult, ok, warn


def check_clock(device: Device) -> CheckResult:
    """Whether the kernel reports the clock synchronised (``adjtimex``)."""
    name = "clock"
    if device.config is not None and device.config.device.trust_clock:
        return ok(name, "trusted by the config (device.trust_clock = true)")
    if device.clock_synchronized():
        return ok(name, "synchronised (the kernel says so)")
    return warn(
        name,
        "not synchronised: readings are flagged clock_unsynced until it is, then corrected",
        "check the time sync: timedatectl timesync-status; the lab network must let NTP "
        "(UDP 123) out, or set NTP= in /etc/systemd/timesyncd.conf to a server it can reach",
    )
