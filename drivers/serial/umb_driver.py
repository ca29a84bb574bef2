"""``serial.umb``: a UMB master polling a Lufft device (IRS31Pro-UMB road sensor) on RS-485.

Every ``interval`` the driver asks the device for its configured channels: in multi-channel
requests (command 0x2F, up to :data:`CHANNELS_PER_REQUEST` channels each), or one online data
request (0x23) per channel with ``request = "single"`` for devices without 0x2F. Each request
waits ``response_timeout`` for the answer and is sent again up to ``retries`` times; an answer
with a bad CRC is retried at once.

Readings are one per channel, named and converted by the device's channel table (the IRS31's
in :mod:`drivers.serial.irs31`; channels of other devices become ``channel-<n>`` with their raw
value). A channel whose status is not OK gives a flagged reading (``None`` and
``checksum_failed``, or the value and ``out_of_range`` for over/underrange) and counts under
``status_<name>`` (``status_device_busy``). Input errors: ``bad_checksum``, ``bad_framing``,
``malformed``, ``garbage_bytes`` (from the parser), ``timeout`` (an attempt without an answer)
and ``no_valid_response`` (a poll that got nothing usable after every retry).

Sensors on the same port share one :class:`~drivers.serial.umb_bus.UmbBus` and take turns.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Final, Literal, Self

from pydantic import Field, model_validator

from edge_agent.durations import Duration
from edge_agent.errors import ConfigError, DriverError, unknown_choice

from . import irs31
from .port_options import SerialPortOptions
from .serial_driver import SerialDriver
from .simulation import SimulatedRoadSensor, road_sensor_device
from .simulators import SerialDevice
from .to_readings import umb_readings
from .umb import (
    DEFAULT_MASTER_ADDRESS,
    MASTER_CLASS_ID,
    MAX_CHANNELS_PER_REQUEST,
    MAX_PAYLOAD_BYTES,
    ChannelValue,
    MultiChannelResponse,
    OnlineDataResponse,
    Status,
    UmbEvent,
    make_address,
    multi_channel_request,
    online_data_request,
)
from .umb_channels import ChannelSpec

if TYPE_CHECKING:
    from .umb_bus import UmbBus

CHANNEL_TABLES: Final[Mapping[int, Mapping[int, ChannelSpec]]] = {irs31.CLASS_ID: irs31.CHANNELS}
"""Channel tables by UMB class id: names and units of the devices the kit knows."""

_LARGEST_VALUE_BLOCK: Final = 13
"""A channel's block in a 0x2F answer, at most: length, status, channel (2), type, double (8)."""

CHANNELS_PER_REQUEST: Final = min(
    MAX_CHANNELS_PER_REQUEST, (MAX_PAYLOAD_BYTES - 2) // _LARGEST_VALUE_BLOCK
)
"""Channels per 0x2F request: the protocol takes 20, but the answer must fit the 210-byte
payload even if every channel were a double; 16."""


class UmbOptions(SerialPortOptions):
    """Options of ``serial.umb``.

    Attributes:
        baudrate: 19200 (the IRS31Pro-UMB's factory setting, 8N1).
        class_id: the device's UMB class (9: IRS31Pro-UMB; 7: WS weather station; ...).
        device_id: the device id set on the device (1 from the factory); several devices on
            one bus need different ones.
        master_id: this agent's device id in the master class 15 (change it only when another
            master shares the bus).
        channels: channel numbers or, for classes with a table, names (``road_condition``).
        request: ``multi`` (0x2F, several channels per request) or ``single`` (0x23).
        response_timeout: how long to wait for an answer.
        retries: how often a request is sent again after a timeout or a damaged answer.
        simulation: the simulated road sensor (``simulated`` backend only).
    """

    baudrate: int = Field(default=19200, gt=0, le=4_000_000)
    class_id: int = Field(default=irs31.CLASS_ID, ge=1, le=14)
    device_id: int = Field(default=1, ge=1, le=255)
    master_id: int = Field(default=DEFAULT_MASTER_ADDRESS & 0xFF, ge=1, le=255)
    channels: tuple[int | str, ...] = irs31.DEFAULT_CHANNELS
    request: Literal["multi", "single"] = "multi"
    response_timeout: Duration = 0.5
    retries: int = Field(default=2, ge=0, le=10)
    simulation: SimulatedRoadSensor = SimulatedRoadSensor()

    @model_validator(mode="after")
    def _known_channels(self) -> Self:
        numbers = channel_numbers(self.channels, self.class_id)
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"channels {list(self.channels)} names a channel twice")
        return self

    @property
    def address(self) -> int:
        """The device's 16-bit UMB address (``0x9001`` for an IRS31 with id 1)."""
        return make_address(self.class_id, self.device_id)

    @property
    def master_address(self) -> int:
        """This agent's UMB address (class 15)."""
        return make_address(MASTER_CLASS_ID, self.master_id)


