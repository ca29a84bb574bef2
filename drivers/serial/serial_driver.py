"""What the serial drivers share: the ``serial`` family's backends, opening the port of the
chosen backend, and turning parser counters and readings into the driver's own.

Backends of the ``serial`` family:

- ``pyserial``: the configured ``port``, opened with pyserial. Its probe gets no options, so
  it cannot look for that port; it passes when any serial port exists
  (``/dev/serial/by-id/*``, ``/dev/ttyUSB*``, ``/dev/ttyACM*`` or ``/dev/ttyAMA*``; a
  Raspberry Pi always has ``/dev/ttyAMA0``). It never opens anything.
- ``simulated``: the driver's device simulator runs behind a pseudo-terminal pair inside the
  agent and the driver opens the pty's ``/dev/pts/N`` through pyserial, so the demo runs the
  same port, parser and polling code as a real device.

A lost port raises :class:`~edge_agent.errors.DriverError`; the supervisor restarts the driver
with backoff, and :meth:`SerialDriver.start` opens the port again.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, ClassVar

from edge_agent.backends import SIMULATED, Backend, all_of, always, needs_module
from edge_agent.driver import Driver
from edge_agent.errors import ConfigError, DriverError
from edge_agent.readings import Reading

from .port_options import SerialPortOptions
from .ports import probe_serial_ports, unstable_name_warning
from .pty_device import PtyDevice
from .simulators import SerialDevice

if TYPE_CHECKING:
    from .connection import SerialConnection

PYSERIAL = "pyserial"

BACKENDS: tuple[Backend, ...] = (
    Backend(
        PYSERIAL,
        "the configured port (USB adapter, on-board UART) through pyserial",
        all_of(needs_module("serial", "pyserial"), probe_serial_ports),
    ),
    Backend(
        SIMULATED,
        "a simulated device behind a pseudo-terminal, read through pyserial",
        always,
    ),
)
"""The ``serial`` family's backends, real first."""


