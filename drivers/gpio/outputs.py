"""``gpio.output``: an LED or a buzzer that experiments switch.

The driver offers an :class:`Output` handle to experiments as ``("output", <sensor>)`` while it
runs; an experiment takes it with
``resources.lookup("output", "lab-led", Output)`` and calls :meth:`Output.on`,
:meth:`Output.off` or :meth:`Output.blink`. Every change of the output is emitted as a
``state`` reading (boolean), so the store records what was switched and when. At start the
driver emits the initial state (and blinks ``self_test_blinks`` times, a lamp test that shows
the wiring works); stopping the driver switches the output off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal

from gpiozero import LED, Buzzer  # type: ignore[import-untyped]
from pydantic import Field

from edge_agent import units
from edge_agent.durations import Duration
from edge_agent.errors import DriverError

from .gpio_driver import GpioDriver, GpioOptions
from .pins import GpioPin

HANDLE_KIND = "output"
"""The kind under which the handle is offered in :class:`~edge_agent.resources.Resources`."""


class OutputOptions(GpioOptions):
    """Options of ``gpio.output``.

    Attributes:
        kind: ``led`` (an LED with a series resistor) or ``buzzer`` (an active buzzer through a
            transistor); the same on/off output, named for what it drives.
        pin: the GPIO pin.
        active_high: True if a high level switches it on (the usual wiring); False for an LED
            between 3V3 and the pin, or a PNP stage.
        initial: the state at start.
        self_test_blinks: blink this many times at start (0: no lamp test).
        self_test_period: one on/off cycle of the lamp test.
    """

    kind: Literal["led", "buzzer"] = "led"
    pin: GpioPin
    active_high: bool = True
    initial: bool = False
    self_test_blinks: int = Field(default=0, ge=0, le=20)
    self_test_period: Duration = 0.5


class Output:
    """An LED or buzzer that experiments switch; each change becomes a ``state`` reading.

    Call it from the event loop. After its driver stopped, every call raises
    :class:`DriverError`; look the handle up again once the driver has restarted.

    Args:
        name: the sensor's name, for messages.
        kind: ``led`` or ``buzzer``.
        device: the gpiozero ``LED`` or ``Buzzer``.
        record: called with the new state after every change.
    """

    def __init__(self, name: str, kind: str, device: Any, record: Callable[[bool], None]) -> None:
        self.name = name
        self.kind = kind
        self._device = device
        self._record = record
        self._state = bool(device.is_active)
        self._blink: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("on" if self._state else "off")
        return f"<Output {self.name!r} {self.kind} {state}>"

    @property
    def state(self) -> bool:
        """Whether the output is on now."""
        return self._state

    @property
    def closed(self) -> bool:
        """Whether the driver stopped (the handle is of no use any more)."""
        return self._device is None

    @property
    def blinking(self) -> bool:
        """Whether a :meth:`blink` runs."""
        return self._blink is not None and not self._blink.done()

    def on(self) -> None:
        """Switch on (and stop blinking)."""
        self._stop_blink()
        self._set(True)

    def off(self) -> None:
        """Switch off (and stop blinking)."""
        self._stop_blink()
        self._set(False)

    def toggle(self) -> None:
        """Switch to the other state (and stop blinking)."""
        self._stop_blink()
        self._set(not self._state)

    def blink(
        self, on_s: float = 0.5, off_s: float = 0.5, n: int | None = None
    ) -> asyncio.Task[None]:
        """Blink ``n`` times (forever if None), ``on_s`` seconds on, ``off_s`` off.

        Runs in the background and ends off; returns the task, so ``await out.blink(...)``
        waits for the end. :meth:`on`, :meth:`off` or another blink stop it. Each switch is
        a reading: blink slowly, or with ``n``, to keep the store small.
        """
        if on_s <= 0 or off_s <= 0:
            raise ValueError(f"on_s ({on_s}) and off_s ({off_s}) must be greater than zero")
        if n is not None and n < 0:
            raise ValueError(f"n ({n}) must not be negative")
        self._check_open()
        self._stop_blink()
        self._blink = asyncio.get_running_loop().create_task(
            self._run_blink(on_s, off_s, n), name=f"blink:{self.name}"
        )
        return self._blink

    def beep(self, on_s: float = 0.2, off_s: float = 0.2, n: int | None = 1) -> asyncio.Task[None]:
        """Beep ``n`` times: :meth:`blink` with a buzzer's defaults (one short beep)."""
        return self.blink(on_s, off_s, n)

    async def _run_blink(self, on_s: float, off_s: float, n: int | None) -> None:
        done = 0
        while n is None or done < n:
            self._set(True)
            await asyncio.sleep(on_s)
            self._set(False)
            await asyncio.sleep(off_s)
            done += 1

    def _stop_blink(self) -> None:
        task, self._blink = self._blink, None
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()

    def _check_open(self) -> None:
        if self._device is None:
            raise DriverError(
                f"output {self.name!r} is closed (its driver stopped); look it up again with "
                f"resources.lookup({HANDLE_KIND!r}, {self.name!r}, Output) once it runs"
            )

    def _set(self, state: bool) -> None:
        self._check_open()
        if state == self._state:
            return
        if state:
            self._device.on()
        else:
            self._device.off()
        self._state = state
        self._record(state)

    def close(self) -> None:
        """Stop blinking, switch off and let go of the device (the driver calls this)."""
        self._stop_blink()
        if self._device is not None:
            self._set(False)
        self._device = None


class OutputDriver(GpioDriver):
    """An LED or buzzer offered to experiments; ``state`` readings record every switch."""

    Options = OutputOptions
    options: OutputOptions
    summary = "LED or buzzer that experiments switch: state (boolean) on every change"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.device: Any = None
        """The gpiozero ``LED`` or ``Buzzer`` while started."""
        self.handle: Output | None = None
        """The handle on offer to experiments while started."""

    def describe(self) -> str:
        """``LED on GPIO18 (active high)``."""
        kind = {"led": "LED", "buzzer": "buzzer"}[self.options.kind]
        sense = "high" if self.options.active_high else "low"
        return f"{kind} on {self.options.pin} (active {sense})"

    def open_devices(self, factory: Any) -> None:
        """Build the gpiozero ``LED`` or ``Buzzer`` in its initial state."""
        opts = self.options
        cls = LED if opts.kind == "led" else Buzzer
        self.device = cls(
            opts.pin,
            active_high=opts.active_high,
            initial_value=opts.initial,
            pin_factory=factory,
        )

    def close_devices(self) -> None:
        """Release the pin."""
        device, self.device = self.device, None
        if device is not None:
            device.close()

    async def opened(self) -> None:
        """Offer the handle, record the initial state, run the lamp test."""
        self.handle = Output(self.sensor, self.options.kind, self.device, self._record)
        self.resources.provide(HANDLE_KIND, self.sensor, self.handle)
        self._record(self.handle.state)
        if self.options.self_test_blinks:
            half = self.options.self_test_period / 2
            self.handle.blink(half, half, self.options.self_test_blinks)

    async def closing(self) -> None:
        """Withdraw the handle and switch off."""
        self.resources.withdraw(HANDLE_KIND, self.sensor)
        handle, self.handle = self.handle, None
        if handle is not None:
            handle.close()
            await asyncio.sleep(0)  # let a cancelled blink finish before the device closes

    def _record(self, state: bool) -> None:
        self.emit("state", state, units.NONE)

    async def run_device(self) -> None:
        """Nothing to sample: the handle emits on every change. Waits until cancelled."""
        await asyncio.Event().wait()

    async def poll(self) -> None:
        """Not used: an output has nothing to sample."""
