"""Durations and sizes as written in config files."""

from __future__ import annotations

import pytest

from edge_agent.durations import format_duration, parse_duration, parse_size
from edge_agent.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("250ms", 0.25), ("30s", 30), ("5m", 300), ("2h", 7200), ("90d", 7_776_000), (" 1.5s ", 1.5)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "30", "5 minutes", "-3s", "0s", "1w"])
def test_bad_durations_say_how_to_write_one(text: str) -> None:
    with pytest.raises(ConfigError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize("seconds", [0.25, 1, 30, 300, 7200, 86400, 90.5])
def test_format_duration_round_trips(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize(("text", "size"), [("4096B", 4096), ("2GB", 2 * 10**9), ("1MiB", 2**20)])
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size
