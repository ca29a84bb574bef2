"""What a driver is: the base classes every sensor driver builds on, and the driver registry.

A driver is created from its config entry with validated options (no hardware touched), does
its I/O between :meth:`Driver.start` and :meth:`Driver.stop`, and publishes readings through
:meth:`Driver.emit`. The supervisor runs :meth:`Driver.run_forever` and restarts it with
backoff when it raises. Drivers register under the entry-point group ``edge_agent.drivers``,
so a package of a third party can add one::

    [project.entry-points."edge_agent.drivers"]
    "acme.rain_gauge" = "acme_edge.rain:RainGaugeDriver"

Input that does not parse is counted with :meth:`Driver.count_error`, logged at debug level,
and never raised into the agent; the agent adds the counts to the store's persistent counters
(``input_errors.<sensor>.<reason>``), which ``edge-agent status`` shows.

A driver for real hardware names its :attr:`Driver.family` and that family's
:attr:`Driver.backends`, takes :class:`HardwareOptions`, and calls
:meth:`Driver.choose_backend` in :meth:`Driver.start` (see :mod:`edge_agent.backends`).
"""

from __future__ import annotations

import abc
import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from .backends import Backend, BackendChoice, check_backend_name, choose_backend
from .clock import Clock
from .errors import ConfigError, unknown_choice
from .readings import Quality, Reading, Value, check_unit, make_stream
from .resources import Resources

ENTRY_POINT_GROUP = "edge_agent.drivers"

EXTRAS = {"ble": "ble", "camera": "camera"}
"""The optional extra of the kit that a family's real backend needs, by family."""

Publish = Callable[[Reading], None]


class DriverOptions(BaseModel):
    """Options of a driver, from the ``options`` table of its ``[[sensor]]`` entry.

    Subclasses declare fields with defaults; unknown keys are refused.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


class HardwareOptions(DriverOptions):
    """Options of a driver with several backends.

    Attributes:
        backend: this sensor's backend (``simulated``, ``lgpio``, ...); unset means the
            config's ``[backends]`` table, the environment, or probing decides.
    """

    backend: str | None = None


class Driver(abc.ABC):
    """A sensor driver.

    Args:
        sensor: the sensor's name from the config; streams are ``<sensor>/<quantity>``.
        options: validated :attr:`Options`.
        interval: seconds between two samples, for drivers that poll.
        publish: hands a reading to the hub.
        clock: tells the time and whether it is synchronised.
        logger: the driver's logger.
        resources: what drivers share with each other and with experiments.
        configured_backends: the config's ``[backends]`` table (family -> backend name).
    """

    Options: ClassVar[type[DriverOptions]] = DriverOptions
    summary: ClassVar[str] = ""
    """One line for ``edge-agent drivers``: what the driver reads."""
    family: ClassVar[str | None] = None
    """The hardware family (``gpio``, ``ble``...) whose backends this driver chooses from."""
    backends: ClassVar[Sequence[Backend]] = ()
    """The family's backends in probing order: real ones first, ``simulated`` last."""

    def __init__(
        self,
        sensor: str,
        options: DriverOptions,
        *,
        interval: float,
        publish: Publish,
        clock: Clock,
        logger: logging.Logger,
        resources: Resources | None = None,
        configured_backends: Mapping[str, str] | None = None,
    ) -> None:
        self.sensor = sensor
        self.options = options
        self.interval = interval
        self.clock = clock
        self.log = logger
        self._publish = publish
        self._streams: dict[str, str] = {}
        self.resources = resources if resources is not None else Resources()
        self.configured_backends = dict(configured_backends or {})
        self.backend: BackendChoice | None = None
        """The backend :meth:`choose_backend` chose (None before :meth:`start`)."""
        self.input_errors: Counter[str] = Counter()
        self.emitted = 0

    @classmethod
    def check_backends(cls, options: DriverOptions, configured: Mapping[str, str]) -> None:
        """Check that the backend names set for this driver exist (:class:`ConfigError`)."""
        if cls.family is None:
            return
        option = getattr(options, "backend", None)
        if option is not None:
            check_backend_name(cls.family, option, cls.backends)
        if cls.family in configured:
            check_backend_name(cls.family, configured[cls.family], cls.backends)

    def choose_backend(self) -> BackendChoice:
        """Choose and remember this sensor's backend (option > config > environment > probe).

        Call it in :meth:`start`; it may log a warning (probed) and raises
        :class:`ConfigError` when a named backend is unknown or none works here.
        """
        if self.family is None:
            raise TypeError(f"{type(self).__name__} has no hardware family")
        self.backend = choose_backend(
            self.family,
            self.backends,
            option=getattr(self.options, "backend", None),
            configured=self.configured_backends,
            sensor=self.sensor,
            logger=self.log,
        )
        return self.backend

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Open the device. Called before :meth:`run`; may raise :class:`DriverError`."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Close the device. Called after :meth:`run` ends or fails."""

    @abc.abstractmethod
    async def run(self) -> None:
        """Read the device until cancelled, emitting readings."""

    async def run_forever(self) -> None:
        """:meth:`start`, :meth:`run`, and :meth:`stop` whatever happened."""
        await self.start()
        try:
            await self.run()
        finally:
            await self.stop()

    def stream(self, quantity: str) -> str:
        """The stream name of ``quantity`` for this sensor (checked once, then cached)."""
        name = self._streams.get(quantity)
        if name is None:
            name = self._streams[quantity] = make_stream(self.sensor, quantity)
        return name

    def emit(
        self,
        quantity: str,
        value: Value,
        unit: str,
        quality: Quality = Quality.GOOD,
        *,
        at: float | None = None,
    ) -> Reading:
        """Publish one reading of ``quantity`` taken now (or at ``at``, epoch seconds).

        The reading is flagged ``clock_unsynced`` while the clock is not synchronised.
        """
        if not self.clock.synchronized:
            quality |= Quality.CLOCK_UNSYNCED
        reading = Reading(
            self.stream(quantity), self.clock.now() if at is None else at, value, unit, quality
        )
        self._publish(reading)
        self.emitted += 1
        return reading

    def count_error(self, reason: str, detail: object = "") -> None:
        """Count one bad input under ``reason`` and log it at debug level; never raises."""
        self.input_errors[reason] += 1
        self.log.debug("%s: %s %s", self.sensor, reason, detail)


