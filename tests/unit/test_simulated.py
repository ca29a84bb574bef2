"""Simulated sensors: deterministic with a seed, and shaped like the real thing."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable

from edge_agent.clock import ManualClock
from edge_agent.config import AgentConfig
from edge_agent.driver import Driver, load_driver
from edge_agent.readings import Quality, Reading

MIDNIGHT_CET = 1_767_222_000.0  # 2026-01-01T00:00:00+01:00


def sample(
    make_config: Callable[[str], AgentConfig],
    driver: str,
    options: str,
    *,
    samples: int,
    step: float,
    synchronized: bool = True,
) -> list[Reading]:
    config = make_config(
        f'[[sensor]]\nname = "s"\ndriver = "{driver}"\noptions = {{ {options} }}\n'
    )
    out: list[Reading] = []
    clock = ManualClock(MIDNIGHT_CET, synchronized=synchronized)
    drv: Driver = load_driver(driver)(
        "s",
        config.driver_options["s"],
        interval=step,
        publish=out.append,
        clock=clock,
        logger=logging.getLogger("test"),
    )

    async def run() -> None:
        for _ in range(samples):
            await drv.poll()  # type: ignore[attr-defined]
            clock.advance(step)

    asyncio.run(run())
    return out


def test_same_seed_same_values_other_seed_other_values(
    make_config: Callable[..., AgentConfig],
) -> None:
    a = sample(make_config, "simulated.air", "seed = 7", samples=20, step=60)
    b = sample(make_config, "simulated.air", "seed = 7", samples=20, step=60)
    c = sample(make_config, "simulated.air", "seed = 8", samples=20, step=60)
    assert a == b
    assert [r.value for r in a] != [r.value for r in c]


def test_road_surface_freezes_at_night_and_thaws_by_day(
    make_config: Callable[..., AgentConfig],
) -> None:
    day = sample(make_config, "simulated.road_surface", "seed = 1", samples=48, step=1800)
    by_hour = {round((r.time - MIDNIGHT_CET) / 3600): float(r.value or 0) for r in day}
    assert min(by_hour[h] for h in range(1, 6)) < 0  # frozen before dawn
    assert max(by_hour[h] for h in range(13, 17)) > 4  # thawed in the afternoon
    assert all(r.stream == "s/temperature" and r.unit == "Cel" for r in day)


def test_glitches_are_flagged_out_of_range(make_config: Callable[..., AgentConfig]) -> None:
    out = sample(make_config, "simulated.road_surface", "glitch_rate = 0.5", samples=40, step=1)
    glitches = [r for r in out if r.value == 85.0]
    assert glitches and all(r.quality == Quality.OUT_OF_RANGE for r in glitches)
    assert all(r.quality == Quality.GOOD for r in out if r.value != 85.0)


def test_parking_bay_comes_and_goes(make_config: Callable[..., AgentConfig]) -> None:
    out = sample(
        make_config,
        "simulated.parking_bay",
        'mean_stay = "30s", mean_gap = "30s"',
        samples=600,
        step=1,
    )
    occupied = [r.value for r in out if r.stream == "s/occupied"]
    distance = [float(r.value or 0) for r in out if r.stream == "s/distance"]
    flips = sum(a != b for a, b in itertools.pairwise(occupied))
    assert 8 <= flips <= 40
    for state, d in zip(occupied, distance, strict=True):
        assert (d < 1.0) is state


def test_unsynced_clock_flags_every_reading(make_config: Callable[..., AgentConfig]) -> None:
    out = sample(
        make_config, "simulated.ble_thermometer", "", samples=5, step=2, synchronized=False
    )
    assert out and all(Quality.CLOCK_UNSYNCED in r.quality for r in out)
