"""A bay's state over time: it changes only after it has been seen the same way several times.

One frame can be wrong: a person walking through a free bay, a car passing in front of the
camera, a reflection. :class:`BayState` takes each frame's occupied probability and changes
the bay's reported state only after ``confirm`` frames in a row agree on the other state. A
bay starts unknown and gets its first state the same way, so nothing is published from a
single frame after a start.

The confidence of the reported state is the mean probability of that state over the frames that
confirmed it (the last ``confirm`` frames agreeing with it): 0.5 is a coin toss, 1.0 certain.

::

    bay = BayState(confirm=3, threshold=0.5)
    for p in (0.9, 0.8, 0.95):           # occupied probability of three frames
        changed = bay.update(p)           # True on the third: the bay is now occupied
    bay.occupied, round(bay.confidence, 2)  # (True, 0.88)
"""

from __future__ import annotations

from collections import deque


class BayState:
    """The smoothed state of one bay.

    Args:
        confirm: frames in a row that must agree before the state changes (1: every frame).
        threshold: occupied probability from which a frame counts as occupied.

    Attributes:
        occupied: True or False once known; None until ``confirm`` frames agreed.
        since: number of the frame (counting from 1) at which the current state was confirmed.
    """

    def __init__(self, confirm: int = 3, threshold: float = 0.5) -> None:
        if confirm < 1:
            raise ValueError(f"confirm is {confirm}; a state needs at least 1 frame")
        self.confirm = confirm
        self.threshold = threshold
        self.occupied: bool | None = None
        self.since = 0
        self.frames = 0
        self._recent: deque[float] = deque(maxlen=confirm)

    def update(self, probability: float) -> bool:
        """Take one frame's occupied probability (0..1); True if the state changed."""
        self.frames += 1
        self._recent.append(probability)
        if len(self._recent) < self.confirm:
            return False
        votes = {p >= self.threshold for p in self._recent}
        if len(votes) != 1:
            return False  # the recent frames disagree: keep the state
        seen = votes.pop()
        if seen == self.occupied:
            return False
        self.occupied = seen
        self.since = self.frames
        return True

    @property
    def confidence(self) -> float | None:
        """Mean probability of the current state over the last ``confirm`` frames (0..1).

        Frames that disagree with the state count with their low probability, so a bay whose
        recent frames start to doubt it shows a falling confidence before it changes.
        """
        if self.occupied is None or not self._recent:
            return None
        mean = sum(self._recent) / len(self._recent)
        return mean if self.occupied else 1.0 - mean
