"""One scanner per Bluetooth adapter, shared by every tag that listens on it.

The first ``ble.tag`` sensor on an adapter creates the :class:`Scanner` through
``resources.acquire(f"ble.scanner:{adapter}", ...)``; each tag :meth:`Scanner.subscribe` s
its address; the last one to leave stops it. Below the scanner sits a :class:`Radio`: bleak's
``BleakScanner`` (:mod:`.bleak_radio`) or the simulated room of tags (:mod:`.simulated_radio`).
Both call :meth:`Scanner.on_advertisement`, the detection callback, with bleak's own
``BLEDevice`` and ``AdvertisementData``.

**The detection callback** runs for every advertisement the adapter hears (phones, beacons,
headphones: thousands a minute in a busy room), so it does one dictionary lookup and hands the
advertisement to the tag listening on that address. Advertisements nobody listens to are
counted under ``unknown_address``; a listener that raises is counted under ``listener_failed``
and logged, and never reaches bleak or the radio.

**Stalls.** BlueZ sometimes stops reporting advertisements without any error (after a
controller reset, a Wi-Fi/Bluetooth coexistence hiccup, a suspended D-Bus client). The scanner's
watchdog checks every :data:`WATCH_EVERY` seconds how long nothing at all has arrived. After
:attr:`Scanner.stall_limit` seconds it stops and starts the radio, counts the restart and logs
a warning. A restart that brings nothing doubles the limit (up to :data:`MAX_STALL_AFTER`), so
a lab whose tags are all gone is not restarted every two minutes; the first advertisement
resets it. A restart that fails marks the scanner failed: every tag driver on it raises
:class:`~edge_agent.errors.DriverError`, the supervisor restarts them with backoff, and the
first one back calls :meth:`Scanner.recover`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Protocol

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from edge_agent.errors import DriverError

from .options import TagFormat

STALL_AFTER: Final = 120.0
"""Seconds without any advertisement after which the radio is restarted (at first)."""
MAX_STALL_AFTER: Final = 3600.0
"""The longest the stall limit grows to while restarts bring nothing."""
STALL_INTERVALS: Final = 3.0
"""The stall limit is at least this many of the slowest tag's expected gaps."""
WATCH_EVERY: Final = 10.0
"""Seconds between two stall checks."""

DetectionCallback = Callable[[BLEDevice, AdvertisementData], None]
"""What bleak calls for each advertisement."""


@dataclass(frozen=True, slots=True)
class TagProfile:
    """What a radio may need to know about a tag: the simulated radio imitates it from this.

    Attributes:
        address: upper-case MAC address.
        format: the configured advertisement format.
        bind_key: the BTHome key (16 bytes), never shown in reprs.
    """

    address: str
    format: TagFormat
    bind_key: bytes | None = field(default=None, repr=False)


class Listener(Protocol):
    """A tag listening on the scanner (the ``ble.tag`` driver)."""

    @property
    def profile(self) -> TagProfile:
        """Its address, format and key."""
        ...

    def expected_gap(self) -> float:
        """Seconds the tag may normally stay silent (for the stall limit)."""
        ...

    def on_advertisement(self, device: BLEDevice, adv: AdvertisementData) -> None:
        """Take one advertisement from the tag's address; must not raise."""
        ...


class Radio(Protocol):
    """The backend below a :class:`Scanner`."""

    name: str
    """The backend's name (``bleak``, ``simulated``)."""

    def describe(self) -> str:
        """How it scans now, for logs (``passive scanning on hci0``)."""
        ...

    async def start(self, callback: DetectionCallback) -> None:
        """Start scanning; ``callback`` gets every advertisement. Raises when it cannot."""
        ...

    async def stop(self) -> None:
        """Stop scanning; safe to call when not started."""
        ...

    def add_tag(self, profile: TagProfile) -> None:
        """A tag subscribed (the simulated radio starts imitating it)."""
        ...

    def remove_tag(self, address: str) -> None:
        """A tag left."""
        ...


