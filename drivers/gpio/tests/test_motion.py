"""gpio.motion: a PIR's pin driven with gpiozero's MockPin.drive_high/drive_low."""

from __future__ import annotations

import asyncio

from drivers.gpio.motion import MotionDriver
from drivers.gpio.tests.harness import make_driver, wait_until
from edge_agent.clock import ManualClock
from edge_agent.readings import Quality


def test_motion_events_are_counted_per_interval_and_the_state_follows_the_pin() -> None:
    clock = ManualClock(1_700_000_000.0)
    driver, recorder = make_driver(
        "gpio.motion", {"backend": "simulated", "pin": 4, "sample_rate": 50}, clock=clock
    )
    assert isinstance(driver, MotionDriver)

    async def main() -> None:
        await driver.start()
        try:
            pin = driver.factory.pin("GPIO4")
            assert pin is driver.device.pin
            assert pin.pull == "down"
            for visit in range(3):
                clock.advance(10)
                pin.drive_high()
                await wait_until(lambda: recorder.values("motion")[-1] is True, "motion")
                clock.advance(4)
                pin.drive_low()
                await wait_until(lambda: recorder.values("motion")[-1] is False, "no motion")
                assert len(recorder.values("motion")) == 1 + 2 * (visit + 1)
            await driver.poll()
            pin.drive_high()
            await wait_until(lambda: recorder.values("motion")[-1] is True, "motion")
            await driver.poll()
        finally:
            await driver.stop()

    asyncio.run(main())
    # start: no motion; three visits; the interval's count and state; a fourth visit begins.
    assert recorder.values("motion_count") == [3, 1]
    assert recorder.values("motion") == [
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
    edges = recorder.of("motion")[1:7]
    assert [r.time - 1_700_000_000.0 for r in edges] == [10, 14, 24, 28, 38, 42]
    assert all(r.unit == "" and r.quality == Quality.GOOD for r in recorder.of("motion"))
    assert {r.unit for r in recorder.of("motion_count")} == {"count"}
    assert driver.device is None and driver.factory is None


def test_an_inverted_pir_output_with_a_pull_up() -> None:
    driver, recorder = make_driver("gpio.motion", {"backend": "simulated", "pin": 17, "pull": "up"})

    async def main() -> None:
        await driver.start()
        try:
            pin = driver.factory.pin("GPIO17")
            assert pin.state is True  # pulled up: idle
            pin.drive_low()
            await wait_until(lambda: recorder.values("motion")[-1] is True, "motion")
        finally:
            await driver.stop()

    asyncio.run(main())
    assert recorder.values("motion") == [False, True]
