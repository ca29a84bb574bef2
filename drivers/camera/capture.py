"""What every camera backend implements, and the thread that paces and reads it.

A backend (:class:`Capture`) is blocking device access and nothing else: open, read one image,
close. The :class:`CaptureThread` owns it from open to close, reads it at the configured frame
rate, brings each image into frame shape (:mod:`drivers.camera.pixels`), and hands the frame to
the event loop. Reads that fail are counted; after ``max_failures`` in a row the thread gives
up and reports a :class:`~edge_agent.errors.DriverError`, so the supervisor reopens the camera
with backoff. The event loop never waits for the camera.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Protocol

import numpy as np

from edge_agent.clock import Clock
from edge_agent.errors import DriverError

from .frame import Frame
from .pixels import as_rgb, fit, frozen


class Capture(Protocol):
    """One backend's blocking access to its camera; only the capture thread calls it."""

    description: str
    """What is read, for messages (``V4L2 device /dev/video0``, ``recording /data/rec``)."""

    def open(self) -> None:
        """Open the device; raises :class:`DriverError` (or the library's error) if it cannot."""

    def read(self, now: float) -> np.ndarray:
        """The image of the moment ``now`` (epoch seconds), as close as the device allows.

        Returns a new ``uint8`` array on every call (RGB, or grey/RGBA, any size; the capture
        thread converts and scales) that the backend never writes to again. Raises when no
        image can be read.
        """
        ...

    def close(self) -> None:
        """Release the device; never raises."""


class CaptureThread:
    """Reads ``capture`` every ``1 / fps`` seconds in a thread and delivers frames to the loop.

    Args:
        capture: the backend, not yet opened.
        sensor: the sensor's name, for messages.
        width: frame width the frames are brought to, pixels.
        height: frame height, pixels.
        fps: frames per second to read.
        max_failures: failed reads in a row after which the thread gives up.
        clock: stamps each frame with its capture time.
        sequence: numbers the frames (shared across reopens of the same sensor).
        deliver: called on the event loop with each frame.
        count_error: called on the event loop with ``(reason, detail)`` for each failed read.
        logger: where the thread logs.
    """

    def __init__(
        self,
        capture: Capture,
        *,
        sensor: str,
        width: int,
        height: int,
        fps: float,
        max_failures: int,
        clock: Clock,
        sequence: Iterator[int],
        deliver: Callable[[Frame], None],
        count_error: Callable[[str, object], None],
        logger: logging.Logger,
    ) -> None:
        self.capture = capture
        self.sensor = sensor
        self.size = (width, height)
        self.period = 1.0 / fps
        self.max_failures = max_failures
        self.clock = clock
        self._sequence = sequence
        self._deliver = deliver
        self._count_error = count_error
        self.log = logger
        self._loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = self._loop.create_future()
        """Resolves when the device is open; raises :class:`DriverError` if it cannot be."""
        self.failed: asyncio.Future[None] = self._loop.create_future()
        """Raises :class:`DriverError` when the thread gave up; never resolves otherwise."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"camera:{sensor}", daemon=True)
        self._warned_size = False

    def start(self) -> None:
        """Start the thread; it opens the device, then reads until :meth:`stop`."""
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end after the read in progress; it then closes the device."""
        self._stop.set()

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the thread to end; True if it has (blocking)."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _call(self, function: Callable[..., object], *args: object) -> None:
        """Run ``function(*args)`` on the event loop; stop if the loop is gone."""
        try:
            self._loop.call_soon_threadsafe(function, *args)
        except RuntimeError:  # the loop closed under us: nobody is left to take frames
            self._stop.set()

    @staticmethod
    def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
        if future.done():
            return
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)

    def _run(self) -> None:
        description = self.capture.description
        try:
            self.capture.open()
        except Exception as exc:
            error = (
                exc
                if isinstance(exc, DriverError)
                else DriverError(f"camera {self.sensor!r}: cannot open {description}: {exc}")
            )
            self._call(self._settle, self.opened, error)
            self.capture.close()
            return
        self._call(self._settle, self.opened, None)
        try:
            self._read_until_stopped(description)
        finally:
            self.capture.close()
            self.log.info("camera %r: closed %s", self.sensor, description)

    def _read_until_stopped(self, description: str) -> None:
        width, height = self.size
        failures = 0
        next_tick = time.monotonic()
        while not self._stop.is_set():
            now = self.clock.now()
            try:
                image = as_rgb(self.capture.read(now))
                delivered = image.shape[1], image.shape[0]
                image = frozen(fit(image, width, height))
            except Exception as exc:
                failures += 1
                self._call(self._count_error, "read_failed", f"{description}: {exc}")
                if failures >= self.max_failures:
                    error = DriverError(
                        f"camera {self.sensor!r}: {failures} reads of {description} failed in "
                        f"a row (last: {exc}); the camera is reopened after a pause. Check the "
                        "cable or the stream, and the troubleshooting section of "
                        "drivers/camera/README.md"
                    )
                    self._call(self._settle, self.failed, error)
                    return
            else:
                failures = 0
                if self._stop.is_set():
                    return
                if delivered != self.size and not self._warned_size:
                    self._warned_size = True
                    self.log.warning(
                        "camera %r: %s delivers %dx%d frames, configured %dx%d; scaling them "
                        "(set width and height to the delivered size to keep the aspect ratio)",
                        self.sensor,
                        description,
                        *delivered,
                        width,
                        height,
                    )
                self._call(self._deliver, Frame(image, now, next(self._sequence)))
            next_tick += self.period
            delay = next_tick - time.monotonic()
            if delay < 0:  # the read took longer than a frame period: skip the missed ticks
                next_tick = time.monotonic()
                delay = 0.0
            self._stop.wait(delay)
