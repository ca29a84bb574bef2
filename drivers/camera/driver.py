"""``camera.frames``: captures frames for experiments and reports how the capture goes.

Frames stay in memory. The driver offers them to experiments as a
:class:`~drivers.camera.source.FrameSource` under the agent's resources (kind ``"camera"``,
the sensor's name) while it runs, and publishes only small readings, every ``interval``:

==============  =======  ==================================================================
stream          unit     value
==============  =======  ==================================================================
``frames``      count    frames captured during the interval
``frame_rate``  Hz       frames per second over the interval
``dropped``     count    frames skipped by slow consumers during the interval (summed)
==============  =======  ==================================================================

Failed reads are input errors (``input_errors.<sensor>.read_failed``). After
``max_failures`` failed reads in a row, or when no frame came for
``open_timeout + 5 / fps`` seconds, the driver raises :class:`DriverError` and the supervisor
reopens the camera with backoff.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import ClassVar

from edge_agent import units
from edge_agent.driver import Driver
from edge_agent.errors import DriverError

from .backends import BACKENDS, make_capture
from .capture import CaptureThread
from .frame import Frame
from .options import CameraOptions
from .source import FrameSource

RESOURCE_KIND = "camera"
"""The kind under which the driver offers its :class:`FrameSource` to experiments."""

_JOIN_TIMEOUT = 5.0
"""Seconds :meth:`CameraDriver.stop` waits for the capture thread to close the device."""


class CameraDriver(Driver):
    """Captures frames at ``options.fps`` in a thread; offers them in memory to experiments."""

    Options = CameraOptions
    options: CameraOptions
    summary = (
        "camera frames kept in memory for experiments: frames, dropped (count), frame_rate (Hz)"
    )
    family: ClassVar[str | None] = "camera"
    backends = BACKENDS

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._sequence = itertools.count()
        self.frame_source: FrameSource | None = None
        """The handle offered to experiments while the driver runs."""
        self._thread: CaptureThread | None = None
        self._last_frame = time.monotonic()

    @property
    def stall_after(self) -> float:
        """Seconds without a frame after which the camera counts as lost."""
        return self.options.open_timeout + 5 / self.options.fps

    async def start(self) -> None:
        """Choose the backend, open the camera in the capture thread, offer the frames."""
        opts = self.options
        choice = self.choose_backend()
        capture = make_capture(choice.name, opts, self.log)
        source = FrameSource(self.sensor, opts.width, opts.height, opts.fps, logger=self.log)

        def deliver(frame: Frame) -> None:
            self._last_frame = time.monotonic()
            source.publish(frame)

        thread = CaptureThread(
            capture,
            sensor=self.sensor,
            width=opts.width,
            height=opts.height,
            fps=opts.fps,
            max_failures=opts.max_failures,
            clock=self.clock,
            sequence=self._sequence,
            deliver=deliver,
            count_error=self.count_error,
            logger=self.log,
        )
        thread.start()
        try:
            async with asyncio.timeout(opts.open_timeout + 5):  # not wait_for (3.11 cancels)
                await asyncio.shield(thread.opened)
        except TimeoutError:
            thread.stop()
            thread.opened.cancel()  # an open that succeeds or fails later is of no interest
            raise DriverError(
                f"camera {self.sensor!r}: {capture.description} did not open within "
                f"{opts.open_timeout + 5:g} s; raise open_timeout for a slow stream"
            ) from None
        except BaseException:
            thread.stop()
            raise
        self._thread, self.frame_source = thread, source
        self._last_frame = time.monotonic()
        self.resources.provide(RESOURCE_KIND, self.sensor, source)
        self.log.info(
            "camera %r: %s via %s, %dx%d, fps %g",
            self.sensor,
            capture.description,
            choice.describe(),
            opts.width,
            opts.height,
            opts.fps,
        )

    async def run(self) -> None:
        """Emit the capture readings every ``interval``; raise when the camera is lost."""
        thread, source = self._thread, self.frame_source
        if thread is None or source is None:
            raise RuntimeError("run() before start()")
        last_emit = time.monotonic()
        next_emit = last_emit + self.interval
        published, skipped = source.published, source.skipped
        while True:
            now = time.monotonic()
            wake = min(next_emit, self._last_frame + self.stall_after)
            done, _ = await asyncio.wait({thread.failed}, timeout=max(0.0, wake - now))
            if done:
                thread.failed.result()  # raises the capture thread's DriverError
            now = time.monotonic()
            silent = now - self._last_frame
            if silent >= self.stall_after:
                raise DriverError(
                    f"camera {self.sensor!r}: {thread.capture.description} delivered no frame "
                    f"for {silent:.0f} s; reopening it"
                )
            if now >= next_emit:
                frames = source.published - published
                self.emit("frames", frames, units.COUNT)
                self.emit("frame_rate", round(frames / (now - last_emit), 3), units.HERTZ)
                self.emit("dropped", source.skipped - skipped, units.COUNT)
                published, skipped, last_emit = source.published, source.skipped, now
                next_emit += self.interval
                if next_emit < now:  # suspended or overloaded: skip the missed intervals
                    next_emit = now + self.interval

    async def stop(self) -> None:
        """Withdraw the frames from experiments, end the capture thread, close the device."""
        self.resources.withdraw(RESOURCE_KIND, self.sensor)
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.stop()
            if not thread.failed.cancel() and not thread.failed.cancelled():
                thread.failed.exception()  # seen by run() or not: it is handled here
            if not await asyncio.to_thread(thread.join, _JOIN_TIMEOUT):
                self.log.warning(
                    "camera %r: a read of %s is still blocked; the device is closed when it "
                    "returns",
                    self.sensor,
                    thread.capture.description,
                )
        if self.frame_source is not None:
            self.frame_source.close()
