"""Running one experiment: deliver readings, frames and timer ticks to its hooks, contained.

The agent runs each enabled experiment as a supervised service (:meth:`ExperimentRunner.run`).
A hook that raises, or that does not return within ``hook_timeout`` seconds, ends the run with
:class:`~edge_agent.errors.ExperimentError`; the supervisor logs it and starts a fresh instance
after a backoff, so a failing experiment never stops the agent or the other experiments.

CPU time: :attr:`Context.cpu_s` adds the CPU time of work done through
:meth:`Context.run_in_thread` (measured in the worker thread, exact) and of the hooks' own
steps on the event loop (measured around each call; work of other tasks that runs while a hook
awaits is counted too, so this part is an upper bound).

A hook that blocks the event loop without awaiting (``time.sleep`` in a hook) cannot be
interrupted from inside the process; the systemd watchdog restarts the agent then. Keep
blocking work in ``run_in_thread``.

``experiment run`` drives the same runner step by step (:meth:`open`, :meth:`deliver`,
:meth:`tick`, :meth:`close`) from a recorded trace, so a replay goes through the same code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Protocol

from ..clock import Clock
from ..errors import ExperimentError
from ..hub import Hub
from ..readings import Reading
from ..resources import Resources
from .base import Context, Experiment, RecordEvent
from .catalog import load_experiment_class
from .manifest import Manifest

POLL_S = 0.5
"""How often a waiting experiment looks for its camera, in seconds."""

CAMERA_WAIT_WARNING_S = 30.0
"""After this many seconds without its camera, an experiment logs a warning."""


class FrameFeed(Protocol):
    """What a camera's frame source hands out (``drivers.camera.source.FrameSubscription``)."""

    def __aiter__(self) -> AsyncIterator[Any]: ...

    async def __aenter__(self) -> Any: ...

    async def __aexit__(self, *exc: object) -> None: ...


