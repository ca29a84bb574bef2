"""The sample config the README shows is valid TOML with known units, channels and durations."""

from __future__ import annotations

import tomllib
from pathlib import Path

from drivers.serial import irs31
from drivers.serial.nmea import DECODED_TYPES
from drivers.serial.umb import split_address
from edge_agent.durations import parse_duration
from edge_agent.readings import check_name, check_unit

SAMPLE = Path(__file__).parent.parent / "serial.example.toml"


def test_sample_config_names_known_units_channels_and_sentences() -> None:
    sensors = {s["driver"]: s for s in tomllib.loads(SAMPLE.read_text())["sensor"]}

    assert set(sensors) == {"serial.nmea", "serial.umb", "serial.lines"}
    for sensor in sensors.values():
        check_name("sensor", sensor["name"])
        assert sensor["options"]["port"].startswith("/dev/")
    assert set(sensors["serial.nmea"]["options"]["sentences"]) <= set(DECODED_TYPES)
    umb = sensors["serial.umb"]["options"]
    assert split_address(umb["address"])[0] == irs31.CLASS_ID
    assert set(umb["channels"]) <= set(irs31.CHANNELS)
    assert parse_duration(umb["response_timeout"]) == 0.5
    for unit in sensors["serial.lines"]["options"]["units"].values():
        check_unit(unit)
