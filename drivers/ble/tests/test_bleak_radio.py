"""The bleak backend, as far as it runs without a Bluetooth adapter: bleak's own BlueZ code.

- The passive-scanning patterns match the advertisements real tags sent (captured bytes), and
  nothing else that was captured.
- bleak's BlueZ scanner accepts them (it refuses passive scanning without patterns).
- bleak's BlueZ scanner turns BlueZ's ``org.bluez.Device1`` properties into the
  ``AdvertisementData`` our detection callback gets, and the tag publishes the readings.
- Where BlueZ cannot be reached, the tag's start fails with a DriverError that says what to
  check, and nothing is left behind.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import pytest
from bleak import BleakScanner
from bleak.exc import BleakError

from drivers.ble import parse_hex_dump
from drivers.ble.bleak_radio import OR_PATTERNS, BleakRadio
from drivers.ble.hci import H4_EVENT_PACKET, LE_EXTENDED_ADVERTISING_REPORT
from drivers.ble.tests.rig import CASES, Rig, load_case
from edge_agent.errors import DriverError

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="bleak's BlueZ backend is Linux only"
)

LOG = logging.getLogger("edge_agent.test.ble.bleak")


def advertising_data(event: bytes) -> bytes:
    """The advertising data of the single report in an HCI LE (extended) advertising report."""
    if event[0] == H4_EVENT_PACKET:
        event = event[1:]
    params = event[2:]
    if params[0] == LE_EXTENDED_ADVERTISING_REPORT:
        length = params[2 + 23]
        return params[2 + 24 : 2 + 24 + length]
    length = params[2 + 8]
    return params[2 + 9 : 2 + 9 + length]


def ad_structures(data: bytes) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    offset = 0
    while offset < len(data) and data[offset]:
        length = data[offset]
        out.append((data[offset + 1], data[offset + 2 : offset + 1 + length]))
        offset += 1 + length
    return out


def matches(data: bytes) -> bool:
    """Whether BlueZ would report ``data`` to a monitor with OR_PATTERNS (any pattern matches)."""
    for ad_type, value in ad_structures(data):
        for pattern in OR_PATTERNS:
            content = pattern.content_of_pattern
            start, end = pattern.start_position, pattern.start_position + len(content)
            if ad_type == pattern.ad_data_type and value[start:end] == content:
                return True
    return False


HCI_CASES = sorted(
    path.parent.name
    for path in CASES.glob("*/input.hex")
    if "# kind: hci_event" in path.read_text(encoding="ascii")
)


@pytest.mark.parametrize("name", HCI_CASES)
def test_passive_patterns_report_the_tags_and_nothing_else(name: str) -> None:
    (packet,) = parse_hex_dump((CASES / name / "input.hex").read_text(encoding="ascii"))
    tag_format = not name.startswith("health_thermometer")
    assert matches(advertising_data(packet)) is tag_format


def test_passive_patterns_report_a_ruuvitag() -> None:
    case = load_case("ruuvi_df5_valid")  # manufacturer data as a RuuviTag puts it on air
    payload = case.adverts[0][1].manufacturer_data[0x0499]
    data = bytes.fromhex("020106") + bytes((len(payload) + 3, 0xFF)) + b"\x99\x04" + payload
    assert matches(data)


def test_bleak_accepts_passive_scanning_with_the_patterns_only() -> None:
    radio = BleakRadio("hci0", logger=LOG)
    scanner = radio.make_scanner(lambda device, adv: None, "passive")
    assert scanner.backend_id is not None
    with pytest.raises(BleakError, match="requires bluez or_patterns"):
        BleakScanner(lambda device, adv: None, scanning_mode="passive", bluez={"adapter": "hci0"})


def test_bleaks_bluez_scanner_hands_device_properties_to_the_tag() -> None:
    """Drive bleak's BlueZ backend the way its D-Bus signal handler does (a private method)."""
    case = load_case("pvvx_with_flags_structure")
    device, adv = case.adverts[0]
    rig = Rig()
    tag = rig.tag("lab", address=device.address, format="pvvx")

    async def scenario() -> None:
        await tag.start()
        radio = BleakRadio("hci0", logger=LOG)
        bleak_scanner = radio.make_scanner(rig.scanner().on_advertisement, "active")
        path = "/org/bluez/hci0/dev_" + device.address.replace(":", "_")
        props = {
            "Address": device.address,
            "AddressType": "public",
            "Alias": device.address.replace(":", "-"),
            "RSSI": adv.rssi,
            "UUIDs": [],
            "ServiceData": dict(adv.service_data),
            "ManufacturerData": {},
        }
        from bleak.backends.bluezdbus.scanner import BleakScannerBlueZDBus

        backend = bleak_scanner._backend
        assert isinstance(backend, BleakScannerBlueZDBus)
        backend._handle_advertising_data(path, props)  # type: ignore[arg-type]
        await tag.stop()

    asyncio.run(scenario())
    assert rig.values("lab/temperature") == [20.91]
    assert rig.values("lab/rssi") == [-62]


def test_without_bluez_the_start_fails_with_what_to_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path}/no_system_bus_socket")
    rig = Rig()
    tag = rig.tag("lab", address="A4:C1:38:8D:18:B2", backend="bleak")

    async def scenario() -> None:
        with pytest.raises(DriverError) as caught:
            await tag.start()
        assert rig.resources.users("ble.scanner:hci0") == 0
        message = str(caught.value)
        assert "(bleak backend) cannot start: FileNotFoundError" in message
        assert "bluetoothd is not reachable" in message

    asyncio.run(scenario())
