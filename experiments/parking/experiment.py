"""The parking experiment: free and occupied bays of a lot, from each new camera frame.

Each frame (at most one per ``min_interval``) is classified in a worker thread by
:class:`~.classifier.LotClassifier`: every bay of the bays file is cut out, rectified and put
through the occupancy model in one batch. Each bay's probability goes to its
:class:`~.smoothing.BayState`, which changes the bay's state only after ``confirm`` frames in a
row agree. A change publishes the bay's ``<bay>.occupied`` and ``<bay>.confidence`` and the
lot's ``free``, ``occupied`` and ``total``; every timer tick publishes them all again. The lot
getting full and getting a free bay again are events.

Frames stay in memory: nothing of an image is stored or leaves the experiment, only the
derived values above.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_agent import units
from edge_agent.errors import ConfigError
from edge_agent.experiments import Experiment
from edge_agent.inference import Model
from edge_agent.readings import check_name

from .bays import load_lot
from .classifier import LotClassifier
from .smoothing import BayState


def bay_quantity(bay_id: str, source: object) -> str:
    """The stream quantity prefix of a bay: its id in lower case (``A01`` -> ``a01``)."""
    name = bay_id.lower()
    try:
        return check_name("quantity", name)
    except ConfigError:
        raise ConfigError(
            f"{source}: bay id {bay_id!r} cannot name a stream; use letters, digits, '-', '_' "
            "and '.', starting with a letter or digit (for example 'a01')"
        ) from None


class Parking(Experiment):
    """Per-bay occupancy and the lot's counts from a camera."""

    async def on_start(self) -> None:
        """Load the bays and the model (in a worker thread) and set every bay unknown."""
        p = self.params
        self.classifier = await self.ctx.run_in_thread(self._load_classifier)
        lot = self.classifier.lot
        self.quantities = [bay_quantity(bay.id, lot.source) for bay in lot.bays]
        if len(set(self.quantities)) != len(self.quantities):
            raise ConfigError(
                f"{lot.source}: bay ids that differ only in case name the same stream; "
                "give each bay its own id"
            )
        self.states = [BayState(p["confirm"], p["threshold"]) for _ in lot.bays]
        self.last_frame_time: float | None = None
        self.classified = 0
        self.skipped = 0
        self.full: bool | None = None
        self.log.info(
            "%d bays from %s, model %s, a state needs %d frames",
            len(self.states),
            lot.source,
            self.classifier.model.path.name,
            p["confirm"],
        )

    def _load_classifier(self) -> LotClassifier:
        p = self.params
        model = Model(Path(p["model"]), num_threads=p["threads"])
        return LotClassifier(load_lot(Path(p["bays"])), model, threshold=p["threshold"])

    async def on_frame(self, camera: str, frame: Any) -> None:
        """Classify the frame's bays, update their states, publish what changed."""
        if (
            self.last_frame_time is not None
            and frame.time - self.last_frame_time < self.params["min_interval"]
        ):
            self.skipped += 1
            return
        self.last_frame_time = frame.time
        probabilities = await self.ctx.run_in_thread(self.classifier.probabilities, frame.image)
        self.classified += 1
        changed = [
            index
            for index, (state, probability) in enumerate(
                zip(self.states, probabilities, strict=True)
            )
            if state.update(float(probability))
        ]
        for index in changed:
            self._publish_bay(index, frame.time)
        if changed:
            self._publish_counts(frame.time)

    async def on_timer(self, now: float) -> None:
        """Publish every known bay and the counts again, changed or not."""
        for index in range(len(self.states)):
            self._publish_bay(index, now)
        self._publish_counts(now)

    def _publish_bay(self, index: int, at: float) -> None:
        state = self.states[index]
        if state.occupied is None or state.confidence is None:
            return
        quantity = self.quantities[index]
        self.ctx.emit(f"{quantity}.occupied", state.occupied, units.NONE, at=at)
        self.ctx.emit(f"{quantity}.confidence", round(state.confidence, 3), units.RATIO, at=at)

    def _publish_counts(self, at: float) -> None:
        known = [s.occupied for s in self.states if s.occupied is not None]
        if not known:
            return
        occupied = sum(known)
        free = len(known) - occupied
        total = len(self.states)
        emit = self.ctx.emit
        emit("free", free, units.COUNT, at=at)
        emit("occupied", occupied, units.COUNT, at=at)
        emit("total", total, units.COUNT, at=at)
        if len(known) < total:
            return  # whether the lot is full is known once every bay is
        full = free == 0
        if full and self.full is False:
            self.ctx.event("lot-full", f"all {total} bays occupied", free=free, total=total)
        elif not full and self.full:
            message = f"{free} of {total} bays free again"
            self.ctx.event("lot-space", message, free=free, total=total)
        self.full = full
