"""The console's pure parts: how values, times and sizes are written, sparklines, the parking
and road-icing views from streams, sync rates, the config diff, and the live cache."""

from __future__ import annotations

from datetime import UTC

import pytest

from tui.format import (
    age_text,
    clock_text,
    duration_text,
    rate_text,
    size_text,
    sparkline,
    value_text,
)
from tui.link import configured_socket
from tui.live import Latest, LiveCache
from tui.screens.config import diff_lines
from tui.screens.icing import forecast_markup, icing_experiment, risk_markup
from tui.screens.parking import parking_experiment, parking_view, sensor_bays
from tui.screens.sync import Sample, rates


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (-1.4, "Cel", "-1.4°C"),
        (93.0, "%RH", "93%"),
        (0.4567, "m", "0.457 m"),
        (True, "", "yes"),
        (None, "Cel", "—"),
        (12, "count", "12"),
        (-0.0001, "Cel", "0°C"),
    ],
)
def test_values_are_written_with_their_units(value, unit, text):
    assert value_text(value, unit) == text


def test_durations_drop_seconds_past_a_minute_so_uptime_repaints_rarely():
    assert duration_text(42) == "42 s"
    assert duration_text(7 * 60 + 5) == "7 min"
    assert duration_text(3 * 3600 + 12 * 60 + 59) == "3 h 12 min"
    assert duration_text(4 * 86400 + 2 * 3600) == "4 d 2 h"
    assert age_text(None, 0) == "never"
    assert age_text(100, 160) == "1 min ago"
    assert clock_text(1_767_275_400.0, UTC) == "13:50:00"


def test_sizes_and_rates():
    assert size_text(812) == "812 B"
    assert size_text(3.4 * 1024 * 1024) == "3.4 MiB"
    assert size_text(58 * 1024**3) == "58 GiB"
    assert rate_text(0.5) == "30 readings/min"
    assert rate_text(12.5) == "12.5 readings/s"


def test_sparkline_scales_to_its_own_range_and_keeps_the_newest_right():
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8) == "▁▂▃▄▅▆▇█"
    assert sparkline([5, 5, 5], 5) == "  ▄▄▄"
    assert sparkline(list(range(20)), 4) == "▁▃▆█"
    assert sparkline([], 3) == "   "


def reading(stream, value, time=1.0, quality=()):
    return Latest(stream, time, value, "", quality)


def test_parking_bays_and_counts_from_the_experiments_streams():
    latest = {
        "lot/bay-1.occupied": reading("lot/bay-1.occupied", True),
        "lot/bay-2.occupied": reading("lot/bay-2.occupied", False),
        "lot/a/occupied": reading("lot/a/occupied", True),
        "lot/bay-3.occupied": reading("lot/bay-3.occupied", True, quality=("stale",)),
        "air/temperature": reading("air/temperature", 1.0),
    }
    view = parking_view("lot", latest)
    assert [(b.id, b.occupied) for b in view.bays] == [
        ("a", True),
        ("bay-1", True),
        ("bay-2", False),
        ("bay-3", None),
    ]
    # No count streams: counted from the bays whose state is known.
    assert (view.free, view.occupied, view.total) == (1, 2, 4)
    latest["lot/free"] = reading("lot/free", 7)
    latest["lot/total"] = reading("lot/total", 12)
    view = parking_view("lot", latest)
    assert (view.free, view.occupied, view.total) == (7, 2, 12)


def test_the_parking_and_icing_experiments_are_found_by_name_or_by_what_they_write():
    named = {"name": "parking", "writes": []}
    writer = {"name": "car-park", "writes": ["free", "occupied", "total"]}
    assert parking_experiment([writer, named]) is named
    assert parking_experiment([writer]) is writer
    assert parking_experiment([{"name": "x", "writes": ["risk"]}]) is None
    icing = {"name": "frost", "writes": ["risk", "dew_margin"]}
    assert icing_experiment([writer, icing]) is icing


def test_bay_sensors_of_the_device():
    latest = {
        "bay-1/occupied": reading("bay-1/occupied", True),
        "lot/occupied": reading("lot/occupied", 3),
    }
    assert [(b.id, b.occupied) for b in sensor_bays(latest, ["bay-1"])] == [("bay-1", True)]


def test_risk_and_forecast_markup():
    assert "HIGH" in risk_markup(reading("x/risk", 3), UTC)
    assert "ICE OBSERVED" in risk_markup(reading("x/risk", 4), UTC)
    assert "not assessed" in risk_markup(None, UTC)
    latest = {"x/forecast_60min": Latest("x/forecast_60min", 1.0, -0.5, "Cel")}
    text = forecast_markup("x", latest)
    assert "-0.5°C ❄" in text and "30 min  —" in text


def test_sync_rates_between_two_loads():
    assert rates(None, Sample(10, 100, 50)) == (None, None)
    acked, growth = rates(Sample(10, 100, 50), Sample(12, 140, 40))
    assert acked == 20 and growth == -5


def test_config_diff():
    assert diff_lines("a\nb\n", "a\nb\n") == []
    lines = diff_lines("a\nb\n", "a\nc\n")
    assert "-b" in lines and "+c" in lines


def test_live_cache_batches_changes_and_keeps_history_in_order():
    cache = LiveCache(history_points=3)
    for t in (1.0, 2.0, 3.0, 4.0):
        cache.add(
            {"type": "reading", "stream": "a/x", "time": t, "value": t, "unit": "", "quality": []}
        )
    cache.add({"type": "heartbeat", "time": 5.0, "health": {"status": "ok"}})
    changes = cache.take_changes()
    assert changes.streams == {"a/x"} and changes.health
    assert cache.values("a/x") == [2.0, 3.0, 4.0]
    assert not cache.take_changes()
    cache.add_reading(Latest("a/x", 0.5, 9.0, ""))  # older than what is shown: ignored
    assert cache.latest["a/x"].value == 4.0
    cache.seed_history("a/x", [(0.1, 1.0), (0.2, 1.5), (3.5, 9.0)])
    assert cache.values("a/x") == [2.0, 3.0, 4.0]


def test_the_socket_comes_from_the_agents_config(tmp_path, monkeypatch):
    config = tmp_path / "agent.toml"
    config.write_text('[api]\nsocket = "/srv/edge/api.sock"\n[[sensor]]\nname = "x"\n')
    monkeypatch.setenv("EDGE_AGENT_CONFIG", str(config))
    assert str(configured_socket()) == "/srv/edge/api.sock"
    config.write_text("not toml [")
    assert configured_socket() is None
