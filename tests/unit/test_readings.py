"""Readings, stream names and quality flags."""

from __future__ import annotations

import pytest

from edge_agent.errors import ConfigError
from edge_agent.readings import Quality, check_unit, make_stream, stream_matcher


def test_quality_names() -> None:
    assert Quality.GOOD.names() == []
    flags = Quality.STALE | Quality.CLOCK_UNSYNCED
    assert flags.names() == ["stale", "clock_unsynced"]


def test_stream_names_are_checked() -> None:
    assert make_stream("road-surface", "temperature") == "road-surface/temperature"
    with pytest.raises(ConfigError, match="'Road' is not allowed"):
        make_stream("Road", "temperature")
    with pytest.raises(ConfigError, match="'a/b' is not allowed"):
        make_stream("x", "a/b")


def test_units_are_senml() -> None:
    assert check_unit("Cel") == "Cel"
    with pytest.raises(ConfigError, match=r"unknown unit 'degC'; known SenML units: .*Cel"):
        check_unit("degC")


@pytest.mark.parametrize(
    ("pattern", "stream", "matches"),
    [
        ("*", "air/temperature", True),
        ("air/*", "air/temperature", True),
        ("air/*", "airport/temperature", False),
        ("*/temperature", "road-surface/temperature", True),
        ("air/temperature", "air/temperature", True),
        ("air/temp", "air/temperature", False),
    ],
)
def test_stream_patterns(pattern: str, stream: str, matches: bool) -> None:
    assert bool(stream_matcher(pattern).match(stream)) is matches
