"""The parking experiment through the agent's runner, on frames of the camera driver's scene.

The frames come from :class:`drivers.camera.scene.ParkingScene`, whose ground truth says which
bays hold a car; they reach the experiment through the camera driver's real
:class:`~drivers.camera.source.FrameSource`, offered in the agent's resources, as on a Pi.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ai_edge_litert.interpreter", reason="LiteRT (ai-edge-litert) not installed")

from drivers.camera.frame import Frame
from drivers.camera.scene import ParkingScene
from drivers.camera.source import FrameSource
from edge_agent.clock import ManualClock
from edge_agent.config import parse_config
from edge_agent.errors import ConfigError, ExperimentError
from edge_agent.experiments.manifest import load_manifest
from edge_agent.experiments.runner import ExperimentRunner
from edge_agent.hub import Hub
from edge_agent.readings import Reading
from edge_agent.resources import Resources
from experiments.parking.smoothing import BayState

FOLDER = Path(__file__).parents[1]
NOON = 19_000 * 86400.0 + 12 * 3600.0  # 13:00 local (UTC+1): full daylight, busy lot
STEP_S = 2.0
FRAMES = 240


class Collected:
    """What the experiment published and recorded."""

    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def record_event(
        self, kind: str, message: str, severity: str, data: dict[str, Any], at: float
    ) -> None:
        self.events.append((kind, message, data))

    def latest(self, quantity: str, before: float) -> Reading | None:
        found = [r for r in self.readings if r.stream == f"parking/{quantity}" and r.time <= before]
        return found[-1] if found else None


def make_runner(
    params: dict[str, Any], resources: Resources, out: Collected, clock: ManualClock
) -> ExperimentRunner:
    manifest = load_manifest(FOLDER)
    return ExperimentRunner(
        manifest,
        manifest.validate_params(params),
        publish=out.readings.append,
        record_event=out.record_event,
        clock=clock,
        resources=resources,
        logger=logging.getLogger("test.parking"),
    )


def scene() -> ParkingScene:
    return ParkingScene(seed=5, mean_stay=60.0, mean_gap=30.0)


def frame_at(lot: ParkingScene, t: float, sequence: int) -> Frame:
    image = lot.render(t)
    image.flags.writeable = False
    return Frame(image, t, sequence)


@pytest.fixture(scope="module")
def eight_minutes() -> tuple[ParkingScene, Collected, list[float]]:
    """240 frames two seconds apart, through open/frame/tick as the live loop calls them."""
    lot, out, clock = scene(), Collected(), ManualClock(NOON)
    runner = make_runner({"confirm": 3}, Resources(), out, clock)
    times = [NOON + k * STEP_S for k in range(FRAMES)]

    async def main() -> None:
        await runner.open()
        for sequence, t in enumerate(times):
            clock.time = t
            await runner.frame("parking-cam", frame_at(lot, t, sequence))
        await runner.tick(times[-1] + 1)
        await runner.close()

    asyncio.run(main())
    return lot, out, times


def test_published_bay_states_follow_the_scene(eight_minutes) -> None:
    lot, out, times = eight_minutes
    agree = checked = 0
    for t in times[6:]:
        truth = lot.occupancy(t)
        # A state may lag a change by the three frames that confirm it.
        if any(lot.occupancy(t - k * STEP_S) != truth for k in range(1, 4)):
            continue
        for bay, occupied in truth.items():
            published = out.latest(f"{bay}.occupied", t)
            checked += 1
            agree += published is not None and published.value is occupied
    assert checked > 600
    assert agree / checked >= 0.95, f"{agree}/{checked} bay states agree with the scene"
    changes = sum(lot.occupancy(a) != lot.occupancy(b) for a, b in itertools.pairwise(times))
    assert changes >= 5  # the scene did change during the run


def test_counts_add_up_and_every_stream_is_a_derived_value(eight_minutes) -> None:
    _, out, _ = eight_minutes
    pattern = re.compile(r"^parking/(bay-[1-6]\.(occupied|confidence)|free|occupied|total)$")
    assert all(pattern.match(r.stream) for r in out.readings)
    assert all(isinstance(r.value, bool | int | float) for r in out.readings)
    by_time: dict[float, dict[str, Any]] = {}
    for r in out.readings:
        by_time.setdefault(r.time, {})[r.stream] = r.value
    counted = [v for v in by_time.values() if "parking/total" in v]
    assert counted
    for values in counted:
        assert values["parking/total"] == 6
        assert values["parking/free"] + values["parking/occupied"] <= 6
    confidences = [r.value for r in out.readings if r.stream.endswith(".confidence")]
    assert all(0.0 <= float(c) <= 1.0 for c in confidences)  # type: ignore[arg-type]


def test_the_timer_publishes_every_bay_again(eight_minutes) -> None:
    _, out, times = eight_minutes
    at_tick = {r.stream for r in out.readings if r.time == times[-1] + 1}
    assert {f"parking/bay-{n}.occupied" for n in range(1, 7)} <= at_tick
    assert {"parking/free", "parking/occupied", "parking/total"} <= at_tick


@pytest.mark.parametrize(
    ("probabilities", "confirm", "states"),
    [
        # one odd frame never flips a bay; three in a row do
        (
            [0.9, 0.9, 0.9, 0.1, 0.9, 0.1, 0.1, 0.1],
            3,
            [None, None, True, True, True, True, True, False],
        ),
        # confirm=1 follows every frame
        ([0.2, 0.7, 0.4], 1, [False, True, False]),
        # the threshold counts as occupied
        ([0.5, 0.5], 2, [None, True]),
    ],
)
def test_a_bay_changes_only_after_frames_agree(
    probabilities: list[float], confirm: int, states: list[bool | None]
) -> None:
    bay = BayState(confirm=confirm, threshold=0.5)
    seen = []
    for p in probabilities:
        bay.update(p)
        seen.append(bay.occupied)
    assert seen == states


def test_confidence_falls_while_frames_start_to_doubt() -> None:
    bay = BayState(confirm=3)
    for p in (0.9, 0.9, 0.9):
        bay.update(p)
    assert bay.confidence == pytest.approx(0.9)
    bay.update(0.1)
    assert bay.occupied is True
    assert bay.confidence == pytest.approx((0.9 + 0.9 + 0.1) / 3)


def test_lot_full_and_space_again_are_events() -> None:
    out, clock, lot = Collected(), ManualClock(NOON), scene()
    runner = make_runner({"confirm": 1}, Resources(), out, clock)

    def full(t: float) -> bool:
        return all(lot.occupancy(t).values())

    quiet = NOON if not full(NOON) else NOON + 1
    busy = next(t for t in range(int(quiet), int(quiet) + 86400, 5) if full(t))
    quiet_again = next(t for t in range(busy, busy + 86400, 5) if not full(t))

    async def main() -> None:
        await runner.open()
        for sequence, t in enumerate((quiet, busy, quiet_again)):
            clock.time = t
            await runner.frame("parking-cam", frame_at(lot, t, sequence))
        await runner.close()

    asyncio.run(main())
    assert [(kind, message) for kind, message, _ in out.events] == [
        ("lot-full", "all 6 bays occupied"),
        ("lot-space", f"{6 - sum(lot.occupancy(quiet_again).values())} of 6 bays free again"),
    ]


async def _live(resources: Resources, out: Collected, frames: int) -> ExperimentRunner:
    """The live loop: the camera starts late, then restarts (a new FrameSource)."""
    lot, clock, hub = scene(), ManualClock(NOON), Hub()
    runner = make_runner({"confirm": 2, "min_interval": "1ms"}, resources, out, clock)
    task = asyncio.create_task(runner.run(hub))
    await asyncio.sleep(0.8)  # the experiment waits for its camera
    assert runner.calls["on_frame"] == 0
    sequence = 0
    for _ in range(2):  # the driver's first source, then the one after a restart
        source = FrameSource("parking-cam", 640, 480, 1.0, logger=logging.getLogger("cam"))
        resources.provide("camera", "parking-cam", source)
        target = runner.calls["on_frame"] + frames
        for _ in range(200):
            if runner.calls["on_frame"] >= target:
                break
            t = NOON + sequence * STEP_S
            clock.time = t
            source.publish(frame_at(lot, t, sequence))
            sequence += 1
            await asyncio.sleep(0.05)
        resources.withdraw("camera", "parking-cam")
        source.close()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return runner


def test_the_live_loop_waits_for_the_camera_and_follows_its_restart() -> None:
    out = Collected()
    runner = asyncio.run(_live(Resources(), out, frames=4))
    assert runner.calls["on_frame"] >= 8
    assert runner.hook_errors == 0
    assert {r.stream for r in out.readings} >= {"parking/free", "parking/total"}


def test_a_bays_file_next_to_the_config_is_used(tmp_path: Path) -> None:
    (tmp_path / "lot.toml").write_text(
        (FOLDER / "sample-bays.toml").read_text().replace('"bay-1"', '"Entrance"')
    )
    config = parse_config(
        {
            "sensor": [
                {
                    "name": "parking-cam",
                    "driver": "camera.frames",
                    "options": {"backend": "simulated"},
                }
            ],
            "experiment": [{"name": "parking", "params": {"bays": "lot.toml"}}],
        },
        source=tmp_path / "agent.toml",
    )
    params = config.experiment_params["parking"]
    assert params["bays"] == str(tmp_path / "lot.toml")
    assert params["model"] == str(FOLDER / "model" / "occupancy.tflite")
    out = Collected()
    runner = ExperimentRunner(
        config.experiment_manifests["parking"],
        params,
        publish=out.readings.append,
        record_event=out.record_event,
        clock=ManualClock(NOON),
        resources=Resources(),
        logger=logging.getLogger("test.parking"),
    )

    async def main() -> None:
        await runner.open()
        for sequence in range(3):
            await runner.frame("parking-cam", frame_at(scene(), NOON + 2 * sequence, sequence))
        await runner.close()

    asyncio.run(main())
    assert any(r.stream == "parking/entrance.occupied" for r in out.readings)


def test_a_camera_that_is_not_a_sensor_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"unknown camera sensor 'lot-cam'.*parking-cam"):
        parse_config(
            {
                "sensor": [
                    {
                        "name": "parking-cam",
                        "driver": "camera.frames",
                        "options": {"backend": "simulated"},
                    }
                ],
                "experiment": [{"name": "parking", "params": {"camera": "lot-cam"}}],
            }
        )


def test_a_missing_bays_file_stops_the_start_with_the_fix(tmp_path: Path) -> None:
    out = Collected()
    runner = make_runner({"bays": str(tmp_path / "nope.toml")}, Resources(), out, ManualClock(NOON))
    with pytest.raises(ExperimentError, match=r"nope.toml: no such bays file; draw the bays"):
        asyncio.run(runner.open())
