"""Shared by the API and discovery tests (no tests here).

A real agent with simulated sensors, a failing sensor and a small experiment, run on its own
event loop in a thread, with its API on a real Unix socket in a short temporary directory."""

from __future__ import annotations

import asyncio
import grp
import logging
import shutil
import tempfile
import textwrap
import threading
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge_agent.agent import Agent
from edge_agent.config import AgentConfig, parse_config

PROBE_MANIFEST = """
name = "probe"
version = "0.2.0"
description = "doubles the air temperature and ticks"
entry = "experiment:Probe"
reads = ["air/temperature"]
writes = ["doubled"]
events = ["tick"]
timer = "300ms"
"""

PROBE_CODE = """
from edge_agent.experiments import Experiment


class Probe(Experiment):
    async def on_start(self):
        self.seen = 0
        self.ctx.log.info("probe started")

    async def on_reading(self, reading):
        self.seen += 1
        self.ctx.emit("doubled", 2 * reading.value, reading.unit)

    async def on_timer(self, now):
        self.ctx.event("tick", f"seen {self.seen}", seen=self.seen)
"""

CONFIG = """
experiments_dir = "{root}/experiments"

[device]
id = "api-pi"
city = "Rastatt"
lab = "digitallabor-rastatt"
trust_clock = true

[store]
data_dir = "{root}/data"
flush_interval = "100ms"

[api]
socket = "{root}/api.sock"
group = "{group}"

[[sensor]]
name = "air"
driver = "simulated.air"
interval = "100ms"

[[sensor]]
name = "bay-1"
driver = "simulated.parking_bay"
interval = "100ms"

[[sensor]]
name = "road-probe"
driver = "onewire.ds18b20"
interval = "200ms"
options = {{ backend = "simulated" }}

[[sensor]]
name = "missing-probe"
driver = "onewire.ds18b20"
interval = "1s"
options = {{ backend = "sysfs", sysfs_root = "{root}/w1" }}

[[sensor]]
name = "spare"
driver = "simulated.air"
enabled = false

[[experiment]]
name = "probe"

[[experiment]]
name = "road-icing"
enabled = false
"""


def existing_group() -> str:
    """A group that exists here, to check the socket's ownership."""
    for name in ("daemon", "adm", "users", "nogroup"):
        try:
            grp.getgrnam(name)
        except KeyError:
            continue
        return name
    return "edge-agent"


def short_tmp() -> Path:
    """A directory with a path short enough for a Unix socket."""
    return Path(tempfile.mkdtemp(prefix="ea-", dir="/tmp"))


def make_probe(root: Path) -> None:
    folder = root / "experiments" / "probe"
    folder.mkdir(parents=True)
    (folder / "experiment.toml").write_text(PROBE_MANIFEST)
    (folder / "experiment.py").write_text(textwrap.dedent(PROBE_CODE))
    (root / "w1").mkdir()  # a 1-Wire bus without devices: the missing probe fails to start


def make_config(root: Path, text: str = CONFIG, **extra: Any) -> tuple[AgentConfig, Path]:
    path = root / "agent.toml"
    path.write_text(text.format(root=root, group=existing_group(), **extra))
    return parse_config(tomllib.loads(path.read_text()), source=path), path


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """Poll ``condition`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")


class AgentThread:
    """Runs ``Agent.run`` on a fresh event loop in a thread."""

    def __init__(self, config: AgentConfig, *, prepare: Callable[[Agent], None] | None = None):
        self.logger = logging.getLogger("edge_agent.apitest")
        self.logger.setLevel(logging.DEBUG)
        self.agent = Agent(config, logger=self.logger)
        if prepare is not None:
            prepare(self.agent)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        async def run() -> None:
            self.loop = asyncio.get_running_loop()
            await self.agent.run()

        try:
            asyncio.run(run())
        except BaseException as exc:
            self.error = exc

    def start(self) -> AgentThread:
        self._thread.start()
        wait_for(
            lambda: self.agent.api.server is not None and self.agent.api.server.serving,
            what="the API socket",
        )
        return self

    def call(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` on the agent's loop."""
        assert self.loop is not None
        self.loop.call_soon_threadsafe(fn)

    def stop(self) -> None:
        if self.loop is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.agent.request_stop)
        self._thread.join(30)
        assert not self._thread.is_alive(), "the agent did not stop"
        if self.error is not None:
            raise self.error


def remove(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
