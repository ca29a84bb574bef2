"""The uplink service: store-and-forward of committed readings and events to the region.

::

    store (outbox) ──packs──▶ MQTT QoS 1 ──PUBACK──▶ outbox cursor (meta, via the writer)

One thread does the work, so the agent's event loop never waits on the network: it connects
(MQTT 5, else 3.1.1; TLS; persistent session), publishes a retained ``online``, then sends
SenML packs read from the outbox in commit order, events before readings, keeping at most
``max_inflight`` packs unacknowledged. A pack counts as synced only once the broker has
acknowledged it *and every pack before it*; that contiguous prefix is what moves the outbox
cursor, written through the store's single writer at most once a second (and at once when
the backlog is empty). A lost connection rewinds to the cursor and resends from there after an
exponential backoff with jitter: the region may see a reading twice (it drops repeats by id),
never miss one, and the first arrival of every reading keeps the commit order.

The agent wakes the thread after each commit; events (which do not pass the writer's commit
hook) are picked up within :data:`IDLE_POLL` seconds.

The same connection subscribes (QoS 0) to every device's retained status and health, which
:class:`~.region_status.RegionStatus` keeps for ``GET /v1/region``; a broker whose ACL refuses
that subscription costs only the region table, never the sync.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Final, Literal

import paho.mqtt.client as mqtt

from .. import __version__
from ..config import DeviceConfig, UplinkConfig
from ..errors import StoreCorruptError, StoreError
from ..store import BatchWriter, Store
from .connection import (
    BrokerSettings,
    MqttSession,
    UplinkError,
    connect_session,
    explain_publish_refusal,
    read_password,
    tls_context,
)
from .health import cpu_temperature, disk_space
from .outbox import Outbox, Pack
from .pacing import Backoff, TokenBucket
from .region_status import RegionStatus
from .state import ACKED_COUNTER, EVENT_CURSOR
from .topics import DeviceTopics

MAX_PACK_BYTES: Final = 128 * 1024
"""Largest pack sent (bytes), well below common broker limits; lowered to the broker's own
Maximum Packet Size (MQTT 5) and to one second's worth of ``max_bandwidth``."""
PROGRESS_INTERVAL: Final = 1.0
"""Seconds between two writes of the outbox cursor while draining (SD cards wear)."""
IDLE_POLL: Final = 5.0
"""Seconds between two looks at an outbox that seemed empty, without a commit to wake us."""
STABLE_AFTER: Final = 30.0
"""A connection that lasted this long (seconds), or that got readings acknowledged, resets the
reconnect backoff."""
REPEAT_WARNING: Final = 600.0
"""The same connection failure is logged as a warning again after this many seconds."""


def broker_settings(config: UplinkConfig, device_id: str) -> BrokerSettings:
    """The connection settings of an ``[uplink]`` table."""
    return BrokerSettings(
        host=config.host,
        port=config.port,
        client_id=config.client_id or device_id,
        tls=config.tls,
        tls_verify=config.tls_verify,
        ca_file=config.ca_file,
        client_cert=config.client_cert,
        client_key=config.client_key,
        username=config.username,
        password_file=config.password_file,
        protocol=config.protocol,
        keepalive=config.keepalive,
        session_expiry=config.session_expiry,
        connect_timeout=config.connect_timeout,
    )


