"""The simulated radio's encoders produce what real tags sent, byte for byte.

Each captured case with a fully known sample is encoded again from its decoded values and
compared with the captured bytes; BTHome (whose captures carry other objects than a
thermometer firmware sends) is checked by decoding, with the right key and a wrong one.
"""

from __future__ import annotations

from typing import Any

import pytest

from drivers.ble import (
    BTHOME_UUID,
    ENVIRONMENTAL_SENSING_UUID,
    RUUVI_COMPANY_ID,
    decode_advertisement,
    decode_bthome,
    parse_hex_dump,
    payloads,
)
from drivers.ble.custom_firmware import PVVX_FLAGS
from drivers.ble.payloads import Measurement
from drivers.ble.tests.rig import CASES, case_names, load_case
from edge_agent.errors import ParseError

KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")


def fully_known(name: str) -> bool:
    sample = load_case(name).expected.get("sample")
    if not sample or sample["format"] not in ("atc1441", "pvvx", "ruuvi_df5"):
        return False
    needed = ("temperature_c", "packet_id", "payload_mac")
    return all(sample.get(key) is not None for key in needed)


ENCODABLE = [name for name in case_names() if fully_known(name)]


def measurement_of(sample: dict[str, Any]) -> Measurement:
    flags = sum(bit for bit, key in PVVX_FLAGS if sample["extra"].get(key))
    return Measurement(
        mac=sample["payload_mac"],
        temperature_c=sample["temperature_c"],
        humidity_pct=sample["humidity_pct"],
        battery_pct=sample.get("battery_pct") or 0,
        battery_mv=sample["battery_mv"],
        counter=sample["packet_id"],
        pressure_hpa=sample.get("pressure_hpa") or 0.0,
        acceleration_mg=tuple(sample.get("acceleration_mg") or (0, 0, 0)),
        tx_power_dbm=sample.get("tx_power_dbm") or 0,
        movement_count=sample.get("movement_count") or 0,
        flags=flags,
    )


def test_enough_cases_are_encoded() -> None:
    formats = {load_case(n).expected["sample"]["format"] for n in ENCODABLE}
    assert formats == {"atc1441", "pvvx", "ruuvi_df5"}


@pytest.mark.parametrize("name", ENCODABLE)
def test_encoder_reproduces_the_captured_payload(name: str) -> None:
    case = load_case(name)
    sample = case.expected["sample"]
    _, adv = case.adverts[0]
    m = measurement_of(sample)
    if sample["format"] == "ruuvi_df5":
        assert payloads.ruuvi_df5(m) == adv.manufacturer_data[RUUVI_COMPANY_ID]
    else:
        encode = payloads.atc1441 if sample["format"] == "atc1441" else payloads.pvvx
        assert encode(m) == adv.service_data[ENVIRONMENTAL_SENSING_UUID]


def test_whole_hci_event_is_reproduced() -> None:
    """Flags + pvvx service data in a legacy report, as the capture's controller delivered it."""
    case = load_case("pvvx_with_flags_structure")
    (captured,) = parse_hex_dump((CASES / case.name / "input.hex").read_text(encoding="ascii"))
    data = payloads.service_data_ad(
        payloads.UUID_ENVIRONMENTAL_SENSING, payloads.pvvx(measurement_of(case.expected["sample"]))
    )
    event = payloads.le_advertising_report(case.address, data, rssi_dbm=-62, event_type=0)
    assert event == captured


def test_legacy_reports_carry_31_bytes_at_most() -> None:
    with pytest.raises(ValueError, match="31"):
        payloads.le_advertising_report("A4:C1:38:8D:18:B2", bytes(32), rssi_dbm=-60)


M = Measurement("A4:C1:38:8D:18:B2", -7.25, 81.5, 64, 2780, 300)


def test_bthome_plain_decodes_to_the_measurement() -> None:
    sample = decode_advertisement(M.mac, {BTHOME_UUID: payloads.bthome(M)}, {})
    assert sample is not None and not sample.encrypted
    assert (sample.temperature_c, sample.humidity_pct) == (-7.25, 81.5)
    assert (sample.battery_pct, sample.battery_mv, sample.packet_id) == (64, 2780, 300 & 0xFF)


def test_bthome_encrypted_decodes_with_its_key_only() -> None:
    data = payloads.bthome(M, bind_key=KEY, encryption_counter=0x01020304)
    sample = decode_bthome(M.mac, data, bind_key=KEY)
    assert sample.encrypted and sample.encryption_counter == 0x01020304
    assert (sample.temperature_c, sample.humidity_pct, sample.packet_id) == (-7.25, 81.5, 44)
    with pytest.raises(ParseError, match="does not decrypt"):
        decode_bthome(M.mac, data, bind_key=bytes(16))
    with pytest.raises(ParseError, match="set the device's bind key"):
        decode_bthome(M.mac, data)


def test_every_format_fits_a_legacy_advertisement() -> None:
    for data in (
        payloads.service_data_ad(payloads.UUID_ENVIRONMENTAL_SENSING, payloads.atc1441(M)),
        payloads.service_data_ad(payloads.UUID_ENVIRONMENTAL_SENSING, payloads.pvvx(M)),
        payloads.service_data_ad(payloads.UUID_BTHOME, payloads.bthome(M, bind_key=KEY)),
        payloads.manufacturer_data_ad(payloads.COMPANY_RUUVI, payloads.ruuvi_df5(M)),
    ):
        assert len(data) <= 31
        payloads.le_advertising_report(M.mac, data, rssi_dbm=-60)
