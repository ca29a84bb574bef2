"""Occupied probability of parking bays in camera frames, and of single patches.

::

    lot = load_lot(Path("bays.toml"))
    classifier = LotClassifier(lot)                # the shipped model, one thread
    verdicts = classifier.classify(frame)           # in a worker thread: ~10 ms for 50 bays

Each frame: every bay is cut out and rectified to the model's input size by
:class:`~experiments.parking.rectify.BayRectifier` (numpy only), the patches go through
:class:`edge_agent.inference.Model` in one batch, and each bay gets the probability of the
model's ``occupied`` label. Smoothing over time belongs to the experiment that calls this: a
single frame's verdict is what the model sees in that frame, no more.

The model is ``model/occupancy.tflite`` beside this file, described by ``model/occupancy.toml``
(its training data, accuracy on a camera it never saw, size and latency).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from edge_agent.errors import ConfigError
from edge_agent.inference import Model, ModelInputError

from .bays import Lot
from .rectify import BayRectifier, rect_quad

MODEL_PATH = Path(__file__).resolve().parent / "model" / "occupancy.tflite"
"""The shipped occupancy model."""

OCCUPIED = "occupied"
"""The label whose probability is a bay's occupied probability."""

ColourOrder = Literal["RGB", "BGR"]


@dataclass(frozen=True)
class BayVerdict:
    """What one frame says about one bay.

    Attributes:
        id: the bay's id from the bays file (or the image path for single patches).
        occupied_probability: the model's probability that a vehicle stands in the bay (0..1).
        occupied: ``occupied_probability >= threshold``.
    """

    id: str
    occupied_probability: float
    occupied: bool

    @property
    def verdict(self) -> str:
        """``occupied`` or ``free``."""
        return "occupied" if self.occupied else "free"


def occupied_column(model: Model) -> int:
    """Index of the ``occupied`` label among the model's outputs."""
    if OCCUPIED not in model.labels:
        raise ConfigError(
            f"{model.card.path}: labels {model.labels} have no {OCCUPIED!r}; the parking "
            f"classifier needs a model whose card lists {OCCUPIED!r} among output.labels"
        )
    if model.card.input.colour_order == "GREY":
        raise ConfigError(
            f"{model.card.path}: input.colour_order GREY; the parking classifier feeds colour "
            "patches (RGB or BGR)"
        )
    return model.labels.index(OCCUPIED)


def check_threshold(threshold: float) -> float:
    """A verdict threshold must lie strictly between 0 and 1."""
    if not 0.0 < threshold < 1.0:
        raise ConfigError(f"threshold {threshold}: give a probability between 0 and 1")
    return threshold


class LotClassifier:
    """Classifies every bay of a lot in camera frames.

    Args:
        lot: the bays (from :func:`~experiments.parking.bays.load_lot`).
        model: the model; default the shipped one with one thread.
        threshold: occupied probability from which a bay counts as occupied.
        frame_colour_order: channel order of the frames (OpenCV gives BGR, picamera2's
            ``RGB888`` gives BGR in memory too, most others RGB).
        supersample: samples per axis averaged into one patch pixel (see
            :mod:`~experiments.parking.rectify`); the model was trained with 2.
    """

    def __init__(
        self,
        lot: Lot,
        model: Model | None = None,
        *,
        threshold: float = 0.5,
        frame_colour_order: ColourOrder = "RGB",
        supersample: int = 2,
    ) -> None:
        self.lot = lot
        self.model = model if model is not None else Model(MODEL_PATH)
        self.threshold = check_threshold(threshold)
        self._column = occupied_column(self.model)
        self._swap = frame_colour_order != self.model.card.input.colour_order
        self._supersample = supersample
        self._rectifiers: dict[tuple[int, int], BayRectifier] = {}

    def rectifier(self, width: int, height: int) -> BayRectifier:
        """The rectifier for frames of ``width`` x ``height`` pixels (made once per size)."""
        rectifier = self._rectifiers.get((width, height))
        if rectifier is None:
            model_w, model_h = self.model.input_size
            quads = self.lot.quads_for(width, height)
            try:
                rectifier = BayRectifier(
                    quads,
                    frame_width=width,
                    frame_height=height,
                    patch_width=model_w,
                    patch_height=model_h,
                    supersample=self._supersample,
                )
            except ValueError as exc:
                where = self.lot.source or "bays"
                raise ConfigError(f"{where}: {exc}") from None
            self._rectifiers[(width, height)] = rectifier
        return rectifier

    def patches(self, frame: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """Every bay of ``frame`` rectified to the model's input: (bays, h, w, 3) uint8."""
        frame = _colour_frame(frame)
        rectifier = self.rectifier(frame.shape[1], frame.shape[0])
        return rectifier.crop(frame, swap_rb=self._swap)

    def probabilities(self, frame: NDArray[np.uint8]) -> NDArray[np.float32]:
        """Occupied probability of every bay, in the lot's order: shape (bays,)."""
        scores = self.model.classify(self.patches(frame))
        return np.ascontiguousarray(scores[:, self._column])

    def classify(self, frame: NDArray[np.uint8]) -> list[BayVerdict]:
        """A verdict for every bay of the lot in ``frame``."""
        return [
            BayVerdict(bay.id, round(float(p), 4), bool(p >= self.threshold))
            for bay, p in zip(self.lot.bays, self.probabilities(frame), strict=True)
        ]


def _colour_frame(frame: NDArray[np.uint8]) -> NDArray[np.uint8]:
    if frame.dtype != np.uint8:
        raise ModelInputError(f"frame of type {frame.dtype}: give uint8 pixels 0..255")
    if frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 1):
        return np.repeat(frame.reshape(frame.shape[0], frame.shape[1], 1), 3, axis=2)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return np.ascontiguousarray(frame[..., :3])
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ModelInputError(f"frame of shape {frame.shape}: give (height, width, 3) pixels")
    return frame


def patch_to_input(
    image: NDArray[np.uint8], model: Model, supersample: int = 2
) -> NDArray[np.uint8]:
    """One patch image (any size, RGB) resized to the model's input, as the training did."""
    image = _colour_frame(image)
    height, width = image.shape[:2]
    model_w, model_h = model.input_size
    rectifier = BayRectifier(
        [rect_quad(0, 0, width, height)],
        frame_width=width,
        frame_height=height,
        patch_width=model_w,
        patch_height=model_h,
        supersample=supersample,
    )
    swap = model.card.input.colour_order == "BGR"
    patch: NDArray[np.uint8] = rectifier.crop(image, swap_rb=swap)[0]
    return patch


def classify_patches(
    images: Sequence[NDArray[np.uint8]], model: Model | None = None
) -> list[float]:
    """Occupied probability of each RGB patch image (any sizes), in one batch."""
    model = model if model is not None else Model(MODEL_PATH)
    column = occupied_column(model)
    if not images:
        return []
    batch = np.stack([patch_to_input(image, model) for image in images])
    return [float(p) for p in model.classify(batch)[:, column]]
