"""gpio.example.toml, the sample the README shows, passes ``edge-agent config check``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent.config import load_config

SAMPLE = Path(__file__).parent.parent / "gpio.example.toml"


def edge_agent_script() -> str:
    script = Path(sys.executable).parent / "edge-agent"
    found = str(script) if script.exists() else shutil.which("edge-agent")
    if found is None:
        pytest.fail("edge-agent is not installed; run ./bootstrap.sh test")
    return found


def test_the_sample_uses_the_real_lgpio_backend_and_all_four_drivers() -> None:
    config = load_config(SAMPLE)
    assert config.backends == {"gpio": "lgpio"}
    drivers = {s.driver for s in config.sensors}
    assert drivers == {"gpio.distance", "gpio.motion", "gpio.input", "gpio.output"}
    pins = [
        pin
        for options in config.driver_options.values()
        for name in ("pin", "trigger", "echo")
        if (pin := getattr(options, name, None)) is not None
    ]
    assert len(pins) == len(set(pins)), "two sensors of the sample share a pin"


def test_edge_agent_config_check_accepts_the_sample() -> None:
    done = subprocess.run(
        [edge_agent_script(), "config", "check", str(SAMPLE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"{SAMPLE}: OK" in done.stdout
    assert "bay-2                gpio.distance" in done.stdout
