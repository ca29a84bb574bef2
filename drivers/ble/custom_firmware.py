"""Xiaomi LYWSD03MMC custom firmware: the ATC1441 and pvvx advertisement formats.

Both firmwares (https://github.com/atc1441/ATC_MiThermometer, https://github.com/pvvx/ATC_MiThermometer)
send service data on the Environmental Sensing UUID 0x181A; the length tells the format:

atc1441, 13 bytes, big-endian::

    offset  0  MAC, 6 bytes, most significant first
            6  temperature   int16   0.1 °C
            8  humidity      uint8   1 %
            9  battery       uint8   1 %
           10  battery       uint16  1 mV
           12  frame counter uint8

pvvx "custom", 15 bytes, little-endian::

    offset  0  MAC, 6 bytes, least significant first
            6  temperature   int16   0.01 °C
            8  humidity      uint16  0.01 %
           10  battery       uint16  1 mV
           12  battery       uint8   1 %
           13  counter       uint8   measurement count
           14  flags         uint8   bit 0 reed switch input, bit 1 GPIO_TRG output,
                                     bit 2 output under trigger control, bit 3 temperature
                                     trigger, bit 4 humidity trigger

Neither format has a "not available" value. The encrypted variants of these formats (other
lengths on 0x181A) are not decoded; a device that must encrypt should send BTHome instead.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from .sample import BleFormat, BleSample, format_mac, frozen_mapping

MAC_LENGTH: Final = 6


@dataclass(frozen=True, slots=True)
class _Field:
    """One row of a decoding table: where a value sits and how to scale it.

    ``value = raw / divisor``; a divisor rather than a factor, so that a raw 162 becomes 16.2
    exactly instead of 16.200000000000003. A divisor of ``None`` keeps the raw integer.
    """

    name: str
    fmt: struct.Struct
    offset: int
    divisor: int | None


def _field(name: str, fmt: str, offset: int, divisor: int | None = None) -> _Field:
    return _Field(name, struct.Struct(fmt), offset, divisor)


@dataclass(frozen=True, slots=True)
class _Layout:
    """A format: its length, MAC byte order and table of fields after the 6-byte MAC.

    ``record`` unpacks all fields at once; it is derived from the table in
    ``__post_init__``, which also checks that the fields follow each other without gaps.
    """

    format: BleFormat
    length: int
    mac_reversed: bool
    fields: tuple[_Field, ...]
    record: struct.Struct = field(init=False)

    def __post_init__(self) -> None:
        offset = MAC_LENGTH
        for row in self.fields:
            if row.offset != offset:
                raise ValueError(f"{self.format}: field {row.name} at {row.offset}, not {offset}")
            offset += row.fmt.size
        if offset != self.length:
            raise ValueError(f"{self.format}: fields end at {offset}, not at {self.length}")
        order = self.fields[0].fmt.format[0]
        codes = "".join(row.fmt.format[1:] for row in self.fields)
        object.__setattr__(self, "record", struct.Struct(order + codes))


ATC1441: Final = _Layout(
    format=BleFormat.ATC1441,
    length=13,
    mac_reversed=False,
    fields=(
        _field("temperature_c", ">h", 6, 10),
        _field("humidity_pct", ">B", 8, 1),
        _field("battery_pct", ">B", 9),
        _field("battery_mv", ">H", 10),
        _field("packet_id", ">B", 12),
    ),
)

PVVX: Final = _Layout(
    format=BleFormat.PVVX,
    length=15,
    mac_reversed=True,
    fields=(
        _field("temperature_c", "<h", 6, 100),
        _field("humidity_pct", "<H", 8, 100),
        _field("battery_mv", "<H", 10),
        _field("battery_pct", "<B", 12),
        _field("packet_id", "<B", 13),
        _field("flags", "<B", 14),
    ),
)

LAYOUTS_BY_LENGTH: Final = MappingProxyType({layout.length: layout for layout in (ATC1441, PVVX)})

PVVX_FLAGS: Final = (
    (0x01, "reed_switch"),
    (0x02, "trigger_output"),
    (0x04, "trigger_output_controlled"),
    (0x08, "temperature_trigger"),
    (0x10, "humidity_trigger"),
)
"""Bits of the pvvx flags byte and the :attr:`BleSample.extra` key each becomes (bool)."""

PVVX_FLAG_BITS: Final = 0x1F
_PVVX_EXTRA: Final = tuple(
    frozen_mapping({name: bool(value & bit) for bit, name in PVVX_FLAGS})
    for value in range(PVVX_FLAG_BITS + 1)
)
"""The read-only :attr:`BleSample.extra` of each value of the flags' five bits."""


def decode_custom_firmware(address: str, payload: bytes) -> BleSample | None:
    """Decode service data of UUID 0x181A sent by the ATC1441 or pvvx custom firmware.

    Args:
        address: the advertiser's address as the scanner reported it.
        payload: the service data without the UUID: 13 bytes (atc1441) or 15 bytes (pvvx).

    Returns:
        The sample (°C, %, %, mV), or ``None`` when the length is neither 13 nor 15: other
        devices use UUID 0x181A too, and the firmwares' encrypted formats are not decoded.
    """
    layout = LAYOUTS_BY_LENGTH.get(len(payload))
    if layout is None:
        return None
    mac = payload[5::-1] if layout.mac_reversed else payload[:MAC_LENGTH]
    values: dict[str, int | float] = {
        row.name: raw if row.divisor is None else raw / row.divisor
        for row, raw in zip(
            layout.fields, layout.record.unpack_from(payload, MAC_LENGTH), strict=True
        )
    }
    flags = values.pop("flags", None)
    extra = frozen_mapping({}) if flags is None else _PVVX_EXTRA[int(flags) & PVVX_FLAG_BITS]
    return BleSample(
        format=layout.format,
        address=address.upper(),
        payload_mac=format_mac(mac),
        temperature_c=float(values["temperature_c"]),
        humidity_pct=float(values["humidity_pct"]),
        battery_pct=int(values["battery_pct"]),
        battery_mv=int(values["battery_mv"]),
        packet_id=int(values["packet_id"]),
        extra=extra,
    )
