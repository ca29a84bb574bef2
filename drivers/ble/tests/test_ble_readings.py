"""BleSample to readings: stream names, SenML units, quality flags."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from drivers.ble import BleFormat, BleSample, to_readings
from edge_agent import units
from edge_agent.errors import ConfigError
from edge_agent.readings import Quality

PVVX = BleSample(
    format=BleFormat.PVVX,
    address="A4:C1:38:8D:18:B2",
    temperature_c=20.91,
    humidity_pct=44.96,
    battery_pct=67,
    battery_mv=2807,
    packet_id=32,
)


def test_stream_names_units_and_values() -> None:
    readings = to_readings(PVVX, "lab-window", 1_700_000_000.5)
    assert [(r.stream, r.value, r.unit) for r in readings] == [
        ("lab-window/temperature", 20.91, units.CELSIUS),
        ("lab-window/humidity", 44.96, units.RELATIVE_HUMIDITY),
        ("lab-window/battery", 67, units.BATTERY_PERCENT),
        ("lab-window/battery_voltage", 2.807, units.VOLT),
    ]
    assert {r.time for r in readings} == {1_700_000_000.5}
    assert {r.quality for r in readings} == {Quality.GOOD}


def test_given_quality_reaches_every_reading() -> None:
    readings = to_readings(PVVX, "lab", 0.0, quality=Quality.CLOCK_UNSYNCED)
    assert {r.quality for r in readings} == {Quality.CLOCK_UNSYNCED}


@pytest.mark.parametrize(
    ("field", "value", "stream"),
    [
        ("humidity_pct", 100.5, "lab/humidity"),
        ("humidity_pct", -0.01, "lab/humidity"),
        ("battery_pct", 101, "lab/battery"),
        ("temperature_c", 125.01, "lab/temperature"),
        ("temperature_c", -40.5, "lab/temperature"),
    ],
)
def test_implausible_values_are_flagged_not_dropped(field: str, value: float, stream: str) -> None:
    changes: dict[str, Any] = {field: value}
    sample = dataclasses.replace(PVVX, **changes)
    flagged = {r.stream: r for r in to_readings(sample, "lab", 0.0, quality=Quality.STALE)}
    assert flagged[stream].value == value
    assert flagged[stream].quality == Quality.OUT_OF_RANGE | Quality.STALE
    others = [r for r in flagged.values() if r.stream != stream]
    assert {r.quality for r in others} == {Quality.STALE}


def test_bthome_yields_only_what_the_device_sent() -> None:
    sample = BleSample(format=BleFormat.BTHOME_V2, address="X", temperature_c=25.0, packet_id=3)
    assert [r.stream for r in to_readings(sample, "lab", 0.0)] == ["lab/temperature"]


def test_fixed_formats_yield_none_for_not_available() -> None:
    sample = BleSample(format=BleFormat.RUUVI_DF5, address="X", temperature_c=None)
    readings = to_readings(sample, "tag", 0.0)
    assert [r.stream for r in readings] == [
        "tag/temperature",
        "tag/humidity",
        "tag/pressure",
        "tag/battery_voltage",
        "tag/movement_count",
    ]
    assert all(r.value is None and r.quality == Quality.GOOD for r in readings)


def test_bad_sensor_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="sensor name 'Lab Window'"):
        to_readings(PVVX, "Lab Window", 0.0)
