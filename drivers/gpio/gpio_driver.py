"""The base of the GPIO drivers: backend choice, the shared pin factory, gpiozero's threads.

A GPIO driver chooses its backend (option > ``[backends] gpio`` > ``$EDGE_AGENT_GPIO_BACKEND``
> probe), takes its pin factory from :class:`~edge_agent.resources.Resources` (see
:mod:`drivers.gpio.pin_factories`), builds its gpiozero devices with ``pin_factory=...`` in a
thread, and closes them in :meth:`GpioDriver.stop`. On the ``simulated`` backend,
:meth:`GpioDriver.run` also runs :meth:`GpioDriver.simulate`, which moves the mock pins.

gpiozero calls event handlers in its own threads (a pin's edge thread, a device's sampling
thread); :meth:`GpioDriver.from_gpio_thread` hands such calls to the event loop, where readings
are emitted.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, ClassVar

from edge_agent.backends import SIMULATED, Backend
from edge_agent.driver import HardwareOptions, PollingDriver
from edge_agent.errors import DriverError

from .pin_factories import GPIO_BACKENDS, SharedPinFactory, factory_key


class GpioOptions(HardwareOptions):
    """Options every GPIO sensor has: ``backend`` (``lgpio``, ``rpigpio`` or ``simulated``)."""


def _hint(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc).lower()
    if name == "GPIOPinInUse" or "busy" in text:
        return (
            "another sensor of this config or another program uses the pin; give each "
            "sensor its own pins ('gpioinfo' lists who holds which line)"
        )
    if "permission" in text or "can not open" in text:
        return "add the agent's user to the group 'gpio' and check ls -l /dev/gpiochip*"
    return "check the wiring and the pin numbers (BCM numbering)"


class GpioDriver(PollingDriver):
    """A driver of gpiozero devices on one pin factory.

    Subclasses build their devices in :meth:`open_devices` and close them in
    :meth:`close_devices` (both blocking, run in a thread), and may emit first readings in
    :meth:`opened`, prepare mock pins in :meth:`prepare_simulated_pins` and move them in
    :meth:`simulate`.
    """

    family: ClassVar[str | None] = "gpio"
    backends: ClassVar[tuple[Backend, ...]] = GPIO_BACKENDS
    options: GpioOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.factory: Any = None
        """The gpiozero pin factory between :meth:`start` and :meth:`stop`, else None."""
        self._factory_key: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.is_open = False
        """True between a successful :meth:`start` and :meth:`stop`."""

    @property
    def simulated(self) -> bool:
        """Whether the chosen backend is ``simulated`` (gpiozero's ``MockFactory``)."""
        return self.backend is not None and self.backend.name == SIMULATED

    @abc.abstractmethod
    def describe(self) -> str:
        """What is wired where, for messages: ``HC-SR04 on trigger GPIO23, echo GPIO24``."""

    @abc.abstractmethod
    def open_devices(self, factory: Any) -> None:
        """Build the gpiozero devices on ``factory`` (blocking; runs in a thread).

        On failure, close what was built before raising.
        """

    @abc.abstractmethod
    def close_devices(self) -> None:
        """Close the gpiozero devices (blocking; runs in a thread); safe to call twice."""

    def prepare_simulated_pins(self, factory: Any) -> None:
        """Create special mock pins (``MockTriggerPin``) before :meth:`open_devices` does."""

    async def opened(self) -> None:
        """Called on the event loop after :meth:`open_devices`; emit first readings here."""

    async def closing(self) -> None:
        """Called on the event loop before :meth:`close_devices`."""

    async def simulate(self) -> None:
        """Move the mock pins like the world outside would (``simulated`` backend only)."""

    async def start(self) -> None:
        """Choose the backend, take the pin factory and open the devices.

        Raises:
            DriverError: the pin library or device is missing, or a pin cannot be used.
        """
        choice = self.choose_backend()
        self._loop = asyncio.get_running_loop()
        key = factory_key(choice.name, self.sensor)
        shared = await self.resources.acquire(
            key, lambda: SharedPinFactory(choice.name), SharedPinFactory
        )
        self._factory_key = key
        self.factory = shared.factory
        self.is_open = True  # before the devices exist: their first events must not be dropped
        try:
            if self.simulated:
                self.prepare_simulated_pins(self.factory)
            await asyncio.to_thread(self.open_devices, self.factory)
        except Exception as exc:
            self.is_open = False
            await self._release()
            if isinstance(exc, DriverError):
                raise
            raise DriverError(
                f"sensor {self.sensor!r}: cannot open {self.describe()} with the "
                f"{choice.describe()}: {type(exc).__name__}: {exc}; {_hint(exc)}"
            ) from exc
        self.log.info("sensor %r: %s, %s", self.sensor, self.describe(), choice.describe())
        await self.opened()

    async def stop(self) -> None:
        """Close the devices and give the pin factory back."""
        was_open, self.is_open = self.is_open, False
        if was_open:
            await self.closing()
        await asyncio.to_thread(self.close_devices)
        await self._release()

    async def _release(self) -> None:
        key, self._factory_key = self._factory_key, None
        self.factory = None
        if key is not None:
            await self.resources.release(key)

    async def run(self) -> None:
        """Sample every interval; on the ``simulated`` backend, also run :meth:`simulate`."""
        if not self.simulated:
            await self.run_device()
            return
        simulation = asyncio.create_task(self.simulate(), name=f"simulate:{self.sensor}")
        device = asyncio.create_task(self.run_device(), name=f"device:{self.sensor}")
        try:
            done, _pending = await asyncio.wait(
                {simulation, device}, return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                task.result()  # a failed simulation fails the driver, as a device would
            await device
        finally:
            for task in (simulation, device):
                task.cancel()
            for task in (simulation, device):
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def run_device(self) -> None:
        """Read the device until cancelled: :meth:`poll` every interval."""
        await PollingDriver.run(self)

    def from_gpio_thread(self, callback: Callable[..., None], *args: Any) -> None:
        """Run ``callback(*args)`` on the event loop; callable from any thread.

        Calls that arrive after :meth:`stop` or after the loop closed are dropped.
        """
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._if_open, callback, args)

    def _if_open(self, callback: Callable[..., None], args: tuple[Any, ...]) -> None:
        if self.is_open:
            callback(*args)