def channel_numbers(channels: Sequence[int | str], class_id: int) -> tuple[int, ...]:
    """Channel numbers for ``channels``, names looked up in the class's table.

    Raises:
        ValueError: a number out of range, or a name the class's table does not have.
    """
    table = CHANNEL_TABLES.get(class_id, {})
    by_name = {spec.quantity: number for number, spec in table.items()}
    numbers = []
    for channel in channels:
        if isinstance(channel, int):
            if not 0 <= channel <= 0xFFFF:
                raise ValueError(f"channel {channel} is not a UMB channel number (0-65535)")
            numbers.append(channel)
        elif channel in by_name:
            numbers.append(by_name[channel])
        elif not table:
            raise ValueError(
                f"channel {channel!r}: names are known for the IRS31Pro-UMB (class "
                f"{irs31.CLASS_ID}) only; give class {class_id}'s channel numbers from its manual"
            )
        else:
            raise ValueError(unknown_choice("channel name", channel, by_name))
    return tuple(numbers)


def status_reason(status: int) -> str:
    """The input-error reason for a UMB status: ``status_device_busy``, ``status_0x77``."""
    try:
        return f"status_{Status(status).name.lower()}"
    except ValueError:
        return f"status_0x{status:02x}"


class UmbDriver(SerialDriver):
    """Polls a UMB device's channels over RS-485."""

    Options = UmbOptions
    options: UmbOptions
    summary = (
        "Lufft UMB device on RS-485 (IRS31Pro-UMB: surface and freezing temperature (Cel), "
        "water film (mm), road condition), polled"
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        opts = self.options
        self.channels = channel_numbers(opts.channels, opts.class_id)
        self.table = CHANNEL_TABLES.get(opts.class_id, {})
        size = CHANNELS_PER_REQUEST if opts.request == "multi" else 1
        self.groups = [self.channels[i : i + size] for i in range(0, len(self.channels), size)]
        self.bus: UmbBus | None = None
        self._bus_key: str | None = None
        self._answering = True

    def simulated_device(self) -> tuple[SerialDevice, float]:
        """An IRS31 at the configured address in a road that freezes at night."""
        simulation = self.options.simulation
        device = road_sensor_device(simulation, self.options.address, self.clock.now())
        return device, simulation.tick

    async def open_port(self, path: str) -> None:
        """Join the bus on ``path``, opening it if this is its first sensor."""
        from .umb_bus import UmbBus  # noqa: PLC0415 - pyserial, when started

        if self.simulator is not None:
            key = f"serial.simulated:{self.sensor}"  # each simulated sensor has its own pty
        else:
            key = f"serial:{os.path.realpath(path)}"
        settings = self.options.port_settings()
        bus = await self.resources.acquire(
            key, lambda: UmbBus(path, settings, logger=self.log), UmbBus
        )
        self._bus_key = key
        if bus.settings != settings:
            raise ConfigError(
                f"sensor {self.sensor!r}: port {path} is already open at "
                f"{bus.settings.describe()} for another UMB sensor, not at "
                f"{settings.describe()}; every device on one bus needs the same settings"
            )
        if bus.lost.is_set():
            raise DriverError(
                f"serial port {path} was lost and another sensor on it has not let go yet; retrying"
            )
        self.bus = bus

    async def close_port(self) -> None:
        """Leave the bus; the last sensor on it closes the port."""
        key, self._bus_key, self.bus = self._bus_key, None, None
        if key is not None:
            await self.resources.release(key)

    async def run(self) -> None:
        """Poll every :attr:`interval` seconds on a fixed schedule until cancelled or lost."""
        bus = self.bus
        if bus is None:
            raise RuntimeError("run() before start()")
        next_tick = time.monotonic()
        while True:
            await self.poll()
            next_tick += self.interval
            delay = next_tick - time.monotonic()
            if delay < 0:  # polls take longer than the interval: skip the missed ticks
                next_tick, delay = time.monotonic(), 0
            try:
                async with asyncio.timeout(delay):
                    await bus.lost.wait()
            except TimeoutError:
                continue
            bus.connection.take_pending()  # raises the DriverError that says what happened
            raise DriverError(f"serial port {bus.path} was lost")

    async def poll(self) -> None:
        """Ask for every configured channel once and publish the answers."""
        for group in self.groups:
            await self._poll_group(group)

    async def _poll_group(self, channels: tuple[int, ...]) -> None:
        bus = self.bus
        if bus is None:
            raise RuntimeError("poll() before start()")
        opts = self.options
        if opts.request == "multi":
            request = multi_channel_request(opts.address, channels, opts.master_address)
        else:
            request = online_data_request(opts.address, channels[0], opts.master_address)
        accept = self._acceptor(channels)
        attempts = opts.retries + 1
        for attempt in range(1, attempts + 1):
            exchange = await bus.exchange(request, accept, timeout=opts.response_timeout)
            self.count_parser_errors(exchange.errors, exchange.detail)
            if exchange.answer is not None:
                self._publish_answer(exchange.answer, channels, self.clock.now())
                if not self._answering:
                    self.log.info(
                        "sensor %r: device 0x%04X answers again", self.sensor, opts.address
                    )
                    self._answering = True
                return
            if exchange.timed_out:
                self.count_error(
                    "timeout",
                    f"no answer from 0x{opts.address:04X} within {opts.response_timeout:g} s "
                    f"(attempt {attempt} of {attempts})",
                )
        self.count_error("no_valid_response", f"channels {list(channels)}")
        if self._answering:
            self._answering = False
            self.log.warning(
                "sensor %r: no valid answer from UMB device 0x%04X on %s after %d attempts: "
                "check A/B wiring, the device id and baud rate, and the sensor's power",
                self.sensor,
                opts.address,
                self.port_path,
                attempts,
            )

    def _acceptor(self, channels: tuple[int, ...]) -> Callable[[UmbEvent], bool]:
        """Which event answers a request for ``channels`` from this master to this device."""
        address, master = self.options.address, self.options.master_address
        wanted = set(channels)

        def accept(event: UmbEvent) -> bool:
            if self.options.request == "multi":
                return (
                    isinstance(event, MultiChannelResponse)
                    and (event.from_address, event.to_address) == (address, master)
                    and (not event.values or {v.channel for v in event.values} == wanted)
                )
            return (
                isinstance(event, OnlineDataResponse)
                and (event.from_address, event.to_address) == (address, master)
                and (event.value is None or event.value.channel in wanted)
            )

        return accept

    def _publish_answer(self, answer: UmbEvent, channels: tuple[int, ...], now: float) -> None:
        """Readings of every requested channel, flagged where the device says no value."""
        values: tuple[ChannelValue, ...]
        if isinstance(answer, OnlineDataResponse):
            status, values = answer.status, (answer.value,) if answer.value is not None else ()
        elif isinstance(answer, MultiChannelResponse):
            status, values = answer.status, answer.values
        else:
            return
        if not values:
            # Only a status came back: every requested channel gets a flagged gap.
            values = tuple(ChannelValue(channel, status, None, None) for channel in channels)
        for value in values:
            if value.status != Status.OK:
                self.count_error(status_reason(value.status), f"channel {value.channel}")
        event = MultiChannelResponse(
            self.options.master_address, self.options.address, status, values
        )
        self.publish_readings(umb_readings(event, self.sensor, now, channels=self.table))


__all__ = [
    "CHANNELS_PER_REQUEST",
    "CHANNEL_TABLES",
    "UmbDriver",
    "UmbOptions",
    "channel_numbers",
    "status_reason",
]
