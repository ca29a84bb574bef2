"""The decoding behind ``edge-agent decode ble``: HCI reports, ``hcidump -R`` captures and
payloads through the decoders in :mod:`drivers.ble`.

Imported only when BLE is decoded, because :mod:`drivers.ble` needs the ``ble`` extra.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from typing import Final

from drivers.ble import (
    BTHOME_UUID,
    BleSample,
    decode_advertisement,
    parse_ad_structures,
    parse_hci_le_advertising_report,
    to_readings,
)
from drivers.ble.bthome import ENCRYPTED_FLAG, MAC_INCLUDED_FLAG, SUPPORTED_VERSION
from drivers.ble.hci import (
    H4_EVENT_PACKET,
    LE_ADVERTISING_REPORT,
    LE_EXTENDED_ADVERTISING_REPORT,
    LE_META_EVENT,
)

from ...errors import ParseError
from .ble import BASE_UUID_SUFFIX
from .inputs import Argument, Stream, parse_hex
from .output import reading_json, sample_json
from .report import Report

UNKNOWN_ADDRESS: Final = "??:??:??:??:??:??"
"""What the decoders are given (and show in messages) for a payload without ``--address``."""
HCI_EXAMPLE: Final = "04 3e 22 02 01 00 00 b2 18 8d 38 c1 a4 16 02 01 06 12 16 1a 18 ..."

_HCIDUMP_HEADERS: Final = ("HCI sniffer", "device:")
_ADVERTISING_SUBEVENTS: Final = (LE_ADVERTISING_REPORT, LE_EXTENDED_ADVERTISING_REPORT)
_SHORT_UUID: Final = re.compile(f"0000([0-9a-f]{{4}}){re.escape(BASE_UUID_SUFFIX)}")


class BleDecoder:
    """Feeds the inputs of one ``decode ble`` run to the decoders in :mod:`drivers.ble`.

    Without ``--uuid``, ``--company`` or ``--ad`` an input is an HCI packet (``hci``), and a
    stream is ``hcidump -R`` output; with one of them, each input or line is one payload.
    """

    def __init__(self, args: argparse.Namespace, key: bytes | None, report: Report) -> None:
        self.args = args
        self.key = key
        self.report = report
        self.hci = args.uuid is None and args.company is None and not args.ad
        if args.uuid is not None:
            self.what, self.example = "service data", "40 00 3f 01 5e 02 82 08 ..."
        elif args.company is not None:
            self.what, self.example = "manufacturer data", "05 12 fc 53 94 c3 7c 00 ..."
        elif args.ad:
            self.what, self.example = "advertising data", "02 01 06 0a 16 d2 fc 40 ..."
        else:
            self.what, self.example = "report", HCI_EXAMPLE

    def source(self, source: Argument | Stream) -> None:
        """One INPUT argument, or a stream: ``hcidump -R`` output or payloads line by line."""
        if isinstance(source, Argument):
            self.argument(source.where, source.text)
        elif self.hci:
            self.hcidump(source)
        else:
            for where, text in source.hex_lines():
                self.argument(where, text)

    def argument(self, where: str, text: str) -> None:
        """One INPUT, or one line of a stream of service, manufacturer or advertising data."""
        try:
            data = parse_hex(text, self.what, self.example)
        except ParseError as exc:
            self.report.error(where, str(exc))
            return
        if self.hci:
            self.packet(where, data, quiet=False)
        else:
            self._decode_payload(where, data)

    def hcidump(self, stream: Stream) -> None:
        """``hcidump -R`` output: ``>`` starts an event, ``<`` a command, indented lines go on.

        Read line by line, so that ``hcidump -R | edge-agent decode ble -`` shows each
        advertisement as soon as its last byte is in. Packets other than LE advertising reports
        (commands, other events, ACL data) are counted in the summary.
        """
        packet: bytearray | None = None
        start = ""
        dropping = False  # the current packet is a command, or has a line that is not hex
        for where, raw in stream.numbered_lines():
            line = raw.decode("ascii", errors="replace").rstrip("\r\n")
            text = line.split("#", 1)[0].strip()
            if not text or text.startswith(_HCIDUMP_HEADERS):
                continue
            marker = text[0] if text[0] in "<>" else ""
            begins = bool(marker) or not line[:1].isspace()
            if begins:
                if packet is not None:
                    self.packet(start, bytes(packet), quiet=True)
                packet, start, dropping = None, where, marker == "<"
                if dropping:
                    self.report.skip(where, "", summary="HCI commands ('<' lines)", quiet=True)
            if dropping:
                continue
            try:
                chunk = parse_hex(text.removeprefix(marker), "packet", HCI_EXAMPLE)
            except ParseError as exc:
                self.report.error(where, f"{exc}; the packet is left out")
                packet, dropping = None, True
                continue
            if packet is None:
                packet, start = bytearray(chunk), where
            else:
                packet += chunk
            if _event_complete(packet):  # decode now rather than when the next packet starts
                self.packet(start, bytes(packet), quiet=True)
                packet = None
        if packet is not None:
            self.packet(start, bytes(packet), quiet=True)

    def packet(self, where: str, data: bytes, *, quiet: bool) -> None:
        """One HCI packet; ``quiet`` for captures, where most packets are other traffic."""
        event = data[1:] if data[:1] == bytes((H4_EVENT_PACKET,)) else data
        if event[:1] != bytes((LE_META_EVENT,)) or (
            quiet and (len(event) < 3 or event[2] not in _ADVERTISING_SUBEVENTS)
        ):
            if quiet:
                self.report.skip(
                    where, "", summary="HCI packets that are not LE advertising reports", quiet=True
                )
                return
            self.report.error(
                where,
                f"not an HCI LE advertising report (those start with '04 3e', this with "
                f"{data[:2].hex(' ')!r}); for service data give --uuid (fcd2 BTHome, 181a "
                "ATC1441/pvvx), for manufacturer data --company (0x0499 RuuviTag), for "
                "advertising data --ad",
            )
            return
        try:
            ads = parse_hci_le_advertising_report(data)
        except ParseError as exc:
            self.report.error(where, str(exc))
            return
        for index, ad in enumerate(ads, start=1):
            label = where if len(ads) == 1 else f"{where} report {index}"
            if self.args.address is not None and ad.address != self.args.address:
                self.report.skip(
                    label,
                    f"advertisement from {ad.address} left out: not the --address "
                    f"{self.args.address}",
                    summary="advertisements from other addresses",
                    detail=ad.address,
                    quiet=quiet,
                )
                continue
            self._decode(
                label,
                ad.address,
                ad.service_data,
                ad.manufacturer_data,
                rssi=ad.rssi_dbm,
                quiet=quiet,
                describe=_describe(ad.service_data, ad.manufacturer_data, ad.local_name),
            )

    def _decode_payload(self, where: str, data: bytes) -> None:
        service_data: Mapping[str, bytes] = {}
        manufacturer_data: Mapping[int, bytes] = {}
        if self.args.uuid is not None:
            service_data = {self.args.uuid: data}
        elif self.args.company is not None:
            manufacturer_data = {self.args.company: data}
        else:
            try:
                parsed = parse_ad_structures(data)
            except ParseError as exc:
                self.report.error(where, str(exc))
                return
            service_data, manufacturer_data = parsed.service_data, parsed.manufacturer_data
        self._decode(
            where,
            self.args.address,
            service_data,
            manufacturer_data,
            rssi=None,
            quiet=False,
            describe=_describe(service_data, manufacturer_data, None),
        )

    def _decode(
        self,
        where: str,
        address: str | None,
        service_data: Mapping[str, bytes],
        manufacturer_data: Mapping[int, bytes],
        *,
        rssi: int | None,
        quiet: bool,
        describe: str,
    ) -> None:
        problem = self._bthome_problem(service_data, address is not None)
        if problem is not None:
            self.report.error(where, problem)
            return
        shown = address or UNKNOWN_ADDRESS
        try:
            sample: BleSample | None = decode_advertisement(
                shown, service_data, manufacturer_data, bind_key=self.key
            )
        except ParseError as exc:
            self.report.error(where, str(exc))
            return
        if sample is None:
            self.report.skip(
                where,
                f"advertisement{'' if address is None else ' from ' + address} is in no known "
                f"format ({describe}); decoded are service data fcd2 (BTHome v2), 181a "
                "(ATC1441, pvvx) and manufacturer data 0x0499 (RuuviTag data format 5)",
                summary="advertisements in no known format (phones, beacons, other devices)",
                detail=address or "",
                quiet=quiet,
            )
            return
        self.report.decoded += 1
        more: dict[str, object] = {"rssi_dbm": rssi} if self.hci else {}
        if self.args.samples:
            # Without --address the decoder was given a stand-in; the sample shows null.
            self.report.emit(sample_json(sample, where, address=address, **more))
            return
        readings = to_readings(sample, self.args.sensor, 0.0)
        for reading in readings:
            self.report.emit(
                reading_json(
                    reading,
                    where,
                    address=address or sample.payload_mac,
                    format=str(sample.format),
                    packet_id=sample.packet_id,
                    **more,
                )
            )
        if not readings:
            carried = ", ".join(f"{k}={v}" for k, v in sample.extra.items()) or "nothing else"
            self.report.note(
                where,
                f"{sample.format} advertisement decoded, but it carries no reading (it "
                f"carries {carried}); --samples shows every field",
            )

    def _bthome_problem(self, service_data: Mapping[str, bytes], address_known: bool) -> str | None:
        """What this command line lacks to decrypt a BTHome payload, with the option to add."""
        payload = service_data.get(BTHOME_UUID)
        if not payload or payload[0] >> 5 != SUPPORTED_VERSION:
            return None
        if not payload[0] & ENCRYPTED_FLAG:
            return None
        if self.key is None:
            return (
                "the BTHome advertisement is encrypted: give the device's bind key with --key "
                "(32 hex characters, as the device's firmware or vendor app shows it)"
            )
        if not payload[0] & MAC_INCLUDED_FLAG and not address_known:
            return (
                "the encrypted BTHome advertisement does not carry the device's MAC, which "
                "decrypting needs: give it with --address AA:BB:CC:DD:EE:FF"
            )
        return None


def _describe(
    service_data: Mapping[str, bytes],
    manufacturer_data: Mapping[int, bytes],
    name: str | None,
) -> str:
    """What an advertisement of no known format carries, for the note that skips it."""
    parts = []
    if name:
        parts.append(f"name {name!r}")
    if service_data:
        uuids = (_short_uuid(uuid) for uuid in service_data)
        parts.append(f"service data {', '.join(uuids)}")
    if manufacturer_data:
        ids = (f"0x{company:04x}" for company in manufacturer_data)
        parts.append(f"manufacturer data {', '.join(ids)}")
    return "; ".join(parts) or "no service or manufacturer data"


def _event_complete(packet: bytearray) -> bool:
    """Whether ``packet`` is an H4 event (``04``) holding all the bytes its length byte says."""
    return (
        packet[:1] == bytes((H4_EVENT_PACKET,))
        and len(packet) >= 3
        and len(packet) >= 3 + packet[2]
    )


def _short_uuid(uuid: str) -> str:
    """``fcd2`` for the 128-bit spelling of a 16-bit UUID; any other UUID as it is."""
    match = _SHORT_UUID.fullmatch(uuid)
    return match.group(1) if match else uuid
