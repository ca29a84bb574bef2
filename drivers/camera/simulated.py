"""The simulated camera: the parking scene of :mod:`drivers.camera.scene`, read like a camera."""

from __future__ import annotations

import numpy as np

from .options import CameraOptions
from .scene import ParkingScene


class SimulatedCapture:
    """Renders the parking scene at the capture time; opening and reading never fail."""

    def __init__(self, options: CameraOptions) -> None:
        self.options = options
        self.scene: ParkingScene | None = None
        self.description = (
            f"simulated parking row ({options.bays} bays, seed {options.seed}, "
            f"{options.width}x{options.height})"
        )

    def open(self) -> None:
        """Paint the scene's background (a few tens of milliseconds)."""
        opts = self.options
        self.scene = ParkingScene(
            width=opts.width,
            height=opts.height,
            bays=opts.bays,
            seed=opts.seed,
            mean_stay=opts.mean_stay,
            mean_gap=opts.mean_gap,
            day_length=opts.day_length,
            utc_offset_h=opts.utc_offset_h,
        )

    def read(self, now: float) -> np.ndarray:
        """The scene at ``now``."""
        if self.scene is None:
            raise RuntimeError("read before open")
        return self.scene.render(now)

    def close(self) -> None:
        """Forget the scene."""
        self.scene = None
