"""The picamera2 backend: Raspberry Pi camera modules (Camera Module 2, 3, HQ) via libcamera.

Imported only when a camera sensor uses the ``picamera2`` backend. Picamera2 comes with
Raspberry Pi OS as the apt package ``python3-picamera2`` (with libcamera's Python bindings,
which pip cannot provide); the agent's virtual environment sees it when it was created with
``--system-site-packages``.

The camera runs a video configuration of the requested size in ``BGR888`` format, which
picamera2 delivers as an array with the channels in R, G, B order (its format names follow
libcamera's, which count from the other end), so no conversion is needed. The sensor runs at
no less than 5 frames per second so that automatic exposure and white balance settle quickly;
each read takes the newest frame.
"""

from __future__ import annotations

import logging

import numpy as np

# picamera2 ships no type information and is absent off the Pi.
from picamera2 import Picamera2  # type: ignore[import-not-found, import-untyped, unused-ignore]

from edge_agent.errors import DriverError

MIN_SENSOR_FPS = 5.0


class Picamera2Capture:
    """Reads camera ``camera_number`` through picamera2.

    Args:
        camera_number: 0 for the first (or only) camera connector, 1 for the second of a Pi 5.
        width: frame width, pixels.
        height: frame height, pixels.
        fps: capture rate; the sensor runs at least at :data:`MIN_SENSOR_FPS`.
        logger: the driver's logger.
    """

    def __init__(
        self, camera_number: int, *, width: int, height: int, fps: float, logger: logging.Logger
    ) -> None:
        self.camera_number = camera_number
        self.size = (width, height)
        self.sensor_fps = max(fps, MIN_SENSOR_FPS)
        self.log = logger
        self.description = f"Raspberry Pi camera {camera_number} (libcamera)"
        self._camera: Picamera2 | None = None

    def open(self) -> None:
        """Open and start the camera; :class:`DriverError` with a hint when libcamera cannot."""
        try:
            camera = Picamera2(self.camera_number)
        except (IndexError, RuntimeError) as exc:
            raise DriverError(
                f"cannot open {self.description}: {exc}; check the ribbon cable (contacts "
                "towards the board's connector as the camera's manual shows), run "
                "'rpicam-hello --list-cameras', and see the camera README's troubleshooting"
            ) from exc
        try:
            config = camera.create_video_configuration(
                main={"size": self.size, "format": "BGR888"},
                buffer_count=2,
                controls={"FrameRate": self.sensor_fps},
            )
            camera.configure(config)
            camera.start()
        except Exception as exc:
            camera.close()
            raise DriverError(f"cannot start {self.description}: {exc}") from exc
        self._camera = camera

    def read(self, now: float) -> np.ndarray:
        """The newest frame (RGB)."""
        if self._camera is None:
            raise RuntimeError("read before open")
        return np.asarray(self._camera.capture_array("main"))

    def close(self) -> None:
        """Stop and close the camera so that the next open finds it free."""
        camera, self._camera = self._camera, None
        if camera is None:
            return
        for step in (camera.stop, camera.close):
            try:
                step()
            except Exception as exc:  # a camera that is gone may fail to stop; go on closing
                self.log.debug("%s: %s failed: %s", self.description, step.__name__, exc)
