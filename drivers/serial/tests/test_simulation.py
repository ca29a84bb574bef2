"""The devices the simulated backend runs: the IRS31's road follows the day cycle."""

from __future__ import annotations

from collections import Counter

from drivers.serial.irs31 import ROAD_CONDITIONS
from drivers.serial.simulation import DiurnalRoad, SimulatedRoadSensor
from drivers.serial.simulators import Irs31Responder
from drivers.simulated.model import day_fraction

MIDNIGHT_CET = 1_767_222_000.0  # 2026-01-01T00:00:00+01:00


def test_simulated_road_is_coldest_before_dawn_and_freezes_until_the_spreader_comes() -> None:
    options = SimulatedRoadSensor(seed=6, day_length="10m", night_low_c=-5, day_high_c=4)
    sensor = Irs31Responder()
    road = DiurnalRoad(sensor, options, MIDNIGHT_CET)
    conditions: Counter[str] = Counter()
    by_hour: dict[int, list[float]] = {}
    for _ in range(6000):  # ten simulated days, a tick of 1 s = 144 simulated seconds
        road.on_tick()
        hour = int(day_fraction(road.time, day_length=600, utc_offset_h=1) * 24)
        by_hour.setdefault(hour, []).append(sensor.surface_temperature_c)
        conditions[ROAD_CONDITIONS[sensor.condition_code()]] += 1

    mean = {hour: sum(values) / len(values) for hour, values in by_hour.items()}
    assert min(mean, key=mean.__getitem__) in range(2, 6)  # coldest before dawn
    assert max(mean, key=mean.__getitem__) in range(13, 17)  # warmest in the afternoon
    assert set(conditions) == {"dry", "moist", "wet", "ice"}
    assert conditions["ice"] < conditions["dry"]  # salt works, most of the time
    assert -8.0 <= sensor.freezing_temperature_c <= -0.5
