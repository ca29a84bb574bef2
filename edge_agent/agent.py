"""The agent: puts drivers, hub, store and supervisor together and runs them until stopped.

::

    drivers ──Reading──▶ hub ──▶ batch writer (thread) ──▶ store (SQLite, WAL)

Start-up opens the store (a damaged database is set aside and replaced by a fresh one with an
alert event, see :mod:`edge_agent.store.recovery`; an unusable one stops the agent with a clear
message), starts the writer thread, then each enabled sensor's driver under the supervisor. Stopping
(SIGTERM, SIGINT, or :meth:`Agent.request_stop`) stops the drivers, hands every reading still in
the hub to the writer, commits them and closes the database.

Every reading published while the clock is not synchronised goes past the
:class:`~edge_agent.store.ClockWatch`, so that its time is corrected once the clock is
(:mod:`edge_agent.store.clocksync`); a full disk makes the writer drop the oldest readings,
counted (:func:`edge_agent.store.retention.make_room`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import __version__
from .api.service import ApiService
from .clock import Clock, SystemClock
from .config import AgentConfig
from .discovery import Discovery
from .driver import Driver, load_driver
from .experiments.runner import ExperimentRunner
from .hub import Hub, Subscription
from .readings import Quality, Reading
from .resources import Resources
from .store import BatchWriter, ClockWatch, RetentionPolicy, Store, open_store
from .store.clocksync import HoldLimit
from .store.retention import apply_retention, make_room
from .supervisor import Supervisor
from .systemd import Notifier
from .uplink.forwarder import Uplink


@dataclass(frozen=True, slots=True)
class AgentStats:
    """A snapshot of the agent's counters."""

    uptime_s: float
    published: int
    committed: int
    pending: int
    last_row: int
    dropped_hub: int
    dropped_writer: int
    write_errors: int
    services_running: int
    services_failing: int
    input_errors: int

    def line(self) -> str:
        """One line for ``systemctl status`` and the demo."""
        return (
            f"{self.committed} readings stored, {self.pending} pending, "
            f"{self.dropped_hub + self.dropped_writer} dropped, "
            f"{self.services_running} services running, {self.services_failing} failing, "
            f"{self.input_errors} input errors"
        )


