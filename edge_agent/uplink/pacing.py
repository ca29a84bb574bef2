"""Pacing of the uplink: reconnect backoff with jitter, and the bandwidth cap."""

from __future__ import annotations

import random
import time
from collections.abc import Callable


class Backoff:
    """Exponential backoff with jitter: ``initial``, doubling up to ``maximum`` seconds, each
    delay drawn uniformly from its upper half so that the Pis of a region that lost the broker
    at the same moment do not all come back at the same moment."""

    def __init__(self, initial: float, maximum: float, *, rng: random.Random | None = None) -> None:
        self.initial = initial
        self.maximum = maximum
        self.attempt = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        """The delay before the next attempt, in seconds."""
        ceiling = min(self.maximum, self.initial * 2.0 ** min(self.attempt, 60))
        self.attempt += 1
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        """Start again from ``initial`` (after a connection that worked)."""
        self.attempt = 0


class TokenBucket:
    """A bandwidth cap of ``rate`` bytes per second with bursts of up to ``burst`` bytes.

    Sending may overdraw the bucket once (a pack is never split for it); the next send waits
    until the debt is paid, so the average rate holds.
    """

    def __init__(
        self, rate: float, burst: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._at = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now

    def wait_time(self) -> float:
        """Seconds until sending is allowed again (0 when it is now)."""
        self._refill()
        # Within a byte counts as paid: float rounding must not leave a wait of 1e-17 s.
        return 0.0 if self._tokens > -1.0 else -self._tokens / self.rate

    def spend(self, amount: int) -> None:
        """Count ``amount`` bytes as sent."""
        self._refill()
        self._tokens -= amount