class Scanner:
    """The shared scanner of one adapter: fan-out by address, stall watchdog, restarts.

    Args:
        adapter: the adapter name (``hci0``), for messages.
        radio: the backend that delivers advertisements.
        logger: where restarts and failures are logged.
        monotonic: the time source of the stall watchdog (seconds); tests pass a
            :class:`~edge_agent.clock.ManualClock`'s ``now``.
        stall_after: the initial stall limit, seconds.
        watch_every: seconds between two stall checks of the watchdog task.
    """

    def __init__(
        self,
        adapter: str,
        radio: Radio,
        *,
        logger: logging.Logger,
        monotonic: Callable[[], float] = time.monotonic,
        stall_after: float = STALL_AFTER,
        watch_every: float = WATCH_EVERY,
    ) -> None:
        self.adapter = adapter
        self.radio = radio
        self.log = logger
        self._monotonic = monotonic
        self.stall_after = stall_after
        self.watch_every = watch_every
        self.received = 0
        """Advertisements heard, from any device."""
        self.restarts = 0
        """Times the radio was restarted because nothing arrived."""
        self.counts: Counter[str] = Counter()
        """Advertisements not handed to a tag, by reason."""
        self.failure: DriverError | None = None
        """Why the scanner stopped working; ``None`` while it works."""
        self.failed = asyncio.Event()
        """Set when :attr:`failure` is set; tag drivers wait on it."""
        self._callbacks: dict[str, DetectionCallback] = {}
        self._listeners: dict[str, Listener] = {}
        self._last_heard = monotonic()
        self._received_at_restart = 0
        self._limit_backoff = 1.0
        self._running = False
        self._watchdog: asyncio.Task[None] | None = None

    @property
    def backend(self) -> str:
        """The radio's backend name."""
        return self.radio.name

    async def start(self) -> None:
        """Start the radio and the watchdog; :class:`DriverError` says why it cannot."""
        await self._start_radio("start")
        self._last_heard = self._monotonic()
        self._running = True
        self._watchdog = asyncio.get_running_loop().create_task(
            self._watch(), name=f"ble-scanner-watchdog:{self.adapter}"
        )
        self.log.info("BLE scanner on %s: %s", self.adapter, self.radio.describe())

    async def stop(self) -> None:
        """Stop the watchdog and the radio."""
        self._running = False
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        await self._stop_radio()
        self.log.info(
            "BLE scanner on %s stopped: %d advertisements, %d restarts, not for a tag: %s",
            self.adapter,
            self.received,
            self.restarts,
            dict(self.counts) or "none",
        )

    async def recover(self) -> None:
        """Start the radio again after a failed restart; :class:`DriverError` if it still fails."""
        if self.failure is None:
            return
        await self._start_radio("restart")
        self.failure = None
        self.failed = asyncio.Event()
        self._last_heard = self._monotonic()
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = asyncio.get_running_loop().create_task(
                self._watch(), name=f"ble-scanner-watchdog:{self.adapter}"
            )
        self.log.warning("BLE scanner on %s works again: %s", self.adapter, self.radio.describe())

    def subscribe(self, listener: Listener) -> None:
        """Hand every advertisement from ``listener.profile.address`` to ``listener``.

        Raises:
            DriverError: another tag already listens on that address.
        """
        address = listener.profile.address
        if address in self._listeners:
            raise DriverError(
                f"address {address} is already read on {self.adapter} by another ble.tag sensor; "
                "configure each tag once"
            )
        self._listeners[address] = listener
        self._callbacks[address] = listener.on_advertisement
        self.radio.add_tag(listener.profile)

    def unsubscribe(self, address: str) -> None:
        """Stop handing advertisements from ``address`` to its listener."""
        if self._listeners.pop(address, None) is not None:
            del self._callbacks[address]
            self.radio.remove_tag(address)

    @property
    def addresses(self) -> list[str]:
        """The addresses tags listen on."""
        return sorted(self._listeners)

    def on_advertisement(self, device: BLEDevice, adv: AdvertisementData) -> None:
        """The detection callback: hand the advertisement to the tag at its address."""
        self.received += 1
        self._last_heard = self._monotonic()
        callback = self._callbacks.get(device.address)
        if callback is None:
            self.counts["unknown_address"] += 1
            self.log.debug("advertisement from %s: no tag configured there", device.address)
            return
        try:
            callback(device, adv)
        except Exception:
            self.counts["listener_failed"] += 1
            self.log.exception("BLE tag at %s failed on an advertisement %r", device.address, adv)

    @property
    def stall_limit(self) -> float:
        """Seconds of silence after which the radio is restarted now."""
        slowest = max((lis.expected_gap() for lis in self._listeners.values()), default=0.0)
        base = max(self.stall_after, STALL_INTERVALS * slowest)
        return min(base * self._limit_backoff, max(MAX_STALL_AFTER, base))

    @property
    def quiet_for(self) -> float:
        """Seconds since the last advertisement (or since the radio was last started)."""
        return self._monotonic() - self._last_heard

    async def check_stall(self) -> bool:
        """Restart the radio if nothing arrived for :attr:`stall_limit`; True if it restarted.

        A failed restart sets :attr:`failure` and :attr:`failed` instead of raising: the
        tag drivers raise it, so the supervisor's backoff applies to them.
        """
        if self.failure is not None:
            return False
        if self.received > self._received_at_restart:
            self._limit_backoff = 1.0
        quiet, limit = self.quiet_for, self.stall_limit
        if quiet < limit:
            return False
        self.restarts += 1
        self.log.warning(
            "BLE scanner on %s heard nothing for %.0f s (BlueZ can stall without an error); "
            "restarting it (restart %d)",
            self.adapter,
            quiet,
            self.restarts,
        )
        await self._stop_radio()
        try:
            await self._start_radio("restart")
        except DriverError as exc:
            self.failure = exc
        if self.failure is not None:
            self.failed.set()
            self.log.error("%s", self.failure)
            return True
        self._last_heard = self._monotonic()
        self._received_at_restart = self.received
        self._limit_backoff *= 2
        return True

    async def _watch(self) -> None:
        while self._running and self.failure is None:
            await asyncio.sleep(self.watch_every)
            await self.check_stall()

    async def _start_radio(self, what: str) -> None:
        try:
            await self.radio.start(self.on_advertisement)
        except Exception as exc:
            raise DriverError(
                f"BLE scanner on {self.adapter} ({self.radio.name} backend) cannot {what}: "
                f"{type(exc).__name__}: {exc}. {hint(exc)}"
            ) from exc

    async def _stop_radio(self) -> None:
        try:
            await self.radio.stop()
        except Exception as exc:  # stopping a stalled BlueZ scan may fail; start decides
            self.log.warning("BLE scanner on %s: stopping the radio failed: %s", self.adapter, exc)


def hint(exc: BaseException) -> str:
    """What to check for a radio that does not start, from the kind of error."""
    text = str(exc).lower()
    if isinstance(exc, FileNotFoundError | ConnectionRefusedError) or "dbus" in text:
        return (
            "The D-Bus system bus or bluetoothd is not reachable: check 'systemctl status "
            "bluetooth dbus'; in a container, mount /run/dbus"
        )
    if "not found" in text:
        return "The adapter does not exist: 'bluetoothctl list' shows the adapters; set adapter"
    if "notready" in text or "not available" in text or "powered" in text:
        return "The adapter is off or blocked: 'rfkill unblock bluetooth', 'bluetoothctl power on'"
    if "accessdenied" in text or "permission" in text or "not authorized" in text:
        return "Not allowed to use bluetoothd: add the agent's user to the 'bluetooth' group"
    return "See the troubleshooting table in drivers/ble/README.md"


__all__ = [
    "MAX_STALL_AFTER",
    "STALL_AFTER",
    "STALL_INTERVALS",
    "WATCH_EVERY",
    "DetectionCallback",
    "Listener",
    "Radio",
    "Scanner",
    "TagProfile",
    "hint",
]
