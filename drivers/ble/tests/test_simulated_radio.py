"""The simulated backend: tags in every format, through the same decoders as real ones."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from drivers.ble import BTHOME_UUID
from drivers.ble.scanner import TagProfile
from drivers.ble.simulated_radio import SimulatedRadio
from drivers.ble.tests.rig import Rig
from edge_agent.readings import Quality, Reading

KEY_HEX = "231d39c1d7cc1ab1aee224cd096db932"
TAGS: dict[str, dict[str, Any]] = {
    "atc": {"address": "A4:C1:38:02:83:F4", "format": "atc1441"},
    "pvvx": {"address": "A4:C1:38:8D:18:B2", "format": "pvvx"},
    "bthome": {"address": "A4:C1:38:63:37:8B", "format": "bthome", "bind_key": KEY_HEX},
    "ruuvi": {"address": "CB:B8:33:4C:88:4F", "format": "ruuvi"},
    "auto": {"address": "A4:C1:38:BC:7C:4E"},
}
PLAUSIBLE = {
    "temperature": (10.0, 30.0),
    "humidity": (20.0, 80.0),
    "battery": (70, 100),
    "battery_voltage": (2.8, 3.2),
    "pressure": (1000.0, 1030.0),
    "rssi": (-90, -50),
    "movement_count": (0, 255),
}


def simulate(minutes: float, *, interval: float = 0.0) -> tuple[Rig, list[Reading]]:
    """Every tag of TAGS on one simulated radio for ``minutes`` of ManualClock time."""
    rig = Rig()
    tags = [rig.tag(name, interval=interval, **options) for name, options in TAGS.items()]

    async def scenario() -> None:
        for tag in tags:
            await tag.start()
        radio = rig.scanner().radio
        assert isinstance(radio, SimulatedRadio)
        for _ in range(round(minutes * 60 / 0.1)):
            rig.clock.advance(0.1)
            radio.step()
        for tag in tags:
            await tag.stop()

    asyncio.run(scenario())
    return rig, rig.readings


def test_every_format_decodes_to_plausible_readings() -> None:
    rig, readings = simulate(5)
    for tag in rig.drivers:
        assert not tag.input_errors, (tag.sensor, tag.input_errors)
        assert tag.tracker.new >= 25, tag.sensor  # 5 min of 10 s (or 1.3 s) measurements
        assert rig.values(f"{tag.sensor}/online") == [True]
    for reading in readings:
        quantity = reading.stream.split("/")[1]
        if quantity == "online":
            continue
        low, high = PLAUSIBLE[quantity]
        assert isinstance(reading.value, int | float), reading
        assert low <= reading.value <= high, reading
        assert reading.quality == Quality.GOOD
    assert set(rig.streams("ruuvi/")) >= {"ruuvi/pressure", "ruuvi/movement_count"}
    assert "atc/battery" in rig.streams("atc/")


def test_firmware_timing_is_imitated_and_learnt() -> None:
    rig, _ = simulate(5)
    tags = {tag.sensor: tag for tag in rig.drivers}
    for name in ("atc", "pvvx", "bthome", "auto"):
        assert tags[name].tracker.interval == pytest.approx(10.0, rel=0.1), name
        assert tags[name].tracker.repeats > tags[name].tracker.new  # 4 adverts each, 10 % lost
    assert tags["ruuvi"].tracker.interval == pytest.approx(1.285, rel=0.1)
    assert tags["ruuvi"].tracker.repeats == 0


def test_a_tag_configured_auto_is_imitated_as_pvvx() -> None:
    rig, _ = simulate(1)
    auto = next(t for t in rig.drivers if t.sensor == "auto")
    assert auto._last_sample is not None and auto._last_sample.format.value == "pvvx"


def test_bthome_tags_encrypt_with_the_configured_key() -> None:
    seen: list[bytes] = []
    radio = SimulatedRadio("hci0", logger=logging.getLogger("test"), monotonic=lambda: 100.0)
    radio.add_tag(TagProfile("A4:C1:38:63:37:8B", "bthome", bytes.fromhex(KEY_HEX)))
    radio.add_tag(TagProfile("A4:C1:38:63:37:8C", "bthome"))
    radio.callback = lambda device, adv: seen.append(adv.service_data.get(BTHOME_UUID, b""))
    radio.miss_rate = 0.0
    radio.step(200.0)
    encrypted = [p for p in seen if p and p[0] & 0x01]
    plain = [p for p in seen if p and not p[0] & 0x01]
    assert encrypted and plain


def test_the_same_seed_gives_the_same_room() -> None:
    _, first = simulate(2)
    _, second = simulate(2)
    assert first == second


def test_interval_caps_what_the_simulated_tags_publish() -> None:
    rig, _ = simulate(5, interval=60.0)
    for tag in rig.drivers:
        assert 5 <= len(rig.values(f"{tag.sensor}/temperature")) <= 6, tag.sensor


def test_bystanders_are_counted_not_decoded() -> None:
    rig = Rig()
    tag = rig.tag("solo", **TAGS["pvvx"])

    async def scenario() -> None:
        await tag.start()
        scanner = rig.scanner()
        radio = scanner.radio
        assert isinstance(radio, SimulatedRadio)
        for _ in range(120):
            rig.clock.advance(0.5)
            radio.step()
        assert scanner.counts["unknown_address"] >= 60 + 12  # phone every 1 s, thermometer 5 s
        await tag.stop()

    asyncio.run(scenario())
    assert not tag.input_errors


def test_the_radio_task_delivers_in_real_time() -> None:
    """No ManualClock: the radio's own task runs, as in the demo (waits with a generous timeout)."""
    from drivers.ble.driver import BleTagDriver
    from drivers.ble.options import BleTagOptions
    from edge_agent.clock import SystemClock
    from edge_agent.resources import Resources

    readings: list[Reading] = []
    tag = BleTagDriver(
        "ruuvi",
        BleTagOptions(address="CB:B8:33:4C:88:4F", format="ruuvi", backend="simulated"),
        interval=0.001,
        publish=readings.append,
        clock=SystemClock(trust=True),
        logger=logging.getLogger("edge_agent.test.ble.realtime"),
        resources=Resources(),
    )

    async def scenario() -> None:
        await tag.start()
        runner = asyncio.create_task(tag.run())
        try:
            async with asyncio.timeout(60):
                while tag.tracker.new < 1:
                    await asyncio.sleep(0.05)
        finally:
            runner.cancel()
            with pytest.raises(asyncio.CancelledError):
                await runner
            await tag.stop()

    asyncio.run(scenario())
    assert "ruuvi/temperature" in {r.stream for r in readings}
