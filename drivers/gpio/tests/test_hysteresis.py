"""The occupied flag's hysteresis, replayed from ``testcases/hysteresis/*.toml``."""

from __future__ import annotations

from typing import Any

import pytest

from drivers.gpio.hysteresis import Hysteresis
from drivers.gpio.tests.harness import load_cases

CASES = load_cases("hysteresis")

STATES: dict[Any, bool | None] = {True: True, False: False, "unknown": None}


def test_there_are_cases() -> None:
    assert len(CASES) >= 6


@pytest.mark.parametrize("name", list(CASES))
def test_case(name: str) -> None:
    case = CASES[name]
    switch = Hysteresis(
        on_below=case["on_below"],
        off_above=case["off_above"],
        confirm_samples=case.get("confirm_samples", 1),
        confirm_s=case.get("confirm_s", 0.0),
    )
    previous = switch.state
    for at, value, expected in case["samples"]:
        flipped = switch.update(float(value), float(at))
        assert switch.state == STATES[expected], f"{name}: at t={at} s, value {value}"
        assert flipped == (switch.state != previous), f"{name}: flip reported at t={at} s"
        previous = switch.state


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"on_below": 2.0, "off_above": 2.0}, "off_above (2.0) must be greater"),
        ({"on_below": 2.0, "off_above": 1.0}, "off_above (1.0) must be greater"),
        ({"on_below": 1.0, "off_above": 2.0, "confirm_samples": 0}, "at least 1"),
        ({"on_below": 1.0, "off_above": 2.0, "confirm_s": -1.0}, "not be negative"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Hysteresis(**kwargs)
