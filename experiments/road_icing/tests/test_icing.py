"""The rule set and the Magnus formula, against hand-worked cases and published values."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from experiments.road_icing.icing import (
    Conditions,
    Risk,
    RiskLatch,
    assess,
    dew_point_c,
    frost_point_c,
)

CASES = tomllib.loads((Path(__file__).parent / "testcases" / "rules.toml").read_text())["case"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_rule_set(case):
    fields = {k: v for k, v in case.items() if k not in ("name", "risk", "says")}
    result = assess(Conditions(**fields))
    assert result.risk.label == case["risk"], result.reason
    assert case.get("says", "") in result.reason


@pytest.mark.parametrize(
    ("air_c", "humidity_pct", "dew_c"),
    [
        (20.0, 50.0, 9.3),  # the textbook example
        (10.0, 100.0, 10.0),  # saturated air: dew point is the air temperature
        (0.0, 80.0, -3.0),
        (-5.0, 90.0, -6.4),
    ],
)
def test_dew_point_matches_published_values(air_c, humidity_pct, dew_c):
    assert dew_point_c(air_c, humidity_pct) == pytest.approx(dew_c, abs=0.1)


def test_frost_point_lies_between_dew_point_and_air_below_zero():
    dew, frost = dew_point_c(-5.0, 90.0), frost_point_c(-5.0, 90.0)
    assert dew < frost < -5.0
    # 90 % over water is 94.4 % over ice at -5 °C (4.215 vs 4.017 hPa saturation): ~0.65 K lower
    assert frost == pytest.approx(-5.65, abs=0.05)


def test_humidity_outside_0_100_is_refused():
    with pytest.raises(ValueError, match="relative humidity"):
        dew_point_c(5.0, 0.0)


def test_latch_rises_at_once_and_falls_only_after_the_hold():
    latch = RiskLatch(hold_s=1800)
    assert latch.update(Risk.HIGH, 0) == (Risk.HIGH, True)
    assert latch.update(Risk.LOW, 60) == (Risk.HIGH, False)
    assert latch.update(Risk.MODERATE, 600) == (Risk.HIGH, False)
    assert latch.update(Risk.HIGH, 900) == (Risk.HIGH, False)  # back up: the hold restarts
    assert latch.update(Risk.LOW, 1000) == (Risk.HIGH, False)
    assert latch.update(Risk.NONE, 2900) == (Risk.LOW, False)  # falls to the most seen while low
