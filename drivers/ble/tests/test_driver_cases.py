"""Captured advertisements, fed as bleak's own objects into the scanner's detection callback.

Each case of ``testcases/`` is delivered to a ``ble.tag`` sensor listening on the case's
address, through :meth:`Scanner.on_advertisement` (what bleak and the simulated radio call).
A case with readings must come out as exactly those readings, plus ``lab/online`` and
``lab/rssi``; a case that does not decode must be counted under its ``input_error`` reason,
and nothing may be raised.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from drivers.ble.tests.rig import Rig, case_names, load_case
from edge_agent import units
from edge_agent.readings import Quality

CASES_WITH_READINGS = [n for n in case_names() if "readings" in load_case(n).expected]
CASES_COUNTED = [n for n in case_names() if "input_error" in load_case(n).expected]


def test_every_case_that_does_not_decode_names_its_input_error() -> None:
    failing = {n for n in case_names() if load_case(n).expected.get("sample", "x") is None}
    failing |= {n for n in case_names() if "error" in load_case(n).expected}
    assert failing == set(CASES_COUNTED)
    assert len(CASES_WITH_READINGS) >= 8


@pytest.mark.parametrize("name", CASES_WITH_READINGS)
def test_captured_case_becomes_its_readings(name: str) -> None:
    case = load_case(name)
    rig = Rig()
    options: dict[str, Any] = {"address": case.address}
    if "bind_key" in case.meta:
        options["bind_key"] = case.meta["bind_key"]
    tag = rig.tag("lab", **options)
    tolerance = float(case.expected.get("tolerance", 0.0))

    async def scenario() -> None:
        await tag.start()
        scanner = rig.scanner()
        for device, adv in case.adverts:
            scanner.on_advertisement(device, adv)
        await tag.stop()

    asyncio.run(scenario())
    _, adv = case.adverts[0]
    published = rig.readings
    assert published[0].stream == "lab/online" and published[0].value is True
    expected = case.expected["readings"]
    body = published[1 : 1 + len(expected)]
    assert [r.stream for r in body] == [r["stream"] for r in expected]
    for reading, want in zip(body, expected, strict=True):
        if isinstance(want["value"], float):
            assert reading.value == pytest.approx(want["value"], abs=tolerance, rel=0)
        else:
            assert reading.value == want["value"]
        assert reading.unit == want["unit"]
        assert reading.quality.names() == want["quality"]
        assert reading.time == rig.clock.now()
    rssi = published[1 + len(expected)]
    assert (rssi.stream, rssi.unit) == ("lab/rssi", units.DECIBEL_MILLIWATT)
    assert rssi.value == (None if adv.rssi == -127 else adv.rssi)
    assert len(published) == len(expected) + 2
    assert not tag.input_errors


@pytest.mark.parametrize("name", CASES_COUNTED)
def test_undecodable_case_is_counted_under_its_reason(name: str) -> None:
    case = load_case(name)
    rig = Rig()
    options: dict[str, Any] = {"address": case.address}
    if "bind_key" in case.meta:
        options["bind_key"] = case.meta["bind_key"]
    tag = rig.tag("lab", **options)

    async def scenario() -> None:
        await tag.start()
        scanner = rig.scanner()
        for device, adv in case.adverts * 3:  # the tag repeats it; each one is counted
            scanner.on_advertisement(device, adv)
        await tag.stop()

    asyncio.run(scenario())
    assert dict(tag.input_errors) == {case.expected["input_error"]: 3 * len(case.adverts)}
    assert rig.readings == []


def test_wrong_key_is_counted_and_the_right_key_decodes() -> None:
    """The same encrypted capture, once with the wrong key and once with the right one."""
    encrypted = load_case("bthome_v2_encrypted_spec_example")
    wrong = load_case("bthome_v2_encrypted_wrong_key")
    rig = Rig()
    right_tag = rig.tag("right", address=encrypted.address, bind_key=encrypted.meta["bind_key"])
    other = Rig()
    wrong_tag = other.tag("wrong", address=encrypted.address, bind_key=wrong.meta["bind_key"])

    async def scenario() -> None:
        for r, tag in ((rig, right_tag), (other, wrong_tag)):
            await tag.start()
            for device, adv in encrypted.adverts:
                r.scanner().on_advertisement(device, adv)
            await tag.stop()

    asyncio.run(scenario())
    assert rig.values("right/temperature") == [25.06]
    assert rig.values("right/humidity") == [50.55]
    assert not right_tag.input_errors
    assert dict(wrong_tag.input_errors) == {"bthome_decrypt_failed": 1}
    assert other.readings == []


def test_clock_not_synchronised_flags_every_reading() -> None:
    case = load_case("pvvx_with_flags_structure")
    rig = Rig(synchronized=False)
    tag = rig.tag("lab", address=case.address, format="pvvx")

    async def scenario() -> None:
        await tag.start()
        for device, adv in case.adverts:
            rig.scanner().on_advertisement(device, adv)
        await tag.stop()

    asyncio.run(scenario())
    assert rig.readings
    assert all(Quality.CLOCK_UNSYNCED in r.quality for r in rig.readings)


@pytest.mark.parametrize(
    ("case_name", "configured", "reason"),
    [
        ("pvvx_with_flags_structure", "atc1441", "format_mismatch"),
        ("atc1441_legacy_report", "pvvx", "format_mismatch"),
        ("atc1441_legacy_report", "ruuvi", "no_tag_data"),
        ("ruuvi_df5_valid", "bthome", "no_tag_data"),
    ],
)
def test_a_tag_sending_another_format_than_configured_is_counted(
    case_name: str, configured: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    case = load_case(case_name)
    rig = Rig()
    tag = rig.tag("lab", address=case.address, format=configured)

    async def scenario() -> None:
        await tag.start()
        for device, adv in case.adverts * 2:
            rig.scanner().on_advertisement(device, adv)
        await tag.stop()

    asyncio.run(scenario())
    assert dict(tag.input_errors) == {reason: 2 * len(case.adverts)}
    assert rig.readings == []
    if reason == "format_mismatch":
        warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert len([w for w in warnings if "format_mismatch" in w]) == 1, warnings
        assert any("set format =" in w for w in warnings)
