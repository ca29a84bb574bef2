"""HCI captures and AD structures: what a technician pastes, and what must be refused."""

from __future__ import annotations

import pytest

from drivers.ble import (
    ENVIRONMENTAL_SENSING_UUID,
    decode_advertisement,
    parse_ad_structures,
    parse_hci_le_advertising_report,
    parse_hex_dump,
)
from edge_agent.errors import ParseError

# ble_monitor test_atc_parser.py, test_atc_atc1441 (see testcases/atc1441_legacy_report).
ATC_EVENT = "043e1d02010000f4830238c1a41110161a18a4c1380283f400a22f5f0bf819df"

HCIDUMP_SESSION = """\
HCI sniffer - Bluetooth packet analyzer ver 5.66
device: hci0 snap_len: 1500 filter: 0xffffffff
< 01 0B 20 07 01 10 00 10 00 00 00
> 04 0E 04 01 0B 20 00
> 04 3E 1D 02 01 00 00 F4 83 02 38 C1 A4 11 10 16 1A 18 A4 C1
  38 02 83 F4 00 A2 2F 5F 0B F8 19 DF
"""
"""``hcidump -R`` output: header, a command, its completion, then the ATC advertisement
(the last one is ATC_EVENT re-wrapped the way hcidump wraps long packets)."""


def test_hcidump_session_splits_into_packets() -> None:
    packets = parse_hex_dump(HCIDUMP_SESSION)
    assert [p[:2].hex() for p in packets] == ["010b", "040e", "043e"]
    assert packets[2] == bytes.fromhex(ATC_EVENT)


def test_other_events_of_a_session_are_refused_by_name() -> None:
    command_complete = parse_hex_dump(HCIDUMP_SESSION)[1]
    with pytest.raises(ParseError, match="not an LE Meta event"):
        parse_hci_le_advertising_report(command_complete)


@pytest.mark.parametrize(
    "text",
    [
        ATC_EVENT,
        ATC_EVENT.upper(),
        " ".join(ATC_EVENT[i : i + 2] for i in range(0, len(ATC_EVENT), 2)),
        ", ".join("0x" + ATC_EVENT[i : i + 2] for i in range(0, len(ATC_EVENT), 2)),
        "# pasted from a forum\n" + ATC_EVENT + "\n",
    ],
)
def test_hex_spellings(text: str) -> None:
    assert parse_hex_dump(text) == [bytes.fromhex(ATC_EVENT)]


def test_one_packet_per_line() -> None:
    assert len(parse_hex_dump(ATC_EVENT + "\n" + ATC_EVENT)) == 2


def test_non_hex_line_is_reported_with_its_number() -> None:
    with pytest.raises(ParseError, match="line 2"):
        parse_hex_dump(ATC_EVENT + "\nRSSI: -33\n")


def test_h4_packet_type_is_optional() -> None:
    with_type = parse_hci_le_advertising_report(bytes.fromhex(ATC_EVENT))
    without = parse_hci_le_advertising_report(bytes.fromhex(ATC_EVENT[2:]))
    assert with_type == without
    (ad,) = with_type
    sample = decode_advertisement(ad.address, ad.service_data, ad.manufacturer_data)
    assert sample is not None
    assert sample.temperature_c == 16.2


def test_parameter_length_must_match() -> None:
    with pytest.raises(ParseError, match="declares 29 parameter bytes but 28 follow"):
        parse_hci_le_advertising_report(bytes.fromhex(ATC_EVENT[:-2]))


def test_trailing_bytes_after_the_reports_are_refused() -> None:
    event = bytearray.fromhex(ATC_EVENT + "00")
    event[2] += 1
    with pytest.raises(ParseError, match="1 bytes after its 1 report"):
        parse_hci_le_advertising_report(bytes(event))


def test_other_subevents_are_refused() -> None:
    with pytest.raises(ParseError, match="subevent 0x03"):
        parse_hci_le_advertising_report(bytes.fromhex("043e0a03000040000600000000"))


def test_two_reports_in_one_event() -> None:
    report = bytes.fromhex(ATC_EVENT)[5:]
    params = bytes.fromhex("0202") + report + report
    event = bytes((0x04, 0x3E, len(params))) + params
    ads = parse_hci_le_advertising_report(event)
    assert [ad.address for ad in ads] == ["A4:C1:38:02:83:F4"] * 2


def test_rssi_127_means_not_available() -> None:
    event = bytearray.fromhex(ATC_EVENT)
    event[-1] = 0x7F
    (ad,) = parse_hci_le_advertising_report(bytes(event))
    assert ad.rssi_dbm is None


def test_legacy_data_longer_than_31_bytes_is_refused() -> None:
    data = bytes.fromhex("2009") + b"x" * 31
    params = bytes.fromhex("020100") + bytes(6) + bytes((len(data),)) + data + b"\xc0"
    with pytest.raises(ParseError, match="at most 31"):
        parse_hci_le_advertising_report(bytes((0x3E, len(params))) + params)


def test_ad_structures_of_every_uuid_size() -> None:
    data = parse_ad_structures(
        bytes.fromhex(
            "020106"  # flags: ignored
            "0303aafe"  # complete list of 16-bit UUIDs: 0xFEAA
            "03084142"  # shortened name "AB", overridden below
            "0409414243"  # complete name "ABC"
            "0720785634120102"  # service data, 32-bit UUID 0x12345678
            "1221fb349b5f800000800010000002ff0000ee"  # service data, 128-bit UUID
            "05ff9904aabb"  # manufacturer 0x0499
            "0000000000"  # padding after a zero length
        )
    )
    assert data.local_name == "ABC"
    assert data.service_uuids == ("0000feaa-0000-1000-8000-00805f9b34fb",)
    assert data.service_data == {
        "12345678-0000-1000-8000-00805f9b34fb": bytes.fromhex("0102"),
        "0000ff02-0000-1000-8000-00805f9b34fb": bytes.fromhex("ee"),
    }
    assert data.manufacturer_data == {0x0499: bytes.fromhex("aabb")}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("0516aabb", "says 5 bytes, only 3 remain"),
        ("0216aa", "needs a 2-byte UUID"),
        ("02ff99", "without company id"),
        ("0403aabbcc", "lists 2-byte UUIDs but has 3 bytes"),
    ],
)
def test_malformed_ad_structures(data: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_ad_structures(bytes.fromhex(data))


def test_service_data_keys_match_what_the_decoder_looks_up() -> None:
    (ad,) = parse_hci_le_advertising_report(bytes.fromhex(ATC_EVENT))
    assert list(ad.service_data) == [ENVIRONMENTAL_SENSING_UUID]
