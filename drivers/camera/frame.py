"""One captured camera frame: an RGB image with its capture time and sequence number."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
"""An image as numpy holds it: ``uint8``, shape ``(height, width, 3)``, channels R, G, B."""


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """A frame as the camera driver hands it to experiments.

    The image is read-only (``image.flags.writeable`` is False): one frame goes to every
    consumer, so none may change it for the others. Copy it (``frame.image.copy()``) to draw on.

    Attributes:
        image: ``uint8`` array of shape ``(height, width, 3)``, channels R, G, B.
        time: when the frame was captured, seconds since the Unix epoch (the agent's clock).
        sequence: the driver's frame counter, counting up by one per captured frame from 0 and
            continuing across device reopens; a gap seen by a consumer means skipped frames.
    """

    image: Image
    time: float
    sequence: int

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels."""
        return int(self.image.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels, the order camera settings use."""
        return self.width, self.height
