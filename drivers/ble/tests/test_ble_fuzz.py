"""Fuzzing: whatever arrives over the air, only ParseError escapes, and nothing is left behind.

"Nothing left behind": the inputs are not modified, and after a failed parse a reference
advertisement of the same family still decodes to exactly the same sample (``bthome-ble``
keeps per-device state in its objects; this shows none leaks between calls).

Strategies draw few, large values and build structure from them deterministically: each
hypothesis draw costs more than a decode, and every test has to stay under ~15 s.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import TypeVar

import pytest
from bthome_ble.const import MEAS_TYPES
from cryptography.hazmat.primitives.ciphers.aead import AESCCM
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.ble import (
    BTHOME_UUID,
    ENVIRONMENTAL_SENSING_UUID,
    RUUVI_COMPANY_ID,
    BleSample,
    decode_advertisement,
    decode_bthome,
    decode_custom_firmware,
    decode_ruuvi,
    parse_ad_structures,
    parse_hci_le_advertising_report,
    parse_hex_dump,
    uuid16,
)
from edge_agent.errors import ParseError

T = TypeVar("T")

FUZZ = settings(max_examples=10_000, deadline=None, database=None)

pytestmark = pytest.mark.slow  # 10 000 examples each; `-m "not slow"` deselects them

KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
CIPHER = AESCCM(KEY, tag_length=4)
MAC = "54:48:E6:8F:80:A5"
MAC_BYTES = bytes.fromhex("5448E68F80A5")
# testcases/atc1441_legacy_report and testcases/bthome_v2_encrypted_spec_example
ATC_EVENT = bytes.fromhex("043e1d02010000f4830238c1a41110161a18a4c1380283f400a22f5f0bf819df")
BTHOME_ENCRYPTED = bytes.fromhex("41a47266c95f730011223378237214")
OBJECT_IDS = sorted(MEAS_TYPES)


def _bthome_reference() -> BleSample:
    """The encrypted path touches the most library state: cipher, key check, counter."""
    return decode_bthome(MAC, BTHOME_ENCRYPTED, bind_key=KEY)


def _hci_reference() -> tuple[BleSample | None, ...]:
    (ad,) = parse_hci_le_advertising_report(ATC_EVENT)
    return (decode_advertisement(ad.address, ad.service_data, ad.manufacturer_data),)


BTHOME_REFERENCE = _bthome_reference()
HCI_REFERENCE = _hci_reference()


def _attempt(parse: Callable[[], T], reference: Callable[[], object], expected: object) -> T | None:
    """Run ``parse``. A ParseError is an allowed outcome, after which ``reference()`` must still
    return ``expected``; any other exception fails the test."""
    try:
        return parse()
    except ParseError:
        assert reference() == expected
        return None


def _bthome_objects(blob: bytes) -> bytes:
    """Objects the library knows, with data of the right length, chosen by the bytes of
    ``blob``: one byte picks an id, the next ones are its data."""
    out = bytearray()
    rest = blob
    while rest:
        object_id = OBJECT_IDS[rest[0] % len(OBJECT_IDS)]
        kind = MEAS_TYPES[object_id]
        if kind.data_format in ("raw", "string", "command"):
            length = rest[1] % 8 if len(rest) > 1 else 0
            out += bytes((object_id, length)) + rest[2 : 2 + length]
            rest = rest[2 + length :]
        else:
            out += bytes((object_id,)) + rest[1 : 1 + kind.data_length]
            rest = rest[1 + kind.data_length :]
    return bytes(out)


ADDRESSES = (MAC, "a4:c1:38:00:00:01", "0D6A2A3B-1111-2222-3333-444455556666", "")
SERVICE_UUIDS = (BTHOME_UUID, ENVIRONMENTAL_SENSING_UUID, uuid16(0x1809))
HEX_DUMP_ALPHABET = "0123456789abcdefABCDEFxX:, <>#\n\t"
BTHOME_HEADERS = (0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47)


def _bthome_payload(choice: int, blob: bytes) -> bytes:
    """Random bytes, a valid header before random bytes, or valid objects (MAC included or not)."""
    match choice % 4:
        case 0:
            return blob
        case 1:
            return bytes((BTHOME_HEADERS[choice // 4 % 8],)) + blob
        case 2:
            return b"\x40" + _bthome_objects(blob)
        case _:
            return b"\x42" + blob[:6] + _bthome_objects(blob[6:])


def _advertisement(
    selector: int, blob: bytes
) -> tuple[str, dict[str, bytes], dict[int, bytes], bytes | None]:
    """Address, service data, manufacturer data and bind key, all chosen by ``selector`` and cut
    from ``blob`` (two draws instead of dozens)."""
    selector, pick = divmod(selector, 5)
    address = ADDRESSES[pick] if pick < len(ADDRESSES) else blob[:17].decode("latin-1")
    selector, pick = divmod(selector, 3)
    bind_key = (None, KEY, blob[-16:].rjust(16, b"\x00"))[pick]
    selector, split = divmod(selector, len(blob) + 1)
    first, second = blob[:split], blob[split:]
    service_data: dict[str, bytes] = {}
    selector, pick = divmod(selector, 4)
    if pick < len(SERVICE_UUIDS):
        uuid = SERVICE_UUIDS[pick]
        service_data[uuid] = _bthome_payload(selector, first) if uuid == BTHOME_UUID else first
    selector, pick = divmod(selector // 16, 4)
    if pick == 1:
        service_data[ENVIRONMENTAL_SENSING_UUID] = first[:15]
    manufacturer_data: dict[int, bytes] = {}
    selector, pick = divmod(selector, 4)
    if pick == 1:
        manufacturer_data[RUUVI_COMPANY_ID] = second
    elif pick == 2:
        manufacturer_data[RUUVI_COMPANY_ID] = b"\x05" + second[:23].ljust(23, b"\xff")
    elif pick == 3:
        manufacturer_data[0x004C] = second
    return address, service_data, manufacturer_data, bind_key


@FUZZ
@given(selector=st.integers(min_value=0, max_value=2**24), blob=st.binary(max_size=60))
def test_decode_advertisement(selector: int, blob: bytes) -> None:
    address, service_data, manufacturer_data, bind_key = _advertisement(selector, blob)
    before: tuple[Mapping[str, bytes], Mapping[int, bytes]] = (
        dict(service_data),
        dict(manufacturer_data),
    )
    sample = _attempt(
        lambda: decode_advertisement(address, service_data, manufacturer_data, bind_key=bind_key),
        _bthome_reference,
        BTHOME_REFERENCE,
    )
    assert sample is None or isinstance(sample, BleSample)
    assert (service_data, manufacturer_data) == before


def _encrypted(plaintext: bytes, include_mac: bool, counter: bytes) -> bytes:
    """``plaintext`` encrypted with KEY as bthome.io describes."""
    info = 0x43 if include_mac else 0x41
    nonce = MAC_BYTES + b"\xd2\xfc" + bytes((info,)) + counter
    sealed = CIPHER.encrypt(nonce, plaintext, None)
    mac_field = MAC_BYTES[::-1] if include_mac else b""
    return bytes((info,)) + mac_field + sealed[:-4] + counter + sealed[-4:]


@FUZZ
@given(selector=st.integers(min_value=0, max_value=3), blob=st.binary(min_size=4, max_size=34))
def test_decode_bthome_encrypted(selector: int, blob: bytes) -> None:
    as_objects, include_mac = bool(selector & 1), bool(selector & 2)
    counter, body = blob[:4], blob[4:]
    payload = _encrypted(_bthome_objects(body) if as_objects else body, include_mac, counter)
    address = "7A:00:00:00:00:01" if include_mac else MAC
    sample = _attempt(
        lambda: decode_bthome(address, payload, bind_key=KEY), _bthome_reference, BTHOME_REFERENCE
    )
    if sample is not None:
        assert sample.encrypted
        assert sample.encryption_counter == int.from_bytes(counter, "little")


@FUZZ
@given(payload=st.binary(max_size=20))
def test_decode_custom_firmware_never_raises(payload: bytes) -> None:
    sample = decode_custom_firmware(MAC, payload)
    if len(payload) in (13, 15):
        assert sample is not None
        assert sample.temperature_c is not None
        assert -3276.8 <= sample.temperature_c <= 3276.7
        assert sample.battery_mv is not None
        assert 0 <= sample.battery_mv <= 0xFFFF
    else:
        assert sample is None


@FUZZ
@given(
    payload=st.one_of(
        st.binary(max_size=30),
        st.binary(min_size=22, max_size=24).map(b"\x05".__add__),
    )
)
def test_decode_ruuvi(payload: bytes) -> None:
    sample = _attempt(lambda: decode_ruuvi(MAC, payload), _hci_reference, HCI_REFERENCE)
    if len(payload) == 24 and payload[0] == 5:
        assert sample is not None
        assert sample.packet_id is None or 0 <= sample.packet_id < 0xFFFF


def _event(extended: bool, blobs: list[bytes], skew: int, cut: int) -> bytes:
    """An LE advertising report event around ``blobs``: each blob gives a report's header
    bytes and its AD data; ``skew`` falsifies the declared length, ``cut`` truncates."""
    header_size = 23 if extended else 8
    reports = bytearray()
    for blob in blobs:
        head = blob[:header_size].ljust(header_size, b"\x00")
        data = blob[header_size:]
        reports += head + bytes((len(data),)) + data
        if not extended:
            reports += b"\xc0"
    params = bytes((0x0D if extended else 0x02, len(blobs))) + reports
    event = bytes((0x04, 0x3E, (len(params) + skew) % 256)) + params
    return event[: len(event) - cut]


def _event_from(selector: int, blob: bytes) -> bytes:
    """An event of up to three reports cut from ``blob``, mostly with consistent lengths."""
    selector, count = divmod(selector, 4)
    cuts = sorted({len(blob) * i // max(count, 1) for i in range(count + 1)})
    blobs = [blob[a:b] for a, b in itertools.pairwise(cuts)][:count]
    selector, extended = divmod(selector, 2)
    selector, skew = divmod(selector, 5)
    return _event(bool(extended), blobs, (0, 0, 0, -1, 1)[skew], (0, 0, 0, 1, 2)[selector % 5])


hci_events = st.builds(
    _event_from, st.integers(min_value=0, max_value=2**12), st.binary(max_size=90)
)


@FUZZ
@given(event=st.one_of(st.binary(max_size=60), hci_events))
def test_parse_hci_le_advertising_report(event: bytes) -> None:
    ads = _attempt(lambda: parse_hci_le_advertising_report(event), _hci_reference, HCI_REFERENCE)
    for ad in ads or []:
        assert len(ad.address) == 17
        assert ad.rssi_dbm is None or -128 <= ad.rssi_dbm <= 126


@FUZZ
@given(data=st.binary(max_size=64))
def test_parse_ad_structures(data: bytes) -> None:
    parsed = _attempt(lambda: parse_ad_structures(data), _hci_reference, HCI_REFERENCE)
    if parsed is not None:
        assert all(len(uuid) == 36 for uuid in parsed.service_data)


@FUZZ
@given(
    text=st.one_of(
        st.text(max_size=80),
        st.binary(max_size=120).map(
            lambda raw: "".join(HEX_DUMP_ALPHABET[b % len(HEX_DUMP_ALPHABET)] for b in raw)
        ),
    )
)
def test_parse_hex_dump(text: str) -> None:
    packets = _attempt(lambda: parse_hex_dump(text), _hci_reference, HCI_REFERENCE)
    assert packets is None or all(isinstance(packet, bytes) for packet in packets)