class Agent:
    """One device's agent.

    Args:
        config: the validated config.
        logger: the root logger of the agent.
        clock: the wall clock (injectable for tests).
        on_reading: an extra consumer of every reading (the demo's live view), called on the
            event loop.
        hook_timeout: seconds an experiment's hook may take before the experiment counts as
            hung and is restarted.
    """

    def __init__(
        self,
        config: AgentConfig,
        *,
        logger: logging.Logger,
        clock: Clock | None = None,
        on_reading: Callable[[Reading], None] | None = None,
        hook_timeout: float = 30.0,
    ) -> None:
        self.config = config
        self.log = logger
        self.clock = clock or SystemClock(trust=config.device.trust_clock)
        # With an uplink, readings taken before the clock's synchronisation are held back until
        # they are corrected, within limits (edge_agent/store/clocksync.py).
        self.clock_watch = ClockWatch(
            self.clock,
            hold=None if config.uplink is None else HoldLimit.for_store(config.store.max_size),
        )
        self.hook_timeout = hook_timeout
        self.hub = Hub()
        self.supervisor = Supervisor(logger.getChild("supervisor"))
        self.notifier = Notifier()
        self.drivers: dict[str, Driver] = {}
        self.experiments: dict[str, ExperimentRunner] = {}
        self.resources = Resources()
        self._counted_errors: Counter[str] = Counter()
        self._on_reading = on_reading
        self._stop = asyncio.Event()
        self._started = time.monotonic()
        store_cfg = config.store
        store_log = logger.getChild("store")
        self.writer = BatchWriter(
            lambda: open_store(store_cfg.data_dir, logger=store_log),
            flush_count=store_cfg.flush_count,
            flush_interval=store_cfg.flush_interval,
            on_commit=self._committed,
            on_full=self._make_room,
            clock_watch=self.clock_watch,
            logger=store_log,
        )
        self.retention = RetentionPolicy(max_age=store_cfg.max_age, max_bytes=store_cfg.max_size)
        self._store_sub: Subscription | None = None
        self.uplink = (
            None
            if config.uplink is None
            else Uplink(
                config.uplink,
                config.device,
                store_cfg.data_dir,
                writer=self.writer,
                logger=logger.getChild("uplink"),
            )
        )
        self.api = ApiService(self)
        self.discovery = Discovery(
            config.discovery, config.device, logger=logger.getChild("discovery")
        )

    def _committed(self, last_row: int, count: int) -> None:
        # Runs in the writer thread. The fault tests read this line to know what was committed.
        self.log.debug("committed %d readings through row %d", count, last_row)
        if self.uplink is not None:
            self.uplink.notify_commit()

    def request_stop(self) -> None:
        """Ask :meth:`run` to stop gracefully (safe from signal handlers on the loop)."""
        self._stop.set()

    def stats(self) -> AgentStats:
        """Current counters."""
        states = list(self.supervisor.services.values())
        return AgentStats(
            uptime_s=time.monotonic() - self._started,
            published=self.hub.published,
            committed=self.writer.committed,
            pending=self.writer.pending + (len(self._store_sub) if self._store_sub else 0),
            last_row=self.writer.last_row,
            dropped_hub=self.hub.dropped(),
            dropped_writer=self.writer.dropped,
            write_errors=self.writer.write_errors,
            services_running=sum(s.state == "running" for s in states),
            services_failing=sum(s.state == "backoff" for s in states),
            input_errors=sum(sum(d.input_errors.values()) for d in self.drivers.values()),
        )

    def _publish(self, reading: Reading) -> None:
        """Hand a reading of a driver or an experiment to the hub (and the extra consumer)."""
        if reading.quality & Quality.CLOCK_UNSYNCED:
            self.clock_watch.note(reading)
        self.hub.publish(reading)
        if self._on_reading is not None:
            self._on_reading(reading)

    def _make_drivers(self) -> None:
        publish = self._publish
        for sensor in self.config.sensors:
            if not sensor.enabled:
                continue
            cls = load_driver(sensor.driver)
            self.drivers[sensor.name] = cls(
                sensor.name,
                self.config.driver_options[sensor.name],
                interval=sensor.interval,
                publish=publish,
                clock=self.clock,
                logger=self.log.getChild(f"driver.{sensor.name}"),
                resources=self.resources,
                configured_backends=self.config.backends,
            )

    def _start_experiments(self) -> None:
        """Run each enabled ``[[experiment]]`` as a supervised service."""
        for entry in self.config.experiments:
            if not entry.enabled:
                continue
            runner = ExperimentRunner(
                self.config.experiment_manifests[entry.name],
                self.config.experiment_params[entry.name],
                publish=self._publish,
                record_event=self._record_event,
                clock=self.clock,
                resources=self.resources,
                logger=self.log.getChild(f"experiment.{entry.name}"),
                hook_timeout=entry.hook_timeout or self.hook_timeout,
            )
            self.experiments[entry.name] = runner
            self.supervisor.start(
                f"experiment:{entry.name}", functools.partial(runner.run, self.hub)
            )

    def _record_event(
        self, kind: str, message: str, severity: str, data: dict[str, Any], at: float
    ) -> None:
        """Store an event from an experiment (in the writer thread, after pending readings)."""
        self.writer.call(
            lambda store: store.record_event(kind, message, severity=severity, data=data, at=at)
        )

    async def _feed_store(self, sub: Subscription) -> None:
        async for batch in sub:
            self.writer.add(batch)

    async def _housekeeping(self) -> None:
        """Watchdog pings, status line and retention, on their own schedules."""
        watchdog = self.notifier.watchdog_interval
        tick = min(watchdog, 5.0) if watchdog else 5.0
        next_retention = time.monotonic()
        while True:
            self.notifier.watchdog()
            self.notifier.status(self.stats().line())
            self._count_input_errors()
            self._follow_clock()
            if time.monotonic() >= next_retention:
                next_retention = time.monotonic() + self.config.store.retention_interval
                self.writer.call(self._apply_retention)
            await asyncio.sleep(tick)

    def _follow_clock(self) -> None:
        """Notice the clock's synchronisation (the writer then corrects) and its steps."""
        step = self.clock_watch.check()
        if self.clock_watch.correction_due():
            self.writer.wake()
        if step is None:
            return
        at = self.clock.now()
        message = f"the synchronised clock stepped by {step.seconds:+.3f} s"
        self.log.warning("%s; readings keep their commit order", message)
        self.writer.call(
            lambda store: store.record_event(
                "clock", message, severity="warning", data={"step_s": step.seconds}, at=at
            )
        )

    def _count_input_errors(self) -> None:
        """Add the drivers' new input errors to the store's persistent counters.

        They appear in ``edge-agent status`` as ``input_errors.<sensor>.<reason>``.
        """
        new: Counter[str] = Counter()
        for name, driver in self.drivers.items():
            for reason, count in driver.input_errors.items():
                key = f"input_errors.{name}.{reason}"
                if count > self._counted_errors[key]:
                    new[key] = count - self._counted_errors[key]
        if not new:
            return
        self._counted_errors.update(new)

        def add(store: Store) -> None:
            for key, amount in new.items():
                store.add_counter(key, amount)

        self.writer.call(add)

    def _apply_retention(self, store: Store) -> None:
        # Runs in the writer thread. With an uplink, drops of readings the region has not
        # acknowledged yet are counted apart (dropped.unsynced).
        synced = store.outbox_cursor() if self.config.uplink is not None else None
        result = apply_retention(store, self.retention, now=self.clock.now(), synced_row=synced)
        if result.total:
            self.log.warning(
                "retention dropped %d readings (%d not yet synced)", result.total, result.unsynced
            )

    def _make_room(self, store: Store) -> int:
        # Runs in the writer thread when a commit found the disk full.
        synced = store.outbox_cursor() if self.config.uplink is not None else None
        result = make_room(store, self.retention, now=self.clock.now(), synced_row=synced)
        if result.total:
            self.log.warning(
                "disk full: dropped the %d oldest readings (%d not yet synced) to store new ones",
                result.total,
                result.unsynced,
            )
        return result.total

    async def run(self) -> None:
        """Run until :meth:`request_stop` or SIGTERM/SIGINT, then stop cleanly."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self.request_stop)
        self.api.begin()  # log buffer; a pending config apply is tried here or rolled back
        await asyncio.to_thread(self.writer.start)
        self._store_sub = self.hub.subscribe("*", name="store", maxlen=500_000)
        feeder = loop.create_task(self._feed_store(self._store_sub), name="store-feed")
        housekeeping = loop.create_task(self._housekeeping(), name="housekeeping")
        try:
            self._make_drivers()
            for name, driver in self.drivers.items():
                self.supervisor.start(f"sensor:{name}", driver.run_forever)
            if self.uplink is not None:
                self.supervisor.start("uplink", self.uplink.run)
            self._start_experiments()
            await self.api.start()
            await self.discovery.start(self.api.announcement)
            self.log.info(
                "edge-agent %s running as %r with %d sensors; data in %s",
                __version__,
                self.config.device.id,
                len(self.drivers),
                self.config.store.data_dir,
            )
            self.notifier.ready(f"running {len(self.drivers)} sensors")
            await self._stop.wait()
        finally:
            self.notifier.stopping()
            await self.discovery.stop()
            await self.api.stop()
            # Experiments first: their on_stop may still switch a driver's output off.
            for name in self.experiments:
                await self.supervisor.stop(f"experiment:{name}")
            await self.supervisor.stop()
            self._count_input_errors()
            housekeeping.cancel()
            self._store_sub.close()
            with contextlib.suppress(asyncio.CancelledError):
                await feeder
            with contextlib.suppress(asyncio.CancelledError):
                await housekeeping
            await asyncio.to_thread(self.writer.stop)
            self.notifier.close()
            for signum in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(signum)
            self.log.info("stopped; %s", self.stats().line())
        self.api.finish()  # restarts the process when a config apply or rollback asked for it
