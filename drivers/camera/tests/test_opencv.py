"""The opencv backend through the real cv2.VideoCapture: a video file and an HTTP MJPEG stream.

The stream comes from an HTTP server on the loopback interface that answers like a network
camera's MJPEG endpoint (``multipart/x-mixed-replace``, one JPEG per part) and asks for a
password with HTTP Basic authentication, as such cameras do.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from drivers.camera.opencv_backend import source_kind, with_password
from drivers.camera.tests.harness import Harness, pattern, running, take
from edge_agent.errors import DriverError

cv2 = pytest.importorskip("cv2")

USER, PASSWORD = "lab", "s3cret:/@x"


def close_to(image: np.ndarray, expected: np.ndarray) -> bool:
    """Equal but for JPEG's losses."""
    return float(np.abs(image.astype(int) - expected.astype(int)).mean()) < 12


def test_a_video_file_plays_frame_by_frame_and_starts_again(tmp_path: Path) -> None:
    video = tmp_path / "bays.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (64, 48))
    assert writer.isOpened()
    written = [pattern(i) for i in range(4)]
    for image in written:
        writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    writer.release()
    harness = Harness(
        {"backend": "opencv", "source": str(video), "fps": 20, "width": 64, "height": 48}
    )

    async def main() -> None:
        async with running(harness.driver):
            frames = await take(harness.driver, 10)
        for frame in frames:
            expected = written[frame.sequence % 4]
            assert close_to(frame.image, expected), frame.sequence
            others = [w for i, w in enumerate(written) if i != frame.sequence % 4]
            assert not any(close_to(frame.image, other) for other in others)

    asyncio.run(main())


class MjpegCamera(BaseHTTPRequestHandler):
    """``GET /stream.mjpg``: JPEG frames numbered by their grey level, ``frames`` of them."""

    frames = 10_000
    interval = 0.02
    hold: threading.Event | None = None
    """When set, the connection stays open without data after the last frame until it is set."""

    def do_GET(self) -> None:
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {token}":
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="camera"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for number in range(self.frames):
                image = np.full((48, 64, 3), (number * 10) % 250, dtype=np.uint8)
                image[:, :8] = (0, 0, 255)  # red in BGR: shows the channel order on arrival
                jpeg = cv2.imencode(".jpg", image)[1].tobytes()
                self.wfile.write(
                    b"--frame\r\nContent-Type: image/jpeg\r\n"
                    + f"Content-Length: {len(jpeg)}\r\n\r\n".encode()
                    + jpeg
                    + b"\r\n"
                )
                time.sleep(self.interval)
            if self.hold is not None:
                self.hold.wait(60)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def camera_server(frames: int, *, stall: bool = False) -> Iterator[str]:
    hold = threading.Event() if stall else None
    handler = type("Camera", (MjpegCamera,), {"frames": frames, "hold": hold})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{USER}@127.0.0.1:{server.server_address[1]}/stream.mjpg"
    finally:
        if hold is not None:
            hold.set()
        server.shutdown()
        server.server_close()


def test_a_stream_with_a_password_file_delivers_fresh_frames(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = tmp_path / "camera-password"
    secret.write_text(PASSWORD + "\n")
    with camera_server(frames=10_000) as url:
        harness = Harness(
            {"source": url, "password_file": str(secret), "fps": 10, "width": 64, "height": 48}
        )
        assert harness.driver.options.backend == "opencv"  # a URL chooses it

        async def main() -> None:
            with caplog.at_level(logging.DEBUG):
                async with running(harness.driver):
                    frames = await take(harness.driver, 4)
            levels = [int(f.image[:, 8:].mean()) for f in frames]
            assert len(set(levels)) == 4  # each read waited for a new frame of the stream
            for frame in frames:
                assert (frame.image[:, :8].mean(axis=(0, 1)) > (200, -1, -1)).all()  # red

        asyncio.run(main())
    assert "stream http://lab@127.0.0.1" in caplog.text
    assert PASSWORD not in caplog.text and PASSWORD.replace("@", "%40") not in caplog.text


def test_a_stream_that_ends_raises_driver_error(tmp_path: Path) -> None:
    secret = tmp_path / "camera-password"
    secret.write_text(PASSWORD)
    with camera_server(frames=5) as url:
        harness = Harness(
            {"source": url, "password_file": str(secret), "fps": 10, "open_timeout": "3s"}
        )

        async def main() -> None:
            async with running(harness.driver) as task:
                with pytest.raises(DriverError, match=r"stream http://lab@127\.0\.0\.1"):
                    await asyncio.wait_for(task, timeout=60)

        asyncio.run(main())
    assert harness.driver.input_errors["read_failed"] == 3


def test_a_stream_that_goes_silent_counts_as_lost(tmp_path: Path) -> None:
    secret = tmp_path / "camera-password"
    secret.write_text(PASSWORD)
    with camera_server(frames=3, stall=True) as url:
        options = {"source": url, "password_file": str(secret), "fps": 10}
        # Reads wait up to open_timeout for a frame; many may fail before the camera is lost,
        # so the silence itself must end it: open_timeout + 5 / fps = 2.5 s without a frame.
        harness = Harness({**options, "open_timeout": "2s", "max_failures": 1000})

        async def main() -> None:
            async with running(harness.driver) as task:
                with pytest.raises(DriverError, match=r"delivered no frame for \d+ s"):
                    await asyncio.wait_for(task, timeout=60)

        asyncio.run(main())


def test_a_stream_refuses_a_wrong_password(tmp_path: Path) -> None:
    secret = tmp_path / "camera-password"
    secret.write_text("wrong")
    with camera_server(frames=5) as url:
        harness = Harness({"source": url, "password_file": str(secret), "open_timeout": "5s"})
        with pytest.raises(DriverError, match=r"cannot open stream .*check the URL, user"):
            asyncio.run(harness.driver.start())


def test_sources_are_told_apart() -> None:
    assert source_kind(0) == source_kind("/dev/v4l/by-id/usb-cam-video-index0") == "device"
    assert source_kind("rtsp://cam/stream2") == "stream"
    assert source_kind("bays.avi") == "file"


def test_with_password_quotes_and_needs_a_user(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("p@ss:word/1\n")
    url = with_password("rtsp://admin@10.0.0.2:554/Streaming/Channels/102", secret)
    assert url == "rtsp://admin:p%40ss%3Aword%2F1@10.0.0.2:554/Streaming/Channels/102"
    with pytest.raises(DriverError, match="names no user"):
        with_password("rtsp://10.0.0.2/stream", secret)
    secret.write_text("\n")
    with pytest.raises(DriverError, match="is empty"):
        with_password("rtsp://admin@10.0.0.2/stream", secret)
