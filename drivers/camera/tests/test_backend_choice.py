"""Which backend a camera gets, the options that go with each, and OpenCV staying optional."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.camera.tests.harness import Harness, running, wait_for, write_npy_recording
from edge_agent.config import parse_config
from edge_agent.errors import ConfigError


@pytest.fixture(autouse=True)
def no_backend_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDGE_AGENT_CAMERA_BACKEND", raising=False)


def test_probing_on_a_machine_without_camera_picks_simulated_and_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    if any(Path("/dev").glob("video*")) or importlib.util.find_spec("picamera2"):
        pytest.skip("this machine has a camera stack; probing would rightly pick it")
    harness = Harness({})

    async def main() -> None:
        with caplog.at_level(logging.WARNING):
            async with running(harness.driver):
                source = harness.driver.frame_source
                assert source is not None
                await wait_for(lambda: source.latest is not None, "a simulated frame")

    asyncio.run(main())
    assert harness.driver.backend is not None
    assert (harness.driver.backend.name, harness.driver.backend.source) == ("simulated", "probe")
    warning = next(r for r in caplog.records if r.levelno == logging.WARNING)
    assert "probed and chose 'simulated'" in warning.getMessage()
    for reason in ("picamera2:", "python3-picamera2 with apt", "opencv:", "/dev/video*", "replay:"):
        assert reason in warning.getMessage()


def test_the_config_backends_table_chooses_for_every_camera(tmp_path: Path) -> None:
    write_npy_recording(tmp_path, 1)
    harness = Harness({"source": str(tmp_path)}, backends={"camera": "replay"})

    async def main() -> None:
        async with running(harness.driver):
            pass

    asyncio.run(main())
    assert harness.driver.backend is not None
    assert (harness.driver.backend.name, harness.driver.backend.source) == ("replay", "config")


def test_the_environment_chooses_when_nothing_else_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGE_AGENT_CAMERA_BACKEND", "simulated")
    harness = Harness({})
    choice = harness.driver.choose_backend()
    assert (choice.name, choice.source) == ("simulated", "environment")


def test_a_stream_url_counts_as_choosing_opencv() -> None:
    harness = Harness({"source": "rtsp://lab@192.0.2.10:554/stream2"})
    choice = harness.driver.choose_backend()
    assert (choice.name, choice.source) == ("opencv", "option")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"backend": "replay"}, "replay backend needs source"),
        ({"backend": "picamera2", "source": "/dev/video0"}, "camera number as source"),
        ({"backend": "simulated", "source": "rtsp://h/s"}, "only the opencv backend reads"),
        ({"source": True}, "source"),
        ({"source": -1}, "camera numbers start at 0"),
        ({"source": "rtsp://h/s", "password_file": "/p"}, "not a stream URL with a user"),
        ({"backend": "usb"}, "known camera backends: opencv, picamera2, replay, simulated"),
        ({"fps": 0}, "fps"),
        ({"width": 8}, "width"),
        ({"colour": "rgb"}, "unknown key 'colour'"),
    ],
)
def test_options_that_cannot_work_are_refused_when_the_config_is_read(
    options: dict[str, object], message: str
) -> None:
    sensor = {"name": "cam", "driver": "camera.frames", "options": options}
    with pytest.raises(ConfigError, match=message):
        parse_config({"sensor": [sensor]})


def test_the_agent_imports_the_camera_driver_without_opencv_or_picamera2() -> None:
    code = (
        "import sys\n"
        "from edge_agent.driver import load_driver\n"
        "from edge_agent.config import parse_config\n"
        "parse_config({'sensor': [{'name': 'c', 'driver': 'camera.frames'}]})\n"
        "load_driver('camera.frames')\n"
        "print(sorted(m for m in ('cv2', 'picamera2') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"
