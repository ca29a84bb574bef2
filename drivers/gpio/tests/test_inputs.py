"""gpio.input: edges from MockPin.drive_high/drive_low, counted, and debounced by the driver.

gpiozero's MockPin ignores ``bounce``; the driver's own debouncing is what these tests show,
and it works the same on lgpio and RPi.GPIO.
"""

from __future__ import annotations

import asyncio
from typing import Any

from drivers.gpio.inputs import DigitalInputDriver
from drivers.gpio.tests.harness import Recorder, make_driver, wait_until
from edge_agent.clock import ManualClock

T0 = 1_700_000_000.0


def run(options: dict[str, Any], scenario: Any) -> tuple[DigitalInputDriver, Recorder]:
    clock = ManualClock(T0)
    driver, recorder = make_driver("gpio.input", {"backend": "simulated", **options}, clock=clock)
    assert isinstance(driver, DigitalInputDriver)

    async def main() -> None:
        await driver.start()
        try:
            await scenario(driver, driver.factory.pin(driver.options.pin), clock, recorder)
        finally:
            await driver.stop()

    asyncio.run(main())
    return driver, recorder


async def settled(driver: DigitalInputDriver, raw_edges: int) -> None:
    """Wait until the driver has seen ``raw_edges`` edges and decided every one."""
    await wait_until(
        lambda: driver.raw_edges == raw_edges and not driver.debouncer.pending,
        f"{raw_edges} edges, settled",
    )


def test_a_chattering_door_contact_counts_once_each_way() -> None:
    async def scenario(
        driver: DigitalInputDriver, pin: Any, clock: ManualClock, recorder: Recorder
    ) -> None:
        assert pin.pull == "up" and pin.state is True  # contact open: pulled up, inactive
        clock.advance(5)
        pin.drive_low()  # the door closes: the reed contact chatters
        clock.advance(0.001)
        pin.drive_high()
        pin.drive_low()
        await settled(driver, 3)
        clock.advance(60)
        pin.drive_high()  # a glitch on the cable, shorter than the bounce time
        pin.drive_low()
        await settled(driver, 5)
        assert len(recorder.values("state")) == 2  # start, closed
        clock.advance(60)
        pin.drive_high()  # the door opens
        pin.drive_low()
        pin.drive_high()
        await settled(driver, 8)
        await driver.poll()

    driver, recorder = run({"pin": 27, "bounce_time": "30ms"}, scenario)
    assert recorder.values("state") == [False, True, False, False]
    closed, opened = recorder.of("state")[1:3]
    assert closed.time == T0 + 5  # dated at the first edge of the chatter
    assert opened.time == T0 + 125.001
    assert recorder.values("activations") == [1]
    assert recorder.values("deactivations") == [1]
    assert driver.raw_edges == 8


def test_without_a_bounce_time_every_edge_counts() -> None:
    async def scenario(
        driver: DigitalInputDriver, pin: Any, clock: ManualClock, recorder: Recorder
    ) -> None:
        for _ in range(3):  # a rain switch tipping three times
            pin.drive_low()
            pin.drive_high()
        await settled(driver, 6)
        await driver.poll()
        pin.drive_low()
        await settled(driver, 7)
        await driver.poll()

    _driver, recorder = run({"pin": 22}, scenario)
    assert recorder.values("activations") == [3, 1]
    assert recorder.values("deactivations") == [3, 0]
    assert recorder.values("state") == [
        False,
        True,
        False,
        True,
        False,
        True,
        False,
        False,
        True,
        True,
    ]


def test_a_floating_pin_active_low() -> None:
    async def scenario(
        driver: DigitalInputDriver, pin: Any, clock: ManualClock, recorder: Recorder
    ) -> None:
        assert pin.pull == "floating" and pin.state is False  # low: active
        pin.drive_high()
        await settled(driver, 1)
        pin.drive_low()
        await settled(driver, 2)

    _driver, recorder = run({"pin": 5, "pull": "floating", "active_state": False}, scenario)
    assert recorder.values("state") == [True, False, True]
