"""``edge-agent doctor``: checks a device and says what to fix; ``edge-agent factory-reset``.

=============  =============================================================================
check          what it looks at
=============  =============================================================================
config         the config file parses and validates
permissions    config writable by root only; secrets files (broker password, client key,
               camera passwords) not readable by every user; no password inside a URL
clock          the kernel reports the clock synchronised (or the config trusts it)
power          under-voltage and throttling now (fail) or since boot (warn)
temperature    CPU temperature (warn from 70 °C, fail from 80 °C)
disk-space     free space on the data directory's file system, against store.max_size;
               damaged databases set aside
sd-writes      bytes a day written to the data directory's block device since boot
broker         TCP connection to the configured broker (only with an [uplink]); TLS settings
sensors        every enabled sensor has a recent reading in the store
api-socket     the API socket's mode (no access for others) and group
listeners      no TCP port open to the network but SSH and mDNS
ssh            the SSH server takes keys only
=============  =============================================================================

Each check says ``ok``, ``warn`` (worth a look; the device works) or ``fail`` (fix it), with
what to do; the command exits 1 when a check fails. Hardware checks read ``/proc`` and ``/sys``
with the parsers of the ``system.health`` driver. Factory reset is :mod:`.reset`.
"""

from __future__ import annotations

from collections.abc import Callable

from .api_socket import check_api_socket
from .device import Device
from .files import check_files
from .network import check_broker, check_listeners
from .power import check_power, check_temperature
from .result import CheckResult, Status, fail, ok
from .sensors import check_sensors
from .ssh import check_ssh
from .storage import check_free_space, check_write_rate
from .timekeeping import check_clock

Check = Callable[[Device], CheckResult]


def check_config(device: Device) -> CheckResult:
    """The config file parses and validates."""
    if device.config_error is not None:
        return fail(
            "config",
            device.config_error,
            f"edge-agent config check {device.config_path} explains each problem",
        )
    return ok("config", f"{device.config_path} is valid")


CHECKS: tuple[Check, ...] = (
    check_config,
    check_files,
    check_clock,
    check_power,
    check_temperature,
    check_free_space,
    check_write_rate,
    check_broker,
    check_sensors,
    check_api_socket,
    check_listeners,
    check_ssh,
)


def run_checks(device: Device, checks: tuple[Check, ...] = CHECKS) -> list[CheckResult]:
    """Run every check; a check that breaks is reported as failed, the others still run."""
    results = []
    for check in checks:
        try:
            results.append(check(device))
        except Exception as exc:
            name = check.__name__.removeprefix("check_").replace("_", "-")
            results.append(
                fail(
                    name,
                    f"the check itself failed: {type(exc).__name__}: {exc}",
                    "report this with the output of edge-agent doctor --json",
                )
            )
    return results


__all__ = ["CHECKS", "Check", "CheckResult", "Device", "Status", "run_checks"]
