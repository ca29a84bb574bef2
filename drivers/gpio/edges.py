"""The base of ``gpio.motion`` and ``gpio.input``: a digital input, its state and its edges.

gpiozero calls ``when_activated``/``when_deactivated`` in its own thread; the driver hands each
edge, with its time, to the event loop, debounces it (:mod:`drivers.gpio.debounce`), emits the
new state at once (dated at the edge) and counts it. Every interval it emits the counts of the
interval and the state again, so the latest state is never older than one interval.
"""

from __future__ import annotations

import abc
import asyncio
import time
from collections import Counter
from typing import Any, ClassVar, Literal, Self

from pydantic import model_validator

from edge_agent import units
from edge_agent.errors import ConfigError

from .debounce import Change, Debouncer
from .gpio_driver import GpioDriver, GpioOptions
from .pins import GpioPin
from .simulation import PulseSimulationOptions, seeded_random, simulate_pulses

Pull = Literal["up", "down", "floating"]


class EdgeOptions(GpioOptions):
    """A digital input pin and its electrical sense.

    Attributes:
        pin: the GPIO pin.
        pull: ``up`` pulls the pin up internally (a contact to GND, active while closed),
            ``down`` pulls it down (a sensor that drives the pin high while active),
            ``floating`` leaves it to an external resistor; then ``active_state`` says which
            level is active.
        active_state: true if a high level is active; only with ``pull = "floating"``.
    """

    pin: GpioPin
    pull: Pull = "down"
    active_state: bool | None = None

    @model_validator(mode="after")
    def _pull_and_active_state(self) -> Self:
        if self.pull == "floating" and self.active_state is None:
            raise ConfigError(
                "a floating pin (pull = 'floating') needs active_state: true if a high level "
                "means active, false if a low level does; or set pull = 'up' or 'down'"
            )
        if self.pull != "floating" and self.active_state is not None:
            raise ConfigError(
                f"active_state follows from pull = {self.pull!r} (a pull-up makes low active, "
                "a pull-down high); remove active_state, or set pull = 'floating'"
            )
        return self

    @property
    def pull_up(self) -> bool | None:
        """gpiozero's ``pull_up``: True, False, or None for floating."""
        return {"up": True, "down": False, "floating": None}[self.pull]

    @property
    def active_high(self) -> bool:
        """Whether a high level on the pin is the active state."""
        if self.pull == "floating":
            return bool(self.active_state)
        return self.pull == "down"


class EdgeDriver(GpioDriver):
    """A digital input: state (boolean) on every change and every interval, edge counts.

    Subclasses build the gpiozero device in :meth:`make_device` and name their quantities.
    """

    state_quantity: ClassVar[str] = "state"
    activations_quantity: ClassVar[str] = "activations"
    deactivations_quantity: ClassVar[str | None] = "deactivations"
    options: EdgeOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.device: Any = None
        """The gpiozero input device while started."""
        self.debouncer = Debouncer(self.bounce_s)
        self.counts: Counter[bool] = Counter()
        """Accepted edges since the last interval, by new level."""
        self.raw_edges = 0
        """Edges gpiozero reported since start, before debouncing (bounces included)."""
        self._settle_handle: asyncio.TimerHandle | None = None

    @property
    def bounce_s(self) -> float:
        """How long a new level must last to count, seconds (0: every edge counts)."""
        return 0.0

    @property
    def simulation_options(self) -> PulseSimulationOptions | None:
        """What the ``simulated`` backend plays on the pin (None: nothing)."""
        return None

    @abc.abstractmethod
    def make_device(self, factory: Any) -> Any:
        """Build the gpiozero input device (blocking; runs in a thread)."""

    def open_devices(self, factory: Any) -> None:
        """Build the device, take its current level, then listen to its edges."""
        device = self.make_device(factory)
        try:
            self.debouncer = Debouncer(self.bounce_s, bool(device.is_active))
            self.counts = Counter()
            device.when_activated = self._activated
            device.when_deactivated = self._deactivated
        except Exception:
            device.close()
            raise
        self.device = device

    def close_devices(self) -> None:
        """Close the device (which also drops its event handlers)."""
        device, self.device = self.device, None
        if device is not None:
            device.close()

    async def opened(self) -> None:
        """Emit the level found at start."""
        self.emit(self.state_quantity, self.debouncer.level, units.NONE)

    async def closing(self) -> None:
        """Forget an edge that waits for its bounce time."""
        if self._settle_handle is not None:
            self._settle_handle.cancel()
            self._settle_handle = None

    async def simulate(self) -> None:
        """Drive the mock pin active now and then."""
        sim = self.simulation_options
        if sim is None or self.device is None:
            return
        await simulate_pulses(
            self.device.pin, self.options.active_high, sim, seeded_random(sim.seed, self.sensor)
        )

    # gpiozero's thread -> event loop

    def _activated(self) -> None:
        self.from_gpio_thread(self._edge, True, time.monotonic(), self.clock.now())

    def _deactivated(self) -> None:
        self.from_gpio_thread(self._edge, False, time.monotonic(), self.clock.now())

    def _edge(self, level: bool, at: float, stamp: float) -> None:
        self.raw_edges += 1
        change = self.debouncer.edge(level, at, stamp)
        if change is not None:
            self._accept(change)
        else:
            self._schedule_settle()

    def _schedule_settle(self) -> None:
        due = self.debouncer.due
        if due is None or self._loop is None:
            return
        if self._settle_handle is not None:
            self._settle_handle.cancel()
        self._settle_handle = self._loop.call_later(max(0.0, due - time.monotonic()), self._settle)

    def _settle(self) -> None:
        self._settle_handle = None
        if not self.is_open:
            return
        change = self.debouncer.settle(time.monotonic())
        if change is not None:
            self._accept(change)
        elif self.debouncer.pending:  # woke a little early
            self._schedule_settle()

    def _accept(self, change: Change) -> None:
        self.counts[change.level] += 1
        self.emit(self.state_quantity, change.level, units.NONE, at=change.stamp)

    async def run_device(self) -> None:
        """:meth:`poll` at the end of every interval (the first counts cover a whole one)."""
        await asyncio.sleep(self.interval)
        await super().run_device()

    async def poll(self) -> None:
        """Emit the interval's edge counts and the current state."""
        counts, self.counts = self.counts, Counter()
        self.emit(self.activations_quantity, counts[True], units.COUNT)
        if self.deactivations_quantity is not None:
            self.emit(self.deactivations_quantity, counts[False], units.COUNT)
        self.emit(self.state_quantity, self.debouncer.level, units.NONE)
