"""The sample configs the README shows pass ``edge-agent config check`` and say what they claim."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.camera.options import CameraOptions
from edge_agent.config import load_config

FOLDER = Path(__file__).parent.parent
SAMPLES = sorted(FOLDER.glob("*.example.toml"))


def edge_agent() -> str:
    script = Path(sys.executable).parent / "edge-agent"
    found = str(script) if script.exists() else shutil.which("edge-agent")
    if found is None:
        pytest.fail("edge-agent is not installed; run ./bootstrap.sh test")
    return found


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_edge_agent_config_check_accepts_the_sample(sample: Path) -> None:
    result = subprocess.run(
        [edge_agent(), "config", "check", str(sample)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"{sample}: OK" in result.stdout
    assert "camera.frames" in result.stdout


def test_the_samples_cover_picamera2_rtsp_and_the_simulated_demo_camera() -> None:
    assert {p.name for p in SAMPLES} == {"camera.example.toml", "camera-simulated.example.toml"}
    real = load_config(FOLDER / "camera.example.toml").driver_options
    pi, rtsp = real["parking-cam"], real["gate-cam"]
    assert isinstance(pi, CameraOptions) and isinstance(rtsp, CameraOptions)
    assert (pi.backend, pi.source) == ("picamera2", 0)
    assert rtsp.backend == "opencv" and str(rtsp.source).startswith("rtsp://")
    assert rtsp.password_file is not None and ":" not in str(rtsp.source).split("@")[0][7:]
    demo = load_config(FOLDER / "camera-simulated.example.toml").driver_options["parking-cam"]
    assert isinstance(demo, CameraOptions) and demo.backend == "simulated"
