"""Helpers of the fault tests: in-process agents on real configs, user experiments as folders,
and waiting for conditions without timed assertions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import tomllib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from edge_agent.agent import Agent
from edge_agent.clock import Clock
from edge_agent.config import AgentConfig, parse_config
from edge_agent.readings import Reading
from edge_agent.store import Store

SENSORS = """
[[sensor]]
name = "road-surface"
driver = "simulated.road_surface"
interval = "{interval}"

[[sensor]]
name = "air"
driver = "simulated.air"
interval = "{interval}"
"""


def agent_config(
    tmp_path: Path,
    *,
    interval: str = "50ms",
    store: str = "",
    extra: str = "",
    trust_clock: bool = False,
    device: str = 'id = "fault-pi"',
) -> AgentConfig:
    """A config with two simulated sensors, the store and API socket under ``tmp_path``;
    ``device`` holds the ``[device]`` keys besides ``trust_clock``."""
    text = f"""
experiments_dir = "{tmp_path / "experiments"}"

[device]
{device}
trust_clock = {"true" if trust_clock else "false"}

[store]
data_dir = "{tmp_path / "data"}"
flush_interval = "100ms"
{store}

[api]
socket = "{tmp_path / "api.sock"}"

[discovery]
enabled = false
{SENSORS.format(interval=interval)}
{extra}
"""
    return parse_config(tomllib.loads(text))


def write_experiment(root: Path, name: str, manifest: str, code: str) -> Path:
    """A user experiment folder ``root/experiments/<name>`` with its manifest and code."""
    folder = root / "experiments" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "experiment.toml").write_text(manifest)
    (folder / "experiment.py").write_text(code)
    return folder


async def wait_until(
    condition: Callable[[], bool], what: str, *, timeout: float = 60.0, step: float = 0.05
) -> None:
    """Poll ``condition`` on the event loop until it holds; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(step)


@contextlib.asynccontextmanager
async def running(
    config: AgentConfig,
    *,
    clock: Clock | None = None,
    on_reading: Callable[[Reading], None] | None = None,
    hook_timeout: float = 30.0,
) -> AsyncIterator[Agent]:
    """Run a real :class:`Agent` on the current loop; stop it cleanly on the way out."""
    log = logging.getLogger("edge_agent.faults")
    agent = Agent(config, logger=log, clock=clock, on_reading=on_reading, hook_timeout=hook_timeout)
    task = asyncio.get_running_loop().create_task(agent.run())
    try:
        await wait_until(lambda: agent.writer.committed > 0 or task.done(), "the first commit")
        if task.done():
            task.result()
        yield agent
    finally:
        agent.request_stop()
        await asyncio.wait_for(task, timeout=60)


def read_store(data_dir: Path) -> Store:
    """A read-only view of the store, as the CLI opens it."""
    return Store(data_dir, readonly=True)
