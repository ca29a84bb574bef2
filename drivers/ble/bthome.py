"""BTHome v2 advertisements (https://bthome.io/format/), plain and encrypted.

The objects are decoded by the ``bthome-ble`` library, which takes a bleak-style service info
object and keeps per-device state (replay protection, duplicate filtering). Here every call
gets a fresh library object, so decoding stays a pure function of its arguments: a driver that
wants to drop repeated packets compares :attr:`BleSample.packet_id`, and one that wants replay
protection checks that :attr:`BleSample.encryption_counter` increases.

Why not one library object per device, kept between advertisements: it would not be a pure
function any more. The object filters packets whose packet id it has seen within 4 s (by the
advertisement's time), refuses encryption counters that do not increase, and its result
(``SensorUpdate.entity_values``) accumulates every value it has ever decoded, so an
advertisement that carries only the battery would come back with the temperature of an
earlier one. Creating the object and its service info costs about 5 µs of the roughly 100 µs
an advertisement takes; the rest is the library's parsing (per object, about 15-20 µs of
dataclass and enum work in ``bthome_ble`` and ``sensor_state_data``).

What is saved instead: devices repeat each measurement in several advertisements (the same
bytes, the same packet id; a pvvx thermometer sends each one about four times), so
:func:`decode_bthome` remembers its last :data:`DECODE_CACHE_SIZE` distinct results. As the
decoding is a pure function of ``(address, payload, bind_key)`` and :class:`BleSample` is
immutable, a repeat gets the same object back in well under a microsecond. Errors are not
remembered.

The service data starts with the device information byte::

    bit 0      encrypted (AES-CCM with a 16-byte bind key, 4-byte MIC)
    bit 1      MAC included (6 bytes, least significant first, follow)
    bit 2      "sleepy" device (sends only on events)
    bits 5-7   BTHome version, 2

An encrypted payload ends in a 4-byte counter and the 4-byte MIC; the nonce is MAC (6) +
UUID ``d2 fc`` + device information byte + counter, so decrypting needs the device's MAC:
from the payload when it is included, else the advertiser's address.

A wrong bind key makes ``bthome-ble`` log a warning on its own logger (``bthome_ble.parser``)
before :class:`~edge_agent.errors.ParseError` is raised here.
"""

from __future__ import annotations

import functools
import re
from datetime import date
from typing import Final

from bleak.backends.device import BLEDevice
from bthome_ble import BTHomeBluetoothDeviceData, SensorUpdate
from habluetooth import BluetoothServiceInfoBleak

from edge_agent.errors import ConfigError, ParseError

from .sample import BleFormat, BleSample, ExtraValue, format_mac, frozen_mapping
from .uuids import BTHOME_UUID

ENCRYPTED_FLAG: Final = 0x01
MAC_INCLUDED_FLAG: Final = 0x02
SUPPORTED_VERSION: Final = 2
BIND_KEY_LENGTH: Final = 16
COUNTER_AND_MIC_LENGTH: Final = 8
MIN_CIPHERTEXT_LENGTH: Final = 2
"""``bthome-ble`` refuses shorter ciphertexts: one object needs an id and a byte of data."""

FIELD_KEYS: Final = (
    ("temperature", "temperature_c"),
    ("humidity", "humidity_pct"),
    ("pressure", "pressure_hpa"),
    ("battery", "battery_pct"),
    ("voltage", "battery_mv"),
    ("illuminance", "illuminance_lx"),
    ("packet_id", "packet_id"),
)
"""``bthome-ble`` sensor keys that become :class:`BleSample` fields (°C, %, hPa, %, V, lx).

When a device sends a quantity twice (two temperature probes), the library names them
``temperature_1`` and ``temperature_2``; the first becomes the field, the others go to
:attr:`BleSample.extra`.
"""

_FIELD_CANDIDATES: Final = tuple((name, (key, f"{key}_1")) for key, name in FIELD_KEYS)
"""``(field, (library key, key of the first of duplicates))`` for each of :data:`FIELD_KEYS`."""

