"""A two-threshold switch with confirmation: the occupied flag of a parking bay.

The flag turns on when a value lies below ``on_below`` and off when it lies above
``off_above``; between the two (the dead band) it keeps its state. A flip needs
``confirm_samples`` consecutive samples on the new side, spanning at least ``confirm_s``
seconds, so one noisy echo or a pedestrian walking under the sensor does not flip it. Pure:
values and times in, state out; no clock is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Hysteresis:
    """The switch; :attr:`state` is None until the first confirmed side.

    Attributes:
        on_below: a value below this (same unit as the samples) votes "on".
        off_above: a value above this votes "off"; must be greater than ``on_below``.
        confirm_samples: consecutive votes for the other side needed to flip (at least 1).
        confirm_s: seconds the votes must span, from the first to the latest (0: no minimum).
    """

    on_below: float
    off_above: float
    confirm_samples: int = 1
    confirm_s: float = 0.0
    state: bool | None = None
    _candidate: bool | None = field(default=None, repr=False)
    _votes: int = field(default=0, repr=False)
    _since: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        if not self.off_above > self.on_below:
            raise ValueError(
                f"off_above ({self.off_above}) must be greater than on_below ({self.on_below})"
            )
        if self.confirm_samples < 1:
            raise ValueError(f"confirm_samples must be at least 1, not {self.confirm_samples}")
        if self.confirm_s < 0:
            raise ValueError(f"confirm_s must not be negative, not {self.confirm_s}")

    def vote(self, value: float) -> bool | None:
        """The side ``value`` lies on: True below ``on_below``, False above ``off_above``."""
        if value < self.on_below:
            return True
        if value > self.off_above:
            return False
        return None

    def update(self, value: float, at: float) -> bool:
        """Feed one sample taken at ``at`` (seconds, any monotonic scale); True if it flipped."""
        side = self.vote(value)
        if side is None or side == self.state:
            self._candidate, self._votes = None, 0
            return False
        if side != self._candidate:
            self._candidate, self._votes, self._since = side, 0, at
        self._votes += 1
        if self._votes >= self.confirm_samples and at - self._since >= self.confirm_s:
            self.state = side
            self._candidate, self._votes = None, 0
            return True
        return False
