"""Under-voltage and throttling of a Raspberry Pi: ``vcgencmd get_throttled`` and the hwmon alarm.

``vcgencmd get_throttled`` asks the firmware and prints ``throttled=0x50005``: a bit mask in
which the low bits say what holds now and bits 16-19 what has happened since boot
(Raspberry Pi documentation, "vcgencmd")::

    bit  0  under-voltage detected            bit 16  under-voltage has occurred
    bit  1  ARM frequency capped              bit 17  ARM frequency capping has occurred
    bit  2  currently throttled               bit 18  throttling has occurred
    bit  3  soft temperature limit active     bit 19  soft temperature limit has occurred

``0x50005`` is a Pi that is under-voltage right now and throttled because of it.

Where vcgencmd is missing (a minimal image, a container) the kernel's ``raspberrypi-hwmon``
driver, named ``rpi_volt``, still shows the under-voltage flag as
``/sys/class/hwmon/hwmon*/in0_lcrit_alarm`` (``0`` or ``1``). The driver asks the firmware
every two seconds and clears the sticky bits as it does, so the alarm means "under-voltage
within the last poll", and nothing is known about the other flags.

Sans-I/O: text in, :class:`ThrottleFlags` out, :class:`~edge_agent.errors.ParseError` else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Final

from edge_agent.errors import ParseError

RPI_VOLT_HWMON: Final = "rpi_volt"
"""The ``name`` of the Raspberry Pi firmware's hwmon device."""

_GET_THROTTLED: Final = re.compile(r"^throttled=0x([0-9a-fA-F]{1,8})$", re.ASCII)
_BITS: Final = {
    "under_voltage": 0,
    "freq_capped": 1,
    "throttled": 2,
    "soft_temp_limit": 3,
    "under_voltage_occurred": 16,
    "freq_capped_occurred": 17,
    "throttled_occurred": 18,
    "soft_temp_limit_occurred": 19,
}


@dataclass(frozen=True, slots=True)
class ThrottleFlags:
    """What the firmware says about power and heat; ``None`` where the source cannot tell.

    Attributes:
        under_voltage: the supply is below the firmware's threshold (about 4.63 V) now.
        freq_capped: the ARM clock is capped now.
        throttled: the SoC is throttled now (under-voltage or over-temperature).
        soft_temp_limit: the soft temperature limit is active now (Pi 3B+).
        under_voltage_occurred ... soft_temp_limit_occurred: the same, at any time since boot.
        raw: the bit mask as vcgencmd printed it (``None`` from the hwmon alarm).
    """

    under_voltage: bool | None
    freq_capped: bool | None = None
    throttled: bool | None = None
    soft_temp_limit: bool | None = None
    under_voltage_occurred: bool | None = None
    freq_capped_occurred: bool | None = None
    throttled_occurred: bool | None = None
    soft_temp_limit_occurred: bool | None = None
    raw: int | None = None

    def known(self) -> dict[str, bool]:
        """The flags the source told, by name (``raw`` left out)."""
        return {
            f.name: value
            for f in fields(self)
            if f.name != "raw" and isinstance(value := getattr(self, f.name), bool)
        }


def parse_get_throttled(text: str) -> ThrottleFlags:
    """Parse the output of ``vcgencmd get_throttled`` (``throttled=0x50005``).

    Raises:
        ParseError: anything else, such as vcgencmd's ``VCHI initialization failed`` when
            the user may not open ``/dev/vchiq`` (add it to the ``video`` group).
    """
    match = _GET_THROTTLED.match(text.strip())
    if match is None:
        raise ParseError(f"vcgencmd get_throttled printed no 'throttled=0x...': {text[:80]!r}")
    raw = int(match[1], 16)
    flags = {name: bool(raw >> bit & 1) for name, bit in _BITS.items()}
    return ThrottleFlags(**flags, raw=raw)


def parse_hwmon_alarm(text: str) -> ThrottleFlags:
    """Parse ``in0_lcrit_alarm`` of the ``rpi_volt`` hwmon device (``0`` or ``1``).

    Raises:
        ParseError: the text is not ``0`` or ``1``.
    """
    value = text.strip()
    if value not in ("0", "1"):
        raise ParseError(f"rpi_volt in0_lcrit_alarm is not 0 or 1: {text[:40]!r}")
    return ThrottleFlags(under_voltage=value == "1")


__all__ = ["RPI_VOLT_HWMON", "ThrottleFlags", "parse_get_throttled", "parse_hwmon_alarm"]
