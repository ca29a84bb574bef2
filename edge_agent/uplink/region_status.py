"""The region as its broker knows it: every device's retained ``status`` and ``health``.

::

    region broker ──<prefix>/+/+/+/status, .../health (retained, QoS 0)──▶ the uplink's session
        ──paho's thread──▶ RegionStatus.receive() ──▶ table ──▶ snapshot() ──▶ GET /v1/region

Every device publishes ``online``/``offline`` (the last will) and a health snapshot on its own
topics, both retained (:mod:`.topics`), so a subscriber that arrives gets the latest of each at
once and every change after that. The uplink subscribes on its own connection: no second client,
no second login. The broker's ACL must let the device read those two topics of the others
(``ansible/roles/region_broker`` writes that; see the uplink's README).

:func:`parse_status` and :func:`parse_health` are parsers without I/O (bytes in, values out,
:class:`~edge_agent.errors.ParseError` on anything else). :class:`RegionStatus` is the table:
bounded to ``max_devices`` entries, safe to fill from paho's thread while the API reads it.
Times of receipt are this agent's clock; the health's own ``time`` is the sending device's.

The table is emptied before each new subscription: the broker then sends every retained message
again, so a device whose retained messages were removed meanwhile (a decommissioned Pi, cleared
with an empty retained message) does not linger. While the connection is down the table keeps
what it last knew, and :meth:`RegionStatus.snapshot` says since when it is not current.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from ..errors import ParseError
from .topics import check_prefix, parse_topic

MAX_DEVICES: Final = 5000
"""Devices kept at most; further ones are counted and left out (memory stays bounded)."""
MAX_PAYLOAD: Final = 16 * 1024
"""Largest status or health payload read (bytes); a health message is about 400 bytes."""
SILENT_AFTER: Final = 10.0
"""Seconds after the broker granted the subscription by which this device's own retained status
must have come back. mosquitto grants a subscription that its ACL file does not let the client
read and then drops every message, so silence is how that shows."""

Status = Literal["online", "offline"]
Subscription = Literal["waiting", "pending", "granted", "refused"]
"""``waiting``: no connection yet; ``pending``: subscribed, no answer yet; ``granted``;
``refused`` (by the broker's ACL)."""


def parse_status(payload: bytes) -> Status:
    """``online`` or ``offline`` from a status message (surrounding white space ignored)."""
    text = payload.strip()
    if text == b"online":
        return "online"
    if text == b"offline":
        return "offline"
    shown = payload[:40].decode("utf-8", errors="replace")
    raise ParseError(f"status {shown!r} is neither 'online' nor 'offline'")


@dataclass(frozen=True, slots=True)
class HealthSummary:
    """What the table keeps of a health message (fields of the uplink's README, "The health
    message"). A field that is missing or of the wrong type is None: devices of other versions
    may send more or less."""

    time: float | None
    """When the device sent it, by the device's clock (epoch seconds)."""
    version: str | None
    uptime_s: float | None
    protocol: str | None
    backlog: int | None
    """Readings not yet acknowledged by the broker."""
    oldest_unsynced: float | None
    """Time of the oldest of them (epoch seconds)."""
    last_ack_time: float | None
    """Time of the newest reading the broker acknowledged (epoch seconds)."""
    events_pending: int | None
    dropped_unsynced: int | None
    disk_free_bytes: int | None
    disk_total_bytes: int | None
    cpu_temperature_c: float | None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _text(value: Any) -> str | None:
    return value[:64] if isinstance(value, str) else None


def _table(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_health(payload: bytes) -> HealthSummary:
    """The summary of a health message: a JSON object, as :meth:`Uplink.health` writes it."""
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ParseError(f"health message is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ParseError(f"health message is JSON {type(data).__name__}, not an object")
    disk = _table(data.get("disk"))
    return HealthSummary(
        time=_number(data.get("time")),
        version=_text(data.get("version")),
        uptime_s=_number(data.get("uptime_s")),
        protocol=_text(data.get("protocol")),
        backlog=_count(data.get("backlog")),
        oldest_unsynced=_number(data.get("oldest_unsynced")),
        last_ack_time=_number(_table(data.get("last_ack")).get("time")),
        events_pending=_count(data.get("events_pending")),
        dropped_unsynced=_count(data.get("dropped_unsynced")),
        disk_free_bytes=_count(disk.get("free_bytes")),
        disk_total_bytes=_count(disk.get("total_bytes")),
        cpu_temperature_c=_number(data.get("cpu_temperature_c")),
    )


def parse_message(kind: str, payload: bytes) -> Status | HealthSummary:
    """A ``status`` or ``health`` message (``kind``, the topic's last level) of at most
    :data:`MAX_PAYLOAD` bytes."""
    if len(payload) > MAX_PAYLOAD:
        raise ParseError(f"{kind} message of {len(payload)} bytes; at most {MAX_PAYLOAD} are read")
    return parse_health(payload) if kind == "health" else parse_status(payload)


@dataclass(frozen=True, slots=True)
class RegionDevice:
    """One device of the region as the broker last told it."""

    device: str
    city: str
    """The city's topic level (lower case, ``bad-schönborn``)."""
    lab: str
    """The lab's topic level."""
    status: Status | None
    """None: the broker holds no status of the device, only a health message."""
    status_at: float | None
    """When this agent received the status (its clock, epoch seconds)."""
    health: HealthSummary | None
    health_at: float | None
    """When this agent received the health message."""

    @property
    def last_seen(self) -> float | None:
        """When the device last said something: its newest health message's own time, else
        when its status arrived here."""
        if self.health is not None and self.health.time is not None:
            return self.health.time
        return self.status_at


@dataclass(frozen=True, slots=True)
class RegionSnapshot:
    """The table at one moment, devices sorted by city, lab and id."""

    devices: tuple[RegionDevice, ...]
    subscription: Subscription
    error: str | None
    """Why the table is not current (refused, connection lost), with what to do."""
    subscribed_at: float | None
    """When the broker granted the current subscription (epoch seconds)."""
    stale_since: float | None
    """When the connection that filled the table ended; None while it lasts."""
    ignored_devices: int
    """Devices left out because the table was full."""
    rejected: int
    """Messages that did not parse (counted since start)."""
    max_devices: int


@dataclass(slots=True)
class _Entry:
    status: Status | None = None
    status_at: float | None = None
    health: HealthSummary | None = None
    health_at: float | None = None


@dataclass(slots=True)
class _State:
    subscription: Subscription = "waiting"
    error: str | None = None
    subscribed_at: float | None = None
    stale_since: float | None = None
    ignored: set[tuple[str, str, str]] = field(default_factory=set)
    rejected: int = 0


class RegionStatus:
    """The retained status and health of every device under ``prefix``.

    Args:
        prefix: the uplink's topic prefix (``digitallabor``).
        own_base: this device's topic base (``<prefix>/<city>/<lab>/<device>``): its own
            status must come back once subscribed.
        reader: who subscribes, for messages (``user 'rastatt-lab-01'``).
        max_devices: devices kept at most.
        clock: epoch seconds (for the times of receipt).
        logger: where refusals and bad messages are logged.
    """

    def __init__(
        self,
        prefix: str,
        *,
        own_base: str,
        reader: str,
        max_devices: int = MAX_DEVICES,
        clock: Callable[[], float] = time.time,
        logger: logging.Logger,
    ) -> None:
        self.prefix = check_prefix(prefix)
        own = parse_topic(self.prefix, f"{own_base}/status")
        if own is None:
            raise ValueError(f"{own_base!r} is not a device's topic base under {prefix!r}")
        self._own = (own.city, own.lab, own.device)
        self.reader = reader
        self.max_devices = max_devices
        self._clock = clock
        self._log = logger
        self._lock = threading.Lock()
        self._devices: dict[tuple[str, str, str], _Entry] = {}
        self._state = _State()
        self._refusal_logged = False

    @property
    def topics(self) -> tuple[str, str]:
        """The two subscriptions: every device's status and health."""
        return f"{self.prefix}/+/+/+/status", f"{self.prefix}/+/+/+/health"

    # -- the subscription's life, told by the uplink's thread -----------------------------------

    def subscribing(self) -> None:
        """A new subscription is about to be sent: forget the table, the broker sends it all
        again."""
        with self._lock:
            self._devices.clear()
            state = self._state
            state.ignored.clear()
            state.subscription = "pending"
            state.error = state.stale_since = None

    def granted(self) -> None:
        """The broker granted the subscription."""
        with self._lock:
            self._state.subscription = "granted"
            self._state.error = None
            self._state.subscribed_at = self._clock()
            self._state.stale_since = None
        self._refusal_logged = False

    def _acl_hint(self) -> str:
        first, second = self.topics
        return (
            f"its ACL must let {self.reader} read {first} and {second} (the region_broker "
            "Ansible role writes that)"
        )

    def refused(self, reason: str) -> None:
        """The broker refused the subscription (``reason`` as it says it)."""
        message = (
            f"the broker refused this device's subscription to the region's status ({reason}); "
            + self._acl_hint()
        )
        with self._lock:
            self._state.subscription = "refused"
            self._state.error = message
        if not self._refusal_logged:  # refused again on every reconnect: say it once
            self._refusal_logged = True
            self._log.warning("%s", message)

    def connection_lost(self, reason: str) -> None:
        """The connection ended: the table is kept, marked as not current."""
        with self._lock:
            state = self._state
            if state.subscription == "granted" and state.stale_since is None:
                state.stale_since = self._clock()
            if state.subscription != "refused":
                state.subscription = "waiting"
                state.error = reason

    # -- messages, in paho's thread --------------------------------------------------------------

    def receive(self, topic: str, payload: bytes) -> bool:
        """Take one message; False when it is not a status or health message under the prefix,
        or does not parse (counted)."""
        parts = parse_topic(self.prefix, topic)
        if parts is None or parts.kind not in ("status", "health"):
            return False
        key = (parts.city, parts.lab, parts.device)
        if not payload:  # a retained message was removed
            self._forget(key, parts.kind)
            return True
        try:
            value = parse_message(parts.kind, payload)
        except ParseError as exc:
            with self._lock:
                self._state.rejected += 1
            self._log.debug("region: ignoring a message on %s: %s", topic, exc)
            return False
        now = self._clock()
        with self._lock:
            entry = self._devices.get(key)
            if entry is None:
                if len(self._devices) >= self.max_devices:
                    if key not in self._state.ignored:
                        self._state.ignored.add(key)
                        if len(self._state.ignored) == 1:
                            self._log.warning(
                                "region: more than %d devices; the others are left out",
                                self.max_devices,
                            )
                    return False
                entry = self._devices[key] = _Entry()
            if isinstance(value, HealthSummary):
                entry.health, entry.health_at = value, now
            else:
                entry.status, entry.status_at = value, now
        return True

    def _forget(self, key: tuple[str, str, str], kind: str) -> None:
        with self._lock:
            entry = self._devices.get(key)
            if entry is None:
                return
            if kind == "status":
                entry.status = entry.status_at = None
            else:
                entry.health = entry.health_at = None
            if entry.status is None and entry.health is None:
                del self._devices[key]

    # -- reading ---------------------------------------------------------------------------------

    def snapshot(self) -> RegionSnapshot:
        """The table now (a copy; cheap enough for every API request)."""
        now = self._clock()
        with self._lock:
            devices = tuple(
                RegionDevice(device, city, lab, e.status, e.status_at, e.health, e.health_at)
                for (city, lab, device), e in sorted(self._devices.items())
            )
            state = self._state
            error = state.error
            if (
                state.subscription == "granted"
                and state.subscribed_at is not None
                and now - state.subscribed_at >= SILENT_AFTER
                and self._own not in self._devices
            ):
                error = (
                    "the broker granted the subscription to the region's status but has not "
                    f"sent even this device's own status in {now - state.subscribed_at:.0f} s; "
                    + self._acl_hint()
                    + "; mosquitto drops what its ACL does not let a client read"
                )
            return RegionSnapshot(
                devices=devices,
                subscription=state.subscription,
                error=error,
                subscribed_at=state.subscribed_at,
                stale_since=state.stale_since,
                ignored_devices=len(state.ignored),
                rejected=state.rejected,
                max_devices=self.max_devices,
            )
