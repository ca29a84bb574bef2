"""Building GPIO drivers for tests and waiting for what gpiozero's threads do.

Drivers are built the way the agent builds them: the class from the entry point, options
validated by the config code, a publish callback, a clock and a logger.
"""

from __future__ import annotations

import asyncio
import logging
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge_agent.clock import Clock, ManualClock
from edge_agent.config import parse_config
from edge_agent.driver import Driver, load_driver
from edge_agent.readings import Reading, Value
from edge_agent.resources import Resources

CASES_DIR = Path(__file__).parent / "testcases"
SENSOR = "s"


def load_cases(kind: str) -> dict[str, dict[str, Any]]:
    """The ``testcases/<kind>/*.toml`` files by name."""
    return {
        path.stem: tomllib.loads(path.read_text())
        for path in sorted((CASES_DIR / kind).glob("*.toml"))
    }


class Recorder:
    """Collects what a driver publishes."""

    def __init__(self) -> None:
        self.readings: list[Reading] = []

    def __call__(self, reading: Reading) -> None:
        self.readings.append(reading)

    def of(self, quantity: str) -> list[Reading]:
        """The readings of ``<sensor>/<quantity>``."""
        return [r for r in self.readings if r.stream == f"{SENSOR}/{quantity}"]

    def values(self, quantity: str) -> list[Value]:
        """The values of ``<sensor>/<quantity>``, in order."""
        return [r.value for r in self.of(quantity)]


def make_driver(
    driver: str,
    options: dict[str, Any],
    *,
    interval: float = 1.0,
    clock: Clock | None = None,
    resources: Resources | None = None,
    configured_backends: dict[str, str] | None = None,
    logger: logging.Logger | None = None,
) -> tuple[Any, Recorder]:
    """A driver of sensor ``s`` and the recorder of its readings.

    The options go through the config code (``[[sensor]]`` with ``options``), so they are
    checked exactly as in a config file.
    """
    sensor: dict[str, Any] = {"name": SENSOR, "driver": driver, "options": options}
    config = parse_config(
        {
            "store": {"data_dir": "/nonexistent"},
            "sensor": [sensor],
            "backends": configured_backends or {},
        }
    )
    recorder = Recorder()
    cls: type[Driver] = load_driver(driver)
    instance = cls(
        SENSOR,
        config.driver_options[SENSOR],
        interval=interval,
        publish=recorder,
        clock=clock or ManualClock(),
        logger=logger or logging.getLogger(f"edge_agent.test.{driver}"),
        resources=resources,
        configured_backends=configured_backends,
    )
    return instance, recorder


async def wait_until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Wait until ``condition()`` holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.005)
