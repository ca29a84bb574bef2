"""Frames in memory: subscribers, slow consumers, snapshots, and readings without images."""

from __future__ import annotations

import asyncio
import logging
import stat
import sys
from pathlib import Path

import numpy as np
import pytest

from drivers.camera.frame import Frame
from drivers.camera.source import FrameSource
from drivers.camera.tests.harness import MIDNIGHT_CET, Harness, pattern, running, wait_for
from edge_agent.errors import DriverError


def frame(sequence: int) -> Frame:
    image = pattern(sequence)
    image.flags.writeable = False
    return Frame(image, MIDNIGHT_CET + sequence, sequence)


def test_a_slow_consumer_gets_the_newest_frames_and_the_skipped_ones_are_counted() -> None:
    async def main() -> None:
        source = FrameSource("cam", 64, 48, 1.0, logger=logging.getLogger("test"))
        slow = source.subscribe(buffer=2)
        fast = source.subscribe()
        fast_seen = []
        for sequence in range(10):
            source.publish(frame(sequence))
            fast_seen.append((await anext(fast)).sequence)
        assert fast_seen == list(range(10)) and fast.skipped == 0
        assert [(await anext(slow)).sequence for _ in range(2)] == [8, 9]
        assert slow.skipped == 8 and source.skipped == 8
        assert source.published == 10 and source.latest is not None
        assert source.latest.sequence == 9

    asyncio.run(main())


def test_subscriptions_end_when_the_source_closes_after_the_waiting_frames() -> None:
    async def main() -> None:
        source = FrameSource("cam", 64, 48, 1.0, logger=logging.getLogger("test"))
        async with source.subscribe(buffer=3) as subscription:
            source.publish(frame(0))
            source.publish(frame(1))
            source.close()
            assert [f.sequence async for f in subscription] == [0, 1]
        late = source.subscribe()
        assert [f async for f in late] == []
        source.publish(frame(2))  # a closed source takes no more frames
        assert source.latest is not None and source.latest.sequence == 1

    asyncio.run(main())


def test_a_closed_subscription_no_longer_counts_skips() -> None:
    async def main() -> None:
        source = FrameSource("cam", 64, 48, 1.0, logger=logging.getLogger("test"))
        subscription = source.subscribe()
        subscription.close()
        for sequence in range(5):
            source.publish(frame(sequence))
        assert source.skipped == 0 and subscription.skipped == 0
        with pytest.raises(StopAsyncIteration):
            await anext(subscription)

    asyncio.run(main())


def test_a_slow_consumer_of_a_running_camera_skips_and_the_driver_reports_it() -> None:
    harness = Harness({"backend": "simulated", "fps": 20}, interval=0.5)

    async def main() -> None:
        async with running(harness.driver):
            source = harness.driver.frame_source
            assert source is not None
            async with source.subscribe() as subscription:
                first = await anext(subscription)
                # Busy with the first frame while the camera goes on.
                await wait_for(lambda: source.published >= first.sequence + 6, "more frames")
                second = await anext(subscription)
                assert second.sequence >= first.sequence + 5
                assert subscription.skipped == second.sequence - first.sequence - 1
                await wait_for(lambda: any(v > 0 for v in harness.values("dropped")), "report")

    asyncio.run(main())
    frames, rates = harness.values("frames"), harness.values("frame_rate")
    assert frames and all(isinstance(v, int) and v >= 0 for v in frames)
    assert all(isinstance(v, float) and 0 <= v <= 25 for v in rates)
    # Only these small numbers are published: the store and the uplink never see an image.
    assert {r.stream for r in harness.readings} == {"cam/frames", "cam/frame_rate", "cam/dropped"}
    assert {r.unit for r in harness.readings} == {"count", "Hz"}


def test_frames_are_offered_to_experiments_only_while_the_driver_runs() -> None:
    harness = Harness({"backend": "simulated"})

    async def main() -> None:
        assert harness.resources.names("camera") == []
        async with running(harness.driver):
            source = harness.resources.lookup("camera", "cam", FrameSource)
            assert source is harness.driver.frame_source
            assert source.size == (640, 480)
            await wait_for(lambda: source.latest is not None, "first frame")
        assert harness.resources.names("camera") == []
        assert source.closed

    asyncio.run(main())


def test_snapshot_writes_a_readable_png_of_the_latest_frame(tmp_path: Path) -> None:
    cv2 = pytest.importorskip("cv2")
    harness = Harness({"backend": "simulated", "seed": 3})

    async def main() -> FrameSource:
        async with running(harness.driver):
            source = harness.driver.frame_source
            assert source is not None
            await wait_for(lambda: source.latest is not None, "first frame")
            running_shot = await asyncio.to_thread(source.snapshot, tmp_path / "running.png")
            assert running_shot == tmp_path / "running.png"
        return source

    source = asyncio.run(main())
    # After the stop the latest frame no longer changes, so the file must match it exactly.
    written = source.snapshot(tmp_path / "bay.png")
    assert written == tmp_path / "bay.png"
    bgr = cv2.imread(str(written))
    assert source.latest is not None
    assert np.array_equal(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), source.latest.image)
    assert cv2.imread(str(tmp_path / "running.png")).shape == (480, 640, 3)
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bay.png", "running.png"]


def test_without_opencv_a_snapshot_is_an_npy_array(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)
    harness = Harness({"backend": "simulated"})

    async def main() -> FrameSource:
        async with running(harness.driver):
            source = harness.driver.frame_source
            assert source is not None
            await wait_for(lambda: source.latest is not None, "first frame")
        return source

    source = asyncio.run(main())
    written = source.snapshot(tmp_path / "bay.png")
    assert written == tmp_path / "bay.npy"
    assert source.latest is not None
    assert np.array_equal(np.load(written), source.latest.image)


def test_snapshot_refuses_before_the_first_frame_and_unknown_formats(tmp_path: Path) -> None:
    source = FrameSource("cam", 64, 48, 1.0, logger=logging.getLogger("test"))
    with pytest.raises(DriverError, match="has not captured a frame yet"):
        source.snapshot(tmp_path / "x.png")
    source.publish(frame(0))
    with pytest.raises(ValueError, match=r"\.png, \.jpg, \.jpeg or \.npy"):
        source.snapshot(tmp_path / "x.bmp")
    with pytest.raises(FileNotFoundError):
        source.snapshot(tmp_path / "missing-dir" / "x.npy")
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind
