"""``serial.umb`` polling the simulated IRS31 over a real pseudo-terminal: round trips,
timeouts, bad CRCs, status codes, an echoing adapter and two sensors on one bus."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from pydantic import ValidationError

from drivers.serial.pty_device import PtyDevice
from drivers.serial.simulators import Irs31Responder, SerialDevice
from drivers.serial.tests.rig import SharedLine, UmbTrouble, make_driver, running, wait_until
from drivers.serial.umb import MultiChannelRequest, OnlineDataRequest, make_address
from drivers.serial.umb_driver import CHANNELS_PER_REQUEST, UmbDriver, status_reason
from edge_agent.errors import ConfigError, DriverError
from edge_agent.readings import Quality, Reading
from edge_agent.resources import Resources


def poll_once(
    device: SerialDevice, options: dict[str, Any], polls: int = 1
) -> tuple[UmbDriver, list[Reading]]:
    """Start a driver on a pty with ``device`` behind it, poll ``polls`` times, stop."""

    async def main() -> tuple[UmbDriver, list[Reading]]:
        with PtyDevice(device, tick_s=0.05, chunk_bytes=3) as pty:
            driver, readings = make_driver(
                UmbDriver, {"backend": "pyserial", "port": pty.port, **options}
            )
            await driver.start()
            try:
                for _ in range(polls):
                    await driver.poll()
            finally:
                await driver.stop()
        assert pty.error is None
        return driver, readings

    return asyncio.run(main())


def values(readings: list[Reading]) -> dict[str, object]:
    return {r.stream: r.value for r in readings}


def test_one_multi_channel_request_gives_the_four_winter_service_channels() -> None:
    sensor = Irs31Responder(surface_temperature_c=-2.5, freezing_temperature_c=-6.0)
    line = UmbTrouble(sensor)

    driver, readings = poll_once(line, {}, polls=2)

    assert [type(r) for r in line.requests] == [MultiChannelRequest] * 2
    assert readings[:4] == [
        Reading("s/surface_temperature", readings[0].time, -2.5, "Cel"),
        Reading("s/freezing_temperature", readings[0].time, -6.0, "Cel"),
        Reading("s/water_film_height", readings[0].time, 0.35, "mm"),
        Reading("s/road_condition", readings[0].time, "wet", ""),
    ]
    assert len(readings) == 8
    assert not driver.input_errors


def test_channels_by_name_in_single_channel_requests() -> None:
    line = UmbTrouble(Irs31Responder(surface_temperature_c=0.75, road_condition=45))

    _, readings = poll_once(
        line, {"channels": ["surface_temperature", "road_condition", 20001], "request": "single"}
    )

    assert [type(r) for r in line.requests] == [OnlineDataRequest] * 3
    assert [(r.stream, r.value) for r in readings] == [
        ("s/surface_temperature", 0.75),
        ("s/road_condition", "frost"),
        ("s/measurement_counter", 3),  # the third request answered
    ]


def test_a_request_without_answer_times_out_and_the_retry_gets_it() -> None:
    line = UmbTrouble(Irs31Responder(surface_temperature_c=1.25), ignore=frozenset({1}))

    driver, readings = poll_once(line, {"response_timeout": "1s"})

    assert len(line.requests) == 2
    assert values(readings)["s/surface_temperature"] == 1.25
    assert driver.input_errors == {"timeout": 1}


def test_an_answer_with_a_bad_crc_is_counted_and_asked_again_at_once() -> None:
    line = UmbTrouble(Irs31Responder(surface_temperature_c=-0.5), bad_crc=frozenset({1, 2}))

    # A long timeout: the retries must not wait for it, or the test would take 20 s.
    driver, readings = poll_once(line, {"response_timeout": "10s"})

    assert len(line.requests) == 3
    assert values(readings)["s/surface_temperature"] == -0.5
    assert driver.input_errors["bad_checksum"] == 2
    assert set(driver.input_errors) == {"bad_checksum", "garbage_bytes"}  # the bad frames' bytes


def test_a_device_that_never_answers_counts_every_attempt_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    other = Irs31Responder(make_address(9, 2))  # device id 2; the driver asks for id 1

    with caplog.at_level(logging.WARNING, logger="edge_agent.test.serial"):
        driver, readings = poll_once(other, {"response_timeout": "50ms", "retries": 1}, polls=2)

    assert readings == []
    assert driver.input_errors == {"timeout": 4, "no_valid_response": 2}
    assert caplog.text.count("no valid answer from UMB device 0x9001") == 1
    assert other.requests_answered == 0


def test_status_codes_become_flags_and_counts() -> None:
    sensor = Irs31Responder()
    sensor.busy = True

    driver, readings = poll_once(sensor, {"channels": [101, 900]})

    assert [(r.value, r.quality) for r in readings] == [(None, Quality.CHECKSUM_FAILED)] * 2
    assert driver.input_errors == {"status_device_busy": 2}

    # No external temperature probe: the IRS31 answers DATA_ERROR for channel 111.
    driver, readings = poll_once(Irs31Responder(), {"channels": [101, 111]})
    assert [r.quality for r in readings] == [Quality.GOOD, Quality.CHECKSUM_FAILED]
    assert driver.input_errors == {"status_data_error": 1}
    assert status_reason(0x77) == "status_0x77"


def test_an_echoing_adapter_does_not_confuse_the_master() -> None:
    line = UmbTrouble(Irs31Responder(surface_temperature_c=3.0), echo=True)

    driver, readings = poll_once(line, {}, polls=3)

    assert [values(readings[i : i + 4])["s/surface_temperature"] for i in (0, 4, 8)] == [3.0] * 3
    assert not driver.input_errors


def test_more_channels_than_one_request_carries_are_split() -> None:
    # Every channel of the table, twice over in a device without a table (class 7).
    channels = list(range(100, 100 + CHANNELS_PER_REQUEST + 3))
    line = UmbTrouble(Irs31Responder(make_address(7, 1)))

    _, readings = poll_once(line, {"class_id": 7, "channels": channels})

    sizes = [len(r.channels) for r in line.requests if isinstance(r, MultiChannelRequest)]
    assert sizes == [CHANNELS_PER_REQUEST, 3]
    assert [r.stream for r in readings] == [f"s/channel-{c}" for c in channels]


def test_two_sensors_on_one_bus_share_the_port_and_take_turns() -> None:
    lane_1 = Irs31Responder(make_address(9, 1), surface_temperature_c=-1.0)
    lane_2 = Irs31Responder(make_address(9, 2), surface_temperature_c=-3.0)
    resources = Resources()

    async def main() -> tuple[list[Reading], int]:
        with PtyDevice(SharedLine(lane_1, lane_2), tick_s=0.05, chunk_bytes=3) as pty:
            readings: list[Reading] = []
            options = {"backend": "pyserial", "port": pty.port, "channels": [101]}
            one, _ = make_driver(
                UmbDriver, options, sensor="lane-1", resources=resources, out=readings
            )
            two, _ = make_driver(
                UmbDriver,
                {**options, "device_id": 2},
                sensor="lane-2",
                resources=resources,
                out=readings,
            )
            await one.start()
            await two.start()
            users = resources.users(f"serial:{pty.port}")
            await asyncio.gather(one.poll(), two.poll(), one.poll(), two.poll())
            await one.stop()
            await two.stop()
        return readings, users

    readings, users = asyncio.run(main())

    assert users == 2
    assert sorted((r.stream, r.value) for r in readings) == [
        ("lane-1/surface_temperature", -1.0),
        ("lane-1/surface_temperature", -1.0),
        ("lane-2/surface_temperature", -3.0),
        ("lane-2/surface_temperature", -3.0),
    ]


def test_a_second_sensor_with_other_settings_on_the_same_port_is_refused() -> None:
    resources = Resources()

    async def main() -> None:
        with PtyDevice(Irs31Responder(), tick_s=0.05) as pty:
            one, _ = make_driver(
                UmbDriver, {"backend": "pyserial", "port": pty.port}, resources=resources
            )
            two, _ = make_driver(
                UmbDriver,
                {"backend": "pyserial", "port": pty.port, "baudrate": 9600, "device_id": 2},
                sensor="t",
                resources=resources,
            )
            await one.start()
            with pytest.raises(ConfigError, match="already open at 19200 8N1"):
                await two.start()
            assert resources.users(f"serial:{pty.port}") == 1
            await one.stop()

    asyncio.run(main())


def test_unplugged_bus_is_reported_between_polls() -> None:
    async def main() -> None:
        with PtyDevice(Irs31Responder(), tick_s=0.05) as pty:
            driver, readings = make_driver(
                UmbDriver, {"backend": "pyserial", "port": pty.port}, interval=3600
            )
            async with running(driver) as task:
                await wait_until(lambda: len(readings) == 4, "the first poll")
                pty.unplug()
                with pytest.raises(DriverError, match="was lost"):
                    await asyncio.wait_for(task, 10)  # long before the next poll is due

    asyncio.run(main())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"channels": ["surface_temp"]}, "did you mean 'surface_temperature'"),
        ({"channels": [101, "surface_temperature"]}, "names a channel twice"),
        ({"class_id": 7, "channels": ["road_condition"]}, "give class 7's channel numbers"),
        ({"channels": [70000]}, "not a UMB channel number"),
        ({"device_id": 0}, "greater than or equal to 1"),
        ({"class_id": 15}, "less than or equal to 14"),
    ],
)
def test_bad_options_are_refused_when_the_config_is_loaded(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        UmbDriver.Options.model_validate(options)
