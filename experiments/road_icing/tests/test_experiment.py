"""The road-icing experiment replayed over synthetic winter days, through the agent's runner."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from edge_agent import units
from edge_agent.experiments.replay import replay
from edge_agent.readings import Quality, Reading
from experiments.road_icing.weather import simulate

FOLDER = Path(__file__).parents[1]


def trace(days: float, seed: int, *, glitch_every: int = 0) -> list[Reading]:
    """Minute readings of surface, air and humidity, as the sensors would publish them."""
    w = simulate(days, seed)
    out = []
    for i, stamp in enumerate(w.time):
        t = float(stamp)
        surface = round(float(w.surface_c[i]), 2)
        quality = Quality.GOOD
        if glitch_every and i % glitch_every == glitch_every - 1:
            surface, quality = 85.0, Quality.OUT_OF_RANGE  # the DS18B20 power-on value
        out.append(Reading("road-surface/temperature", t, surface, units.CELSIUS, quality))
        out.append(Reading("air/temperature", t + 1, round(float(w.air_c[i]), 2), units.CELSIUS))
        out.append(Reading("air/humidity", t + 1, round(float(w.humidity_pct[i]), 1), "%RH"))
    return out


@pytest.fixture(scope="module")
def two_days():
    readings = trace(2, seed=9, glitch_every=97)
    return readings, replay(FOLDER, readings)


def test_risk_every_minute_and_alerts_do_not_flap(two_days):
    _, result = two_days
    risks = [r.value for r in result.stream("risk")]
    assert len(risks) == result.ticks >= 2 * 1440 - 2
    assert max(risks) >= 3, "seed 9 has a clear frosty night: the risk must reach high"
    alerts = [e for e in result.events if e.kind == "icing-alert"]
    clears = [e for e in result.events if e.kind == "icing-clear"]
    assert 1 <= len(alerts) <= 12 and len(clears) <= len(alerts)
    changes = sum(1 for a, b in itertools.pairwise(risks) if a != b)
    assert changes <= 40, f"the latched risk changed {changes} times in two days"
    assert all(e.severity == "alert" and "icing risk" in e.message for e in alerts)


def test_glitches_never_reach_the_assessment(two_days):
    _, result = two_days
    margins = [r.value for r in result.stream("dew_margin")]
    assert max(margins) < 40, "an 85 °C glitch leaked into the dew point margin"


def test_forecast_starts_after_two_hours_and_beats_persistence(two_days):
    readings, result = two_days
    forecasts = result.stream("forecast_60min")
    first_time = min(r.time for r in readings)
    assert forecasts and forecasts[0].time >= first_time + 2 * 3600
    truth = {
        round(r.time): r.value
        for r in readings
        if r.stream == "road-surface/temperature" and r.quality == Quality.GOOD
    }
    times = np.asarray(sorted(truth))

    def surface_at(t: float) -> float | None:
        nearest = int(times[np.abs(times - t).argmin()])
        return truth[nearest] if abs(nearest - t) < 90 else None

    errors, persistence = [], []
    for f in forecasts:
        later, now = surface_at(f.time + 3600), surface_at(f.time)
        if later is not None and now is not None:
            errors.append(abs(f.value - later))
            persistence.append(abs(now - later))
    assert len(errors) > 1000
    assert float(np.mean(errors)) < 0.4
    assert float(np.mean(errors)) < 0.6 * float(np.mean(persistence))


def test_alert_switches_the_output_led(tmp_path):
    from edge_agent.resources import Resources

    class Led:
        def __init__(self):
            self.history = []

        def on(self):
            self.history.append("on")

        def off(self):
            self.history.append("off")

    led, resources = Led(), Resources()
    resources.provide("output", "frost-led", led)
    readings = trace(2, seed=9)
    result = replay(FOLDER, readings, params={"alert_output": "frost-led"}, resources=resources)
    assert result.events, "expected an alert in the first frosty night"
    assert led.history[0] == "on"
    assert all(a != b for a, b in itertools.pairwise(led.history)), led.history


def test_bad_params_are_refused_with_the_key():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="alert_level"):
        replay(FOLDER, [], params={"alert_level": "severe"})