class Uplink:
    """Syncs the store of ``data_dir`` to the broker of ``config``.

    Credentials and TLS files are checked here, so a bad ``[uplink]`` stops the agent at start
    with a :class:`~edge_agent.errors.ConfigError` rather than failing later in the background.

    Args:
        config: the ``[uplink]`` table.
        device: the ``[device]`` table (id, city and lab make the topics).
        data_dir: the store's data directory; read through a read-only connection.
        writer: the store's writer; the outbox cursor and the uplink's state are written through
            it (:meth:`BatchWriter.call`), never from this thread.
        logger: where connection changes and failures are logged.
    """

    def __init__(
        self,
        config: UplinkConfig,
        device: DeviceConfig,
        data_dir: Path,
        *,
        writer: BatchWriter,
        logger: logging.Logger,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.device_id = device.id
        self.data_dir = Path(data_dir)
        self.topics = DeviceTopics.build(config.topic_prefix, device.city, device.lab, device.id)
        self.broker = broker_settings(config, device.id)
        self._password = (
            None if config.password_file is None else read_password(config.password_file)
        )
        self._tls = tls_context(self.broker) if config.tls else None
        self._writer = writer
        self._log = logger
        self._rng = rng or random.Random()
        self._bucket = (
            None
            if config.max_bandwidth is None
            else TokenBucket(config.max_bandwidth, burst=config.max_bandwidth)
        )
        self._wake = threading.Event()
        self._new_data = threading.Event()
        self._stop = threading.Event()
        self._started = time.monotonic()
        # What the thread knows; plain attributes, read by the agent and the tests.
        self.state = "stopped"
        self.protocol: str | None = None
        self.last_error: str | None = None
        self.acked_row = 0
        """Row id up to which the broker acknowledged every reading (this run's view)."""
        self.acked_readings = 0
        """Readings acknowledged since start."""
        self.packs_sent = 0
        self.bytes_sent = 0
        """Topic and payload bytes of every message sent (what ``max_bandwidth`` caps)."""
        self._persisted_row = 0
        self._persisted_event = 0
        self._persisted_acked = 0
        self._last_ack_at: float | None = None
        self._logged_error: tuple[str, float] | None = None
        self._control: dict[int, str] = {}
        self.region = RegionStatus(
            config.topic_prefix,
            own_base=self.topics.base,
            reader=f"user {self.broker.username!r}"
            if self.broker.username
            else f"client {self.broker.client_id!r}",
            logger=logger.getChild("region"),
        )
        """Every device's retained status and health, received on this connection."""
        self._region_answer_due = False

    # -- control from other threads -------------------------------------------------------------

    def notify_commit(self) -> None:
        """New readings were committed (called from the writer thread after each commit)."""
        self._new_data.set()
        self._wake.set()

    def stop(self) -> None:
        """Ask the thread to say ``offline``, disconnect and end."""
        self._stop.set()
        self._wake.set()

    async def run(self) -> None:
        """Run the uplink thread until cancelled (the supervisor's service)."""
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[None] = loop.create_future()

        def settle(error: BaseException | None) -> None:
            if finished.done():
                return
            if error is None:
                finished.set_result(None)
            else:
                finished.set_exception(error)

        def target() -> None:
            error: BaseException | None = None
            try:
                self.run_blocking()
            except BaseException as exc:
                error = exc
            loop.call_soon_threadsafe(settle, error)

        self._stop.clear()
        threading.Thread(target=target, name="uplink", daemon=True).start()
        try:
            await asyncio.shield(finished)
        except asyncio.CancelledError:
            self.stop()
            await asyncio.wait([finished])
            if not finished.cancelled() and finished.exception() is not None:
                self._log.debug("uplink ended with %r while stopping", finished.exception())
            raise

    # -- the thread ----------------------------------------------------------------------------

    def run_blocking(self) -> None:
        """The uplink's loop, in the calling thread, until :meth:`stop`."""
        if not self.broker.tls and self.broker.username is not None:
            self._log.warning(
                "uplink.tls is off: the password of %r crosses the network in clear text",
                self.broker.username,
            )
        while not self._stop.is_set():
            store = Store(self.data_dir, readonly=True)
            outbox: Outbox | None = None
            try:
                outbox = Outbox(store, self.device_id)
                self.acked_row = self._persisted_row = outbox.acked_row
                self._persisted_event = outbox.acked_event
                self._serve(outbox)
            except StoreCorruptError as exc:
                self._log.error("%s; asking the store's writer to look at these rows", exc)
                row = outbox.sent_row if outbox is not None else 0
                if not self._writer.check_rows(row).result(60):
                    self._stop.wait(self.config.reconnect_max)
            except StoreError as exc:  # the writer replaced the file: read the new one
                self._log.warning("%s", exc)
            else:
                return
            finally:
                store.close()

    def _serve(self, outbox: Outbox) -> None:
        protocol = self.broker.protocol
        backoff = Backoff(self.config.reconnect_min, self.config.reconnect_max, rng=self._rng)
        self._persist(broker=self.broker.address)
        while not self._stop.is_set():
            self._set_state("connecting")
            try:
                session = connect_session(
                    self.broker, protocol, make=self._session, logger=self._log, stop=self._stop
                )
            except UplinkError as exc:
                if self._stop.is_set():
                    break
                self._failed(str(exc), backoff.next(), outbox)
                continue
            if protocol == "auto" and session.protocol == "3.1.1":
                protocol = "3.1.1"  # remembered for this run: the broker will not learn MQTT 5
            connected_at = time.monotonic()
            acked_before = self.acked_readings
            error = "the connection ended"
            try:
                self._connected(session, outbox)
                self._drain(session, outbox)
            except UplinkError as exc:
                error = str(exc)
            finally:
                stopping = self._stop.is_set()
                session.close(final=(self.topics.status, b"offline") if stopping else None)
                self.region.connection_lost(error)
                outbox.rewind()
                self._flush_progress(outbox)
            if stopping:
                break
            if (
                self.acked_readings > acked_before
                or time.monotonic() - connected_at >= STABLE_AFTER
            ):
                backoff.reset()  # the connection was good for something: retry soon
            self._failed(error, backoff.next(), outbox)
        self._set_state("stopped")

    def _session(self, protocol: Literal["5", "3.1.1"]) -> MqttSession:
        # Two more in flight than packs: the status and health messages.
        return MqttSession(
            self.broker,
            protocol=protocol,
            password=self._password,
            tls=self._tls,
            wake=self._wake,
            will=(self.topics.status, b"offline"),
            on_message=self._on_message,
            inflight=self.config.max_inflight + 2,
            logger=self._log,
        )

    def _on_message(self, message: mqtt.MQTTMessage) -> bool:
        # In paho's thread: only the region's status and health are subscribed to.
        self.region.receive(message.topic, bytes(message.payload))
        return True

    def _connected(self, session: MqttSession, outbox: Outbox) -> None:
        self.protocol = session.protocol
        self.last_error = None
        self._logged_error = None
        self._set_state("connected", protocol=session.protocol)
        self._log.info(
            "connected to %s (MQTT %s, %s, %s session); %d readings to send",
            self.broker.address,
            session.protocol,
            "TLS" if self.broker.tls else "no TLS",
            "resumed" if session.session_present else "new",
            outbox.backlog(),
        )
        self._control.clear()
        self._send(session, self.topics.status, b"online", control=True)
        # QoS 0: a device that is away needs no queue of the others' health messages; the
        # retained ones come again with the next subscription.
        if self.config.region_table:
            self.region.subscribing()
            session.subscribe(*self.region.topics, qos=0)
            self._region_answer_due = True

    def _drain(self, session: MqttSession, outbox: Outbox) -> None:
        """Send packs and handle acknowledgements until the connection ends or we stop."""
        inflight: dict[int, Pack] = {}
        order: deque[Pack] = deque()
        try:
            self._drain_loop(session, outbox, inflight, order)
        except UplinkError:
            # PUBACKs that came before the end still count, and a refusal among them explains
            # the end better than "connection lost" (mosquitto hangs up after refusing).
            self._take_acks(session, outbox, inflight, order)
            raise

    def _take_acks(
        self, session: MqttSession, outbox: Outbox, inflight: dict[int, Pack], order: deque[Pack]
    ) -> None:
        """Mark acknowledged packs and move the acknowledged prefix; raise on a refusal."""
        acks = session.acks
        while acks:
            ack = acks.popleft()
            pack = inflight.pop(ack.mid, None)
            if not ack.accepted:
                # Whatever the broker refuses (mostly: an ACL that does not fit this device),
                # it will refuse the readings too.
                topic = self._control.get(ack.mid) or (
                    self.topics.events
                    if pack is not None and pack.kind == "events"
                    else self.topics.readings
                )
                raise UplinkError(explain_publish_refusal(ack.reason, topic, self.broker))
            if pack is not None:
                pack.acked = True
        while order and order[0].acked:
            pack = order.popleft()
            outbox.acknowledge(pack)
            if pack.kind == "readings":
                self.acked_readings += pack.count
            self._last_ack_at = time.time()
        self.acked_row = outbox.acked_row

    def _drain_loop(
        self, session: MqttSession, outbox: Outbox, inflight: dict[int, Pack], order: deque[Pack]
    ) -> None:
        config = self.config
        window = max(1, min(config.max_inflight, session.receive_maximum - 2))
        max_bytes = MAX_PACK_BYTES
        if session.maximum_packet_size:
            max_bytes = min(max_bytes, session.maximum_packet_size - 1024)
        bucket = self._bucket
        if bucket is not None:
            max_bytes = min(max_bytes, max(1024, int(bucket.rate)))
        next_health = time.monotonic()
        next_flush = 0.0
        last_look = 0.0
        empty = False
        big_backlog = False
        while not self._stop.is_set():
            self._wake.clear()
            self._take_acks(session, outbox, inflight, order)
            if self._region_answer_due and session.subscribed.is_set():
                self._region_answered(session)
            if not session.connected:
                raise UplinkError(
                    f"connection to the broker at {self.broker.address} lost "
                    f"({session.lost_reason}); resending from the last acknowledged reading"
                )

            now = time.monotonic()
            if self._new_data.is_set() or now - last_look >= IDLE_POLL:
                self._new_data.clear()
                empty = False
            hold = 0.0
            while len(inflight) < window and not empty:
                if bucket is not None:
                    hold = bucket.wait_time()
                    if hold > 0:
                        break
                pack = outbox.next_events() or outbox.next_readings(config.pack_size, max_bytes)
                if pack is None:
                    empty = True
                    last_look = now
                    break
                topic = self.topics.readings if pack.kind == "readings" else self.topics.events
                inflight[self._send(session, topic, pack.payload)] = pack
                order.append(pack)
                self.packs_sent += 1

            now = time.monotonic()
            drained = empty and not inflight
            if outbox.acked_row - self._persisted_row >= 10_000:
                big_backlog = True
            if self._progress_pending(outbox) and (drained or now >= next_flush):
                self._flush_progress(outbox)
                next_flush = now + PROGRESS_INTERVAL
                if drained and big_backlog:
                    big_backlog = False
                    self._log.info("backlog sent; the region has every reading up to now")
            if now >= next_health:
                self._publish_health(session, outbox)
                next_health = now + config.health_interval
            timeout = next_health - now
            if hold > 0:
                timeout = min(timeout, hold)
            if self._progress_pending(outbox):
                timeout = min(timeout, max(0.0, next_flush - now))
            if empty:
                timeout = min(timeout, IDLE_POLL)
            self._wake.wait(max(0.0, timeout))

    def _region_answered(self, session: MqttSession) -> None:
        """Tell the region table what the broker answered to its subscription."""
        self._region_answer_due = False
        if session.subscribe_refused is None:
            self.region.granted()
        else:
            self.region.refused(session.subscribe_refused)

    # -- health, state and progress -------------------------------------------------------------

    def health(self, outbox: Outbox) -> dict[str, Any]:
        """The periodic health message (also what the tests look at)."""
        last = outbox.last_acked
        return {
            "time": round(time.time(), 3),
            "device": self.device_id,
            "version": __version__,
            "uptime_s": round(time.monotonic() - self._started, 1),
            "protocol": self.protocol,
            "backlog": outbox.backlog(),
            "held_for_clock": outbox.held_back(),
            "oldest_unsynced": outbox.oldest_unsynced(),
            "last_ack": None
            if last is None
            else {"id": outbox.reading_id(last.last), "time": last.last_time},
            "events_pending": outbox.events_pending(),
            "dropped_unsynced": outbox.store.counters().get("dropped.unsynced", 0),
            "disk": disk_space(self.data_dir),
            "cpu_temperature_c": cpu_temperature(),
        }

    def _publish_health(self, session: MqttSession, outbox: Outbox) -> None:
        payload = json.dumps(self.health(outbox), separators=(",", ":")).encode()
        self._send(session, self.topics.health, payload, control=True)

    def _send(
        self, session: MqttSession, topic: str, payload: bytes, *, control: bool = False
    ) -> int:
        """Publish at QoS 1, counting the bytes against the bandwidth cap; the message id.

        ``control`` messages (status, health) are retained and remembered by message id."""
        mid = session.publish(topic, payload, retain=control)
        if control:
            self._control[mid] = topic
        size = len(topic) + len(payload)
        self.bytes_sent += size
        if self._bucket is not None:
            self._bucket.spend(size)
        return mid

    def _progress_pending(self, outbox: Outbox) -> bool:
        return (
            outbox.acked_row != self._persisted_row or outbox.acked_event != self._persisted_event
        )

    def _flush_progress(self, outbox: Outbox) -> None:
        """Write the acknowledged positions (and what goes with them) through the writer."""
        if not self._progress_pending(outbox):
            return
        row, event = outbox.acked_row, outbox.acked_event
        acked = self.acked_readings - self._persisted_acked
        values: dict[str, Any] = {"updated": time.time()}
        last = outbox.last_acked
        if last is not None:
            values.update(
                last_ack_id=outbox.reading_id(last.last),
                last_ack_time=last.last_time,
                last_ack_at=self._last_ack_at,
            )
        move_rows = row > self._persisted_row
        move_events = event > self._persisted_event

        def write(store: Store) -> None:
            if move_rows:
                store.set_outbox_cursor(row)
            if move_events:
                store.set_meta(EVENT_CURSOR, max(event, int(store.meta(EVENT_CURSOR, 0))))
            if acked:
                store.add_counter(ACKED_COUNTER, acked)
            for key, value in values.items():
                store.set_meta(f"uplink.{key}", value)

        self._writer.call(write)
        self._persisted_row, self._persisted_event = row, event
        self._persisted_acked = self.acked_readings

    def _persist(self, **values: Any) -> None:
        values["updated"] = time.time()

        def write(store: Store) -> None:
            for key, value in values.items():
                store.set_meta(f"uplink.{key}", value)

        self._writer.call(write)

    def _set_state(self, state: str, **extra: Any) -> None:
        if state == self.state and not extra:
            return
        self.state = state
        self._persist(state=state, state_since=time.time(), **extra)

    def _failed(self, message: str, delay: float, outbox: Outbox) -> None:
        """Record a failure, log it (repeats quietly), and wait ``delay`` seconds."""
        self.last_error = message
        now = time.time()
        self.state = "waiting"
        self._persist(
            state="waiting",
            state_since=now,
            retry_at=now + delay,
            last_error=message,
            last_error_at=now,
        )
        logged = self._logged_error
        if logged is None or logged[0] != message or time.monotonic() - logged[1] > REPEAT_WARNING:
            self._logged_error = (message, time.monotonic())
            self._log.warning(
                "%s; %d readings stay queued; retrying in %.1f s",
                message,
                outbox.backlog(),
                delay,
            )
        else:
            self._log.debug("%s; retrying in %.1f s", message, delay)
        self._stop.wait(delay)
