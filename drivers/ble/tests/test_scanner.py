"""The shared scanner: one per adapter, fan-out by address, stall restarts, failures.

The scanners here run the simulated radio (the real ``SimulatedRadio``, driven with its test
verbs ``stall``, ``pause`` and ``unplug``) on a ManualClock: the watchdog's check is called
directly after moving the clock, so nothing waits for real time.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from drivers.ble import ENVIRONMENTAL_SENSING_UUID, payloads
from drivers.ble.scanner import STALL_AFTER, Scanner, TagProfile
from drivers.ble.simulated_radio import SimulatedRadio
from drivers.ble.tests.rig import Rig, advertisement
from edge_agent.errors import DriverError

PVVX_MAC = "A4:C1:38:8D:18:B2"
RUUVI_MAC = "CB:B8:33:4C:88:4F"
KEY = "ble.scanner:hci0"


def radio_of(scanner: Scanner) -> SimulatedRadio:
    assert isinstance(scanner.radio, SimulatedRadio)
    return scanner.radio


def run_for(rig: Rig, radio: SimulatedRadio, seconds: float, step: float = 0.25) -> int:
    """Move the clock in small steps, letting the radio deliver what is due; returns deliveries."""
    delivered = 0
    for _ in range(round(seconds / step)):
        rig.clock.advance(step)
        delivered += radio.step()
    return delivered


def test_two_tags_share_one_scanner_and_get_only_their_own_advertisements() -> None:
    rig = Rig()
    window = rig.tag("window", address=PVVX_MAC, format="pvvx")
    shelf = rig.tag("shelf", address=RUUVI_MAC, format="ruuvi")

    async def scenario() -> None:
        await window.start()
        await shelf.start()
        assert window.scanner is shelf.scanner
        assert rig.resources.users(KEY) == 2
        scanner = rig.scanner()
        radio = radio_of(scanner)
        assert sorted(radio.tags) == [PVVX_MAC, RUUVI_MAC]
        assert run_for(rig, radio, 60.0) > 0
        assert scanner.counts["unknown_address"] >= 60  # the phone and the thermometer nearby
        await window.stop()
        assert rig.resources.users(KEY) == 1
        assert scanner.addresses == [RUUVI_MAC]
        before = shelf.tracker.new
        run_for(rig, radio, 10.0)
        assert shelf.tracker.new > before
        await shelf.stop()
        assert rig.resources.users(KEY) == 0
        assert radio.callback is None  # the last tag stopped the radio

    asyncio.run(scenario())
    window_streams = set(rig.streams("window/"))
    shelf_streams = set(rig.streams("shelf/"))
    assert "window/temperature" in window_streams and "window/pressure" not in window_streams
    assert "shelf/pressure" in shelf_streams and "shelf/battery" not in shelf_streams
    assert not window.input_errors and not shelf.input_errors
    assert window.tracker.repeats > 0  # pvvx sends each measurement four times


def test_each_adapter_has_its_own_scanner() -> None:
    rig = Rig()
    first = rig.tag("first", address=PVVX_MAC, adapter="hci0")
    second = rig.tag("second", address=RUUVI_MAC, adapter="hci1")

    async def scenario() -> None:
        await first.start()
        await second.start()
        assert first.scanner is not second.scanner
        assert (
            rig.resources.users("ble.scanner:hci0"),
            rig.resources.users("ble.scanner:hci1"),
        ) == (1, 1)
        await first.stop()
        await second.stop()

    asyncio.run(scenario())


def test_a_tag_asking_for_another_backend_on_the_same_adapter_is_refused() -> None:
    rig = Rig()
    simulated = rig.tag("simulated-tag", address=PVVX_MAC)
    real = rig.tag("real-tag", address=RUUVI_MAC, backend="bleak")

    async def scenario() -> None:
        await simulated.start()
        with pytest.raises(DriverError, match="already runs the 'simulated' backend"):
            await real.start()
        assert rig.resources.users(KEY) == 1
        await simulated.stop()

    asyncio.run(scenario())


def test_one_address_configured_twice_is_refused() -> None:
    rig = Rig()
    first = rig.tag("first", address=PVVX_MAC)
    again = rig.tag("again", address=PVVX_MAC.lower())

    async def scenario() -> None:
        await first.start()
        with pytest.raises(DriverError, match="already read on hci0"):
            await again.start()
        assert rig.resources.users(KEY) == 1
        await first.stop()

    asyncio.run(scenario())


def test_stall_restarts_the_radio_and_counts_it(caplog: pytest.LogCaptureFixture) -> None:
    rig = Rig()
    tag = rig.tag(address=PVVX_MAC, format="pvvx")

    async def scenario() -> None:
        await tag.start()
        scanner = rig.scanner()
        radio = radio_of(scanner)
        run_for(rig, radio, 60.0)
        assert not await scanner.check_stall()
        radio.stall()  # BlueZ stops reporting, without an error
        assert run_for(rig, radio, STALL_AFTER - 5) == 0
        assert not await scanner.check_stall()
        assert run_for(rig, radio, 5.0) == 0
        with caplog.at_level(logging.WARNING):
            assert await scanner.check_stall()
        assert scanner.restarts == 1
        assert run_for(rig, radio, 10.0) > 0  # advertisements flow again
        assert not await scanner.check_stall()
        await tag.stop()

    asyncio.run(scenario())
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("heard nothing for 120 s" in w and "restart 1" in w for w in warnings), warnings


def test_restarts_that_bring_nothing_back_off_until_something_arrives() -> None:
    rig = Rig()
    tag = rig.tag(address=PVVX_MAC, format="pvvx")

    async def scenario() -> None:
        await tag.start()
        scanner = rig.scanner()
        radio = radio_of(scanner)
        run_for(rig, radio, 30.0)
        radio.pause()  # every tag gone: restarting does not help
        limits = []
        for _ in range(4):
            limits.append(scanner.stall_limit)
            run_for(rig, radio, scanner.stall_limit, step=5.0)
            assert await scanner.check_stall()
        assert limits == [120.0, 240.0, 480.0, 960.0]
        assert scanner.restarts == 4
        radio.resume()
        run_for(rig, radio, 30.0)
        assert not await scanner.check_stall()
        assert scanner.stall_limit == 120.0
        await tag.stop()

    asyncio.run(scenario())


def test_stall_limit_waits_for_the_slowest_tag() -> None:
    rig = Rig()
    tag = rig.tag(address=PVVX_MAC, format="pvvx")

    async def scenario() -> None:
        await tag.start()
        scanner = rig.scanner()
        for counter in range(5):  # a tag that measures every 90 s
            m = payloads.Measurement(PVVX_MAC, 20.0, 40.0, 90, 3000, counter)
            service_data = {ENVIRONMENTAL_SENSING_UUID: payloads.pvvx(m)}
            scanner.on_advertisement(*advertisement(PVVX_MAC, service_data=service_data))
            rig.clock.advance(90.0)
        assert tag.expected_gap() == 90.0
        assert scanner.stall_limit == 270.0
        await tag.stop()

    asyncio.run(scenario())


def test_failed_restart_fails_every_tag_until_the_adapter_is_back() -> None:
    rig = Rig()
    window = rig.tag("window", address=PVVX_MAC, format="pvvx")
    shelf = rig.tag("shelf", address=RUUVI_MAC, format="ruuvi")

    async def scenario() -> None:
        await window.start()
        await shelf.start()
        scanner = rig.scanner()
        radio = radio_of(scanner)
        runners = [asyncio.create_task(t.run()) for t in (window, shelf)]
        run_for(rig, radio, 10.0)
        radio.stall()
        radio.unplug()  # the USB adapter fell out
        run_for(rig, radio, STALL_AFTER)
        assert await scanner.check_stall()
        assert scanner.failure is not None
        for runner in runners:
            with pytest.raises(DriverError, match=r"cannot restart.*adapter 'hci0' not found"):
                await asyncio.wait_for(runner, timeout=30)
        # The supervisor stops each driver and starts it again after a backoff.
        await window.stop()
        with pytest.raises(DriverError, match="adapter does not exist"):
            await window.start()  # shelf still holds the failed scanner: window recovers it
        assert rig.resources.users(KEY) == 1
        radio.plug_in()
        await window.start()
        assert scanner.failure is None
        assert window.scanner is scanner and rig.resources.users(KEY) == 2
        before = window.tracker.new
        run_for(rig, radio, 30.0)
        assert window.tracker.new > before
        await window.stop()
        await shelf.stop()
        assert rig.resources.users(KEY) == 0

    asyncio.run(scenario())


def test_a_scanner_whose_radio_cannot_start_is_not_kept() -> None:
    resources = Rig().resources
    radio = SimulatedRadio("hci3", logger=logging.getLogger("test"))
    radio.unplug()

    async def scenario() -> None:
        scanner = Scanner("hci3", radio, logger=logging.getLogger("test"))
        with pytest.raises(
            DriverError, match=r"cannot start: BleakError: adapter 'hci3' not found"
        ):
            await resources.acquire("ble.scanner:hci3", lambda: scanner, Scanner)
        assert resources.users("ble.scanner:hci3") == 0
        radio.plug_in()
        assert await resources.acquire("ble.scanner:hci3", lambda: scanner, Scanner) is scanner
        await resources.release("ble.scanner:hci3")
        assert radio.callback is None

    asyncio.run(scenario())


def test_a_listener_that_raises_is_counted_and_never_reaches_the_radio() -> None:
    class Clumsy:
        """A listener of another kind than ble.tag, with a bug."""

        profile = TagProfile("11:22:33:44:55:66", "auto")

        def expected_gap(self) -> float:
            return 0.0

        def on_advertisement(self, device: BLEDevice, adv: AdvertisementData) -> None:
            raise KeyError(device.address)

    rig = Rig()
    tag = rig.tag(address=PVVX_MAC)

    async def scenario() -> None:
        await tag.start()
        scanner = rig.scanner()
        scanner.subscribe(Clumsy())
        scanner.on_advertisement(*advertisement("11:22:33:44:55:66"))
        assert scanner.counts["listener_failed"] == 1
        scanner.unsubscribe("11:22:33:44:55:66")
        await tag.stop()

    asyncio.run(scenario())
