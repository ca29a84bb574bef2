"""Image files without an image library: PNG with every filter type, PPM/PGM, and OpenCV."""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from experiments.parking.images import (
    ImageFileError,
    decode_png,
    encode_png,
    read_rgb,
    write_png,
)


@pytest.fixture
def no_opencv(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hide OpenCV, as on a Pi without the camera extra."""
    monkeypatch.setitem(sys.modules, "cv2", None)


@pytest.fixture
def picture() -> np.ndarray:
    rng = np.random.default_rng(5)
    smooth = np.cumsum(rng.integers(-3, 4, (23, 31, 3)), axis=1) + 128
    return np.clip(smooth, 0, 255).astype(np.uint8)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def png_with_filters(image: np.ndarray, colour: int, filters: list[int]) -> bytes:
    """A PNG whose rows use the given filter types in turn (the encoder is written out here,
    independently of the decoder under test, following the PNG specification)."""
    height, width = image.shape[:2]
    bpp = 1 if image.ndim == 2 else image.shape[2]
    rows = image.reshape(height, width * bpp).astype(int)
    raw = bytearray()
    previous = [0] * (width * bpp)
    for y in range(height):
        kind = filters[y % len(filters)]
        line = rows[y].tolist()
        out = []
        for i, value in enumerate(line):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            upper_left = previous[i - bpp] if i >= bpp else 0
            predictor = [0, left, up, (left + up) // 2, _paeth(left, up, upper_left)][kind]
            out.append((value - predictor) % 256)
        raw += bytes([kind, *out])
        previous = line

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(raw)))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("filters", [[0], [1], [2], [3], [4], [0, 1, 2, 3, 4]])
def test_png_rows_with_every_filter_type_decode(picture: np.ndarray, filters: list[int]) -> None:
    data = png_with_filters(picture, 2, filters)
    np.testing.assert_array_equal(decode_png(data, Path("x.png")), picture)


def test_grey_rgba_and_palette_pngs_become_rgb(
    tmp_path: Path, picture: np.ndarray, no_opencv: None
) -> None:
    grey = picture[..., 0]
    (tmp_path / "grey.png").write_bytes(png_with_filters(grey, 0, [4]))
    np.testing.assert_array_equal(read_rgb(tmp_path / "grey.png"), np.stack([grey] * 3, axis=2))
    rgba = np.concatenate([picture, np.full((*picture.shape[:2], 1), 200, np.uint8)], axis=2)
    (tmp_path / "rgba.png").write_bytes(png_with_filters(rgba, 6, [1, 3]))
    np.testing.assert_array_equal(read_rgb(tmp_path / "rgba.png"), picture)
    palette = np.array([[10, 20, 30], [200, 100, 0]], dtype=np.uint8)
    indices = (picture[..., 0] > 128).astype(np.uint8)
    data = png_with_filters(indices, 3, [0])
    plte = palette.tobytes()
    plte_chunk = struct.pack(">I", len(plte)) + b"PLTE" + plte
    plte_chunk += struct.pack(">I", zlib.crc32(b"PLTE" + plte))
    data = data[:33] + plte_chunk + data[33:]  # after the signature and IHDR
    (tmp_path / "palette.png").write_bytes(data)
    np.testing.assert_array_equal(read_rgb(tmp_path / "palette.png"), palette[indices])


def test_written_pngs_read_back_unchanged(
    tmp_path: Path, picture: np.ndarray, no_opencv: None
) -> None:
    write_png(tmp_path / "out.png", picture)
    np.testing.assert_array_equal(read_rgb(tmp_path / "out.png"), picture)


def test_ppm_and_pgm_are_read(tmp_path: Path, picture: np.ndarray, no_opencv: None) -> None:
    h, w = picture.shape[:2]
    (tmp_path / "a.ppm").write_bytes(
        f"P6\n# made by hand\n{w} {h}\n255\n".encode() + picture.tobytes()
    )
    np.testing.assert_array_equal(read_rgb(tmp_path / "a.ppm"), picture)
    grey = picture[..., 1]
    (tmp_path / "a.pgm").write_bytes(f"P5 {w} {h} 255\n".encode() + grey.tobytes())
    np.testing.assert_array_equal(read_rgb(tmp_path / "a.pgm"), np.stack([grey] * 3, axis=2))


def test_jpeg_without_opencv_says_to_install_the_camera_extra(
    tmp_path: Path, no_opencv: None
) -> None:
    path = tmp_path / "frame.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 100)
    with pytest.raises(
        ImageFileError, match=r"frame\.jpg: reading this format needs OpenCV.*\[camera\]"
    ):
        read_rgb(path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n", "without an IHDR"),
        (b"P6\n4 4\n65535\n" + b"\0" * 96, "only 8-bit"),
        (b"P6\n4 4\n255\n" + b"\0" * 10, "truncated"),
    ],
)
def test_broken_files_are_refused(
    tmp_path: Path, data: bytes, message: str, no_opencv: None
) -> None:
    path = tmp_path / ("x.png" if data.startswith(b"\x89") else "x.ppm")
    path.write_bytes(data)
    with pytest.raises(ImageFileError, match=message):
        read_rgb(path)


def test_missing_file_and_wrong_output_suffix(tmp_path: Path, picture: np.ndarray) -> None:
    with pytest.raises(ImageFileError, match="no such image file"):
        read_rgb(tmp_path / "nope.png")
    with pytest.raises(ImageFileError, match=r"name the file \*\.png"):
        write_png(tmp_path / "overlay.jpg", picture)


def test_opencv_reads_the_same_pixels(tmp_path: Path, picture: np.ndarray) -> None:
    pytest.importorskip("cv2", reason="OpenCV (the camera extra) not installed")
    (tmp_path / "p.png").write_bytes(encode_png(picture))
    np.testing.assert_array_equal(read_rgb(tmp_path / "p.png"), picture)  # RGB, not BGR