IGNORED_KEYS: Final = frozenset({"signal_strength"})
"""Keys the library adds that do not come from the payload (the scanner's RSSI)."""

DECODE_CACHE_SIZE: Final = 256
"""How many distinct advertisements :func:`decode_bthome` remembers (about 100 kB)."""

_MAC: Final = re.compile(r"[0-9A-F]{2}(:[0-9A-F]{2}){5}")


def bind_key_from_hex(text: str) -> bytes:
    """The 16-byte bind key written as 32 hex characters (spaces, ``-`` and ``:`` allowed).

    Raises:
        ConfigError: the text is not 16 bytes in hex.
    """
    cleaned = re.sub(r"[\s:-]", "", text)
    try:
        key = bytes.fromhex(cleaned)
    except ValueError:
        key = b""
    if len(key) != BIND_KEY_LENGTH:
        raise ConfigError(
            f"BTHome bind key {text!r} is not 16 bytes in hex; write it as 32 hexadecimal "
            "characters, as the device's firmware shows it (e.g. "
            "'231d39c1d7cc1ab1aee224cd096db932')"
        )
    return key


def check_bind_key(address: str, bind_key: bytes | None) -> None:
    """Raise :class:`ConfigError` unless ``bind_key`` is ``None`` or 16 bytes long."""
    if bind_key is not None and len(bind_key) != BIND_KEY_LENGTH:
        raise ConfigError(
            f"BTHome bind key for {address} is {len(bind_key)} bytes long; it must be 16 bytes "
            "(32 hex characters, see bind_key_from_hex)"
        )


def decode_bthome(address: str, payload: bytes, *, bind_key: bytes | None = None) -> BleSample:
    """Decode the service data of UUID 0xFCD2 (BTHome v2).

    Args:
        address: the advertiser's address (``AA:BB:CC:DD:EE:FF``); the nonce of an encrypted
            payload that does not include the MAC is built from it.
        payload: the service data without the UUID, starting with the device information byte.
        bind_key: the device's 16-byte AES key, when it encrypts. With a key configured,
            plaintext advertisements are refused: they could be spoofed.

    Raises:
        ParseError: not BTHome version 2, truncated, encrypted without a key (or with the wrong
            one), plaintext although a key is configured, or no measurement decoded.
        ConfigError: ``bind_key`` is not 16 bytes long.
    """
    check_bind_key(address, bind_key)
    # bytes(): a bytearray or memoryview cannot be a cache key; bytes are not copied.
    return _decode_bthome(address, bytes(payload), bind_key)


@functools.lru_cache(maxsize=DECODE_CACHE_SIZE)
def _decode_bthome(address: str, payload: bytes, bind_key: bytes | None) -> BleSample:
    """:func:`decode_bthome` without the key check, remembered for repeated advertisements."""
    if not payload:
        raise ParseError(f"BTHome advertisement from {address}: service data is empty")
    info = payload[0]
    version = info >> 5
    if version != SUPPORTED_VERSION:
        raise ParseError(
            f"BTHome advertisement from {address}: device information byte 0x{info:02x} says "
            f"version {version}; only BTHome v2 is decoded (update the device's firmware)"
        )
    encrypted = bool(info & ENCRYPTED_FLAG)
    body = payload[1:]
    payload_mac = None
    if info & MAC_INCLUDED_FLAG:
        if len(body) < 6:
            raise ParseError(
                f"BTHome advertisement from {address}: the 'MAC included' flag is set but only "
                f"{len(body)} bytes follow: {payload.hex()}"
            )
        payload_mac = format_mac(body[5::-1])
        body = body[6:]
    encryption_counter = None
    if encrypted:
        encryption_counter = _check_encrypted(address, payload, body, payload_mac, bind_key)
    elif bind_key is not None:
        raise ParseError(
            f"plaintext BTHome advertisement from {address} although a bind key is configured; "
            "refused because it could be spoofed. Remove the bind key if the device no longer "
            "encrypts"
        )
    if not body:
        raise ParseError(f"BTHome advertisement from {address} carries no objects")

    device = BTHomeBluetoothDeviceData(bindkey=bind_key)
    update = device.update(_service_info(address, payload))
    if encrypted and not device.bindkey_verified:
        raise ParseError(
            f"encrypted BTHome advertisement from {address} does not decrypt: the bind key is "
            "wrong or the payload is corrupted; check the key against the device's firmware"
        )
    return _sample(address, payload_mac, encrypted, encryption_counter, update)


