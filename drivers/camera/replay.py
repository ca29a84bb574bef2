"""The replay backend: frames recorded earlier, read from a directory as if from a camera.

A recording is a directory of frame files, played in the order of their names (name them
``000001.png``, ``000002.png``, ... or by time stamp): ``.png``, ``.jpg``/``.jpeg`` (read
through OpenCV) and ``.npy`` (NumPy ``uint8`` arrays, RGB or grey, read without OpenCV).
Without OpenCV only the ``.npy`` files play. The recording loops.

Pacing: with a ``recording.toml`` beside the frames that says ``fps = 5`` (the rate the frames
were recorded at), the replay shows, at every capture, the frame that was current at that
moment of the recording, so the scene moves at its real speed whatever the driver's ``fps``
(a slower driver skips frames, like a camera would). Without it, every capture shows the next
file: one recorded frame per capture tick.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np

from edge_agent.errors import DriverError

from .images import ARRAY_SUFFIX, FRAME_SUFFIXES, IMAGE_SUFFIXES, INSTALL_OPENCV, opencv, read_image

RECORDING_FILE = "recording.toml"


class ReplayCapture:
    """Plays the recording in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.description = f"recording {directory}"
        self.files: list[Path] = []
        self.recorded_fps: float | None = None
        self._started: float | None = None
        self._next = 0

    def open(self) -> None:
        """List the frames and read ``recording.toml``; :class:`DriverError` if none can play."""
        directory = self.directory
        if not directory.is_dir():
            raise DriverError(
                f"replay source {str(directory)!r} is not a directory; set source to the "
                "directory that holds the recorded frames"
            )
        files = sorted(p for p in directory.iterdir() if p.suffix.lower() in FRAME_SUFFIXES)
        images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
        if images and opencv() is None:
            files = [p for p in files if p.suffix.lower() == ARRAY_SUFFIX]
            if not files:
                raise DriverError(
                    f"replay source {str(directory)!r} holds {len(images)} PNG/JPEG frames, "
                    f"which need OpenCV; {INSTALL_OPENCV}, or convert them to .npy"
                )
        if not files:
            raise DriverError(
                f"replay source {str(directory)!r} holds no frames; put .png, .jpg or .npy "
                "files there"
            )
        self.files = files
        self.recorded_fps = self._recorded_fps(directory / RECORDING_FILE)
        self._started = None
        self._next = 0

    @staticmethod
    def _recorded_fps(path: Path) -> float | None:
        if not path.exists():
            return None
        try:
            fps = tomllib.loads(path.read_text(encoding="utf-8")).get("fps")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise DriverError(f"{path}: cannot read it: {exc}") from exc
        if isinstance(fps, bool) or not isinstance(fps, int | float) or not fps > 0:
            raise DriverError(
                f"{path}: fps is {fps!r}; write the frame rate of the recording, e.g. fps = 2"
            )
        return float(fps)

    def frame_index(self, now: float) -> int:
        """Which file plays at ``now`` (epoch seconds); advances the replay without pacing."""
        if self.recorded_fps is None:
            index = self._next
            self._next += 1
        else:
            if self._started is None:
                self._started = now
            index = math.floor((now - self._started) * self.recorded_fps + 1e-9)
        return index % len(self.files)

    def read(self, now: float) -> np.ndarray:
        """The frame of the recording at ``now``; raises if its file cannot be read."""
        if not self.files:
            raise RuntimeError("read before open")
        return read_image(self.files[self.frame_index(now)])

    def close(self) -> None:
        """Nothing to release: files are opened per read."""
