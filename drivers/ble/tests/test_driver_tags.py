"""One tag through the driver: repeats, staleness, the publishing cap, replay protection.

Advertisements are built with the firmware encoders of :mod:`drivers.ble.payloads` (checked
byte for byte against captures in test_payloads.py) and delivered through the scanner's
detection callback as bleak's objects; time is a ManualClock, so nothing here sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from drivers.ble import BTHOME_UUID, ENVIRONMENTAL_SENSING_UUID, payloads
from drivers.ble.driver import BleTagDriver
from drivers.ble.payloads import Measurement
from drivers.ble.tests.rig import Rig, advertisement
from edge_agent import units
from edge_agent.errors import DriverError
from edge_agent.readings import Quality

MAC = "A4:C1:38:8D:18:B2"
KEY_HEX = "231d39c1d7cc1ab1aee224cd096db932"
KEY = bytes.fromhex(KEY_HEX)


def measurement(counter: int, temperature: float = 21.5, flags: int = 0) -> Measurement:
    return Measurement(MAC, temperature, 45.0, 80, 2920, counter, flags=flags)


Advert = tuple[BLEDevice, AdvertisementData]


def pvvx_advert(
    counter: int, temperature: float = 21.5, *, rssi: int = -60, flags: int = 0
) -> Advert:
    payload = payloads.pvvx(measurement(counter, temperature, flags))
    return advertisement(MAC, service_data={ENVIRONMENTAL_SENSING_UUID: payload}, rssi=rssi)


@contextlib.contextmanager
def running(rig: Rig, *tags: BleTagDriver) -> Iterator[asyncio.AbstractEventLoop]:
    """Start the tags on a fresh loop, and stop them when the block ends."""
    loop = asyncio.new_event_loop()
    try:
        for tag in tags:
            loop.run_until_complete(tag.start())
        yield loop
        for tag in tags:
            loop.run_until_complete(tag.stop())
    finally:
        loop.close()


def deliver(rig: Rig, advert: Advert) -> None:
    rig.scanner().on_advertisement(*advert)


def test_repeated_advertisements_of_one_measurement_are_published_once() -> None:
    rig = Rig()
    tag = rig.tag(address=MAC, format="pvvx")
    with running(rig, tag):
        for counter in (10, 11):
            for _ in range(4):  # the firmware sends each measurement four times
                deliver(rig, pvvx_advert(counter, rssi=-60 - counter))
                rig.clock.advance(2.5)
    assert rig.streams() == [
        "lab/online",
        *[f"lab/{q}" for q in ("temperature", "humidity", "battery", "battery_voltage", "rssi")],
        *[f"lab/{q}" for q in ("temperature", "humidity", "battery", "battery_voltage", "rssi")],
    ]
    assert rig.values("lab/rssi") == [-70, -71]
    assert (tag.tracker.new, tag.tracker.repeats) == (2, 6)


def test_same_packet_id_with_other_bytes_is_still_a_repeat() -> None:
    """pvvx sends its trigger flags live; a flag change between repeats is no new measurement."""
    rig = Rig()
    tag = rig.tag(address=MAC, format="pvvx")
    with running(rig, tag):
        deliver(rig, pvvx_advert(5, flags=0))
        deliver(rig, pvvx_advert(5, flags=1))
        deliver(rig, pvvx_advert(5, flags=1))
    assert rig.values("lab/temperature") == [21.5]
    assert tag.tracker.repeats == 2


def test_after_an_outage_the_next_new_packet_is_published() -> None:
    rig = Rig()
    tag = rig.tag(address=MAC, format="pvvx")
    with running(rig, tag):
        deliver(rig, pvvx_advert(200, 20.0))
        rig.clock.advance(3600)
        deliver(rig, pvvx_advert(200, 22.0))  # the 8-bit counter came round to the same value
        rig.clock.advance(10)
        deliver(rig, pvvx_advert(201, 22.5))
    assert rig.values("lab/temperature") == [20.0, 22.5]


def test_interval_is_learnt_and_silence_flags_the_tag_stale() -> None:
    rig = Rig()
    tag = rig.tag(address=MAC, format="pvvx")
    with running(rig, tag):
        for counter in range(6):
            deliver(rig, pvvx_advert(counter, 20.0 + counter / 10))
            rig.clock.advance(10.0)
        assert tag.tracker.interval == 10.0
        assert tag.expected_gap() == 10.0
        rig.take()
        rig.clock.advance(49.0)  # 59 s after the last measurement: stale limit is 60 s
        assert not tag.check_stale()
        assert rig.readings == []
        rig.clock.advance(1.0)
        assert tag.check_stale()
        assert not tag.check_stale()  # flagged once
        stale = rig.take()
        assert stale[0].stream == "lab/online" and stale[0].value is False
        assert stale[0].quality == Quality.GOOD
        by_stream = {r.stream: r for r in stale[1:]}
        assert by_stream["lab/temperature"].value == 20.5  # the last value seen
        assert by_stream["lab/rssi"].unit == units.DECIBEL_MILLIWATT
        assert all(r.quality == Quality.STALE for r in stale[1:])
        assert all(r.time == rig.clock.now() for r in stale)
        rig.clock.advance(300.0)
        deliver(rig, pvvx_advert(6, 19.0))
        back = rig.take()
        assert (back[0].stream, back[0].value) == ("lab/online", True)
        assert [r.value for r in back if r.stream == "lab/temperature"] == [19.0]
        assert all(r.quality == Quality.GOOD for r in back)
        assert tag.tracker.interval == 10.0  # the outage was not learnt


def test_stale_after_overrides_the_learnt_limit() -> None:
    rig = Rig()
    tag = rig.tag(address=MAC, format="pvvx", stale_after="15s")
    with running(rig, tag):
        deliver(rig, pvvx_advert(1))
        rig.clock.advance(14.9)
        assert not tag.check_stale()
        rig.clock.advance(0.1)
        assert tag.check_stale()


def test_a_tag_never_heard_is_never_flagged() -> None:
    rig = Rig()
    tag = rig.tag(address=MAC, format="pvvx")
    with running(rig, tag):
        rig.clock.advance(86400)
        assert not tag.check_stale()
    assert rig.readings == []


def test_interval_caps_how_often_measurements_are_published() -> None:
    rig = Rig()
    tag = rig.tag(address=MAC, format="pvvx", interval=30.0)
    with running(rig, tag):
        for counter in range(13):  # a measurement every 10 s for two minutes
            deliver(rig, pvvx_advert(counter, 20.0 + counter))
            rig.clock.advance(10.0)
    assert rig.values("lab/temperature") == [20.0, 23.0, 26.0, 29.0, 32.0]
    assert tag.tracker.held_back == 8


def bthome_advert(counter: int, encryption_counter: int, *, key: bytes = KEY) -> Advert:
    payload = payloads.bthome(
        measurement(counter), bind_key=key, encryption_counter=encryption_counter
    )
    return advertisement(MAC, service_data={BTHOME_UUID: payload})


def test_encrypted_bthome_with_a_replayed_counter_is_refused() -> None:
    rig = Rig()
    tag = rig.tag(address=MAC, format="bthome", bind_key=KEY_HEX)
    adverts = [
        bthome_advert(1, 5000),
        bthome_advert(2, 5001),
        bthome_advert(1, 5000),  # recorded and sent again by someone else
        bthome_advert(3, 5002),
        bthome_advert(4, 3),  # the tag restarted: its counter starts afresh
    ]
    with running(rig, tag):
        for advert in adverts:
            deliver(rig, advert)
            rig.clock.advance(10.0)
    assert len(rig.values("lab/temperature")) == 4
    assert dict(tag.input_errors) == {"bthome_replayed": 1}


def test_encrypted_bthome_with_another_key_is_counted_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig = Rig()
    tag = rig.tag(address=MAC, format="bthome", bind_key=KEY_HEX)
    other_key = bytes(range(16))
    with running(rig, tag):
        for counter in range(3):
            advert = bthome_advert(counter, 100 + counter, key=other_key)
            deliver(rig, advert)
            deliver(rig, advert)  # repeats are counted without decrypting again
    assert dict(tag.input_errors) == {"bthome_decrypt_failed": 6}
    assert rig.readings == []
    ours = [
        r for r in caplog.records if r.name.startswith("edge_agent") and r.levelname == "WARNING"
    ]
    assert len(ours) == 1 and "bthome_decrypt_failed" in ours[0].getMessage()
    assert KEY_HEX not in caplog.text


def test_run_raises_driver_error_when_the_scanner_failed() -> None:
    rig = Rig()
    tag = rig.tag(address=MAC, format="pvvx")

    async def scenario() -> None:
        await tag.start()
        scanner = rig.scanner()
        runner = asyncio.create_task(tag.run())
        await asyncio.sleep(0)
        assert not runner.done()
        scanner.failure = DriverError("BLE scanner on hci0 (simulated backend) cannot restart")
        scanner.failed.set()
        with pytest.raises(DriverError, match="cannot restart"):
            await asyncio.wait_for(runner, timeout=30)
        await tag.stop()

    asyncio.run(scenario())