def _check_encrypted(
    address: str, payload: bytes, body: bytes, payload_mac: str | None, bind_key: bytes | None
) -> int:
    """Check what decryption needs; return the AES-CCM counter."""
    if bind_key is None:
        raise ParseError(
            f"encrypted BTHome advertisement from {address}: set the device's bind key "
            "(32 hex characters) in the sensor's config"
        )
    if len(body) < COUNTER_AND_MIC_LENGTH + MIN_CIPHERTEXT_LENGTH:
        raise ParseError(
            f"encrypted BTHome advertisement from {address} is too short for ciphertext, "
            f"counter and MIC: {payload.hex()}"
        )
    if payload_mac is None and not _MAC.fullmatch(address.upper()):
        raise ParseError(
            f"encrypted BTHome advertisement from {address!r}: decrypting needs the device's "
            "MAC address (AA:BB:CC:DD:EE:FF), and the payload does not include it"
        )
    return int.from_bytes(body[-8:-4], "little")


def _service_info(address: str, payload: bytes) -> BluetoothServiceInfoBleak:
    """The bleak-style object ``bthome-ble`` reads; time and RSSI are not used for decoding."""
    return BluetoothServiceInfoBleak(
        name=address,
        address=address,
        rssi=0,
        manufacturer_data={},
        service_data={BTHOME_UUID: payload},
        service_uuids=[BTHOME_UUID],
        source="edge-agent",
        device=BLEDevice(address, None, None),
        advertisement=None,
        connectable=False,
        time=0.0,
        tx_power=None,
    )


def _sample(
    address: str,
    payload_mac: str | None,
    encrypted: bool,
    encryption_counter: int | None,
    update: SensorUpdate,
) -> BleSample:
    values: dict[str, ExtraValue] = {}
    for device_key, sensor_value in update.entity_values.items():
        if device_key.key not in IGNORED_KEYS and sensor_value.native_value is not None:
            values[device_key.key] = _plain(sensor_value.native_value)
    for device_key, binary_value in update.binary_entity_values.items():
        if binary_value.native_value is not None:
            values[device_key.key] = binary_value.native_value
    for device_key, event in update.events.items():
        values[device_key.key] = event.event_type
    if not values:
        raise ParseError(
            f"BTHome advertisement from {address} carried no measurement that bthome-ble "
            "knows (unknown object ids stop decoding)"
        )
    fields = {name: _pop_number(values, candidates) for name, candidates in _FIELD_CANDIDATES}
    battery_v = fields["battery_mv"]
    return BleSample(
        format=BleFormat.BTHOME_V2,
        address=address.upper(),
        payload_mac=payload_mac,
        temperature_c=fields["temperature_c"],
        humidity_pct=fields["humidity_pct"],
        pressure_hpa=fields["pressure_hpa"],
        battery_pct=_integer(fields["battery_pct"]),
        battery_mv=None if battery_v is None else round(battery_v * 1000),
        illuminance_lx=fields["illuminance_lx"],
        packet_id=_integer(fields["packet_id"]),
        encrypted=encrypted,
        encryption_counter=encryption_counter,
        extra=frozen_mapping(values),
    )


def _plain(value: object) -> ExtraValue:
    """A library value as a plain number or text (timestamps become ISO 8601)."""
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _pop_number(values: dict[str, ExtraValue], candidates: tuple[str, str]) -> float | None:
    """Take the first of ``candidates`` (``key``, then ``key_1``, the first of duplicates) that
    is a number out of ``values``."""
    for candidate in candidates:
        value = values.get(candidate)
        if isinstance(value, int | float) and not isinstance(value, bool):
            del values[candidate]
            return float(value)
    return None


def _integer(value: float | None) -> int | None:
    return None if value is None else round(value)
