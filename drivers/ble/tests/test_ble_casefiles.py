"""The test cases in ``testcases/``: captured advertisements and what they must decode to.

Each folder holds ``input.hex`` (hex bytes; ``# key: value`` header lines say what the bytes
are), ``expected.json`` and ``SOURCE.md`` (where the bytes come from). ``kind`` is one of
``hci_event`` (a whole HCI event, as ``hcidump -R`` prints it), ``ad_structures`` (advertising
data as sent on air), ``service_data`` (with ``uuid``) or ``manufacturer_data`` (with
``company_id``).
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from drivers.ble import (
    Advertisement,
    BleSample,
    bind_key_from_hex,
    decode_advertisement,
    parse_ad_structures,
    parse_hci_le_advertising_report,
    parse_hex_dump,
    to_readings,
    uuid16,
)
from drivers.ble.hci import AdvertisingData
from edge_agent.errors import ParseError

CASES = Path(__file__).parent / "testcases"
CASE_NAMES = sorted(path.name for path in CASES.iterdir() if path.is_dir())
_META = re.compile(r"^#\s*([a-z_]+):\s*(.*?)\s*$", re.MULTILINE)


def _load(name: str) -> tuple[dict[str, str], list[bytes], dict[str, Any]]:
    text = (CASES / name / "input.hex").read_text(encoding="ascii")
    expected = json.loads((CASES / name / "expected.json").read_text(encoding="utf-8"))
    return dict(_META.findall(text)), parse_hex_dump(text), expected


def _decode(meta: dict[str, str], packets: list[bytes]) -> tuple[object, BleSample | None]:
    """What the case's input parses to (advertisements or AD data) and its decoded sample."""
    key = bind_key_from_hex(meta["bind_key"]) if "bind_key" in meta else None
    kind = meta["kind"]
    if kind == "hci_event":
        ads = [ad for packet in packets for ad in parse_hci_le_advertising_report(packet)]
        first = ads[0]
        sample = decode_advertisement(
            first.address, first.service_data, first.manufacturer_data, bind_key=key
        )
        return ads, sample
    (payload,) = packets
    if kind == "ad_structures":
        data = parse_ad_structures(payload)
        return data, decode_advertisement(
            meta["address"], data.service_data, data.manufacturer_data, bind_key=key
        )
    if kind == "service_data":
        service_data = {uuid16(int(meta["uuid"], 16)): payload}
        return None, decode_advertisement(meta["address"], service_data, {}, bind_key=key)
    if kind == "manufacturer_data":
        manufacturer_data = {int(meta["company_id"], 16): payload}
        return None, decode_advertisement(meta["address"], {}, manufacturer_data, bind_key=key)
    raise AssertionError(f"unknown case kind {kind!r}")


def _ad_as_json(ad: Advertisement | AdvertisingData) -> dict[str, object]:
    data: dict[str, object] = {
        "local_name": ad.local_name,
        "service_data": {uuid: value.hex() for uuid, value in ad.service_data.items()},
        "manufacturer_data": {str(cid): value.hex() for cid, value in ad.manufacturer_data.items()},
        "service_uuids": list(ad.service_uuids),
    }
    if isinstance(ad, Advertisement):
        data |= {
            "address": ad.address,
            "address_type": ad.address_type,
            "event_type": ad.event_type,
            "rssi_dbm": ad.rssi_dbm,
            "extended": ad.extended,
        }
    return data


def _assert_close(actual: object, expected: object, tolerance: float, where: str) -> None:
    if isinstance(expected, float) and isinstance(actual, float):
        assert actual == pytest.approx(expected, abs=tolerance, rel=0), where
    else:
        assert actual == expected, where


def _assert_sample(sample: BleSample, expected: dict[str, Any], tolerance: float) -> None:
    unknown = set(expected) - {field.name for field in dataclasses.fields(BleSample)}
    assert not unknown, f"expected.json names fields BleSample does not have: {unknown}"
    for field in dataclasses.fields(BleSample):
        default = field.default_factory() if callable(field.default_factory) else field.default
        want = expected.get(field.name, default)
        got: object = getattr(sample, field.name)
        if isinstance(got, tuple):
            got = list(got)
        elif field.name == "extra":
            got = dict(sample.extra)
        elif field.name == "format":
            got = str(got)
        _assert_close(got, want, tolerance, field.name)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_decodes_as_expected(name: str) -> None:
    meta, packets, expected = _load(name)
    if "error" in expected:
        with pytest.raises(ParseError, match=re.escape(expected["error"])):
            _decode(meta, packets)
        return
    parsed, sample = _decode(meta, packets)
    if "advertisements" in expected:
        assert isinstance(parsed, list)
        assert [_ad_as_json(ad) for ad in parsed] == expected["advertisements"]
    if "advertising_data" in expected:
        assert isinstance(parsed, AdvertisingData)
        assert _ad_as_json(parsed) == expected["advertising_data"]
    tolerance = float(expected.get("tolerance", 0.0))
    if expected["sample"] is None:
        assert sample is None
        return
    assert sample is not None
    _assert_sample(sample, expected["sample"], tolerance)
    if "readings" in expected:
        readings = to_readings(sample, "lab", 0.0)
        assert [r.stream for r in readings] == [r["stream"] for r in expected["readings"]]
        for reading, want in zip(readings, expected["readings"], strict=True):
            _assert_close(reading.value, want["value"], tolerance, reading.stream)
            assert reading.unit == want["unit"]
            assert reading.quality.names() == want["quality"]
            assert reading.time == 0.0


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_has_its_source_written_down(name: str) -> None:
    source = (CASES / name / "SOURCE.md").read_text(encoding="utf-8")
    assert "http" in source or "constructed" in source.lower(), (
        f"{name}/SOURCE.md must say where the bytes came from"
    )
