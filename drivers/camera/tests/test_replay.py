"""The replay backend plays recorded frames through the same pipeline as a camera."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import numpy as np
import pytest

from drivers.camera.replay import ReplayCapture
from drivers.camera.tests.harness import (
    MIDNIGHT_CET,
    Harness,
    running,
    take,
    write_npy_recording,
    write_png_recording,
)
from edge_agent.errors import DriverError


def test_png_recording_plays_in_name_order_as_rgb_and_loops(tmp_path: Path) -> None:
    pytest.importorskip("cv2")
    recorded = write_png_recording(tmp_path / "rec", 3)
    harness = Harness(
        {"backend": "replay", "source": str(tmp_path / "rec"), "fps": 20, "width": 64, "height": 48}
    )

    async def main() -> list[np.ndarray]:
        async with running(harness.driver):
            frames = await take(harness.driver, 8)
        # Without recording.toml every capture shows the next file, so the frame counter says
        # which file each frame is.
        for frame in frames:
            assert np.array_equal(frame.image, recorded[frame.sequence % 3]), frame.sequence
        return [f.image for f in frames]

    images = asyncio.run(main())
    assert tuple(images[0][0, 0]) in {(255, 0, 0), (0, 160, 0), (0, 0, 255)}  # RGB, not BGR
    assert len({img.tobytes() for img in images}) == 3  # all three files came round


def test_recorded_frames_of_another_size_are_scaled_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorded = write_npy_recording(tmp_path / "rec", 2)  # 64x48
    harness = Harness(
        {"backend": "replay", "source": str(tmp_path / "rec"), "fps": 20, "width": 32, "height": 24}
    )

    async def main() -> None:
        with caplog.at_level(logging.WARNING):
            async with running(harness.driver):
                frames = await take(harness.driver, 2)
        for frame in frames:
            assert frame.size == (32, 24)
            assert np.array_equal(frame.image, recorded[frame.sequence % 2][::2, ::2])

    asyncio.run(main())
    assert "delivers 64x48 frames, configured 32x24" in caplog.text


def test_recording_toml_paces_the_replay_by_the_recorded_frame_rate(tmp_path: Path) -> None:
    recorded = write_npy_recording(tmp_path, 5)
    (tmp_path / "recording.toml").write_text("fps = 2\n")
    capture = ReplayCapture(tmp_path)
    capture.open()

    # Captures at 0, 0.5, 1.0, 2.5 and 3.0 s into the replay: 2 recorded frames per second.
    shown = [capture.read(MIDNIGHT_CET + t) for t in (0.0, 0.5, 1.0, 2.5, 3.0)]
    for image, index in zip(shown, (0, 1, 2, 0, 1), strict=True):  # 2.5 s is frame 5 = 0
        assert np.array_equal(image, recorded[index])


def test_without_recording_toml_every_capture_shows_the_next_file(tmp_path: Path) -> None:
    recorded = write_npy_recording(tmp_path, 3)
    capture = ReplayCapture(tmp_path)
    capture.open()
    shown = [capture.read(MIDNIGHT_CET) for _ in range(4)]  # the clock does not matter
    for image, index in zip(shown, (0, 1, 2, 0), strict=True):
        assert np.array_equal(image, recorded[index])


@pytest.mark.parametrize("text", ["fps = 0\n", "fps = 'fast'\n", "fps = \n"])
def test_a_bad_recording_toml_stops_the_start_with_the_file_named(
    tmp_path: Path, text: str
) -> None:
    write_npy_recording(tmp_path, 1)
    (tmp_path / "recording.toml").write_text(text)
    harness = Harness({"backend": "replay", "source": str(tmp_path)})

    with pytest.raises(DriverError, match=r"recording\.toml"):
        asyncio.run(harness.driver.start())


def test_without_opencv_only_npy_frames_play(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("cv2")
    write_png_recording(tmp_path, 2)
    npys = write_npy_recording(tmp_path, 2, start=10)
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 now fails, as without the extra
    harness = Harness(
        {"backend": "replay", "source": str(tmp_path), "fps": 20, "width": 64, "height": 48}
    )

    async def main() -> None:
        async with running(harness.driver):
            frames = await take(harness.driver, 4)
        for frame in frames:
            assert np.array_equal(frame.image, npys[frame.sequence % 2])

    asyncio.run(main())


def test_without_opencv_a_png_only_recording_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("cv2")
    write_png_recording(tmp_path, 2)
    monkeypatch.setitem(sys.modules, "cv2", None)
    harness = Harness({"backend": "replay", "source": str(tmp_path)})

    with pytest.raises(DriverError, match=r"2 PNG/JPEG frames, which need OpenCV.*\[camera\]"):
        asyncio.run(harness.driver.start())


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_a_replay_source_without_frames_is_refused(tmp_path: Path, make: str) -> None:
    source = tmp_path / "rec"
    if make == "empty":
        source.mkdir()
        (source / "notes.txt").write_text("not a frame")
    harness = Harness({"backend": "replay", "source": str(source)})

    with pytest.raises(DriverError, match="rec"):
        asyncio.run(harness.driver.start())
