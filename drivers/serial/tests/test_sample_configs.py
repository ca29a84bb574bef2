"""The sample configs the README shows pass ``edge-agent config check`` and say what they
claim; the simulated one (the demo's sensors) really produces readings."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from drivers.serial.port_options import SerialPortOptions
from drivers.serial.tests.rig import LOG, running, wait_until
from edge_agent.cli import main
from edge_agent.clock import ManualClock
from edge_agent.config import load_config
from edge_agent.driver import load_driver
from edge_agent.readings import Reading

FOLDER = Path(__file__).parent.parent
SAMPLES = sorted(FOLDER.glob("*.example.toml"))
HARDWARE = ["lines.example.toml", "nmea.example.toml", "umb.example.toml"]


def test_there_is_a_sample_per_driver_and_a_simulated_one() -> None:
    assert {p.name for p in SAMPLES} == {*HARDWARE, "simulated.example.toml"}


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_sample_passes_config_check(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", str(sample)]) == 0
    out = capsys.readouterr().out
    assert f"{sample}: OK" in out
    assert "serial." in out


@pytest.mark.parametrize("name", HARDWARE)
def test_hardware_samples_use_pyserial_and_stable_port_names(name: str) -> None:
    config = load_config(FOLDER / name)
    assert config.backends == {"serial": "pyserial"}
    for options in config.driver_options.values():
        assert isinstance(options, SerialPortOptions)
        assert options.port is not None
        assert options.port.startswith("/dev/serial/by-id/usb-")


def test_simulated_sample_runs_its_three_simulators() -> None:
    config = load_config(FOLDER / "simulated.example.toml")
    readings: list[Reading] = []

    async def run_all() -> None:
        drivers = [
            load_driver(sensor.driver)(
                sensor.name,
                config.driver_options[sensor.name],
                interval=sensor.interval,
                publish=readings.append,
                clock=ManualClock(),
                logger=LOG,
            )
            for sensor in config.sensors
        ]
        async with running(drivers[0]), running(drivers[1]), running(drivers[2]):
            await wait_until(
                lambda: (
                    {
                        "spreader-gps/latitude",
                        "road-irs31/road_condition",
                        "lab-board/temp",
                    }
                    <= {r.stream for r in readings}
                ),
                "a reading from each simulator",
            )

    asyncio.run(run_all())
    assert {r.unit for r in readings if r.stream == "lab-board/temp"} == {"Cel"}
