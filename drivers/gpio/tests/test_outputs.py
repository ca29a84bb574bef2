"""gpio.output: the handle experiments use switches the mock pin and records every change."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from drivers.gpio.outputs import Output, OutputDriver
from drivers.gpio.tests.harness import SENSOR, Recorder, make_driver, wait_until
from edge_agent.errors import ConfigError, DriverError
from edge_agent.resources import Resources


def run(options: dict[str, Any], scenario: Any) -> tuple[OutputDriver, Recorder, Resources]:
    resources = Resources()
    driver, recorder = make_driver(
        "gpio.output", {"backend": "simulated", **options}, resources=resources
    )
    assert isinstance(driver, OutputDriver)

    async def main() -> None:
        await driver.start()
        try:
            handle = resources.lookup("output", SENSOR, Output)
            await scenario(handle, driver.factory.pin(driver.options.pin), recorder)
        finally:
            await driver.stop()

    asyncio.run(main())
    return driver, recorder, resources


def pin_history(pin: Any) -> list[bool]:
    return [bool(s.state) for s in pin.states]


def test_on_off_and_blink_switch_the_pin_and_record_each_change() -> None:
    async def scenario(out: Output, pin: Any, recorder: Recorder) -> None:
        assert pin.function == "output" and pin.state is False
        assert recorder.values("state") == [False]
        out.on()
        assert pin.state is True and out.state is True
        out.on()  # no change, no reading
        out.off()
        assert pin.state is False
        await out.blink(0.01, 0.01, n=2)
        assert not out.blinking
        assert pin_history(pin) == [False, True, False, True, False, True, False]
        assert recorder.values("state") == [False, True, False, True, False, True, False]
        out.on()

    _driver, recorder, resources = run({"pin": 18}, scenario)
    assert recorder.values("state")[-2:] == [True, False]  # stopping switched it off
    assert all(r.stream == "s/state" and r.unit == "" for r in recorder.readings)
    times = [r.time for r in recorder.readings]
    assert times == sorted(times)
    with pytest.raises(ConfigError, match="unknown output 's'"):
        resources.lookup("output", SENSOR, Output)


def test_active_low_output_drives_the_pin_low_for_on() -> None:
    async def scenario(out: Output, pin: Any, recorder: Recorder) -> None:
        assert pin.state is True  # off
        out.on()
        assert pin.state is False
        out.toggle()
        assert pin.state is True and out.state is False

    _driver, recorder, _resources = run({"pin": "BOARD12", "active_high": False}, scenario)
    assert recorder.values("state") == [False, True, False]


def test_a_buzzer_beeps_and_on_stops_a_blink() -> None:
    async def scenario(out: Output, pin: Any, recorder: Recorder) -> None:
        await out.beep(0.01, 0.01, n=1)
        forever = out.blink(0.01, 0.01)
        await wait_until(lambda: len(recorder.values("state")) >= 6, "a few blinks")
        out.on()
        await asyncio.sleep(0)
        assert forever.cancelled()
        assert pin.state is True and out.state is True

    driver, recorder, _resources = run({"pin": 13, "kind": "buzzer"}, scenario)
    assert driver.describe() == "buzzer on GPIO13 (active high)"
    states = recorder.values("state")
    assert states[:3] == [False, True, False]
    assert all(a != b for a, b in itertools.pairwise(states))


def test_the_lamp_test_blinks_at_start_and_initial_on_is_recorded() -> None:
    async def scenario(out: Output, pin: Any, recorder: Recorder) -> None:
        await wait_until(lambda: not out.blinking, "the lamp test")

    _d, recorder, _r = run({"pin": 18, "self_test_blinks": 2, "self_test_period": "20ms"}, scenario)
    assert recorder.values("state") == [False, True, False, True, False]

    async def initially_on(out: Output, pin: Any, recorder: Recorder) -> None:
        assert pin.state is True and out.state is True

    _d, recorder, _r = run({"pin": 18, "initial": True}, initially_on)
    assert recorder.values("state") == [True, False]


def test_a_handle_kept_after_stop_refuses_to_switch() -> None:
    kept: list[Output] = []

    async def scenario(out: Output, pin: Any, recorder: Recorder) -> None:
        kept.append(out)

    run({"pin": 18}, scenario)
    assert kept[0].closed
    with pytest.raises(DriverError, match="output 's' is closed"):
        kept[0].on()
