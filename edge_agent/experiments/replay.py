"""Replaying readings through an experiment, deterministically: for tests and ``experiment run``.

::

    from edge_agent.experiments.replay import replay
    result = replay(folder, readings, params={"margin_c": 1.0})
    assert result.latest("risk").value == "high"

The clock is a :class:`~edge_agent.clock.ManualClock` set to each reading's time; timer ticks
fall at ``first reading + k * timer`` and are delivered before any later reading. The runner
is the one the agent uses, so hooks, timeouts and errors behave the same.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..clock import ManualClock
from ..readings import Reading, stream_matcher
from ..resources import Resources
from .manifest import Manifest, load_manifest
from .runner import ExperimentRunner


@dataclass
class ReplayEvent:
    """An event an experiment recorded during a replay."""

    kind: str
    message: str
    severity: str
    data: dict[str, Any]
    time: float


@dataclass
class ReplayResult:
    """What an experiment produced from a replay."""

    readings: list[Reading] = field(default_factory=list)
    events: list[ReplayEvent] = field(default_factory=list)
    delivered: int = 0
    ticks: int = 0
    stats: dict[str, Any] = field(default_factory=dict)

    def stream(self, quantity: str) -> list[Reading]:
        """The readings the experiment emitted for ``quantity``, in order."""
        return [r for r in self.readings if r.stream.split("/", 1)[1] == quantity]

    def latest(self, quantity: str) -> Reading:
        """The last reading of ``quantity``; :class:`KeyError` if there was none."""
        found = self.stream(quantity)
        if not found:
            raise KeyError(f"the experiment emitted no {quantity!r}")
        return found[-1]


async def replay_async(
    runner: ExperimentRunner,
    readings: Iterable[Reading],
    clock: ManualClock,
    *,
    on_output: Any = None,
) -> tuple[int, int]:
    """Drive ``runner`` with ``readings`` in order; returns (readings delivered, ticks)."""
    matcher = stream_matcher(runner.patterns)
    interval = runner.manifest.timer
    next_tick: float | None = None
    delivered = ticks = 0
    await runner.open()
    try:
        for reading in readings:
            if interval:
                if next_tick is None:
                    next_tick = reading.time + interval
                while next_tick <= reading.time:
                    clock.time = next_tick
                    await runner.tick(next_tick)
                    ticks += 1
                    next_tick += interval
            clock.time = max(clock.time, reading.time)
            if matcher.match(reading.stream):
                await runner.deliver(reading)
                delivered += 1
    finally:
        await runner.close()
    return delivered, ticks


def replay(
    experiment: Path | Manifest,
    readings: Iterable[Reading],
    *,
    params: Mapping[str, Any] | None = None,
    resources: Resources | None = None,
    logger: logging.Logger | None = None,
    hook_timeout: float = 30.0,
) -> ReplayResult:
    """Run the experiment in folder ``experiment`` over ``readings`` and collect its output.

    ``params`` are checked against the manifest like the config's ``[[experiment]]`` params.
    """
    manifest = experiment if isinstance(experiment, Manifest) else load_manifest(experiment)
    checked = manifest.validate_params(dict(params or {}))
    result = ReplayResult()
    clock = ManualClock(0.0)

    def record_event(
        kind: str, message: str, severity: str, data: dict[str, Any], t: float
    ) -> None:
        result.events.append(ReplayEvent(kind, message, severity, data, t))

    runner = ExperimentRunner(
        manifest,
        checked,
        publish=result.readings.append,
        record_event=record_event,
        clock=clock,
        resources=resources or Resources(),
        logger=logger or logging.getLogger(f"edge_agent.experiment.{manifest.name}"),
        hook_timeout=hook_timeout,
    )
    result.delivered, result.ticks = asyncio.run(replay_async(runner, readings, clock))
    result.stats = runner.stats()
    return result


__all__ = ["ReplayEvent", "ReplayResult", "replay", "replay_async"]