class PollingDriver(Driver):
    """A driver that samples its device every :attr:`interval` seconds.

    Ticks follow a fixed schedule on the monotonic clock, so a slow sample does not make the
    interval drift, and a wall-clock jump does not stop the timer.
    """

    @abc.abstractmethod
    async def poll(self) -> None:
        """Take one sample and :meth:`emit` its readings."""

    async def run(self) -> None:
        """Call :meth:`poll` every :attr:`interval` seconds until cancelled."""
        next_tick = time.monotonic()
        while True:
            await self.poll()
            next_tick += self.interval
            delay = next_tick - time.monotonic()
            if delay < 0:  # fell behind (suspended, overloaded): skip the missed ticks
                next_tick = time.monotonic()
                delay = 0
            await asyncio.sleep(delay)


@cache
def available_drivers() -> dict[str, EntryPoint]:
    """Driver names registered under the ``edge_agent.drivers`` entry points."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_driver(name: str) -> type[Driver]:
    """The driver class registered as ``name``; :class:`ConfigError` names the known ones."""
    known = available_drivers()
    if name not in known:
        raise ConfigError(unknown_choice("driver", name, known))
    try:
        cls = known[name].load()
    except ModuleNotFoundError as exc:
        family = name.partition(".")[0]
        extra = EXTRAS.get(family)
        fix = (
            f"install it with: pip install 'digitallabor-edge-kit[{extra}]'"
            if extra
            else f"install the package that provides {exc.name!r}"
        )
        raise ConfigError(
            f"driver {name!r} needs the Python module {exc.name!r}, which is not installed; {fix}"
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, Driver)):
        raise ConfigError(f"driver {name!r} ({known[name].value}) is not a Driver class")
    return cls


__all__ = [
    "ENTRY_POINT_GROUP",
    "Driver",
    "DriverOptions",
    "HardwareOptions",
    "PollingDriver",
    "Publish",
    "available_drivers",
    "check_unit",
    "load_driver",
]
