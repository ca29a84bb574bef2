"""The simulated parking row: deterministic for a seed, cars come and go, light follows the day."""

from __future__ import annotations

import asyncio
import itertools

import numpy as np
import pytest

from drivers.camera.crop import crop
from drivers.camera.scene import ParkingScene, bay_boxes
from drivers.camera.tests.harness import MIDNIGHT_CET, Harness, running, take
from edge_agent.clock import ManualClock

DAY = 600.0  # a simulated day of ten minutes, as in the demo
HOUR = DAY / 24


def scene(seed: int = 7) -> ParkingScene:
    return ParkingScene(seed=seed, day_length=DAY, mean_stay=40, mean_gap=20)


def at_hour(hour: float) -> float:
    """Epoch seconds when the simulated day (of :data:`DAY` seconds) shows ``hour`` o'clock."""
    midnight = MIDNIGHT_CET - scene().day_fraction(MIDNIGHT_CET) * DAY
    return midnight + hour * HOUR


def test_same_seed_same_frames_other_seed_other_frames() -> None:
    noon = at_hour(12)
    a, b, c = scene(7), scene(7), scene(8)
    for t in (noon, noon + 13.0, at_hour(3)):
        assert np.array_equal(a.render(t), b.render(t))
        assert a.occupancy(t) == b.occupancy(t)
        assert not np.array_equal(a.render(t), c.render(t))
    # A frame depends on its time only, not on what was rendered before.
    assert np.array_equal(scene(7).render(noon + 13.0), a.render(noon + 13.0))


def test_bays_fill_by_day_and_empty_at_night_and_every_bay_changes() -> None:
    s = scene()
    times = [MIDNIGHT_CET + k * 5.0 for k in range(int(2 * DAY / 5))]  # two simulated days
    history = {box.bay: [s.occupancy(t)[box.bay] for t in times] for box in s.boxes}
    for bay, states in history.items():
        changes = sum(a != b for a, b in itertools.pairwise(states))
        assert changes >= 4, f"{bay} changed only {changes} times in two days"

    def occupied_share(first_hour: float, last_hour: float) -> float:
        picked = [
            i for i, t in enumerate(times) if first_hour <= s.day_fraction(t) * 24 < last_hour
        ]
        return sum(history[b][i] for b in history for i in picked) / (len(picked) * len(history))

    assert occupied_share(11, 17) > 2 * occupied_share(0, 5)


def test_the_pixels_of_each_bay_agree_with_the_ground_truth() -> None:
    s = scene()
    checked = {True: 0, False: 0}
    for k in range(24):
        t = at_hour(11) + k * 5.0  # daylight, from 11:00 to 15:36
        image = s.render(t)
        lay = s.layout
        # The lane's asphalt is the reference an empty bay looks like.
        asphalt = np.median(image[lay.bays_bottom + 5 : lay.centre_line - 5], axis=(0, 1))
        for bay, pixels in crop(image, s.boxes).items():
            differs = np.abs(pixels.astype(int) - asphalt).max(axis=2) > 30
            occupied = s.occupancy(t)[bay]
            share = differs.mean()
            assert (share > 0.1) if occupied else (share < 0.02), (bay, t, share)
            checked[occupied] += 1
    assert min(checked.values()) > 15  # both states seen often enough to mean something


def test_daylight_follows_the_simulated_day() -> None:
    s = scene()
    assert s.day_fraction(at_hour(13)) == pytest.approx(13 / 24)
    noon = s.render(at_hour(13)).mean()
    night = s.render(at_hour(1)).mean()
    assert noon > 3 * night
    assert s.daylight(at_hour(13)) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("width", "height", "bays"), [(640, 480, 6), (320, 240, 4), (1280, 720, 8)]
)
def test_bay_boxes_lie_inside_the_frame_between_the_lines(
    width: int, height: int, bays: int
) -> None:
    boxes = bay_boxes(width, height, bays)
    assert [b.bay for b in boxes] == [f"bay-{i + 1}" for i in range(bays)]
    for left, right in itertools.pairwise(boxes):
        assert left.right < right.x  # a painted line between them
        assert (left.y, left.height) == (right.y, right.height)
        assert abs(left.width - right.width) <= 1
    assert boxes[0].x > 0 and boxes[-1].right < width and boxes[0].bottom < height
    image = ParkingScene(width=width, height=height, bays=bays).render(MIDNIGHT_CET)
    assert set(crop(image, boxes)) == {b.bay for b in boxes}


def test_the_simulated_backend_delivers_the_scene_through_the_frame_pipeline() -> None:
    clock = ManualClock(at_hour(13))
    options = {"backend": "simulated", "seed": 7, "day_length": "10m", "mean_stay": "40s"}
    harness = Harness({**options, "mean_gap": "20s", "fps": 20}, clock=clock)

    async def main() -> None:
        async with running(harness.driver):
            frames = await take(harness.driver, 2)
        expected = scene(7).render(clock.now())
        for frame in frames:
            assert frame.time == clock.now()
            assert np.array_equal(frame.image, expected)
            assert not frame.image.flags.writeable

    asyncio.run(main())
