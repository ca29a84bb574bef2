"""The decoded content of one BLE advertisement: :class:`BleSample`."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

ExtraValue = float | int | str | bool
"""A value in :attr:`BleSample.extra`."""

_NO_EXTRA: Mapping[str, ExtraValue] = MappingProxyType({})


class BleFormat(enum.StrEnum):
    """The advertisement formats :func:`~drivers.ble.decode_advertisement` knows."""

    ATC1441 = "atc1441"
    """Xiaomi LYWSD03MMC custom firmware, atc1441 format (13 bytes on UUID 0x181A)."""
    PVVX = "pvvx"
    """Xiaomi LYWSD03MMC custom firmware, pvvx custom format (15 bytes on UUID 0x181A)."""
    BTHOME_V2 = "bthome_v2"
    """BTHome v2 on UUID 0xFCD2, plain or AES-CCM encrypted."""
    RUUVI_DF5 = "ruuvi_df5"
    """RuuviTag data format 5 (RAWv2), manufacturer data of company 0x0499."""


@dataclass(frozen=True, slots=True)
class BleSample:
    """What one advertisement says. Field names carry their unit.

    A field is ``None`` when the format does not carry the quantity or the sensor sent its
    "not available" sentinel (a RuuviTag's ``0x8000`` temperature, for instance).

    Attributes:
        format: which format the advertisement was in.
        address: the advertiser's address as the scanner reported it, upper case.
        payload_mac: the MAC address the payload itself carries (ATC1441, pvvx, RuuviTag,
            BTHome with its "MAC included" flag), upper case ``AA:BB:CC:DD:EE:FF``; ``None`` when
            the payload has none. It can differ from ``address`` when a device uses a random
            address.
        temperature_c: air temperature, °C.
        humidity_pct: relative humidity, %.
        pressure_hpa: air pressure, hPa.
        battery_pct: battery charge as the device estimates it, %.
        battery_mv: battery voltage, mV. BTHome's voltage object is taken as the battery
            voltage, which is what every BTHome thermometer firmware sends in it.
        illuminance_lx: illuminance, lx (BTHome).
        tx_power_dbm: transmit power the device says it uses, dBm (RuuviTag).
        acceleration_mg: acceleration on x, y, z, milli-g (RuuviTag).
        movement_count: movements the accelerometer counted, rolls over at 255 (RuuviTag).
        packet_id: the device's measurement or frame counter: the ATC/pvvx frame counter
            (8 bit), BTHome's packet id (8 bit), the RuuviTag measurement sequence number
            (16 bit). Equal ids from one device mean the same measurement sent again.
        encrypted: whether the advertisement was encrypted on air (and decrypted here).
        encryption_counter: the BTHome AES-CCM counter of an encrypted advertisement; a
            receiver that wants replay protection checks that it increases.
        extra: every other value the format carried, keyed by name: the pvvx trigger flags,
            BTHome measurements without a field here (``moisture``, ``co2``, ...), BTHome binary
            sensors (bool) and events (``"button": "press"``).
    """

    format: BleFormat
    address: str
    payload_mac: str | None = None
    temperature_c: float | None = None
    humidity_pct: float | None = None
    pressure_hpa: float | None = None
    battery_pct: int | None = None
    battery_mv: int | None = None
    illuminance_lx: float | None = None
    tx_power_dbm: int | None = None
    acceleration_mg: tuple[int, int, int] | None = None
    movement_count: int | None = None
    packet_id: int | None = None
    encrypted: bool = False
    encryption_counter: int | None = None
    extra: Mapping[str, ExtraValue] = field(default_factory=lambda: _NO_EXTRA)


def format_mac(raw: bytes) -> str:
    """Six bytes, most significant first, as ``AA:BB:CC:DD:EE:FF``."""
    return raw.hex(":").upper()


def frozen_mapping(values: Mapping[str, ExtraValue]) -> Mapping[str, ExtraValue]:
    """A read-only copy of ``values`` for :attr:`BleSample.extra`."""
    return MappingProxyType(dict(values)) if values else _NO_EXTRA
