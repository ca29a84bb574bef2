"""Put a simulated device behind a real pseudo-terminal, as if it hung on a USB serial port.

:class:`PtyDevice` opens a pty pair (``os.openpty``), sets the slave side to raw mode and runs
the device in a thread on the master side: every ``tick_s`` it writes the device's own output,
and it answers whatever the host writes. The slave's path (``/dev/pts/N``) is what the real
driver or ``serial.Serial(path)`` opens; nothing above the kernel can tell it from an adapter.

Writes can be cut into ``chunk_bytes`` pieces with a pause in between, so that readers see
frames split across reads. :meth:`PtyDevice.unplug` closes the master side, which is what
pulling the USB plug looks like to a reader: the next read fails with ``EIO``.

This is test and demo tooling: it reads the monotonic clock and sleeps, which the parsers
never do.
"""

from __future__ import annotations

import errno
import os
import select
import threading
import time
import tty
from types import TracebackType
from typing import Self

from .simulators import SerialDevice


class PtyDevice:
    """Runs ``device`` on the master side of a fresh pseudo-terminal pair.

    Use as a context manager, or call :meth:`start` and :meth:`stop`::

        with PtyDevice(NmeaTalker(start=...), tick_s=0.05) as pty:
            port = serial.Serial(pty.port)

    Attributes:
        port: path of the slave side, valid after :meth:`start`.
        bytes_written: bytes the device has sent to the port.
        bytes_read: bytes the device has received from the port.
        error: an unexpected exception that ended the device thread, else ``None``.
    """

    def __init__(
        self,
        device: SerialDevice,
        *,
        tick_s: float = 0.1,
        chunk_bytes: int | None = None,
        chunk_pause_s: float = 0.002,
    ) -> None:
        if tick_s <= 0:
            raise ValueError(f"tick_s={tick_s} must be positive")
        if chunk_bytes is not None and chunk_bytes < 1:
            raise ValueError(f"chunk_bytes={chunk_bytes} must be 1 or more, or None")
        self.device = device
        self.tick_s = tick_s
        self.chunk_bytes = chunk_bytes
        self.chunk_pause_s = chunk_pause_s
        self.port = ""
        self.bytes_written = 0
        self.bytes_read = 0
        self.error: BaseException | None = None
        self._master = -1
        self._slave = -1
        self._stop = threading.Event()
        self._unplug = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Open the pty pair and start the device; returns the port path."""
        if self._thread is not None:
            raise RuntimeError("this PtyDevice was started already; make a new one")
        self._master, self._slave = os.openpty()
        # Raw mode before anyone reads: a cooked tty would echo, translate CR and buffer lines.
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        self._thread = threading.Thread(
            target=self._run, name=f"pty-device {self.port}", daemon=True
        )
        self._thread.start()
        return self.port

    def unplug(self) -> None:
        """Close the device's side, as pulling the plug would; readers then get an error."""
        self._unplug.set()
        self._join()

    def stop(self) -> None:
        """Stop the device and close both sides of the pty."""
        self._stop.set()
        self._join()
        if self._master >= 0:
            os.close(self._master)
            self._master = -1
        if self._slave >= 0:
            os.close(self._slave)
            self._slave = -1

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _join(self) -> None:
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        next_tick = time.monotonic()
        try:
            while not self._stop.is_set() and not self._unplug.is_set():
                now = time.monotonic()
                if now >= next_tick:
                    self._write(self.device.on_tick())
                    next_tick += self.tick_s
                    continue
                ready, _, _ = select.select([self._master], [], [], min(next_tick - now, 0.05))
                if ready:
                    try:
                        data = os.read(self._master, 4096)
                    except BlockingIOError:
                        continue
                    self.bytes_read += len(data)
                    self._write(self.device.on_receive(data))
        except OSError as exc:
            # EIO: nobody holds the slave open any more; the device has nobody to talk to.
            if exc.errno != errno.EIO:
                self.error = exc
        except Exception as exc:  # reported through .error; a test thread must not die silently
            self.error = exc
        if self._unplug.is_set() and self._master >= 0:
            os.close(self._master)
            self._master = -1

    def _write(self, data: bytes) -> None:
        step = self.chunk_bytes or len(data) or 1
        for start in range(0, len(data), step):
            if self._stop.is_set() or self._unplug.is_set():
                return
            view = memoryview(data)[start : start + step]
            while view:
                try:
                    written = os.write(self._master, view)
                except BlockingIOError:
                    # The port's input buffer is full (nobody reads): wait, but stay stoppable.
                    select.select([], [self._master], [], 0.05)
                    if self._stop.is_set() or self._unplug.is_set():
                        return
                    continue
                self.bytes_written += written
                view = view[written:]
            if self.chunk_bytes:
                self._stop.wait(self.chunk_pause_s)
