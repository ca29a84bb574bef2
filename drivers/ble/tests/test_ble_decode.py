"""Dispatch and format details that the captured test cases do not reach."""

from __future__ import annotations

import pytest

from drivers.ble import (
    BTHOME_UUID,
    ENVIRONMENTAL_SENSING_UUID,
    RUUVI_COMPANY_ID,
    BleFormat,
    decode_advertisement,
    decode_bthome,
    decode_custom_firmware,
    decode_ruuvi,
    uuid16,
)
from edge_agent.errors import ParseError

ADDRESS = "A4:C1:38:8D:18:B2"
# Ruuvi data format 5 "valid data" test vector (testcases/ruuvi_df5_valid).
RUUVI_VALID = bytes.fromhex("0512FC5394C37C0004FFFC040CAC364200CDCBB8334C884F")


def test_atc1441_temperature_is_signed() -> None:
    payload = (
        bytes.fromhex("a4c1388d18b2")
        + bytes.fromhex("ff9c")
        + bytes.fromhex("3250")
        + b"\x0b\x54\x07"
    )
    sample = decode_custom_firmware(ADDRESS, payload)
    assert sample is not None
    assert sample.format is BleFormat.ATC1441
    assert (sample.temperature_c, sample.humidity_pct, sample.battery_pct) == (-10.0, 50.0, 80)
    assert (sample.battery_mv, sample.packet_id) == (0x0B54, 7)


def test_pvvx_temperature_is_signed_and_mac_reversed() -> None:
    payload = bytes.fromhex("b2188d38c1a4") + bytes.fromhex("18fc 8813 b80b 64 01 00")
    sample = decode_custom_firmware("aa:bb:cc:dd:ee:ff", payload)
    assert sample is not None
    assert sample.format is BleFormat.PVVX
    assert sample.payload_mac == ADDRESS
    assert sample.address == "AA:BB:CC:DD:EE:FF"
    assert (sample.temperature_c, sample.humidity_pct, sample.battery_mv) == (-10.0, 50.0, 3000)
    assert not any(sample.extra.values())


@pytest.mark.parametrize("length", [0, 11, 12, 14, 16, 20])
def test_other_lengths_on_0x181a_are_not_ours(length: int) -> None:
    assert decode_custom_firmware(ADDRESS, bytes(length)) is None


def test_unknown_0x181a_falls_through_to_ruuvi() -> None:
    sample = decode_advertisement(
        ADDRESS, {ENVIRONMENTAL_SENSING_UUID: bytes(11)}, {RUUVI_COMPANY_ID: RUUVI_VALID}
    )
    assert sample is not None
    assert sample.format is BleFormat.RUUVI_DF5


def test_bthome_wins_over_0x181a() -> None:
    sample = decode_advertisement(
        ADDRESS,
        {ENVIRONMENTAL_SENSING_UUID: bytes(13), BTHOME_UUID: bytes.fromhex("4002c409")},
        {},
    )
    assert sample is not None
    assert sample.format is BleFormat.BTHOME_V2


def test_advertisements_of_no_known_format() -> None:
    assert decode_advertisement(ADDRESS, {}, {}) is None
    assert decode_advertisement(ADDRESS, {uuid16(0xFE95): bytes(12)}, {0x004C: bytes(23)}) is None


def test_other_ruuvi_formats_are_not_decoded() -> None:
    # Data format 3 "valid data" vector of the Ruuvi specification (dataformat_03.md).
    assert decode_ruuvi(ADDRESS, bytes.fromhex("03291A1ECE1EFC18F94202CA0B53")) is None


def test_empty_ruuvi_data_is_malformed() -> None:
    with pytest.raises(ParseError, match="manufacturer data is empty"):
        decode_advertisement(ADDRESS, {}, {RUUVI_COMPANY_ID: b""})


def test_bthome_duplicate_quantities_keep_the_first_as_field() -> None:
    sample = decode_bthome(ADDRESS, bytes.fromhex("4002c40902c509"))
    assert sample.temperature_c == 25.0
    assert dict(sample.extra) == {"temperature_2": 25.01}


def test_bthome_binary_sensors_and_events_go_to_extra() -> None:
    sample = decode_bthome(ADDRESS, bytes.fromhex("40010a02c40911013a01"))
    assert (sample.battery_pct, sample.temperature_c) == (10, 25.0)
    assert dict(sample.extra) == {"opening": True, "button": "press"}


def test_bthome_mac_included() -> None:
    sample = decode_bthome(ADDRESS, bytes.fromhex("42b2188d38c1a404138a01"))
    assert sample.payload_mac == ADDRESS
    assert sample.pressure_hpa == 1008.83


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("", "service data is empty"),
        ("0002c409", "says version 0"),
        ("6002c409", "says version 3"),
        ("4201020304", "'MAC included' flag is set but only 4 bytes follow"),
        ("40", "carries no objects"),
        ("40ff01", "carried no measurement"),
        ("4002", "carried no measurement"),
    ],
)
def test_malformed_bthome(payload: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        decode_bthome(ADDRESS, bytes.fromhex(payload))


def test_samples_are_frozen() -> None:
    sample = decode_bthome(ADDRESS, bytes.fromhex("40010a"))
    with pytest.raises(AttributeError):
        sample.battery_pct = 11  # type: ignore[misc]
    with pytest.raises(TypeError):
        sample.extra["x"] = 1  # type: ignore[index]
