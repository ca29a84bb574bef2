"""What a maker writes: an :class:`Experiment` subclass, and the :class:`Context` it is given.

::

    from edge_agent.experiments import Experiment
    from edge_agent import units

    class Comfort(Experiment):
        async def on_reading(self, reading):
            if reading.stream.endswith("/temperature"):
                self.ctx.emit("too_warm", reading.value > self.params["limit_c"], units.NONE)

Hooks are coroutines and must not block: the agent's event loop runs them. Slow work (a model,
a big computation) goes through :meth:`Context.run_in_thread`, which also accounts its CPU
time. Readings an experiment emits become ``<experiment>/<quantity>`` streams, stored and synced
like a sensor's; events are stored and sent before bulk readings.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from ..clock import Clock
from ..readings import Quality, Reading, Value, make_stream
from ..resources import Resources

P = ParamSpec("P")
T = TypeVar("T")

RecordEvent = Callable[[str, str, str, dict[str, Any], float], None]
"""Stores an event: ``(kind, message, severity, data, time)``."""


class Context:
    """What the agent hands an experiment.

    Attributes:
        name: the experiment's name; its streams are ``<name>/<quantity>``.
        params: the validated parameters (manifest defaults, overridden by the config).
        folder: the experiment's folder (models and data files are relative to it).
        log: the experiment's logger.
        clock: the agent's clock (a replayed trace's clock in ``experiment run``).
        resources: outputs and cameras offered by drivers.
        cpu_s: CPU seconds spent in this experiment's threads and hooks (see
            :class:`~edge_agent.experiments.runner.ExperimentRunner`).
    """

    def __init__(
        self,
        name: str,
        params: Mapping[str, Any],
        *,
        folder: Path,
        publish: Callable[[Reading], None],
        record_event: RecordEvent,
        clock: Clock,
        resources: Resources,
        logger: logging.Logger,
    ) -> None:
        self.name = name
        self.params = dict(params)
        self.folder = folder
        self.clock = clock
        self.resources = resources
        self.log = logger
        self.cpu_s = 0.0
        self.emitted = 0
        self.events = 0
        self._publish = publish
        self._record_event = record_event
        self._streams: dict[str, str] = {}

    def emit(
        self,
        quantity: str,
        value: Value,
        unit: str,
        quality: Quality = Quality.GOOD,
        *,
        at: float | None = None,
    ) -> Reading:
        """Publish a derived reading ``<experiment>/<quantity>`` taken now (or ``at``)."""
        stream = self._streams.get(quantity)
        if stream is None:
            stream = self._streams[quantity] = make_stream(self.name, quantity)
        if not self.clock.synchronized:
            quality |= Quality.CLOCK_UNSYNCED
        reading = Reading(stream, self.clock.now() if at is None else at, value, unit, quality)
        self._publish(reading)
        self.emitted += 1
        return reading

    def event(self, kind: str, message: str, *, severity: str = "info", **data: Any) -> None:
        """Record an event (an alert, a state change) with a human-readable ``message``.

        ``severity`` is ``info``, ``warning`` or ``alert``; ``data`` must be JSON-serialisable.
        """
        self._record_event(kind, message, severity, data, self.clock.now())
        self.events += 1
        log = self.log.warning if severity in ("warning", "alert") else self.log.info
        log("%s: %s", kind, message)

    async def run_in_thread(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run blocking ``fn`` in a worker thread and add its CPU time to :attr:`cpu_s`."""

        def timed() -> T:
            start = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.cpu_s += time.thread_time() - start

        return await asyncio.to_thread(timed)

    def path(self, relative: str) -> Path:
        """A file of the experiment's folder (a model, a bay map)."""
        return self.folder / relative

    def output(self, name: str) -> Any:
        """The output (LED, buzzer) a ``gpio.output`` sensor called ``name`` offers."""
        return self.resources.lookup("output", name, object)

    def camera(self, name: str) -> Any:
        """The frame source a ``camera.frames`` sensor called ``name`` offers."""
        return self.resources.lookup("camera", name, object)


class Experiment:
    """Base class of experiments: override the hooks you need.

    Attributes:
        ctx: the :class:`Context`.
        params: shorthand for ``ctx.params``.
        log: shorthand for ``ctx.log``.
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.params = ctx.params
        self.log = ctx.log

    async def on_start(self) -> None:
        """Called once before anything else (load models here, through ``run_in_thread``)."""

    async def on_reading(self, reading: Reading) -> None:
        """Called for each reading of a stream that matches the manifest's ``reads``."""

    async def on_frame(self, camera: str, frame: Any) -> None:
        """Called for each new frame of a camera listed in the manifest's ``cameras``."""

    async def on_timer(self, now: float) -> None:
        """Called every ``timer`` seconds of the manifest; ``now`` is epoch seconds."""

    async def on_stop(self) -> None:
        """Called when the experiment stops (also after a failure, before the restart)."""


__all__ = ["Context", "Experiment", "RecordEvent"]
