"""The sample configs of this folder pass `edge-agent config check`."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.cli import main

FOLDER = Path(__file__).parent.parent
SAMPLES = sorted(FOLDER.glob("*.example.toml"))


def test_there_is_a_sample() -> None:
    assert [p.name for p in SAMPLES] == ["health.example.toml"]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_sample_passes_config_check(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", str(sample)]) == 0
    out = capsys.readouterr().out
    assert f"{sample}: OK" in out
    assert "system.health" in out
