"""Options are checked when the config is read, with messages that say what to write."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from drivers.gpio.pins import gpio_pin_name
from edge_agent.config import parse_config
from edge_agent.errors import ConfigError

CASES = tomllib.loads((Path(__file__).parent / "testcases" / "options.toml").read_text())
ERRORS: dict[str, dict[str, Any]] = {case["name"]: case for case in CASES["error"]}


@pytest.mark.parametrize(("written", "canonical"), CASES["pins"])
def test_pin_names_gpiozero_accepts_become_canonical(written: object, canonical: str) -> None:
    assert gpio_pin_name(written) == canonical


def test_a_pin_in_the_options_is_stored_canonical() -> None:
    config = parse_config(
        {
            "store": {"data_dir": "/nonexistent"},
            "sensor": [{"name": "door", "driver": "gpio.input", "options": {"pin": "BOARD13"}}],
        }
    )
    assert getattr(config.driver_options["door"], "pin", None) == "GPIO27"


@pytest.mark.parametrize("name", list(ERRORS))
def test_bad_options_are_refused_naming_the_problem(name: str) -> None:
    case = ERRORS[name]
    data = {
        "store": {"data_dir": "/nonexistent"},
        "sensor": [{"name": "x", "driver": case["driver"], "options": case["options"]}],
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    message = str(caught.value)
    assert case["message"] in message, message
    assert "sensor[0].options" in message, message
