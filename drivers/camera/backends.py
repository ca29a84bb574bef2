"""The camera family's backends, how each is probed, and how its capture is made.

In probing order (the first that works is taken when no backend is set):

============  =================================================================================
picamera2     Raspberry Pi camera module; probed: module ``picamera2`` importable and a
              ``/dev/video*`` or ``/dev/media*`` node present
opencv        USB webcam, video file or RTSP/HTTP stream; probed: module ``cv2`` importable and a
              ``/dev/video*`` node present (a stream URL as ``source`` chooses it directly)
replay        recorded frames from a directory; never probed (needs ``source``)
simulated     the synthetic parking row; always works
============  =================================================================================

Each backend's module, and the library it needs, is imported only when that backend is chosen.
"""

from __future__ import annotations

import logging
from pathlib import Path

from edge_agent.backends import Backend, Probe, all_of, always, needs_module, needs_path
from edge_agent.errors import ConfigError

from .capture import Capture
from .options import CameraOptions


def any_of(*probes: Probe) -> Probe:
    """A probe that passes when one of ``probes`` passes; else reports every reason."""

    def probe() -> str | None:
        reasons = []
        for check in probes:
            reason = check()
            if reason is None:
                return None
            reasons.append(reason)
        return " and ".join(reasons)

    return probe


def chosen_only(reason: str) -> Probe:
    """A probe for backends that need options (probes take none): never picked by probing."""

    def probe() -> str | None:
        return reason

    return probe


BACKENDS: tuple[Backend, ...] = (
    Backend(
        "picamera2",
        "Raspberry Pi camera module through libcamera (python3-picamera2 from apt)",
        all_of(
            needs_module("picamera2", "python3-picamera2 with apt; see the camera README"),
            any_of(
                needs_path("/dev/video*", "video device"),
                needs_path("/dev/media*", "media controller device"),
            ),
        ),
    ),
    Backend(
        "opencv",
        "USB webcam (V4L2), video file or RTSP/HTTP stream through OpenCV",
        all_of(
            needs_module("cv2", "the camera extra: pip install 'digitallabor-edge-kit[camera]'"),
            needs_path("/dev/video*", "video device"),
        ),
    ),
    Backend(
        "replay",
        "recorded frames (PNG, JPEG, .npy) from a directory, looping",
        chosen_only('only by choice: backend = "replay" with source = the directory'),
    ),
    Backend(
        "simulated",
        "synthetic parking row seen from above; cars come and go with the simulated day",
        always,
    ),
)


def make_capture(backend: str, options: CameraOptions, logger: logging.Logger) -> Capture:
    """The capture of ``backend`` for ``options``, not yet opened (no I/O).

    Imports the backend's module, and so its library, here and nowhere else.
    """
    match backend:
        case "picamera2":
            from .picamera2_backend import Picamera2Capture  # noqa: PLC0415 - chosen only

            if isinstance(options.source, str):  # checked with the options if backend is set
                raise ConfigError(
                    f"the picamera2 backend takes the camera number as source (0 or 1), not "
                    f'{options.source!r}; set backend = "opencv" for webcams and streams'
                )
            return Picamera2Capture(
                options.source or 0,
                width=options.width,
                height=options.height,
                fps=options.fps,
                logger=logger,
            )
        case "opencv":
            from .opencv_backend import OpenCvCapture  # noqa: PLC0415 - chosen only

            return OpenCvCapture(
                options.source,
                width=options.width,
                height=options.height,
                open_timeout=options.open_timeout,
                password_file=options.password_file,
                logger=logger,
            )
        case "replay":
            from .replay import ReplayCapture  # noqa: PLC0415 - chosen only

            if not isinstance(options.source, str):
                raise ConfigError(
                    'the replay backend needs source = "/path/to/recording", a directory of '
                    f"recorded frames; got {options.source!r}"
                )
            return ReplayCapture(Path(options.source).expanduser())
        case "simulated":
            from .simulated import SimulatedCapture  # noqa: PLC0415 - chosen only

            return SimulatedCapture(options)
    raise ConfigError(f"unknown camera backend {backend!r}")
