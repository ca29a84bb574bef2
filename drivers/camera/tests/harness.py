"""Running a camera driver the way the agent does, and recordings written for a test."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np

from drivers.camera.driver import CameraDriver
from drivers.camera.frame import Frame, Image
from edge_agent.clock import Clock, SystemClock
from edge_agent.config import parse_config
from edge_agent.driver import load_driver
from edge_agent.readings import Reading
from edge_agent.resources import Resources

MIDNIGHT_CET = 1_767_222_000.0  # 2026-01-01T00:00:00+01:00
LOG = logging.getLogger("edge_agent.test.camera")


class Harness:
    """A camera driver built from a config entry, with the readings it published."""

    def __init__(
        self,
        options: dict[str, Any],
        *,
        interval: float = 30.0,
        clock: Clock | None = None,
        backends: dict[str, str] | None = None,
        name: str = "cam",
    ) -> None:
        config = parse_config(
            {
                "sensor": [
                    {
                        "name": name,
                        "driver": "camera.frames",
                        "interval": interval,
                        "options": options,
                    }
                ],
                "backends": backends or {},
            }
        )
        self.readings: list[Reading] = []
        self.resources = Resources()
        cls = load_driver("camera.frames")
        assert cls is CameraDriver
        self.driver: CameraDriver = cls(
            name,
            config.driver_options[name],
            interval=interval,
            publish=self.readings.append,
            clock=clock or SystemClock(trust=True),
            logger=LOG,
            resources=self.resources,
            configured_backends=config.backends,
        )

    def values(self, quantity: str) -> list[Any]:
        """The values published for ``quantity`` so far."""
        stream = f"{self.driver.sensor}/{quantity}"
        return [r.value for r in self.readings if r.stream == stream]


async def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Wait until ``condition()`` holds; fail after a generous ``timeout`` (seconds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running(driver: CameraDriver) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``driver.run_forever()`` as the supervisor would, until the block ends.

    Entering waits until the camera is open (start errors are raised here).
    """
    task = asyncio.create_task(driver.run_forever())
    try:
        await wait_for(lambda: driver.frame_source is not None or task.done(), "camera to open")
        if task.done():
            task.result()
        yield task
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def take(driver: CameraDriver, count: int, *, buffer: int = 64) -> list[Frame]:
    """The next ``count`` frames the driver captures (a consumer that keeps up)."""
    source = driver.frame_source
    assert source is not None
    frames: list[Frame] = []
    async with source.subscribe(buffer=buffer) as subscription:
        async for frame in subscription:
            frames.append(frame)
            if len(frames) == count:
                break
    return frames


def pattern(index: int, width: int = 64, height: int = 48) -> Image:
    """A test image that differs per ``index``: a coloured background and a bright square."""
    colours = [(255, 0, 0), (0, 160, 0), (0, 0, 255), (200, 200, 0), (120, 0, 120), (0, 90, 90)]
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = colours[index % len(colours)]
    side = height // 3
    x = (index * 7) % (width - side)
    image[side : 2 * side, x : x + side] = 240
    return image


def write_png_recording(directory: Path, count: int, **size: int) -> list[Image]:
    """``count`` real PNG files written with OpenCV; returns the RGB images in play order."""
    import cv2

    directory.mkdir(parents=True, exist_ok=True)
    images = [pattern(i, **size) for i in range(count)]
    for i, image in enumerate(images):
        assert cv2.imwrite(str(directory / f"{i:06d}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return images


def write_npy_recording(directory: Path, count: int, *, start: int = 0) -> list[Image]:
    """``count`` ``.npy`` frames (RGB arrays), named to play after ``start`` - 1."""
    directory.mkdir(parents=True, exist_ok=True)
    images = [pattern(start + i) for i in range(count)]
    for i, image in enumerate(images):
        np.save(directory / f"{start + i:06d}.npy", image)
    return images
