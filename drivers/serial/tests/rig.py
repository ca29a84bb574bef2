"""What the driver tests share: building a driver like the agent does, running it, waiting for
a condition, and simulated devices that misbehave in a controlled way.

The drivers run for real: their ``start()`` opens a pseudo-terminal's slave with pyserial, a
reader thread feeds the parser, and the simulator answers on the master side. Tests wait for
conditions with generous timeouts and never assert on durations.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, TypeVar

from drivers.serial.serial_driver import SerialDriver
from drivers.serial.simulators import SerialDevice
from drivers.serial.umb import UmbEvent, UmbStreamParser, encode
from edge_agent.clock import ManualClock
from edge_agent.driver import Driver
from edge_agent.readings import Reading
from edge_agent.resources import Resources

START = dt.datetime(2025, 1, 15, 6, 0, tzinfo=dt.UTC)
"""A winter morning; the simulators' clocks start here."""

LOG = logging.getLogger("edge_agent.test.serial")

D = TypeVar("D", bound=SerialDriver)


def make_driver(
    cls: type[D],
    options: Mapping[str, Any],
    *,
    sensor: str = "s",
    interval: float = 1.0,
    resources: Resources | None = None,
    out: list[Reading] | None = None,
) -> tuple[D, list[Reading]]:
    """A driver built the way the agent builds it: options validated by its model, readings
    collected in a list (returned)."""
    readings: list[Reading] = [] if out is None else out
    driver = cls(
        sensor,
        cls.Options.model_validate(dict(options)),
        interval=interval,
        publish=readings.append,
        clock=ManualClock(START.timestamp()),
        logger=LOG.getChild(sensor),
        resources=resources,
    )
    return driver, readings


async def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Wait until ``condition()`` holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running(driver: Driver) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``driver.run_forever()`` (start, run, stop) as a task; cancel it on the way out."""
    task = asyncio.get_running_loop().create_task(driver.run_forever())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def streams(readings: list[Reading], quantity: str) -> list[Reading]:
    """The readings of one quantity (``latitude``), in order."""
    return [r for r in readings if r.stream.endswith(f"/{quantity}")]


class Recording:
    """Passes a device through and keeps what it sent (before any damage) and received."""

    def __init__(self, device: SerialDevice) -> None:
        self.device = device
        self.sent: list[bytes] = []
        self.received: list[bytes] = []

    def on_tick(self) -> bytes:
        data = self.device.on_tick()
        self.sent.append(data)
        return data

    def on_receive(self, data: bytes) -> bytes:
        self.received.append(data)
        answer = self.device.on_receive(data)
        self.sent.append(answer)
        return answer


class Replay:
    """Sends captured bytes once, at the first tick, then stays quiet."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.done = False

    def on_tick(self) -> bytes:
        if self.done:
            return b""
        self.done = True
        return self.data

    def on_receive(self, data: bytes) -> bytes:
        return b""


class Silent:
    """A device that never sends anything (powered off behind a powered adapter)."""

    def on_tick(self) -> bytes:
        return b""

    def on_receive(self, data: bytes) -> bytes:
        return b""


class UmbTrouble:
    """A UMB device wrapper that misbehaves on chosen requests (counted from 1).

    Args:
        device: the responder.
        ignore: requests it does not answer (a timeout for the master).
        bad_crc: requests whose answer goes out with a damaged CRC.
        echo: send every request back first, as RS-485 adapters without echo
            suppression do.
    """

    def __init__(
        self,
        device: SerialDevice,
        *,
        ignore: frozenset[int] = frozenset(),
        bad_crc: frozenset[int] = frozenset(),
        echo: bool = False,
    ) -> None:
        self.device = device
        self.ignore = ignore
        self.bad_crc = bad_crc
        self.echo = echo
        self.requests: list[UmbEvent] = []
        self._parser = UmbStreamParser()

    def on_tick(self) -> bytes:
        return self.device.on_tick()

    def on_receive(self, data: bytes) -> bytes:
        self._parser.feed(data)
        out = b""
        for request in self._parser.events():
            self.requests.append(request)
            number = len(self.requests)
            raw = encode(request)
            answer = self.device.on_receive(raw)
            if self.echo:
                out += raw
            if number in self.ignore:
                continue
            if number in self.bad_crc:
                damaged = bytearray(answer)
                damaged[-3] ^= 0x5A  # low byte of the CRC
                answer = bytes(damaged)
            out += answer
        return out


class SharedLine:
    """Several devices on one RS-485 line: each hears every request and answers its own."""

    def __init__(self, *devices: SerialDevice) -> None:
        self.devices = devices

    def on_tick(self) -> bytes:
        return b"".join(device.on_tick() for device in self.devices)

    def on_receive(self, data: bytes) -> bytes:
        return b"".join(device.on_receive(data) for device in self.devices)
