"""A real agent for the console's tests: ``edge-agent run`` as a subprocess on a config whose API
socket lies in a short temporary directory, with simulated sensors, the road-icing experiment
and a small parking experiment (``lot``) that turns two bay sensors into bays and counts.

Also: waiting for a condition inside a Pilot test, and the screen's text.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

LOT_MANIFEST = """
name = "lot"
version = "0.1.0"
description = "bays and counts from the bay sensors"
entry = "experiment:Lot"
reads = ["bay-*/occupied"]
writes = ["free", "occupied", "total"]
"""

LOT_CODE = """
from edge_agent.experiments import Experiment


class Lot(Experiment):
    async def on_start(self):
        self.bays = {}

    async def on_reading(self, reading):
        bay = reading.stream.split("/")[0]
        self.bays[bay] = bool(reading.value)
        self.ctx.emit(f"{bay}.occupied", self.bays[bay], "")
        taken = sum(self.bays.values())
        self.ctx.emit("occupied", taken, "count")
        self.ctx.emit("free", len(self.bays) - taken, "count")
        self.ctx.emit("total", len(self.bays), "count")
"""

CONFIG = """
experiments_dir = "{root}/experiments"

[device]
id = "tui-pi"
city = "Bruchsal"
lab = "digitallabor-test"
trust_clock = true

[store]
data_dir = "{root}/data"
flush_interval = "100ms"

[api]
socket = "{root}/api.sock"
restart = "exec"
apply_timeout = "30s"
apply_settle = "1s"

[[sensor]]
name = "road-surface"
driver = "simulated.road_surface"
interval = "{interval}"
options = {{ day_length = "2m" }}

[[sensor]]
name = "air"
driver = "simulated.air"
interval = "{interval}"
options = {{ day_length = "2m" }}

[[sensor]]
name = "bay-1"
driver = "simulated.parking_bay"
interval = "{interval}"

[[sensor]]
name = "bay-2"
driver = "simulated.parking_bay"
interval = "{interval}"
options = {{ seed = 7 }}

[[experiment]]
name = "road-icing"
timer = "1s"

[[experiment]]
name = "lot"
"""


def short_tmp() -> Path:
    """A directory whose path is short enough for a Unix socket."""
    return Path(tempfile.mkdtemp(prefix="tui-", dir="/tmp"))


def edge_agent_command() -> list[str]:
    """The installed ``edge-agent`` script beside this Python."""
    script = Path(sys.executable).parent / "edge-agent"
    return [str(script)] if script.exists() else [sys.executable, "-m", "edge_agent"]


def edge_tui_command() -> list[str]:
    """The installed ``edge-tui`` script beside this Python."""
    script = Path(sys.executable).parent / "edge-tui"
    return [str(script)] if script.exists() else [sys.executable, "-m", "tui.app"]


def write_lab(root: Path, *, interval: str = "200ms") -> Path:
    """The config and the ``lot`` experiment in ``root``; returns the config's path."""
    folder = root / "experiments" / "lot"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "experiment.toml").write_text(LOT_MANIFEST)
    (folder / "experiment.py").write_text(textwrap.dedent(LOT_CODE))
    config = root / "agent.toml"
    config.write_text(CONFIG.format(root=root, interval=interval))
    return config


class Agent:
    """``edge-agent run`` on a config, with its stderr kept (shown when a test fails)."""

    def __init__(self, config: Path, root: Path) -> None:
        self.config = config
        self.root = root
        self.socket = root / "api.sock"
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [*edge_agent_command(), "run", "--config", str(config), "--log-level", "info"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def wait_ready(self, timeout: float = 30.0) -> Agent:
        wait_for(
            lambda: self.socket.exists() or self.proc.poll() is not None,
            timeout,
            "the agent's API socket",
        )
        if self.proc.poll() is not None:
            raise AssertionError(f"the agent exited:\n{''.join(self.lines)}")
        return self

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._reader.join(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


def start_lab(**options: Any) -> tuple[Agent, Path]:
    root = short_tmp()
    config = write_lab(root, **options)
    return Agent(config, root).wait_ready(), root


def remove(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    """Poll ``condition`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")


async def until(
    pilot: Any, condition: Callable[[], Any], timeout: float = 30.0, what: str = ""
) -> Any:
    """Let the app run until ``condition`` holds (checked every 50 ms); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")


def screen_text(app: Any) -> str:
    """What the terminal shows, as plain text (one line per row)."""
    from rich.console import Console

    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    # What App.export_screenshot draws, as text rather than SVG.
    update = app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens, simplify=True
    )
    console.print(update)
    return console.export_text(styles=False)


def run(coroutine: Any) -> Any:
    """Run a Pilot test's coroutine on a fresh event loop."""
    return asyncio.run(coroutine)