class SerialDriver(Driver):
    """Base of the serial drivers: chooses the backend, opens and closes the port.

    A subclass says what its simulated device is (:meth:`simulated_device`), how it opens
    and closes a port (:meth:`open_port`, :meth:`close_port`) and reads it in :meth:`run`.

    Attributes:
        port_path: the path opened by the last :meth:`start` (a ``/dev/pts/N`` when simulated).
        simulator: the pseudo-terminal device while the simulated backend runs.
    """

    family = "serial"
    backends = BACKENDS
    options: SerialPortOptions

    NOT_ERRORS: ClassVar[frozenset[str]] = frozenset({"frames_ok"})
    """Parser counters that are not input errors."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.port_path: str | None = None
        self.simulator: PtyDevice | None = None
        self._warned_port_name = False

    @abc.abstractmethod
    def simulated_device(self) -> tuple[SerialDevice, float]:
        """The device the simulated backend runs, and its tick in seconds."""

    @abc.abstractmethod
    async def open_port(self, path: str) -> None:
        """Open ``path`` (:class:`~edge_agent.errors.DriverError` if it cannot be opened)."""

    @abc.abstractmethod
    async def close_port(self) -> None:
        """Close what :meth:`open_port` opened; safe when it did not open anything."""

    async def start(self) -> None:
        """Choose the backend, start the simulator if it is the simulated one, open the port."""
        backend = self.choose_backend()
        try:
            if backend.name == SIMULATED:
                device, tick = self.simulated_device()
                self.simulator = PtyDevice(device, tick_s=tick)
                path = self.simulator.start()
                self.log.info("sensor %r: simulated device on %s", self.sensor, path)
            else:
                path = self._configured_port()
            self.port_path = path
            await self.open_port(path)
        except BaseException:
            await self.stop()
            raise

    def _configured_port(self) -> str:
        path = self.options.port
        if path is None:
            raise ConfigError(
                f"sensor {self.sensor!r}: the {PYSERIAL} backend needs options.port, e.g. "
                "port = '/dev/serial/by-id/...' (list them with `ls -l /dev/serial/by-id/`), "
                "or set options.backend = 'simulated'"
            )
        if not self._warned_port_name:
            self._warned_port_name = True
            warning = unstable_name_warning(path)
            if warning is not None:
                self.log.warning("sensor %r: %s", self.sensor, warning)
        return path

    async def stop(self) -> None:
        """Close the port and stop the simulator, if any."""
        try:
            await self.close_port()
        finally:
            simulator, self.simulator = self.simulator, None
            if simulator is not None:
                await asyncio.to_thread(simulator.stop)

    def publish_readings(self, readings: Collection[Reading]) -> None:
        """Emit readings built by :mod:`drivers.serial.to_readings` as this driver's own.

        :meth:`emit` adds the ``clock_unsynced`` flag and counts them.
        """
        for reading in readings:
            quantity = reading.stream.partition("/")[2]
            self.emit(quantity, reading.value, reading.unit, reading.quality, at=reading.time)

    def count_parser_errors(self, increases: Mapping[str, int], detail: str) -> None:
        """Count what a parser rejected, by its counter names, as this sensor's input errors.

        ``increases`` maps counter names to how much they grew; ``detail`` (the parser's last
        rejection) goes to the debug log. ``garbage_bytes`` counts bytes, the rest frames
        or lines; :attr:`NOT_ERRORS` are skipped.
        """
        for reason, amount in increases.items():
            if amount <= 0 or reason in self.NOT_ERRORS:
                continue
            if reason == "garbage_bytes":
                self.input_errors[reason] += amount - 1
                self.count_error(reason, f"{amount} bytes outside any frame")
                continue
            for _ in range(amount):
                self.count_error(reason, detail)


class StreamSerialDriver(SerialDriver):
    """A serial driver that reads a stream the device sends by itself (NMEA, maker lines).

    It opens the port with a fresh parser (:meth:`reset_parser`: a half sentence from before
    a reopen is gone), reads until cancelled, hands the bytes to :meth:`receive`, and raises
    :class:`~edge_agent.errors.DriverError` when the device stays silent for the port's
    ``read_timeout`` so the supervisor reopens it.
    """

    silent_hint: ClassVar[str] = "the device is silent"
    """What a silent port most likely means, for the error message."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.connection: SerialConnection | None = None

    @abc.abstractmethod
    def reset_parser(self) -> None:
        """Start a fresh parser (and forget per-connection state) before a port opens."""

    @abc.abstractmethod
    def receive(self, data: bytes, now: float) -> None:
        """Feed bytes that arrived at ``now`` (epoch s) and publish what they complete."""

    async def open_port(self, path: str) -> None:
        """Open ``path`` with a fresh parser."""
        from .connection import SerialConnection  # noqa: PLC0415 - pyserial, when started

        self.reset_parser()
        self.connection = SerialConnection(path, self.options.port_settings(), logger=self.log)
        await self.connection.open()

    async def close_port(self) -> None:
        """Close the port."""
        connection, self.connection = self.connection, None
        if connection is not None:
            await connection.close()

    async def run(self) -> None:
        """Read, parse and publish until cancelled or the port is lost."""
        connection = self.connection
        if connection is None:
            raise RuntimeError("run() before start()")
        # Each protocol's options set read_timeout (None: a device may be silent for long).
        timeout: float | None = getattr(self.options, "read_timeout", None)
        while True:
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that
                # arrives together with data, and the driver would never stop.
                async with asyncio.timeout(timeout):
                    data = await connection.read()
            except TimeoutError:
                raise DriverError(
                    f"no bytes from {connection.path} for {timeout or 0:g} s: {self.silent_hint}; "
                    "reopening the port"
                ) from None
            self.receive(data, self.clock.now())


def counter_increases(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    """How much each counter grew from ``before`` to ``after`` (only those that grew)."""
    return {
        name: value - before.get(name, 0)
        for name, value in after.items()
        if value > before.get(name, 0)
    }


__all__ = ["BACKENDS", "PYSERIAL", "SerialDriver", "counter_increases"]
