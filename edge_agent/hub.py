"""The hub: in-process fan-out of readings on the asyncio event loop.

Producers call :meth:`Hub.publish`, which never blocks and never awaits: it appends the reading
to the bounded queue of every subscription whose pattern matches the stream. A subscription
whose consumer falls behind loses its oldest readings, and counts them in
:attr:`Subscription.dropped`; the producer and the other consumers are not slowed.

Call :meth:`Hub.publish` from the event loop's thread; a thread (camera, inference) hands its
readings over with ``loop.call_soon_threadsafe(hub.publish, reading)``.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import AsyncIterator, Iterable, Sequence

from .readings import Reading, stream_matcher


class Subscription:
    """A consumer's bounded queue of readings for the streams matching one pattern."""

    def __init__(self, hub: Hub, name: str, pattern: str | Sequence[str], maxlen: int) -> None:
        self.name = name
        self.pattern = pattern if isinstance(pattern, str) else ", ".join(pattern)
        self.matcher: re.Pattern[str] = stream_matcher(pattern)
        self.maxlen = maxlen
        self.delivered = 0
        self.dropped = 0
        self._queue: deque[Reading] = deque(maxlen=maxlen)
        self._wakeup = asyncio.Event()
        self._hub = hub
        self.closed = False

    def _put(self, reading: Reading) -> None:
        queue = self._queue
        if len(queue) == self.maxlen:
            self.dropped += 1  # the deque drops the oldest on append
        queue.append(reading)
        self._wakeup.set()

    def __len__(self) -> int:
        return len(self._queue)

    def drain(self, limit: int | None = None) -> list[Reading]:
        """Take what is queued now (at most ``limit``) without waiting."""
        queue = self._queue
        if limit is None or limit >= len(queue):
            batch = list(queue)
            queue.clear()
        else:
            batch = [queue.popleft() for _ in range(limit)]
        if not queue:
            self._wakeup.clear()
        self.delivered += len(batch)
        return batch

    async def get_batch(self, limit: int | None = None) -> list[Reading]:
        """Wait until at least one reading is queued, then take what is queued.

        Returns an empty list once the subscription is closed and nothing is left.
        """
        while not self._queue:
            if self.closed:
                return []
            await self._wakeup.wait()
            if not self._queue:
                self._wakeup.clear()
        return self.drain(limit)

    def __aiter__(self) -> AsyncIterator[list[Reading]]:
        return self._batches()

    async def _batches(self) -> AsyncIterator[list[Reading]]:
        while batch := await self.get_batch():
            yield batch

    def close(self) -> None:
        """Stop receiving; a consumer waiting in :meth:`get_batch` gets what is left, then ends."""
        self._hub.unsubscribe(self)
        self.closed = True
        self._wakeup.set()


class Hub:
    """Fan-out of readings to subscriptions by stream pattern."""

    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self._routes: dict[str, tuple[Subscription, ...]] = {}
        self.published = 0

    def subscribe(
        self, pattern: str | Sequence[str] = "*", *, name: str = "", maxlen: int = 10_000
    ) -> Subscription:
        """A new subscription to the streams matching ``pattern`` (shell wildcards).

        With several patterns, a stream matching any of them is delivered once, and readings
        keep the order in which they were published.
        """
        sub = Subscription(self, name or str(pattern), pattern, maxlen)
        self._subscriptions.append(sub)
        self._routes.clear()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Remove a subscription; publishing no longer reaches it."""
        if sub in self._subscriptions:
            self._subscriptions.remove(sub)
            self._routes.clear()

    def _route(self, stream: str) -> tuple[Subscription, ...]:
        route = tuple(s for s in self._subscriptions if s.matcher.match(stream))
        self._routes[stream] = route
        return route

    def publish(self, reading: Reading) -> None:
        """Hand ``reading`` to every matching subscription; never blocks."""
        self.published += 1
        route = self._routes.get(reading.stream)
        if route is None:
            route = self._route(reading.stream)
        for sub in route:
            sub._put(reading)

    def publish_many(self, readings: Iterable[Reading]) -> None:
        """:meth:`publish` each of ``readings``."""
        for reading in readings:
            self.publish(reading)

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        """The current subscriptions, for status figures (delivered, dropped, queued)."""
        return tuple(self._subscriptions)

    def dropped(self) -> int:
        """Readings dropped by all current subscriptions together."""
        return sum(s.dropped for s in self._subscriptions)
