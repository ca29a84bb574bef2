"""A DS18B20 scratchpad for a temperature, and the ``w1_slave`` text the kernel prints for it.

The inverse of :func:`~drivers.onewire.w1_slave.parse_w1_slave`, for the simulated bus: it
writes what the Linux ``w1_therm`` driver would print, so that the simulated probe goes through
the same file reader and parser as a real one.

The scratchpad (DS18B20 datasheet, "Memory"): bytes 0-1 the temperature as int16
little-endian in 1/16 °C (12-bit resolution), 2-3 the alarm registers TH/TL (``4b 46`` from
the factory), 4 the configuration register (``7f``: 12 bits), 5 and 7 reserved (``ff``,
``10``), 6 reserved (reads ``10h`` minus the temperature's low nibble on genuine chips, ``0c``
after power-on) and 8 the CRC-8 of bytes 0-7.
"""

from __future__ import annotations

from typing import Final

from .w1_slave import crc8

POWER_ON_SCRATCHPAD: Final = bytes.fromhex("50054b467fff0c101c")
"""The scratchpad after power-on: 0x0550 = +85 °C (datasheet), as real probes print it."""

RESOLUTION_C: Final = 1 / 16
"""One step of the 12-bit temperature register, °C."""

_LOWEST_RAW: Final = -55 * 16
_HIGHEST_RAW: Final = 125 * 16


def ds18b20_scratchpad(temperature_c: float) -> bytes:
    """The nine scratchpad bytes of a DS18B20 (12-bit mode) that measured ``temperature_c``.

    The temperature is rounded to the register's 1/16 °C and clamped to the sensor's range
    of -55 ... +125 °C, as the chip itself cannot report more.
    """
    raw = max(_LOWEST_RAW, min(_HIGHEST_RAW, round(temperature_c / RESOLUTION_C)))
    low, high = (raw & 0xFFFF).to_bytes(2, "little")
    count_remain = 0x10 - (raw & 0x0F)
    body = bytes((low, high, 0x4B, 0x46, 0x7F, 0xFF, count_remain, 0x10))
    return body + bytes((crc8(body),))


def kernel_milli_c(scratchpad: bytes) -> int:
    """The ``t=`` the kernel prints for ``scratchpad``: °C x 1000, truncated toward zero.

    w1_therm computes ``(int)(s16)raw * 1000 / 16`` in C, whose division truncates; that is
    why 0x0161 (22.0625 °C) prints as ``t=22062``.
    """
    raw = int.from_bytes(scratchpad[:2], "little", signed=True)
    magnitude = abs(raw) * 1000 // 16
    return -magnitude if raw < 0 else magnitude


def format_w1_slave(scratchpad: bytes, *, last_good: bytes) -> str:
    """The two lines of ``w1_slave`` after reading ``scratchpad`` off the wire.

    Line one shows the bytes just read, the CRC-8 of the first eight and ``YES`` or ``NO``;
    line two shows the last scratchpad that passed its CRC (``scratchpad`` itself when this
    one passed, else ``last_good``) and the temperature computed from the bytes just read.
    """
    computed = crc8(scratchpad[:8])
    passed = computed == scratchpad[8]
    shown = scratchpad if passed else last_good
    return (
        f"{scratchpad.hex(' ')} : crc={computed:02x} {'YES' if passed else 'NO'}\n"
        f"{shown.hex(' ')} t={kernel_milli_c(scratchpad)}\n"
    )


__all__ = [
    "POWER_ON_SCRATCHPAD",
    "RESOLUTION_C",
    "ds18b20_scratchpad",
    "format_w1_slave",
    "kernel_milli_c",
]
