"""Contact debouncing: a level counts once it has stayed put for the bounce time.

A reed contact or a push button chatters for a few milliseconds when it closes or opens. A
change is accepted when the raw level has differed from the accepted one for ``bounce_s``
without a further edge; the accepted change is dated at the first edge that left the old level,
which is when the door really opened. A glitch shorter than ``bounce_s`` is not a change at all.
This is what lgpio's kernel debounce does too; gpiozero's ``MockFactory`` and RPi.GPIO do not
(RPi.GPIO ignores edges after one, and can miss the final level), so the drivers debounce here,
the same on every backend. Pure: times in, accepted changes out.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Change:
    """An accepted change of level.

    Attributes:
        level: the new level (True = active).
        at: monotonic time of the first edge of the change, seconds.
        stamp: the caller's time stamp of that edge (wall clock, epoch seconds).
    """

    level: bool
    at: float
    stamp: float


@dataclass
class Debouncer:
    """Accepts level changes that last ``bounce_s`` seconds (0 accepts every edge at once).

    Attributes:
        bounce_s: how long a new level must last, seconds.
        level: the accepted level (None before the first one is known).
    """

    bounce_s: float
    level: bool | None = None
    _raw: bool | None = field(default=None, repr=False)
    _raw_at: float = field(default=0.0, repr=False)
    _first: tuple[float, float] | None = field(default=None, repr=False)

    @property
    def pending(self) -> bool:
        """Whether an edge waits for :meth:`settle`."""
        return self._first is not None

    @property
    def due(self) -> float | None:
        """When (monotonic seconds) :meth:`settle` can decide the pending edge; None if none."""
        return None if self._first is None else self._raw_at + self.bounce_s

    def edge(self, level: bool, at: float, stamp: float) -> Change | None:
        """A raw edge to ``level`` at monotonic ``at`` (wall-clock ``stamp``).

        Returns the change at once when ``bounce_s`` is 0; otherwise call :meth:`settle` at
        :attr:`due` or later.
        """
        if self._first is None:
            if level == self.level:
                return None
            self._first = (at, stamp)
        self._raw, self._raw_at = level, at
        return self.settle(at) if self.bounce_s == 0 else None

    def settle(self, now: float) -> Change | None:
        """The change the pending edges amount to, once the level has lasted ``bounce_s``."""
        if self._first is None or now < self._raw_at + self.bounce_s:
            return None
        first_at, first_stamp = self._first
        self._first = None
        assert self._raw is not None
        if self._raw == self.level:  # a glitch: back to where it was
            return None
        self.level = self._raw
        return Change(self._raw, first_at, first_stamp)
