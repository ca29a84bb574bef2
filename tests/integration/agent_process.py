"""Start the real ``edge-agent run`` as a subprocess on a generated config, for process tests."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

FAST_SENSORS = """
[device]
id = "test-pi"
trust_clock = true

[store]
data_dir = "{data_dir}"
flush_interval = "{flush}"
flush_count = {flush_count}

[[sensor]]
name = "road-surface"
driver = "simulated.road_surface"
interval = "{interval}"

[[sensor]]
name = "air"
driver = "simulated.air"
interval = "{interval}"

[[sensor]]
name = "bay-1"
driver = "simulated.parking_bay"
interval = "{interval}"

[[sensor]]
name = "lab-tag"
driver = "simulated.ble_thermometer"
interval = "{interval}"
options = {{ miss_rate = 0.0 }}
"""


def write_config(
    path: Path,
    data_dir: Path,
    *,
    interval: str = "100ms",
    flush: str = "200ms",
    flush_count: int = 1000,
) -> Path:
    path.write_text(
        FAST_SENSORS.format(
            data_dir=data_dir, interval=interval, flush=flush, flush_count=flush_count
        )
    )
    return path


class AgentProcess:
    """``edge-agent run --log-level debug`` with its stderr collected line by line."""

    def __init__(self, cmd: list[str], config: Path, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [*cmd, "run", "--config", str(config), "--log-level", "debug"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: list[str] = []
        self.committed_row = 0
        """Highest row id the agent reported as committed."""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            if "committed" in line and "through row" in line:
                self.committed_row = int(line.rsplit(" ", 1)[1])

    def wait_for_log(self, text: str, timeout: float = 30) -> None:
        """Wait until a log line contains ``text`` (the agent is slower to start when loaded)."""
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no log line with {text!r}; log:\n{self.log}")
            time.sleep(0.05)

    def wait(self, timeout: float = 20) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return code

    @property
    def log(self) -> str:
        return "".join(self.lines)
