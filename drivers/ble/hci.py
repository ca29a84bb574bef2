"""HCI captures: LE advertising reports as ``hcidump -R`` prints them, down to AD structures.

A technician captures on the Pi with ``sudo hcidump -R`` (package ``bluez-hcidump``) while
``bluetoothctl scan on`` runs, pastes the lines into :func:`parse_hex_dump`, and feeds each
packet to :func:`parse_hci_le_advertising_report`; the :class:`Advertisement` objects it
returns go straight into :func:`~drivers.ble.decode_advertisement`::

    for packet in parse_hex_dump(text):
        for ad in parse_hci_le_advertising_report(packet):
            sample = decode_advertisement(ad.address, ad.service_data, ad.manufacturer_data)

Layouts (Bluetooth Core Specification, Vol 4 Part E 7.7.65.2 and 7.7.65.13), all integers
little-endian, with the H4 packet type ``04`` that ``hcidump -R`` prints in front::

    04 | 3E | plen | 02 | num_reports | per report: event_type(1) address_type(1)
                                        address(6) data_length(1) data rssi(1)
    04 | 3E | plen | 0D | num_reports | per report: event_type(2) address_type(1)
                                        address(6) primary_phy(1) secondary_phy(1)
                                        sid(1) tx_power(1) rssi(1) periodic_interval(2)
                                        direct_address_type(1) direct_address(6)
                                        data_length(1) data

Reports follow one another whole, the way the Linux kernel reads them. Fragments of extended
advertising data are not reassembled.

The data is a sequence of AD structures ``length(1) type(1) value(length - 1)``; a length of 0
ends the significant part (the rest is padding).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from edge_agent.errors import ParseError

from .uuids import uuid16, uuid32

H4_EVENT_PACKET: Final = 0x04
LE_META_EVENT: Final = 0x3E
LE_ADVERTISING_REPORT: Final = 0x02
LE_EXTENDED_ADVERTISING_REPORT: Final = 0x0D
LEGACY_MAX_DATA_LENGTH: Final = 31
RSSI_NOT_AVAILABLE: Final = 127
MAX_REPORTS: Final = 25

ADDRESS_TYPES: Final = MappingProxyType(
    {
        0x00: "public",
        0x01: "random",
        0x02: "public_identity",
        0x03: "random_identity",
        0xFF: "anonymous",
    }
)

AD_UUID16_LISTS: Final = frozenset({0x02, 0x03})
AD_UUID32_LISTS: Final = frozenset({0x04, 0x05})
AD_UUID128_LISTS: Final = frozenset({0x06, 0x07})
AD_SHORT_NAME: Final = 0x08
AD_COMPLETE_NAME: Final = 0x09
AD_SERVICE_DATA_UUID16: Final = 0x16
AD_SERVICE_DATA_UUID32: Final = 0x20
AD_SERVICE_DATA_UUID128: Final = 0x21
AD_MANUFACTURER_DATA: Final = 0xFF

_HEADER_LINE: Final = re.compile(r"^(HCI sniffer|device:)")
_SEPARATORS: Final = re.compile(r"0x|[\s,:]", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class AdvertisingData:
    """What a block of AD structures says.

    Attributes:
        local_name: the complete local name, else the shortened one, else ``None``.
        service_data: service data by 128-bit UUID in lower case, as bleak spells it.
        manufacturer_data: manufacturer data by company id, without the id bytes.
        service_uuids: advertised service UUIDs, 128-bit spelling.
    """

    local_name: str | None
    service_data: Mapping[str, bytes]
    manufacturer_data: Mapping[int, bytes]
    service_uuids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Advertisement:
    """One advertising report: who sent it, how loud, and its AD structures.

    Attributes:
        address: the advertiser's address, ``AA:BB:CC:DD:EE:FF``, most significant first.
        address_type: ``public``, ``random``, ``public_identity``, ``random_identity`` or
            ``anonymous``; ``unknown_0xNN`` for a value the specification does not define.
        event_type: the report's event type as sent (legacy: 0 ``ADV_IND`` ... 4
            ``SCAN_RSP``; extended: the 16-bit property bits).
        rssi_dbm: received signal strength, dBm; ``None`` when the controller has none (127).
        extended: whether it came in an LE Extended Advertising Report.
        local_name, service_data, manufacturer_data, service_uuids: see
            :class:`AdvertisingData`.
    """

    address: str
    address_type: str
    event_type: int
    rssi_dbm: int | None
    extended: bool
    local_name: str | None
    service_data: Mapping[str, bytes]
    manufacturer_data: Mapping[int, bytes]
    service_uuids: tuple[str, ...]


def parse_hex_dump(text: str) -> list[bytes]:
    """Split a hex dump into packets.

    Accepts ``hcidump -R`` output (a line starting with ``>`` or ``<`` begins a packet, indented
    lines continue it, its two header lines are skipped) and plain hex with one packet per line.
    Bytes may be separated by spaces, ``:`` or ``,`` and carry a ``0x`` prefix; lines starting
    with ``#`` are comments.

    Raises:
        ParseError: a line is not hex; the message gives its number.
    """
    packets: list[bytearray] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or _HEADER_LINE.match(stripped):
            continue
        continues = line[:1].isspace() and bool(packets)
        if stripped[0] in "<>":
            stripped = stripped[1:]
            continues = False
        digits = _SEPARATORS.sub("", stripped)
        try:
            chunk = bytes.fromhex(digits)
        except ValueError as exc:
            raise ParseError(
                f"hex dump line {number} is not hex bytes: {line.strip()!r}; paste the output of "
                "'hcidump -R', or one packet per line"
            ) from exc
        if continues:
            packets[-1] += chunk
        else:
            packets.append(bytearray(chunk))
    return [bytes(packet) for packet in packets]


def parse_hci_le_advertising_report(data: bytes) -> list[Advertisement]:
    """The advertisements in one HCI LE Meta event (legacy or extended advertising report).

    Args:
        data: the event, with or without the leading H4 packet type ``04``.

    Raises:
        ParseError: not an LE advertising report event, or its lengths do not add up.
    """
    event = data[1:] if data[:1] == bytes((H4_EVENT_PACKET,)) else data
    if len(event) < 4:
        raise ParseError(f"HCI event too short for an LE advertising report: {data.hex()}")
    if event[0] != LE_META_EVENT:
        raise ParseError(
            f"HCI event 0x{event[0]:02x} is not an LE Meta event (0x3e); only advertising "
            "reports are parsed"
        )
    declared, params = event[1], event[2:]
    if declared != len(params):
        raise ParseError(
            f"HCI event declares {declared} parameter bytes but {len(params)} follow: {data.hex()}"
        )
    subevent = params[0]
    if subevent == LE_ADVERTISING_REPORT:
        return _reports(params[1:], extended=False)
    if subevent == LE_EXTENDED_ADVERTISING_REPORT:
        return _reports(params[1:], extended=True)
    raise ParseError(
        f"LE Meta subevent 0x{subevent:02x} is not an advertising report (0x02 legacy, 0x0d "
        "extended)"
    )


def _reports(params: bytes, *, extended: bool) -> list[Advertisement]:
    count = params[0]
    if not 1 <= count <= MAX_REPORTS:
        raise ParseError(f"advertising report event says it holds {count} reports (1 ... 25)")
    reports: list[Advertisement] = []
    offset = 1
    for _ in range(count):
        read = _extended_report if extended else _legacy_report
        report, offset = read(params, offset)
        reports.append(report)
    if offset != len(params):
        raise ParseError(
            f"advertising report event has {len(params) - offset} bytes after its {count} "
            f"report(s): {params.hex()}"
        )
    return reports


def _legacy_report(params: bytes, offset: int) -> tuple[Advertisement, int]:
    header = _take(params, offset, 9, "legacy report header")
    length = header[8]
    if length > LEGACY_MAX_DATA_LENGTH:
        raise ParseError(f"legacy advertising report says {length} data bytes, at most 31 allowed")
    data = _take(params, offset + 9, length, "advertising data")
    rssi = _take(params, offset + 9 + length, 1, "RSSI")[0]
    report = _advertisement(
        event_type=header[0],
        address_type=header[1],
        address=header[2:8],
        rssi=rssi,
        extended=False,
        data=data,
    )
    return report, offset + 10 + length


def _extended_report(params: bytes, offset: int) -> tuple[Advertisement, int]:
    header = _take(params, offset, 24, "extended report header")
    length = header[23]
    data = _take(params, offset + 24, length, "advertising data")
    report = _advertisement(
        event_type=int.from_bytes(header[0:2], "little"),
        address_type=header[2],
        address=header[3:9],
        rssi=header[13],
        extended=True,
        data=data,
    )
    return report, offset + 24 + length


def _take(params: bytes, offset: int, length: int, what: str) -> bytes:
    chunk = params[offset : offset + length]
    if len(chunk) != length:
        raise ParseError(
            f"advertising report truncated in its {what}: needs {length} bytes at offset "
            f"{offset}, {len(chunk)} remain"
        )
    return chunk


def _advertisement(
    *, event_type: int, address_type: int, address: bytes, rssi: int, extended: bool, data: bytes
) -> Advertisement:
    parsed = parse_ad_structures(data)
    signed_rssi = rssi - 256 if rssi > 127 else rssi
    return Advertisement(
        address=address[::-1].hex(":").upper(),
        address_type=ADDRESS_TYPES.get(address_type, f"unknown_0x{address_type:02x}"),
        event_type=event_type,
        rssi_dbm=None if signed_rssi == RSSI_NOT_AVAILABLE else signed_rssi,
        extended=extended,
        local_name=parsed.local_name,
        service_data=parsed.service_data,
        manufacturer_data=parsed.manufacturer_data,
        service_uuids=parsed.service_uuids,
    )


def parse_ad_structures(data: bytes) -> AdvertisingData:
    """Split advertising (or scan response) data into its AD structures.

    Args:
        data: the advertising data as sent on air, e.g. ``02 01 06 0b 09 ...``.

    Raises:
        ParseError: a structure runs past the end, or a service data, manufacturer data or UUID
            list structure is shorter than its UUID or company id.
    """
    names: dict[int, str] = {}
    service_data: dict[str, bytes] = {}
    manufacturer_data: dict[int, bytes] = {}
    service_uuids: list[str] = []
    offset = 0
    while offset < len(data):
        length = data[offset]
        if length == 0:
            break
        end = offset + 1 + length
        if end > len(data):
            raise ParseError(
                f"AD structure at offset {offset} says {length} bytes, only "
                f"{len(data) - offset - 1} remain: {data.hex()}"
            )
        ad_type, value = data[offset + 1], data[offset + 2 : end]
        if ad_type in (AD_SHORT_NAME, AD_COMPLETE_NAME):
            names[ad_type] = value.decode("utf-8", errors="replace")
        elif ad_type == AD_SERVICE_DATA_UUID16:
            key, rest = _uuid_prefix(value, 2, ad_type)
            service_data[key] = rest
        elif ad_type == AD_SERVICE_DATA_UUID32:
            key, rest = _uuid_prefix(value, 4, ad_type)
            service_data[key] = rest
        elif ad_type == AD_SERVICE_DATA_UUID128:
            key, rest = _uuid_prefix(value, 16, ad_type)
            service_data[key] = rest
        elif ad_type == AD_MANUFACTURER_DATA:
            if len(value) < 2:
                raise ParseError(f"manufacturer data AD structure without company id: {data.hex()}")
            manufacturer_data[int.from_bytes(value[:2], "little")] = bytes(value[2:])
        elif ad_type in AD_UUID16_LISTS:
            service_uuids += _uuid_list(value, 2, ad_type)
        elif ad_type in AD_UUID32_LISTS:
            service_uuids += _uuid_list(value, 4, ad_type)
        elif ad_type in AD_UUID128_LISTS:
            service_uuids += _uuid_list(value, 16, ad_type)
        offset = end
    return AdvertisingData(
        local_name=names.get(AD_COMPLETE_NAME, names.get(AD_SHORT_NAME)),
        service_data=MappingProxyType(service_data),
        manufacturer_data=MappingProxyType(manufacturer_data),
        service_uuids=tuple(service_uuids),
    )


def _uuid_text(raw: bytes) -> str:
    """A UUID sent little-endian on air, in bleak's 128-bit spelling."""
    if len(raw) == 2:
        return uuid16(int.from_bytes(raw, "little"))
    if len(raw) == 4:
        return uuid32(int.from_bytes(raw, "little"))
    return str(uuid.UUID(bytes=raw[::-1]))


def _uuid_prefix(value: bytes, size: int, ad_type: int) -> tuple[str, bytes]:
    if len(value) < size:
        raise ParseError(
            f"AD structure type 0x{ad_type:02x} needs a {size}-byte UUID, has {len(value)} bytes"
        )
    return _uuid_text(value[:size]), bytes(value[size:])


def _uuid_list(value: bytes, size: int, ad_type: int) -> list[str]:
    if len(value) % size:
        raise ParseError(
            f"AD structure type 0x{ad_type:02x} lists {size}-byte UUIDs but has {len(value)} bytes"
        )
    return [_uuid_text(value[i : i + size]) for i in range(0, len(value), size)]
