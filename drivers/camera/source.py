"""The handle experiments get from a camera: the latest frame, new frames, snapshots.

The camera driver offers one :class:`FrameSource` per camera sensor to experiments through the
agent's resources (kind ``"camera"``, the sensor's name)::

    source = resources.lookup("camera", "parking-cam", FrameSource)
    async with source.subscribe() as frames:
        async for frame in frames:          # new frames only, as they are captured
            crops = crop(frame, boxes)

Frames stay in memory. Only :meth:`FrameSource.snapshot` writes one to a file, when a
technician asks for it; nothing else of a frame leaves the process.

Everything here runs on the agent's event loop, except :attr:`FrameSource.latest` and
:meth:`FrameSource.snapshot`, which may be called from any thread.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from pathlib import Path
from types import TracebackType

from edge_agent.errors import DriverError

from .frame import Frame
from .images import write_image


class FrameSubscription:
    """New frames for one consumer, with at most ``buffer`` waiting.

    A consumer slower than the camera does not hold the camera up and does not make memory
    grow: when a new frame arrives and ``buffer`` frames are already waiting, the oldest is
    skipped and counted in :attr:`skipped` (and in the source's :attr:`FrameSource.skipped`).
    So a slow consumer always gets the newest frames when it comes back. Iteration ends when
    the camera driver stops (or :meth:`close` is called).
    """

    def __init__(self, source: FrameSource, buffer: int) -> None:
        if buffer < 1:
            raise ValueError(f"buffer is {buffer}; a subscription holds at least 1 frame")
        self._source = source
        self._buffer = buffer
        self._waiting: deque[Frame] = deque()
        self._wakeup = asyncio.Event()
        self._ended = False
        self.received = 0
        """Frames this consumer has taken."""
        self.skipped = 0
        """Frames this consumer missed because it was busy when they arrived."""

    def _offer(self, frame: Frame) -> bool:
        """Queue ``frame``; True if an older frame had to be skipped for it."""
        skipped = len(self._waiting) >= self._buffer
        if skipped:
            self._waiting.popleft()
            self.skipped += 1
        self._waiting.append(frame)
        self._wakeup.set()
        return skipped

    def _end(self) -> None:
        self._ended = True
        self._wakeup.set()

    def __aiter__(self) -> FrameSubscription:
        return self

    async def __anext__(self) -> Frame:
        while not self._waiting:
            if self._ended:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()
        self.received += 1
        return self._waiting.popleft()

    def close(self) -> None:
        """Stop receiving frames; frames still waiting are dropped without counting."""
        self._source._unsubscribe(self)
        self._waiting.clear()
        self._end()

    async def __aenter__(self) -> FrameSubscription:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class FrameSource:
    """One camera's frames, in memory, for experiments.

    Args:
        sensor: the camera sensor's name, for messages.
        width: frame width in pixels; every frame has this size.
        height: frame height in pixels.
        fps: frames per second the driver captures.
        logger: where snapshots are logged.
    """

    def __init__(
        self, sensor: str, width: int, height: int, fps: float, *, logger: logging.Logger
    ) -> None:
        self.sensor = sensor
        self.size = (width, height)
        """``(width, height)`` of every frame, in pixels."""
        self.fps = fps
        """Frames per second the driver captures."""
        self.log = logger
        self._latest: Frame | None = None
        self._subscriptions: weakref.WeakSet[FrameSubscription] = weakref.WeakSet()
        self.published = 0
        """Frames captured since the source opened."""
        self.skipped = 0
        """Frames some consumer skipped, summed over consumers (one frame may count twice)."""
        self.closed = False

    @property
    def latest(self) -> Frame | None:
        """The newest frame, or None before the first one; safe from any thread."""
        return self._latest

    def subscribe(self, buffer: int = 1) -> FrameSubscription:
        """New frames from now on, at most ``buffer`` waiting (see :class:`FrameSubscription`).

        Use it as ``async with source.subscribe() as frames: async for frame in frames: ...``
        so it is released when the consumer is done. An unreferenced subscription is released
        by the garbage collector.
        """
        subscription = FrameSubscription(self, buffer)
        if self.closed:
            subscription._end()
        else:
            self._subscriptions.add(subscription)
        return subscription

    def _unsubscribe(self, subscription: FrameSubscription) -> None:
        self._subscriptions.discard(subscription)

    def publish(self, frame: Frame) -> None:
        """Hand ``frame`` to every subscriber (on the event loop; the driver calls it)."""
        if self.closed:
            return
        self._latest = frame
        self.published += 1
        for subscription in list(self._subscriptions):
            if subscription._offer(frame):
                self.skipped += 1

    def close(self) -> None:
        """End every subscription (the driver stopped); :attr:`latest` stays readable."""
        self.closed = True
        for subscription in list(self._subscriptions):
            subscription._end()
        self._subscriptions.clear()

    def snapshot(self, path: str | Path) -> Path:
        """Write the latest frame to ``path`` and return the file written; blocking.

        ``.png`` (or ``.jpg``/``.jpeg``) is written through OpenCV; where OpenCV is not
        installed the frame is written as a NumPy ``.npy`` array (RGB, ``uint8``) instead, with
        the suffix changed, which is why the path written is returned. ``.npy`` is written as
        asked. The file is written atomically with mode 0600. On the event loop call it as
        ``await asyncio.to_thread(source.snapshot, path)``.

        Raises:
            DriverError: no frame has been captured yet.
            ValueError: ``path`` has another suffix.
            OSError: the file cannot be written.
        """
        frame = self._latest
        if frame is None:
            raise DriverError(
                f"camera {self.sensor!r} has not captured a frame yet; try again in "
                f"{max(1.0, 1 / self.fps):.0f} s"
            )
        written = write_image(Path(path), frame.image)
        self.log.info(
            "camera %r: snapshot of frame %d (%dx%d) written to %s",
            self.sensor,
            frame.sequence,
            frame.width,
            frame.height,
            written,
        )
        return written
