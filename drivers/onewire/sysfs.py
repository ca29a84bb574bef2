"""The kernel's 1-Wire devices directory: finding a thermometer in it and reading its file.

With ``dtoverlay=w1-gpio`` the kernel lists every device it found on the bus as a directory
``/sys/bus/w1/devices/<family>-<serial>`` (``28-0316a2795c11`` for a DS18B20), next to the bus
master ``w1_bus_master1``. The bus master searches the bus about every 10 s and removes a device
that stopped answering after some searches, so an unplugged probe's directory vanishes after a
while; until then, reads return all ``ff`` or fail.

These functions do blocking file I/O: the driver runs them in a thread.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from edge_agent.backends import Probe
from edge_agent.errors import ConfigError, DriverError

DEFAULT_DEVICES_DIR: Final = Path("/sys/bus/w1/devices")

DS18B20_FAMILY: Final = "28"
THERMOMETER_FAMILIES: Final = {
    "10": "DS18S20",
    "22": "DS1822",
    "28": "DS18B20",
    "3b": "DS1825",
    "42": "DS28EA00",
}
"""1-Wire family codes of the thermometers the kernel's ``w1_therm`` driver reads."""

AUTO: Final = "auto"

_ADDRESS: Final = re.compile(r"^([0-9a-f]{2})-[0-9a-f]{12}$")


def check_address(value: str) -> str:
    """``value`` in lower case if it is ``auto`` or a thermometer's directory name.

    Raises:
        ConfigError: naming the value, the accepted form and an example.
    """
    address = value.strip().lower()
    if address == AUTO:
        return address
    match = _ADDRESS.match(address)
    if match is None or match[1] not in THERMOMETER_FAMILIES:
        families = ", ".join(f"{code} ({chip})" for code, chip in THERMOMETER_FAMILIES.items())
        raise ConfigError(
            f"address {value!r} is not a 1-Wire thermometer: write its directory name from "
            f"{DEFAULT_DEVICES_DIR}, a family code ({families}), '-' and 12 hex digits, such "
            "as '28-0316a2795c11'; or 'auto' for the only DS18B20 on the bus"
        )
    return address


def list_devices(devices_dir: Path) -> list[str]:
    """The names in ``devices_dir`` (devices and bus masters), sorted; empty if it is missing."""
    try:
        return sorted(entry.name for entry in devices_dir.iterdir())
    except FileNotFoundError:
        return []


def _present(devices_dir: Path, names: list[str]) -> str:
    if not devices_dir.is_dir():
        return (
            f"{devices_dir} does not exist: the 1-Wire bus is not enabled; add "
            "'dtoverlay=w1-gpio' to config.txt and reboot"
        )
    return f"present in {devices_dir}: {', '.join(names) or 'nothing'}"


def find_thermometer(devices_dir: Path, address: str) -> str:
    """The directory name of the probe to read: ``address``, or the only DS18B20 if ``auto``.

    Raises:
        DriverError: the probe is not there, or ``auto`` finds no DS18B20 or several; the
            message lists what is present and says what to do.
    """
    names = list_devices(devices_dir)
    if address != AUTO:
        if address in names:
            return address
        raise DriverError(
            f"1-Wire thermometer {address} is not on the bus ({_present(devices_dir, names)}); "
            "check the probe's wiring and the address in options.address"
        )
    probes = [name for name in names if name.startswith(f"{DS18B20_FAMILY}-")]
    if len(probes) == 1:
        return probes[0]
    if not probes:
        raise DriverError(
            f"no DS18B20 (28-*) found on the 1-Wire bus ({_present(devices_dir, names)}); "
            "check the wiring (GPIO 4, 4.7 kOhm pull-up to 3.3 V)"
        )
    raise DriverError(
        f"{len(probes)} DS18B20 probes on the 1-Wire bus ({', '.join(probes)}): set "
        "options.address to one of them, one [[sensor]] per probe"
    )


def read_w1_slave(devices_dir: Path, address: str) -> bytes:
    """The content of ``<devices_dir>/<address>/w1_slave``.

    On real hardware this blocks for the conversion, about 750 ms at 12 bits.

    Raises:
        FileNotFoundError: the probe's directory is gone (the kernel removed it).
        OSError: the kernel failed the read.
    """
    return (devices_dir / address / "w1_slave").read_bytes()


def w1_bus_probe(devices_dir: Path = DEFAULT_DEVICES_DIR) -> Probe:
    """A backend probe: passes when ``devices_dir`` has a DS18B20 or at least a bus master."""

    def probe() -> str | None:
        names = list_devices(devices_dir)
        if any(n.startswith(f"{DS18B20_FAMILY}-") or n.startswith("w1_bus_master") for n in names):
            return None
        return f"no 1-Wire bus in {devices_dir} (enable it with dtoverlay=w1-gpio)"

    return probe


__all__ = [
    "AUTO",
    "DEFAULT_DEVICES_DIR",
    "DS18B20_FAMILY",
    "THERMOMETER_FAMILIES",
    "check_address",
    "find_thermometer",
    "list_devices",
    "read_w1_slave",
    "w1_bus_probe",
]
