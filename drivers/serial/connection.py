"""An open serial port, read in a thread, with the bytes handed to the event loop.

pyserial's calls block, so a reader thread sits in ``read()`` (a ``select`` with a short
timeout, which ``cancel_read`` interrupts at once on close) and hands every chunk to the
event loop through ``call_soon_threadsafe``. Writes run in :func:`asyncio.to_thread`.

When the device goes away, a read fails: a USB adapter that was pulled reports ``EIO`` or
"readiness to read but returned no data", and so does a pseudo-terminal whose other side
closed. The thread then hands over a :class:`~edge_agent.errors.DriverError` that says so,
which :meth:`SerialConnection.read` raises; the driver lets it go up to the supervisor, which
restarts the driver with backoff, and its ``start()`` opens the port again (by the same
``/dev/serial/by-id`` name, wherever the kernel has put the device this time).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Final

import serial

from edge_agent.errors import DriverError

from .port_options import PortSettings
from .ports import explain_open_error

READ_POLL_S: Final = 0.2
"""How long one pyserial read waits at most; only bounds how often the thread looks up."""

WRITE_TIMEOUT_S: Final = 2.0
"""A write that does not drain within this time fails (hardware flow control stuck, or a
pseudo-terminal nobody reads)."""

MAX_READ_BYTES: Final = 4096


class SerialConnection:
    """One open serial port: :meth:`read` chunks as they arrive, :meth:`write` bytes.

    Args:
        path: the port (``/dev/serial/by-id/...``, or a pseudo-terminal's ``/dev/pts/N``).
        settings: baud rate and character format.
        logger: where opening and losing the port are logged.

    Attributes:
        lost: set (on the event loop) once the port failed; :meth:`read` then raises.
        bytes_read: bytes received so far.
    """

    def __init__(self, path: str, settings: PortSettings, *, logger: logging.Logger) -> None:
        self.path = path
        self.settings = settings
        self.log = logger
        self.lost = asyncio.Event()
        self.bytes_read = 0
        self._port: serial.Serial | None = None
        self._queue: asyncio.Queue[bytes | DriverError] = asyncio.Queue()
        self._failure: DriverError | None = None
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    async def open(self) -> None:
        """Open and configure the port and start reading; :class:`DriverError` if it fails."""
        if self._port is not None:
            raise RuntimeError(f"serial port {self.path} is open already")
        self._port = await asyncio.to_thread(self._open)
        loop = asyncio.get_running_loop()
        self._thread = threading.Thread(
            target=self._read_loop, args=(self._port, loop), name=f"serial {self.path}", daemon=True
        )
        self._thread.start()
        self.log.info("opened %s at %s", self.path, self.settings.describe())

    def _open(self) -> serial.Serial:
        s = self.settings
        try:
            # exclusive: flock the port, so that a second agent or a gpsd that also locks
            # cannot read the same bytes (each would get a random half of them).
            return serial.Serial(
                self.path,
                baudrate=s.baudrate,
                bytesize=s.bytesize,
                parity=s.parity,
                stopbits=s.stopbits,
                timeout=READ_POLL_S,
                write_timeout=WRITE_TIMEOUT_S,
                exclusive=True,
            )
        except serial.SerialException as exc:
            raise DriverError(explain_open_error(self.path, exc.errno, str(exc))) from exc
        except ValueError as exc:  # a setting the port (or the kernel) does not support
            raise DriverError(f"serial port {self.path!r}: {exc}") from exc

    def _read_loop(self, port: serial.Serial, loop: asyncio.AbstractEventLoop) -> None:
        """Runs in the reader thread until the port fails or :meth:`close` is called."""
        item: bytes | DriverError
        while not self._closing.is_set():
            try:
                data = port.read(min(port.in_waiting, MAX_READ_BYTES) or 1)
            except (serial.SerialException, OSError, TypeError) as exc:
                # TypeError: pyserial's read after a concurrent close meets fd None.
                if self._closing.is_set():
                    return
                item = DriverError(
                    f"serial port {self.path} was lost ({exc}): the device was unplugged or "
                    "lost power; the driver reopens it when it is back"
                )
            else:
                if not data:
                    continue
                item = data
            try:
                loop.call_soon_threadsafe(self._deliver, item)
            except RuntimeError:  # the event loop is closed: nobody is listening any more
                return
            if isinstance(item, DriverError):
                return

    def _deliver(self, item: bytes | DriverError) -> None:
        if isinstance(item, DriverError):
            self.lost.set()
        else:
            self.bytes_read += len(item)
        self._queue.put_nowait(item)

    async def read(self) -> bytes:
        """The next chunk of received bytes; :class:`DriverError` once the port is lost."""
        if self._failure is not None:
            raise self._failure
        item = await self._queue.get()
        if isinstance(item, DriverError):
            self._failure = item
            raise item
        return item

    def take_pending(self) -> list[bytes]:
        """Every chunk received but not read yet, without waiting; raises like :meth:`read`."""
        chunks = []
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if isinstance(item, DriverError):
                self._failure = item
                raise item
            chunks.append(item)
        if self._failure is not None:
            raise self._failure
        return chunks

    async def write(self, data: bytes) -> None:
        """Send ``data``; :class:`DriverError` if the port is lost or the write is stuck."""
        port = self._port
        if port is None:
            raise RuntimeError(f"serial port {self.path} is not open")
        if self._failure is not None:
            raise self._failure
        try:
            await asyncio.to_thread(port.write, data)
        except serial.SerialTimeoutException as exc:
            raise DriverError(
                f"writing to serial port {self.path} timed out after {WRITE_TIMEOUT_S} s: the "
                "adapter does not send (hardware flow control?)"
            ) from exc
        except (serial.SerialException, OSError) as exc:
            raise DriverError(
                f"serial port {self.path} was lost while writing ({exc}): the device was "
                "unplugged or lost power; the driver reopens it when it is back"
            ) from exc

    async def close(self) -> None:
        """Stop the reader thread and close the port; safe to call more than once."""
        port, self._port = self._port, None
        if port is None:
            return
        self._closing.set()
        with contextlib.suppress(OSError):
            port.cancel_read()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 5)
        with contextlib.suppress(OSError, serial.SerialException):
            port.close()
        self.log.info("closed %s", self.path)


__all__ = ["SerialConnection"]
