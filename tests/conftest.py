"""Shared fixtures: a logger, configs built from TOML text, the path of the edge-agent script."""

from __future__ import annotations

import logging
import shutil
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from edge_agent.config import AgentConfig, parse_config


@pytest.fixture
def logger() -> logging.Logger:
    log = logging.getLogger("edge_agent.test")
    log.setLevel(logging.DEBUG)
    return log


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[[str], AgentConfig]:
    """Build a validated config from TOML text; ``store.data_dir`` defaults to a temp dir."""

    def make(text: str) -> AgentConfig:
        data = tomllib.loads(text)
        data.setdefault("store", {}).setdefault("data_dir", str(tmp_path / "data"))
        return parse_config(data)

    return make


@pytest.fixture(scope="session")
def edge_agent_cmd() -> list[str]:
    """How to start the installed ``edge-agent`` console script."""
    script = Path(sys.executable).parent / "edge-agent"
    if script.exists():
        return [str(script)]
    found = shutil.which("edge-agent")
    if found is None:
        pytest.fail("edge-agent is not installed; run ./bootstrap.sh test")
    return [found]
