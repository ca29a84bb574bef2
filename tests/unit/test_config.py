"""Config files: the shipped ones pass, bad ones fail naming the file, key path and choices."""

from __future__ import annotations

import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from edge_agent.config import AgentConfig, load_config, resolve_config_path
from edge_agent.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
CASES = Path(__file__).parent / "config_cases"
EXPECTED = tomllib.loads((CASES / "expected.toml").read_text())
SHIPPED = sorted(ROOT.glob("edge_agent/configs/*.toml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_configs_are_valid(path: Path) -> None:
    config = load_config(path)
    assert config.sensors, "a shipped config should show at least one sensor"
    assert set(config.driver_options) == {s.name for s in config.sensors}


@pytest.mark.parametrize("case", sorted(EXPECTED), ids=str)
def test_bad_config_names_the_problem(case: str) -> None:
    path = CASES / f"{case}.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path))
    for fragment in EXPECTED[case]["says"]:
        assert fragment in message


def test_every_case_file_has_an_expectation() -> None:
    files = {p.stem for p in CASES.glob("*.toml")} - {"expected"}
    assert files == set(EXPECTED)


def test_defaults_fill_in(make_config: Callable[[str], AgentConfig]) -> None:
    config = make_config('[[sensor]]\nname = "air"\ndriver = "simulated.air"\n')
    (sensor,) = config.sensors
    assert sensor.interval == 30.0
    assert config.device.id  # the host name
    assert config.uplink is None
    assert config.store.max_age == 365 * 86400.0


def test_durations_and_sizes_in_every_spelling(make_config: Callable[[str], AgentConfig]) -> None:
    config = make_config(
        '[store]\nflush_interval = "250ms"\nmax_age = "90d"\nmax_size = "1GiB"\n'
        '[[sensor]]\nname = "air"\ndriver = "simulated.air"\ninterval = 5\n'
    )
    assert config.store.flush_interval == 0.25
    assert config.store.max_age == 90 * 86400.0
    assert config.store.max_size == 1024**3
    assert config.sensors[0].interval == 5.0


def test_missing_file_says_where_to_put_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file; pass --config FILE"):
        load_config(tmp_path / "agent.toml")


def test_config_path_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("EDGE_AGENT_CONFIG", raising=False)
    assert resolve_config_path(None) == Path("/etc/edge-agent/agent.toml")
    monkeypatch.setenv("EDGE_AGENT_CONFIG", str(tmp_path / "env.toml"))
    assert resolve_config_path(None) == tmp_path / "env.toml"
    assert resolve_config_path(tmp_path / "arg.toml") == tmp_path / "arg.toml"


def test_config_check_exits_2_and_names_the_key_path(edge_agent_cmd: list[str]) -> None:
    bad = subprocess.run(
        [*edge_agent_cmd, "config", "check", str(CASES / "unknown-key.toml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert "sensor[0].inteval" in bad.stderr
    good = subprocess.run(
        [*edge_agent_cmd, "config", "check", str(ROOT / "edge_agent/configs/example.toml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert good.returncode == 0, good.stderr
    assert "road-surface" in good.stdout and "simulated.road_surface every 30s" in good.stdout
