"""The OpenCV backend: USB webcams (V4L2), video files and network streams (RTSP, HTTP MJPEG).

Imported only when a camera sensor uses the ``opencv`` backend; it needs the ``camera`` extra
(``opencv-python-headless``).

How each source is read:

- **device** (index ``0``, ``/dev/video0``, ``/dev/v4l/by-id/...``): through V4L2, with one
  kernel buffer; each read drops the buffered frame and waits for a fresh one, so a frame is
  never older than one camera frame time even at 1 capture per second.
- **stream** (``rtsp://``, ``rtsps://``, ``http://``, ...): through FFmpeg. A stream does not
  wait for its reader, so a thread of its own takes every frame off the network (``grab``, which
  costs little) and decodes only the one a read asks for. Connecting and each frame may take up
  to ``open_timeout``. Point it at the camera's low-resolution substream: each frame of the
  stream is still received and unpacked.
- **file** (any other path, e.g. ``recording.avi``): frame after frame, one per read, starting
  again at the end.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlsplit, urlunsplit

import cv2
import numpy as np

from edge_agent.errors import DriverError

from .options import is_stream_url

Kind = Literal["device", "stream", "file"]


def source_kind(source: int | str) -> Kind:
    """How ``source`` is read: ``device``, ``stream`` or ``file``."""
    if isinstance(source, int) or source.isdigit() or source.startswith("/dev/"):
        return "device"
    if is_stream_url(source):
        return "stream"
    return "file"


def with_password(url: str, password_file: Path) -> str:
    """``url`` with the password read from ``password_file`` put after its user name.

    Raises:
        DriverError: the file cannot be read, is empty, or the URL names no user.
    """
    try:
        password = password_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise DriverError(f"password_file {str(password_file)!r}: cannot read it: {exc}") from exc
    if not password:
        raise DriverError(f"password_file {str(password_file)!r} is empty")
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        raise DriverError(
            f"stream {_redacted(url)!r} names no user; write rtsp://user@host/... to use "
            "password_file"
        )
    userinfo, host = parts.netloc.rsplit("@", 1)
    user = userinfo.split(":", 1)[0]
    netloc = f"{user}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def _redacted(source: int | str) -> str:
    """``source`` for messages, without a password in a URL (``rtsp://user:***@host``)."""
    text = str(source)
    if not is_stream_url(text):
        return text
    parts = urlsplit(text)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return text
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class OpenCvCapture:
    """Reads a V4L2 device, a video file or a stream through ``cv2.VideoCapture``.

    Args:
        source: device index or path, file path, or stream URL; None means device 0.
        width: requested frame width (devices only; files and streams keep theirs).
        height: requested frame height.
        open_timeout: seconds a stream may take to connect, and to deliver a frame.
        password_file: a stream's password, put into the URL when it is opened.
        logger: the driver's logger.
    """

    def __init__(
        self,
        source: int | str | None,
        *,
        width: int,
        height: int,
        open_timeout: float,
        password_file: Path | None = None,
        logger: logging.Logger,
    ) -> None:
        self.source: int | str = 0 if source is None else source
        self.kind = source_kind(self.source)
        self.width = width
        self.height = height
        self.open_timeout = open_timeout
        self.password_file = password_file
        self.log = logger
        shown = _redacted(self.source)
        if isinstance(self.source, int) or self.source.isdigit():
            shown = f"/dev/video{int(self.source)}"
        self.description = {
            "device": f"V4L2 device {shown}",
            "stream": f"stream {shown}",
            "file": f"video file {shown}",
        }[self.kind]
        self._capture: cv2.VideoCapture | None = None
        self._grabber: _StreamGrabber | None = None
        self._frames_in_file = 0

    def open(self) -> None:
        """Open the source; :class:`DriverError` with a hint when OpenCV cannot."""
        source = self.source
        if self.kind == "device":
            device = int(source) if isinstance(source, int) or source.isdigit() else source
            capture = cv2.VideoCapture(device, cv2.CAP_V4L2)
            if capture.isOpened():
                capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
                capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
                capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
            hint = (
                "check that the webcam is plugged in (ls /dev/video*; v4l2-ctl --list-devices), "
                "that the agent's user is in the video group, and that no other program uses it"
            )
        elif self.kind == "stream":
            timeout_ms = round(self.open_timeout * 1000)
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms]
            params += [cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms]
            url = str(source)
            if self.password_file is not None:
                url = with_password(url, self.password_file)
            capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)
            hint = (
                "check the URL, user and password (open it with ffprobe or VLC from this "
                "machine), and that the camera is reachable"
            )
        else:
            path = Path(str(source))
            if not path.is_file():
                raise DriverError(
                    f"opencv source {str(source)!r} is neither a device, a stream URL nor an "
                    "existing video file; give a device index (0), /dev/videoN, rtsp://... or "
                    "the path of a video file"
                )
            capture = cv2.VideoCapture(str(path))
            hint = "OpenCV cannot decode this file; convert it (MJPG .avi or H.264 .mp4)"
        if not capture.isOpened():
            capture.release()
            raise DriverError(f"cannot open {self.description}: {hint}")
        self._capture = capture
        self._frames_in_file = 0
        if self.kind == "stream":
            self._grabber = _StreamGrabber(capture, self.description, self.log)
            self._capture = None  # the grabber thread owns it now, and releases it
            self._grabber.start()

    def read(self, now: float) -> np.ndarray:
        """The next frame as RGB; :class:`DriverError` when none comes."""
        if self._grabber is not None:
            bgr = self._grabber.frame(timeout=self.open_timeout)
        else:
            bgr = self._read_capture()
        if bgr.ndim == 3 and bgr.shape[2] == 3:
            return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        return bgr

    def _read_capture(self) -> np.ndarray:
        capture = self._capture
        if capture is None:
            raise RuntimeError("read before open")
        if self.kind == "device":
            capture.grab()  # drop the frame the kernel kept since the last read
        ok, bgr = capture.read()
        if not ok and self.kind == "file" and self._frames_in_file:
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            self._frames_in_file = 0
            ok, bgr = capture.read()
        if not ok or bgr is None:
            raise DriverError(f"{self.description} delivered no frame")
        self._frames_in_file += 1
        return np.asarray(bgr)

    def close(self) -> None:
        """Release the device (a stream's thread releases it once its read returns)."""
        if self._grabber is not None:
            self._grabber.stop()
            if not self._grabber.join(timeout=2.0):
                self.log.warning(
                    "%s: a read is still blocked; the stream is released when it returns",
                    self.description,
                )
            self._grabber = None
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class _StreamGrabber:
    """Takes every frame off a stream in its own thread; decodes only the ones asked for.

    The ``VideoCapture`` is used by this thread alone. A read asks with an event and gets the
    next decoded frame through a one-slot queue.
    """

    def __init__(self, capture: cv2.VideoCapture, description: str, log: logging.Logger) -> None:
        self._capture = capture
        self._description = description
        self._log = log
        self._wanted = threading.Event()
        self._results: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=1)
        self._stopped = threading.Event()
        self.ended: str | None = None
        self._thread = threading.Thread(target=self._run, name="camera-stream", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def join(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def frame(self, timeout: float) -> np.ndarray:
        """The next frame of the stream (BGR), waiting up to ``timeout`` seconds."""
        while not self._results.empty():  # a late answer to a read that timed out
            self._results.get_nowait()
        if self.ended is not None:
            raise DriverError(f"{self._description}: {self.ended}")
        self._wanted.set()
        try:
            bgr = self._results.get(timeout=timeout)
        except queue.Empty:
            self._wanted.clear()
            raise DriverError(
                f"{self._description} delivered no frame within {timeout:g} s"
            ) from None
        if bgr is None:
            raise DriverError(f"{self._description}: {self.ended or 'a frame did not decode'}")
        return bgr

    def _run(self) -> None:
        capture = self._capture
        try:
            while not self._stopped.is_set():
                if not capture.grab():
                    self.ended = "the stream ended or timed out"
                    self._answer(None)
                    return
                if self._wanted.is_set():
                    self._wanted.clear()
                    ok, bgr = capture.retrieve()
                    self._answer(np.asarray(bgr) if ok and bgr is not None else None)
        finally:
            capture.release()

    def _answer(self, bgr: np.ndarray | None) -> None:
        with contextlib.suppress(queue.Full):  # a frame is already waiting for the reader
            self._results.put_nowait(bgr)