class ExperimentRunner:
    """One experiment's instance, its subscription and its hook calls.

    Args:
        manifest: the experiment's manifest.
        params: validated parameters.
        publish: hands the experiment's readings on (the hub's publish in the agent).
        record_event: stores the experiment's events.
        clock: the agent's clock.
        resources: outputs and cameras of the drivers.
        logger: the experiment's logger.
        hook_timeout: seconds a hook may take before the run counts as hung.
    """

    def __init__(
        self,
        manifest: Manifest,
        params: Mapping[str, Any],
        *,
        publish: Callable[[Reading], None],
        record_event: RecordEvent,
        clock: Clock,
        resources: Resources,
        logger: logging.Logger,
        hook_timeout: float = 30.0,
    ) -> None:
        self.manifest = manifest
        self.params = dict(params)
        self.patterns = manifest.read_patterns(self.params)
        self.hook_timeout = hook_timeout
        self.log = logger
        self.calls: Counter[str] = Counter()
        self.hook_errors = 0
        self.timeouts = 0
        self._cpu_closed = 0.0
        self.skipped_readings = 0
        self._publish = publish
        self._record_event = record_event
        self._clock = clock
        self._resources = resources
        self._instance: Experiment | None = None
        self._context: Context | None = None

    @property
    def cpu_s(self) -> float:
        """CPU seconds over every run of the experiment (instances come and go on restart)."""
        return self._cpu_closed + (self._context.cpu_s if self._context else 0.0)

    @property
    def name(self) -> str:
        """The experiment's name."""
        return self.manifest.name

    async def _call(self, hook: str, call: Awaitable[None]) -> None:
        start = time.thread_time()
        self.calls[hook] += 1
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can lose a cancellation that
            # arrives together with the result, and the agent would not stop.
            async with asyncio.timeout(self.hook_timeout):
                await call
        except TimeoutError:
            self.timeouts += 1
            raise ExperimentError(
                f"experiment {self.name!r}: {hook} did not return within {self.hook_timeout:g} s "
                "(move blocking work into ctx.run_in_thread)"
            ) from None
        except ExperimentError:
            raise
        except Exception as exc:
            self.hook_errors += 1
            raise ExperimentError(
                f"experiment {self.name!r}: {hook} raised {type(exc).__name__}: {exc}"
            ) from exc
        finally:
            if self._context is not None:
                self._context.cpu_s += time.thread_time() - start

    async def open(self) -> Experiment:
        """Create a fresh instance and call its ``on_start``."""
        cls = load_experiment_class(self.manifest)
        self._context = Context(
            self.name,
            self.params,
            folder=self.manifest.folder,
            publish=self._publish,
            record_event=self._record_event,
            clock=self._clock,
            resources=self._resources,
            logger=self.log,
        )
        try:
            self._instance = cls(self._context)
        except Exception as exc:
            raise ExperimentError(
                f"experiment {self.name!r}: creating {cls.__name__} raised "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        await self._call("on_start", self._instance.on_start())
        return self._instance

    def _require(self) -> Experiment:
        if self._instance is None:
            raise RuntimeError("ExperimentRunner.open() was not called")
        return self._instance

    async def deliver(self, reading: Reading) -> None:
        """Hand one reading to ``on_reading``."""
        await self._call("on_reading", self._require().on_reading(reading))

    async def tick(self, now: float) -> None:
        """Call ``on_timer`` with ``now`` (epoch seconds)."""
        await self._call("on_timer", self._require().on_timer(now))

    async def frame(self, camera: str, frame: Any) -> None:
        """Hand one camera frame to ``on_frame``."""
        await self._call("on_frame", self._require().on_frame(camera, frame))

    async def close(self) -> None:
        """Call ``on_stop``; its failure is logged, since the run is ending anyway."""
        if self._instance is None:
            return
        try:
            await self._call("on_stop", self._instance.on_stop())
        except ExperimentError as exc:
            self.log.warning("%s", exc)
        finally:
            self._instance = None
            if self._context is not None:
                self._cpu_closed += self._context.cpu_s
                self._context.cpu_s = 0.0

    async def run(self, hub: Hub) -> None:
        """Run live until cancelled: readings from ``hub``, frames, and the timer."""
        sub = (
            hub.subscribe(self.patterns, name=f"experiment:{self.name}", maxlen=10_000)
            if self.patterns
            else None
        )
        try:
            await self.open()
            async with asyncio.TaskGroup() as group:
                if sub is not None:
                    group.create_task(self._readings(sub))
                if self.manifest.timer:
                    group.create_task(self._timer(self.manifest.timer))
                for camera in self.manifest.camera_names(self.params):
                    group.create_task(self._frames(camera))
        except* ExperimentError as group_error:
            raise group_error.exceptions[0] from None
        finally:
            if sub is not None:
                self.skipped_readings += sub.dropped
                sub.close()
            with contextlib.suppress(asyncio.CancelledError):
                await self.close()

    async def _readings(self, sub: Any) -> None:
        async for batch in sub:
            for reading in batch:
                await self.deliver(reading)

    async def _timer(self, interval: float) -> None:
        next_tick = time.monotonic() + interval
        while True:
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
            next_tick += interval
            await self.tick(self._clock.now())

    async def _frames(self, camera: str) -> None:
        """Hand ``camera``'s new frames to ``on_frame``; the newest when the hook is slower.

        The camera driver may start after the experiment, and a driver restart (a lost device)
        ends its frames: wait for the camera, and subscribe again when its frames end.
        """
        waited = 0.0
        while True:
            if camera not in self._resources.names("camera"):
                if waited >= CAMERA_WAIT_WARNING_S and waited - POLL_S < CAMERA_WAIT_WARNING_S:
                    self.log.warning(
                        "experiment %r: camera %r has not started after %.0f s (cameras: %s); "
                        "check the camera sensor's log",
                        self.name,
                        camera,
                        waited,
                        ", ".join(self._resources.names("camera")) or "none",
                    )
                await asyncio.sleep(POLL_S)
                waited += POLL_S
                continue
            waited = 0.0
            source = self._resources.lookup("camera", camera, object)
            frames: FrameFeed = source.subscribe(buffer=1)  # type: ignore[attr-defined]
            async with frames:
                async for frame in frames:
                    await self.frame(camera, frame)
            await asyncio.sleep(POLL_S)

    def stats(self) -> dict[str, Any]:
        """Figures for ``status`` and the API: calls per hook, errors, CPU seconds."""
        context = self._context
        return {
            "calls": dict(self.calls),
            "hook_errors": self.hook_errors,
            "timeouts": self.timeouts,
            "cpu_s": round(self.cpu_s, 3),
            "emitted": context.emitted if context else 0,
            "events": context.events if context else 0,
            "skipped_readings": self.skipped_readings,
        }


__all__ = ["ExperimentRunner"]
