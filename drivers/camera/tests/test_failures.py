"""A camera that stops delivering is counted, then reported, then reopened with backoff."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from drivers.camera.source import FrameSource
from drivers.camera.tests.harness import Harness, running, take, wait_for, write_npy_recording
from edge_agent.errors import DriverError
from edge_agent.supervisor import Supervisor


def test_unreadable_frames_are_counted_then_raise_driver_error(tmp_path: Path) -> None:
    for i in range(2):  # truncated files, as a card pulled during recording leaves them
        (tmp_path / f"{i:06d}.npy").write_bytes(b"\x93NUMPY\x01\x00")
    harness = Harness({"backend": "replay", "source": str(tmp_path), "fps": 20, "max_failures": 4})

    async def main() -> None:
        async with running(harness.driver) as task:
            with pytest.raises(DriverError, match=r"4 reads of recording .* failed in a row"):
                await asyncio.wait_for(task, timeout=30)

    asyncio.run(main())
    assert harness.driver.input_errors["read_failed"] == 4
    assert harness.resources.names("camera") == []  # withdrawn on the way out


def test_a_camera_that_disappears_is_reopened_by_the_supervisor(tmp_path: Path) -> None:
    recording = tmp_path / "rec"
    write_npy_recording(recording, 3)
    harness = Harness(
        {"backend": "replay", "source": str(recording), "fps": 20, "width": 64, "height": 48}
    )
    supervisor = Supervisor(logging.getLogger("test.supervisor"), initial=0.05, maximum=0.2)

    def offered() -> FrameSource | None:
        if "cam" not in harness.resources.names("camera"):
            return None
        return harness.resources.lookup("camera", "cam", FrameSource)

    async def main() -> None:
        state = supervisor.start("cam", harness.driver.run_forever)
        try:
            await wait_for(lambda: offered() is not None, "the camera to open")
            first = offered()
            assert first is not None
            before = (await take(harness.driver, 2))[-1].sequence
            for path in recording.iterdir():  # the device goes away
                path.unlink()
            await wait_for(lambda: state.restarts >= 1, "the supervisor to notice")
            assert state.last_error is not None and "failed in a row" in state.last_error
            write_npy_recording(recording, 3)  # and comes back
            await wait_for(lambda: offered() not in (None, first), "the camera to reopen")
            after = await take(harness.driver, 2)
            assert after[0].sequence > before  # numbering goes on across reopens
            assert state.state == "running"
        finally:
            await supervisor.stop()

    asyncio.run(main())
    assert harness.driver.input_errors["read_failed"] >= 3


def test_a_missing_video_file_stops_the_start_with_its_name(tmp_path: Path) -> None:
    pytest.importorskip("cv2")
    harness = Harness({"backend": "opencv", "source": str(tmp_path / "gone.avi")})

    with pytest.raises(DriverError, match=r"gone\.avi.*neither a device, a stream URL nor"):
        asyncio.run(harness.driver.start())
    assert harness.resources.names("camera") == []


def test_a_device_that_is_not_there_cannot_be_opened() -> None:
    pytest.importorskip("cv2")
    if any(Path("/dev").glob("video*")):
        pytest.skip("this machine has video devices; the test needs an index that is free")
    harness = Harness({"backend": "opencv", "source": "/dev/video0"})

    with pytest.raises(DriverError, match=r"cannot open V4L2 device /dev/video0.*video group"):
        asyncio.run(harness.driver.start())
