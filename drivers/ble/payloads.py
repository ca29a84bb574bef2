"""Advertisement bytes built the way each tag firmware builds them, for the simulated radio.

The inverse of the decoders: a :class:`Measurement` in, the bytes a real tag puts on air out,
down to a whole HCI LE Advertising Report as the controller hands it to BlueZ. The layouts are
the ones documented in :mod:`.custom_firmware` (ATC1441, pvvx), :mod:`.bthome` (BTHome v2,
plain and AES-CCM encrypted) and :mod:`.ruuvi` (RuuviTag data format 5); the tests check the
result byte for byte against captures from real devices.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from .hci import H4_EVENT_PACKET, LE_ADVERTISING_REPORT, LE_META_EVENT, LEGACY_MAX_DATA_LENGTH

AD_FLAGS: Final = 0x01
AD_SERVICE_DATA_UUID16: Final = 0x16
AD_MANUFACTURER_DATA: Final = 0xFF
FLAGS_LE_GENERAL_NO_BREDR: Final = 0x06
ADV_NONCONN_IND: Final = 0x03
PUBLIC_ADDRESS: Final = 0x00
RANDOM_ADDRESS: Final = 0x01

UUID_ENVIRONMENTAL_SENSING: Final = 0x181A
UUID_BTHOME: Final = 0xFCD2
COMPANY_RUUVI: Final = 0x0499

BTHOME_V2: Final = 0x40
BTHOME_ENCRYPTED: Final = 0x01
BTHOME_PACKET_ID: Final = 0x00
BTHOME_BATTERY: Final = 0x01
BTHOME_TEMPERATURE: Final = 0x02
BTHOME_HUMIDITY: Final = 0x03
BTHOME_VOLTAGE: Final = 0x0C

RUUVI_BATTERY_OFFSET_MV: Final = 1600
RUUVI_TX_POWER_OFFSET_DBM: Final = -40


@dataclass(frozen=True, slots=True)
class Measurement:
    """What a tag measured, in the units the decoders report.

    Attributes:
        mac: the tag's MAC address, ``AA:BB:CC:DD:EE:FF``.
        temperature_c: °C.
        humidity_pct: relative humidity, %.
        battery_pct: battery charge, %.
        battery_mv: battery voltage, mV.
        counter: the measurement counter the format carries (wrapped to its width here).
        pressure_hpa: air pressure, hPa (RuuviTag).
        acceleration_mg: x, y, z in milli-g (RuuviTag).
        tx_power_dbm: transmit power, dBm (RuuviTag).
        movement_count: movements counted (RuuviTag).
        flags: the pvvx flags byte (reed switch, trigger bits).
    """

    mac: str
    temperature_c: float
    humidity_pct: float
    battery_pct: int
    battery_mv: int
    counter: int
    pressure_hpa: float = 1013.25
    acceleration_mg: tuple[int, int, int] = (0, 0, 1000)
    tx_power_dbm: int = 4
    movement_count: int = 0
    flags: int = 0


def mac_bytes(mac: str) -> bytes:
    """``AA:BB:CC:DD:EE:FF`` as six bytes, most significant first."""
    return bytes.fromhex(mac.replace(":", ""))


def atc1441(m: Measurement) -> bytes:
    """Service data of UUID 0x181A in the atc1441 format (13 bytes, big-endian)."""
    return mac_bytes(m.mac) + struct.pack(
        ">hBBHB",
        round(m.temperature_c * 10),
        round(m.humidity_pct),
        m.battery_pct,
        m.battery_mv,
        m.counter & 0xFF,
    )


def pvvx(m: Measurement) -> bytes:
    """Service data of UUID 0x181A in the pvvx custom format (15 bytes, little-endian)."""
    return mac_bytes(m.mac)[::-1] + struct.pack(
        "<hHHBBB",
        round(m.temperature_c * 100),
        round(m.humidity_pct * 100),
        m.battery_mv,
        m.battery_pct,
        m.counter & 0xFF,
        m.flags,
    )


def bthome_objects(m: Measurement) -> bytes:
    """The BTHome v2 objects a thermometer sends, in ascending object id as the spec asks."""
    return (
        struct.pack("<BB", BTHOME_PACKET_ID, m.counter & 0xFF)
        + struct.pack("<BB", BTHOME_BATTERY, m.battery_pct)
        + struct.pack("<Bh", BTHOME_TEMPERATURE, round(m.temperature_c * 100))
        + struct.pack("<BH", BTHOME_HUMIDITY, round(m.humidity_pct * 100))
        + struct.pack("<BH", BTHOME_VOLTAGE, m.battery_mv)
    )


def bthome(m: Measurement, *, bind_key: bytes | None = None, encryption_counter: int = 0) -> bytes:
    """Service data of UUID 0xFCD2: BTHome v2, AES-CCM encrypted when ``bind_key`` is given.

    The nonce is MAC (most significant first) + UUID ``d2 fc`` + device information byte +
    counter (4 bytes, little-endian); the MIC is 4 bytes (https://bthome.io/encryption/).
    """
    objects = bthome_objects(m)
    if bind_key is None:
        return bytes((BTHOME_V2,)) + objects
    info = BTHOME_V2 | BTHOME_ENCRYPTED
    counter = struct.pack("<I", encryption_counter & 0xFFFFFFFF)
    nonce = mac_bytes(m.mac) + struct.pack("<H", UUID_BTHOME) + bytes((info,)) + counter
    sealed = AESCCM(bind_key, tag_length=4).encrypt(nonce, objects, None)
    return bytes((info,)) + sealed[:-4] + counter + sealed[-4:]


def ruuvi_df5(m: Measurement) -> bytes:
    """Manufacturer data of company 0x0499 (without the id): RuuviTag data format 5, 24 bytes."""
    battery = max(0, min(0x7FE, m.battery_mv - RUUVI_BATTERY_OFFSET_MV))
    tx_power = max(0, min(0x1E, (m.tx_power_dbm - RUUVI_TX_POWER_OFFSET_DBM) // 2))
    return struct.pack(
        ">BhHHhhhHBH",
        5,
        round(m.temperature_c / 0.005),
        round(m.humidity_pct / 0.0025),
        round(m.pressure_hpa * 100) - 50000,
        *m.acceleration_mg,
        battery << 5 | tx_power,
        m.movement_count & 0xFF,
        m.counter % 0xFFFF,  # 0xFFFF means "not available"
    ) + mac_bytes(m.mac)


def ad_structure(ad_type: int, value: bytes) -> bytes:
    """One AD structure: length, type, value."""
    return bytes((len(value) + 1, ad_type)) + value


def service_data_ad(uuid16: int, payload: bytes) -> bytes:
    """Flags plus a 16-bit UUID service data structure, as the thermometer firmwares send."""
    return ad_structure(AD_FLAGS, bytes((FLAGS_LE_GENERAL_NO_BREDR,))) + ad_structure(
        AD_SERVICE_DATA_UUID16, struct.pack("<H", uuid16) + payload
    )


def manufacturer_data_ad(company_id: int, payload: bytes) -> bytes:
    """Flags plus a manufacturer data structure, as a RuuviTag sends."""
    return ad_structure(AD_FLAGS, bytes((FLAGS_LE_GENERAL_NO_BREDR,))) + ad_structure(
        AD_MANUFACTURER_DATA, struct.pack("<H", company_id) + payload
    )


def le_advertising_report(
    address: str,
    data: bytes,
    *,
    rssi_dbm: int,
    random_address: bool = False,
    event_type: int = ADV_NONCONN_IND,
) -> bytes:
    """An HCI LE Advertising Report event with one report, with the H4 type ``04`` in front.

    Raises:
        ValueError: ``data`` is longer than the 31 bytes a legacy advertisement carries.
    """
    if len(data) > LEGACY_MAX_DATA_LENGTH:
        raise ValueError(f"advertising data is {len(data)} bytes; a legacy report carries 31")
    params = (
        bytes((LE_ADVERTISING_REPORT, 1, event_type))
        + bytes((RANDOM_ADDRESS if random_address else PUBLIC_ADDRESS,))
        + mac_bytes(address)[::-1]
        + bytes((len(data),))
        + data
        + struct.pack("<b", rssi_dbm)
    )
    return bytes((H4_EVENT_PACKET, LE_META_EVENT, len(params))) + params


__all__ = [
    "Measurement",
    "ad_structure",
    "atc1441",
    "bthome",
    "bthome_objects",
    "le_advertising_report",
    "mac_bytes",
    "manufacturer_data_ad",
    "pvvx",
    "ruuvi_df5",
    "service_data_ad",
]
