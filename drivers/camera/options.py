"""The camera driver's options (the ``options`` table of a ``camera.frames`` sensor)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import Field, StrictInt, StrictStr, model_validator

from drivers.simulated.model import SimulatedOptions
from edge_agent.driver import HardwareOptions
from edge_agent.durations import Duration
from edge_agent.errors import ConfigError

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def is_stream_url(source: object) -> bool:
    """Whether ``source`` is a network stream (``rtsp://...``, ``http://...``) for OpenCV."""
    return isinstance(source, str) and _URL.match(source) is not None


class CameraOptions(HardwareOptions, SimulatedOptions):
    """Options of a camera sensor.

    Attributes:
        backend: ``picamera2``, ``opencv``, ``replay`` or ``simulated``; unset means
            ``[backends] camera``, ``$EDGE_AGENT_CAMERA_BACKEND`` or probing. A stream URL as
            ``source`` means ``opencv``.
        fps: frames per second to capture (default 1: parking bays change in minutes, and a
            Pi 3 has other work to do).
        width: frame width in pixels; every frame has this size (frames a camera delivers at
            another size are scaled).
        height: frame height in pixels.
        source: what to read. ``picamera2``: the camera number (0, or 1 for the second
            connector of a Pi 5; default 0). ``opencv``: a device index (0 for
            ``/dev/video0``), a device path (best the stable ``/dev/v4l/by-id/...`` link), a
            video file, or a stream URL (``rtsp://user:pass@host/stream``). ``replay``: the
            directory of recorded frames. ``simulated``: unused.
        password_file: streams only: a file holding the stream's password, inserted into the
            URL when it is opened (``source = "rtsp://user@host/..."``), so the password stays
            out of the config and out of ``edge-agent config check``.
        max_failures: failed reads in a row after which the camera counts as lost and is
            reopened with backoff.
        open_timeout: how long opening may take (an RTSP camera answers slowly) and how long
            a stream may stay silent before a read counts as failed.
        bays: simulated backend only: number of bays in the simulated parking row.
        mean_stay: simulated backend only: how long a car stays, on average.
        mean_gap: simulated backend only: how long a bay stays free, on average, at the
            busiest time of day.
        seed, day_length, utc_offset_h: simulated backend only, as for every simulated sensor.
    """

    fps: float = Field(default=1.0, gt=0, le=60)
    width: int = Field(default=640, ge=16, le=4096)
    height: int = Field(default=480, ge=16, le=4096)
    source: StrictInt | StrictStr | None = None
    password_file: Path | None = None
    max_failures: int = Field(default=3, ge=1, le=1000)
    open_timeout: Duration = 30.0
    bays: int = Field(default=6, ge=1, le=16)
    mean_stay: Duration = 120.0
    mean_gap: Duration = 60.0

    @model_validator(mode="before")
    @classmethod
    def _stream_url_means_opencv(cls, data: Any) -> Any:
        if (
            isinstance(data, dict)
            and is_stream_url(data.get("source"))
            and data.get("backend") is None
        ):
            return {**data, "backend": "opencv"}
        return data

    @model_validator(mode="after")
    def _source_fits_backend(self) -> CameraOptions:
        source, backend = self.source, self.backend
        if isinstance(source, int) and source < 0:
            raise ConfigError(f"source {source} is negative; camera numbers start at 0")
        if isinstance(source, str) and not source.strip():
            raise ConfigError("source is empty; name a device, file, URL or directory")
        if is_stream_url(source) and backend != "opencv":
            raise ConfigError(
                f"source {source!r} is a stream URL, which only the opencv backend reads; "
                f'set backend = "opencv" (or leave backend out) instead of {backend!r}'
            )
        if self.password_file is not None and not (
            is_stream_url(source) and "@" in str(source).split("://", 1)[1].split("/", 1)[0]
        ):
            raise ConfigError(
                f"password_file is set but source {source!r} is not a stream URL with a user; "
                'write source = "rtsp://user@host/path" (without the password)'
            )
        if backend == "replay" and not isinstance(source, str):
            raise ConfigError(
                'the replay backend needs source = "/path/to/recording", a directory of '
                f"recorded frames (.png, .jpg or .npy); got {source!r}"
            )
        if backend == "picamera2" and isinstance(source, str):
            raise ConfigError(
                f"the picamera2 backend takes the camera number as source (0 or 1), not "
                f'{source!r}; for a USB webcam or a stream use backend = "opencv"'
            )
        return self
