"""``serial.lines`` reading a board over a real pseudo-terminal."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError

from drivers.serial.line_driver import LineDriver
from drivers.serial.pty_device import PtyDevice
from drivers.serial.simulators import MicrocontrollerTalker, SerialDevice
from drivers.serial.tests.casedata import CASES_DIR, load_input
from drivers.serial.tests.rig import Replay, make_driver, running, streams, wait_until
from edge_agent.readings import Quality, Reading

UNITS = {"temp": "Cel", "hum": "%RH"}


def read_lines(
    device: SerialDevice, options: dict[str, Any], done: int, chunk_bytes: int = 6
) -> tuple[LineDriver, list[Reading]]:
    """Run the driver against ``device`` until ``done`` readings arrived."""

    async def main() -> tuple[LineDriver, list[Reading]]:
        with PtyDevice(device, tick_s=0.01, chunk_bytes=chunk_bytes) as pty:
            driver, readings = make_driver(
                LineDriver, {"backend": "pyserial", "port": pty.port, **options}
            )
            async with running(driver):
                await wait_until(lambda: len(readings) >= done, f"{done} readings")
        assert pty.error is None
        return driver, readings

    return asyncio.run(main())


@pytest.mark.parametrize("line_format", ["pairs", "json"])
def test_board_lines_become_readings_with_units_from_the_config(line_format: str) -> None:
    board = MicrocontrollerTalker(seed=4, format=line_format)  # type: ignore[arg-type]

    driver, readings = read_lines(board, {"units": UNITS, "ranges": {"hum": [0, 75]}}, 40)

    temps = streams(readings, "temp")
    assert temps and all(r.unit == "Cel" and isinstance(r.value, float) for r in temps)
    assert {r.unit for r in streams(readings, "hum")} == {"%RH"}
    assert {type(r.value) for r in streams(readings, "door")} == {bool}
    assert {(r.value, r.unit) for r in streams(readings, "state")} == {("running", "")}
    humid = [r for r in streams(readings, "hum") if float(r.value or 0) > 75]
    assert all(r.quality is Quality.OUT_OF_RANGE for r in humid)
    assert not driver.input_errors


def test_bad_lines_are_counted_and_skipped() -> None:
    # The lines-maker-board test case: a cut first line, a debug print, nested JSON and a
    # repeated key among six good lines.
    data = load_input(CASES_DIR / "lines-maker-board")

    async def main() -> tuple[LineDriver, list[Reading]]:
        with PtyDevice(Replay(data), tick_s=0.01, chunk_bytes=4) as pty:
            driver, readings = make_driver(LineDriver, {"backend": "pyserial", "port": pty.port})
            parser = driver.parser
            async with running(driver):
                await wait_until(
                    lambda: (
                        driver.parser is not parser
                        and driver.parser.frames_ok + driver.parser.bad_lines == 9
                    ),
                    "every line of the capture",
                )
        return driver, readings

    driver, readings = asyncio.run(main())

    assert driver.input_errors == {"bad_lines": 3}
    assert [r.value for r in streams(readings, "temp")] == [21.5, 21.56, 21.61, 21.6, None, 21.7]
    assert [r.value for r in streams(readings, "battery")] == [3.71]


def test_the_first_cut_line_is_dropped_unread() -> None:
    driver, readings = make_driver(LineDriver, {"units": UNITS})

    driver.receive(b'p=21.5 hum=40\ntemp=21.5 hum=40\n{"temp": 22.0, "hum": 41}\n', 5.0)

    assert [(r.stream, r.value, r.unit) for r in readings] == [
        ("s/temp", 21.5, "Cel"),
        ("s/hum", 40, "%RH"),
        ("s/temp", 22.0, "Cel"),
        ("s/hum", 41, "%RH"),
    ]
    assert not driver.input_errors


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"units": {"temp": "degC"}}, "unknown unit 'degC'"),
        ({"units": {"Temp": "Cel"}}, "key name 'Temp' is not allowed"),
        ({"ranges": {"hum": [100, 0]}}, r"write \[low, high\]"),
        ({"port": "ttyACM0"}, "write the full path"),
        ({"backend": "pyserial"}, "backend 'pyserial' needs a port"),
        ({"stopbits": 3}, "not one of 1, 1.5 or 2"),
        ({"parity": "X"}, "'N', 'E', 'O', 'M' or 'S'"),
    ],
)
def test_bad_options_are_refused_when_the_config_is_loaded(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        LineDriver.Options.model_validate(options)
