"""gpio.distance against gpiozero's MockTriggerPin: a car arrives, the flag waits for hysteresis.

gpiozero's ``MockTriggerPin`` answers each trigger pulse with an echo of ``echo_time`` seconds
on the echo pin; the driver's ``DistanceSensor`` times it in its own thread exactly as on a Pi.
Timing in the mock can only make an echo longer (a thread wakes late, never early; 1 ms late is
17 cm on a busy machine), so where a test needs a sample on the near side of a threshold, it
keeps half a metre or more of margin.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from gpiozero.pins.mock import MockTriggerPin  # type: ignore[import-untyped]

from drivers.gpio.distance import DistanceDriver
from drivers.gpio.simulation import echo_time_s
from drivers.gpio.tests.harness import Recorder, make_driver, wait_until
from edge_agent.errors import DriverError
from edge_agent.readings import Quality

MEDIAN_OF = 3
OPTIONS: dict[str, Any] = {
    "backend": "simulated",
    "trigger": 23,
    "echo": "GPIO24",
    "median_of": MEDIAN_OF,
    "occupied_below_m": 1.0,
    "free_above_m": 1.5,
    "confirm_samples": 3,
    "occupied_every": "1h",
}


async def sample(driver: DistanceDriver, distance_m: float) -> None:
    """Put a reflector ``distance_m`` away, wait until the median holds only its echoes, poll."""
    driver.device.trigger.echo_time = echo_time_s(distance_m)
    seen = driver.tally.total_good
    await wait_until(
        lambda: driver.tally.total_good >= seen + MEDIAN_OF + 2,
        f"{MEDIAN_OF + 2} echoes from {distance_m} m",
    )
    await driver.poll()


def distances(recorder: Recorder) -> list[float]:
    return [float(v) for v in recorder.values("distance") if v is not None]


def run(options: dict[str, Any], scenario: Any) -> tuple[DistanceDriver, Recorder]:
    driver, recorder = make_driver("gpio.distance", options)
    assert isinstance(driver, DistanceDriver)

    async def main() -> None:
        await driver.start()
        try:
            await scenario(driver, recorder)
        finally:
            await driver.stop()

    asyncio.run(main())
    return driver, recorder


def test_the_trigger_is_gpiozeros_mock_trigger_pin_answering_on_the_echo_pin() -> None:
    async def scenario(driver: DistanceDriver, recorder: Recorder) -> None:
        trigger = driver.factory.pin("GPIO23")
        assert isinstance(trigger, MockTriggerPin)
        assert trigger is driver.device.trigger
        assert trigger.echo_pin is driver.factory.pin("GPIO24") is driver.device.echo
        await sample(driver, 2.0)

    _driver, recorder = run(OPTIONS, scenario)
    (distance,) = recorder.of("distance")
    assert distance.unit == "m" and distance.quality == Quality.GOOD
    assert 1.95 <= float(distance.value or 0) < 2.5


def test_a_car_arrives_and_the_flag_flips_only_after_three_samples() -> None:
    async def scenario(driver: DistanceDriver, recorder: Recorder) -> None:
        for _ in range(3):
            await sample(driver, 2.5)
        assert recorder.values("occupied") == [False]
        await sample(driver, 0.3)
        await sample(driver, 0.3)
        assert max(distances(recorder)[-2:]) < 0.9  # the distance dropped at once ...
        assert recorder.values("occupied") == [False]  # ... the flag did not
        assert driver.hysteresis.state is False
        await sample(driver, 0.3)
        assert recorder.values("occupied") == [False, True]
        for _ in range(3):
            await sample(driver, 2.5)
        assert recorder.values("occupied") == [False, True, False]

    _driver, recorder = run(OPTIONS, scenario)
    flips = recorder.of("occupied")
    assert all(r.unit == "" and r.quality == Quality.GOOD for r in flips)
    # The flag is dated with the sample that confirmed it: the 6th and the 9th distance.
    times = [r.time for r in recorder.of("distance")]
    assert [r.time for r in flips] == [times[2], times[5], times[8]]


def test_noise_near_the_thresholds_does_not_flap_the_flag() -> None:
    async def scenario(driver: DistanceDriver, recorder: Recorder) -> None:
        for _ in range(3):
            await sample(driver, 2.5)
        # In the dead band, and across the near threshold, never three times in a row.
        for distance in (1.2, 1.4, 0.5, 1.3, 0.5, 0.5, 1.2, 0.5, 1.1, 0.5, 0.5, 1.25):
            await sample(driver, distance)
        assert recorder.values("occupied") == [False]
        assert min(distances(recorder)) < 1.0  # the noise did cross the threshold
        for _ in range(3):
            await sample(driver, 0.3)
        assert recorder.values("occupied") == [False, True]

    run(OPTIONS, scenario)


def test_the_flag_is_repeated_every_occupied_every() -> None:
    options = {**OPTIONS, "occupied_every": "3s", "confirm_samples": 1}

    async def scenario(driver: DistanceDriver, recorder: Recorder) -> None:
        for _ in range(7):
            await sample(driver, 2.5)

    _driver, recorder = run(options, scenario)  # interval 1 s: every third sample
    assert recorder.values("occupied") == [False, False, False]
    assert len(recorder.of("distance")) == 7


def test_beyond_max_distance_is_flagged_out_of_range_and_counts_as_free() -> None:
    options = {**OPTIONS, "max_distance_m": 2.0, "confirm_samples": 2}

    async def scenario(driver: DistanceDriver, recorder: Recorder) -> None:
        await sample(driver, 6.0)  # the HC-SR04's own time-out pulse, nothing in range
        await sample(driver, 6.0)
        await sample(driver, 1.2)

    _driver, recorder = run(options, scenario)
    far, far2, near = recorder.of("distance")
    assert far.value == far2.value == 2.0
    assert far.quality == far2.quality == Quality.OUT_OF_RANGE
    assert near.quality == Quality.GOOD
    assert recorder.values("occupied") == [False]


def test_missing_echoes_are_counted_flagged_and_at_last_a_driver_error() -> None:
    options = {**OPTIONS, "confirm_samples": 1, "lost_after": "3s", "occupied_every": "1s"}

    async def scenario(driver: DistanceDriver, recorder: Recorder) -> None:
        await sample(driver, 2.5)
        # An echo longer than gpiozero waits for (100 ms): every ping goes unanswered.
        driver.device.trigger.echo_time = 0.2
        missed = driver.tally.total_missed
        await wait_until(lambda: driver.tally.total_missed > missed, "a missed echo")
        await driver.poll()  # may still see the last echo of 2.5 m
        missed = driver.tally.total_missed
        await wait_until(lambda: driver.tally.total_missed > missed + 1, "two more missed echoes")
        await driver.poll()
        await wait_until(
            lambda: asyncio.get_running_loop().time() - driver.tally.last_echo_at > 3.1,
            "lost_after without an echo",
        )
        with pytest.raises(DriverError, match="no echo from the HC-SR04 on trigger GPIO23"):
            await driver.poll()

    driver, recorder = run(options, scenario)
    assert recorder.values("distance")[-1] is None
    assert recorder.of("distance")[-1].quality == Quality.OUT_OF_RANGE
    stale = recorder.of("occupied")[-1]
    assert stale.value is False and stale.quality == Quality.STALE
    assert driver.input_errors["no_echo"] >= 1


def test_stop_closes_the_sensor_and_gives_the_factory_back() -> None:
    async def scenario(driver: DistanceDriver, recorder: Recorder) -> None:
        await sample(driver, 2.0)

    driver, _recorder = run(OPTIONS, scenario)
    assert driver.device is None and driver.factory is None
    assert driver.resources.users("gpio.simulated.s") == 0
