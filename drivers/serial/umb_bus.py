"""One RS-485 line with Lufft UMB devices, shared by every sensor polled over it.

Several UMB devices (an IRS31 in each lane, a weather station) hang on one bus with different
device ids, behind one USB adapter. Each of them is a ``serial.umb`` sensor; they share one
:class:`UmbBus` through the agent's :class:`~edge_agent.resources.Resources` under the port's
real path, so the port is opened once and their request/response exchanges take turns
(RS-485 is half-duplex: one master, one talker at a time).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .connection import SerialConnection
from .port_options import PortSettings
from .serial_driver import counter_increases
from .umb import UmbEvent, UmbStreamParser


@dataclass(frozen=True)
class Exchange:
    """The outcome of one request on the bus.

    Attributes:
        answer: the first event the caller accepted, or ``None``.
        timed_out: no acceptable answer came within the timeout (else a damaged answer
            ended the wait early, or an answer came).
        errors: how much each parser counter other than ``frames_ok`` grew meanwhile
            (``bad_checksum``, ``bad_framing``, ``malformed``, ``garbage_bytes``).
        detail: why the last rejected frame was rejected.
    """

    answer: UmbEvent | None
    timed_out: bool
    errors: Mapping[str, int]
    detail: str


class UmbBus:
    """A UMB line: one serial connection, one parser, one exchange at a time.

    Args:
        path: the port.
        settings: baud rate and character format (every device on a bus uses the same).
        logger: where the connection logs.
    """

    def __init__(self, path: str, settings: PortSettings, *, logger: logging.Logger) -> None:
        self.path = path
        self.settings = settings
        self.connection = SerialConnection(path, settings, logger=logger)
        self.parser = UmbStreamParser()
        self._turn = asyncio.Lock()

    async def start(self) -> None:
        """Open the port (:class:`~edge_agent.errors.DriverError` if it cannot be opened)."""
        await self.connection.open()

    async def stop(self) -> None:
        """Close the port."""
        await self.connection.close()

    @property
    def lost(self) -> asyncio.Event:
        """Set once the port is lost; exchanges then raise its DriverError."""
        return self.connection.lost

    async def exchange(
        self, request: bytes, accept: Callable[[UmbEvent], bool], *, timeout: float
    ) -> Exchange:
        """Send ``request`` and wait up to ``timeout`` seconds for an event ``accept`` takes.

        What arrived since the previous exchange (a late answer, an adapter's echo, noise) is
        parsed first and dropped, so it cannot pass for this answer; its rejects count in
        :attr:`Exchange.errors`. A damaged frame while waiting ends the wait at once: the
        device answers once, so the caller may as well retry now.

        Raises:
            DriverError: the port was lost.
        """
        async with self._turn:
            parser = self.parser
            before = parser.counters()
            for chunk in self.connection.take_pending():
                parser.feed(chunk)
            for _ in parser.events():
                pass
            parser.reset()
            await self.connection.write(request)
            answer: UmbEvent | None = None
            timed_out = False
            try:
                async with asyncio.timeout(timeout):
                    while answer is None:
                        rejected = _rejected(parser)
                        parser.feed(await self.connection.read())
                        answer = next((event for event in parser.events() if accept(event)), None)
                        if answer is None and _rejected(parser) > rejected:
                            break
            except TimeoutError:
                timed_out = True
            errors = counter_increases(before, parser.counters())
            errors.pop("frames_ok", None)
            return Exchange(answer, timed_out, errors, parser.last_rejection)


def _rejected(parser: UmbStreamParser) -> int:
    return parser.bad_checksum + parser.bad_framing + parser.malformed


__all__ = ["Exchange", "UmbBus"]
