"""Identifiers the decoders dispatch on: 16-bit service UUIDs and Bluetooth company ids.

Service-data keys are spelled the way bleak spells them on every platform: the full 128-bit
UUID in lower case (``0000181a-0000-1000-8000-00805f9b34fb``). :func:`uuid16` builds that
spelling from a 16-bit UUID, so the HCI parser and bleak produce identical mappings.
"""

from __future__ import annotations

from typing import Final


def uuid16(value: int) -> str:
    """The 128-bit spelling of the SIG 16-bit UUID ``value`` (``0x181A`` -> ``0000181a-...``)."""
    if not 0 <= value <= 0xFFFF:
        raise ValueError(f"16-bit UUID out of range: {value!r}; use 0x0000 ... 0xFFFF")
    return f"0000{value:04x}-0000-1000-8000-00805f9b34fb"


def uuid32(value: int) -> str:
    """The 128-bit spelling of the 32-bit UUID ``value`` (Bluetooth base UUID)."""
    return f"{value:08x}-0000-1000-8000-00805f9b34fb"


ENVIRONMENTAL_SENSING_UUID: Final = uuid16(0x181A)
"""GATT Environmental Sensing service; the ATC1441 and pvvx custom firmware formats use it."""

BTHOME_UUID: Final = uuid16(0xFCD2)
"""BTHome v2 (https://bthome.io/format/)."""

RUUVI_COMPANY_ID: Final = 0x0499
"""Ruuvi Innovations Ltd., the manufacturer-data key of RuuviTag advertisements."""
