"""``GET /v1/live``: readings, events and log records as newline-delimited JSON.

Each client gets its own hub subscription (bounded: ``[api] live_queue`` readings) and a
bounded queue for events and log records. A client that reads more slowly than the agent
produces loses the oldest entries, never slows the agent or the other clients, and is told
with a ``skipped`` line how many it missed. Every ``heartbeat`` seconds a ``heartbeat`` line
carries the agent's health; it also shows a client that the link is alive, and the agent that a
client went away.

Events are stored by the writer thread, not published on the hub, so one :class:`EventFeed`
polls the store once a second while at least one client listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final

from ..hub import Hub
from ..readings import Quality, Reading
from ..store import Store
from .logbuffer import LEVELS, LogBuffer
from .models import EventDict, Health, LiveHello, LogEntry

BATCH: Final = 500
"""Readings per chunk at most."""

StoreRead = Callable[[Callable[[Store], Any]], Awaitable[Any]]


def reading_line(reading: Reading) -> bytes:
    """A reading as one ``{"type": "reading", ...}`` line."""
    quality = reading.quality
    message = {
        "type": "reading",
        "stream": reading.stream,
        "time": reading.time,
        "value": reading.value,
        "unit": reading.unit,
        "quality": Quality(quality).names() if quality else [],
    }
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def message_line(message: dict[str, Any]) -> bytes:
    """Any other message as one line."""
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


class EventFeed:
    """Polls the store for new events while anyone listens, and hands them to listeners.

    Args:
        read: runs a function with the API's read-only store in its thread.
        interval: seconds between two polls.
        logger: for failed polls.
    """

    def __init__(self, read: StoreRead, *, interval: float = 1.0, logger: logging.Logger) -> None:
        self._read = read
        self.interval = interval
        self.log = logger
        self._listeners: list[Callable[[EventDict], None]] = []
        self._task: asyncio.Task[None] | None = None

    def listen(self, listener: Callable[[EventDict], None]) -> Callable[[], None]:
        """Call ``listener`` with each new event; returns the remover."""
        self._listeners.append(listener)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._poll(), name="api-events")

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)
            if not self._listeners and self._task is not None:
                self._task.cancel()
                self._task = None

        return remove

    async def _poll(self) -> None:
        def newest(store: Store) -> int:
            events = store.recent_events(1)
            return int(events[-1]["row"]) if events else 0

        try:
            last = await self._read(newest)
        except Exception as exc:
            self.log.warning("live events unavailable: %s", exc)
            return
        while True:
            await asyncio.sleep(self.interval)

            def newer(store: Store, after: int = last) -> list[EventDict]:
                return store.events(after=after, limit=BATCH)  # type: ignore[return-value]

            try:
                events: list[EventDict] = await self._read(newer)
            except Exception as exc:
                self.log.debug("polling events failed: %s", exc)
                continue
            for event in events:
                last = max(last, event["row"])
                for listener in list(self._listeners):
                    listener(event)

    async def close(self) -> None:
        """Stop polling."""
        self._listeners.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class LiveSession:
    """One client's live stream.

    Args:
        hub: where readings come from.
        patterns: stream patterns the client asked for.
        queue: entries queued for the client at most (readings; events and logs apart).
        events: the event feed, or None for no events.
        logs: the log buffer, or None for no log records.
        log_level: lowest level of log records sent.
        heartbeat: seconds between two heartbeat lines.
        health: the agent's health for heartbeats.
        hello: the first line.
    """

    def __init__(
        self,
        hub: Hub,
        patterns: list[str],
        *,
        queue: int,
        events: EventFeed | None,
        logs: LogBuffer | None,
        log_level: int,
        heartbeat: float,
        health: Callable[[], Health],
        hello: LiveHello,
    ) -> None:
        self.hub = hub
        self.patterns = patterns
        self.queue = queue
        self.events = events
        self.logs = logs
        self.log_level = log_level
        self.heartbeat = heartbeat
        self.health = health
        self.hello = hello
        self._side: deque[dict[str, Any]] = deque()
        self._side_skipped = {"events": 0, "logs": 0}
        self._side_reported = {"events": 0, "logs": 0}
        self._wake = asyncio.Event()

    def _add_side(self, message: dict[str, Any]) -> None:
        if len(self._side) >= self.queue:
            dropped = self._side.popleft()
            kind = "events" if dropped["type"] == "event" else "logs"
            self._side_skipped[kind] += 1
        self._side.append(message)
        self._wake.set()

    def _on_event(self, event: EventDict) -> None:
        self._add_side({"type": "event", "event": event})

    def _on_log(self, entry: LogEntry) -> None:
        if LEVELS[entry["level"]] >= self.log_level:
            self._add_side({"type": "log", "record": entry})

    async def chunks(self) -> AsyncIterator[bytes]:
        """The stream's chunks, each one or more whole lines."""
        sub = self.hub.subscribe(self.patterns, name="api-live", maxlen=self.queue)
        removers = []
        if self.events is not None:
            removers.append(self.events.listen(self._on_event))
        if self.logs is not None:
            removers.append(self.logs.listen(self._on_log))
        reported = 0
        next_heartbeat = time.monotonic() + self.heartbeat
        try:
            yield message_line(dict(self.hello))
            while True:
                batch = sub.drain(BATCH) if len(sub) else []
                if not batch and not self._side:
                    batch = await self._wait(sub, max(0.0, next_heartbeat - time.monotonic()))
                lines = []
                if time.monotonic() >= next_heartbeat:
                    next_heartbeat = time.monotonic() + self.heartbeat
                    lines.append(
                        message_line(
                            {"type": "heartbeat", "time": time.time(), "health": self.health()}
                        )
                    )
                if sub.dropped > reported:
                    lines.append(self._skipped("readings", sub.dropped - reported, sub.dropped))
                    reported = sub.dropped
                for kind, total in self._side_skipped.items():
                    if total > self._side_reported[kind]:
                        lines.append(self._skipped(kind, total - self._side_reported[kind], total))
                        self._side_reported[kind] = total
                lines.extend(reading_line(r) for r in batch)
                while self._side:
                    lines.append(message_line(self._side.popleft()))
                if lines:
                    yield b"".join(lines)
        finally:
            sub.close()
            for remove in removers:
                remove()

    @staticmethod
    def _skipped(what: str, count: int, total: int) -> bytes:
        return message_line({"type": "skipped", "what": what, "count": count, "total": total})

    async def _wait(self, sub: Any, timeout: float) -> list[Reading]:
        """Wait for readings, an event or log record, or ``timeout`` (the next heartbeat)."""
        self._wake.clear()
        readings = asyncio.ensure_future(sub.get_batch(BATCH))
        side = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait(
                {readings, side}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in (readings, side):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        if readings.cancelled():
            return []
        batch: list[Reading] = readings.result()
        return batch
