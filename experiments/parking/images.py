"""Reading and writing image files for the parking commands, as uint8 RGB arrays.

The agent itself never reads image files (frames come from the camera driver as arrays), so
no image library is a runtime dependency. The commands that take files use OpenCV when the
``camera`` extra is installed (every format OpenCV reads: JPEG, PNG, BMP, TIFF, WebP, ...).
Without it, PNG and binary PPM/PGM are read by the small decoders below (standard library and
NumPy only), and anything else is refused with the command that installs the extra. Overlays
are always written as PNG by :func:`write_png`, so ``parking preview`` works everywhere.

The pure PNG reader handles 8-bit grey, grey+alpha, RGB, RGBA and palette images, not
interlaced (what cameras, OpenCV and Pillow write by default). Rows filtered with "average" or
"Paeth" (what most other encoders choose) are undone byte by byte in Python: about 0.1 s for a
150 x 150 patch and 10 s for a 1920 x 1080 frame on one x86 core; the camera extra takes
milliseconds. PNGs written by :func:`write_png` use only the vectorised "Up" filter.
"""

from __future__ import annotations

import importlib
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edge_agent.errors import EdgeKitError

INSTALL_CAMERA = "pip install 'digitallabor-edge-kit[camera]'"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ImageFileError(EdgeKitError, ValueError):
    """An image file is missing, unreadable, or in a format that cannot be decoded here."""


def _opencv() -> Any | None:
    try:
        return importlib.import_module("cv2")
    except ImportError:
        return None


def read_rgb(path: Path) -> NDArray[np.uint8]:
    """The image at ``path`` as (height, width, 3) uint8 RGB; alpha is dropped, grey repeated."""
    if not path.is_file():
        raise ImageFileError(f"{path}: no such image file")
    cv2 = _opencv()
    if cv2 is not None:
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ImageFileError(f"{path}: OpenCV cannot decode this file as an image")
        return np.ascontiguousarray(bgr[..., ::-1])
    data = path.read_bytes()
    if data.startswith(_PNG_SIGNATURE):
        return _to_rgb(decode_png(data, path))
    if data[:2] in (b"P5", b"P6"):
        return _to_rgb(decode_pnm(data, path))
    raise ImageFileError(
        f"{path}: reading this format needs OpenCV; install the camera extra "
        f"({INSTALL_CAMERA}), or convert the image to PNG"
    )


def _to_rgb(pixels: NDArray[np.uint8]) -> NDArray[np.uint8]:
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    channels = pixels.shape[2]
    if channels in (1, 2):  # grey, grey + alpha
        return np.ascontiguousarray(np.repeat(pixels[..., :1], 3, axis=2))
    return np.ascontiguousarray(pixels[..., :3])


def decode_pnm(data: bytes, path: Path) -> NDArray[np.uint8]:
    """A binary PGM (``P5``) or PPM (``P6``) file with 8-bit samples."""
    fields: list[bytes] = []
    position = 2
    while len(fields) < 3:
        while position < len(data) and data[position : position + 1].isspace():
            position += 1
        if data[position : position + 1] == b"#":
            position = data.index(b"\n", position) + 1
            continue
        end = position
        while end < len(data) and not data[end : end + 1].isspace():
            end += 1
        fields.append(data[position:end])
        position = end
    width, height, maxval = (int(f) for f in fields)
    if maxval != 255:
        raise ImageFileError(f"{path}: PNM with maximum value {maxval}; only 8-bit (255) is read")
    channels = 3 if data[:2] == b"P6" else 1
    size = width * height * channels
    body = data[position + 1 : position + 1 + size]
    if len(body) != size:
        raise ImageFileError(f"{path}: PNM file is truncated ({len(body)} of {size} bytes)")
    return np.frombuffer(body, dtype=np.uint8).reshape(height, width, channels)


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def decode_png(data: bytes, path: Path) -> NDArray[np.uint8]:
    """An 8-bit, non-interlaced PNG as (height, width, channels) uint8 (palette expanded)."""
    position = len(_PNG_SIGNATURE)
    header: tuple[int, ...] | None = None
    palette: NDArray[np.uint8] | None = None
    compressed = bytearray()
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = np.frombuffer(body, dtype=np.uint8).reshape(-1, 3)
        elif kind == b"IDAT":
            compressed += body
        elif kind == b"IEND":
            break
    if header is None:
        raise ImageFileError(f"{path}: PNG without an IHDR chunk (file damaged?)")
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in _PNG_CHANNELS or interlace:
        raise ImageFileError(
            f"{path}: PNG with bit depth {depth}, colour type {colour}, interlace {interlace}; "
            f"without OpenCV only 8-bit non-interlaced PNGs are read; install the camera extra "
            f"({INSTALL_CAMERA})"
        )
    channels = _PNG_CHANNELS[colour]
    try:
        raw = zlib.decompress(bytes(compressed))
    except zlib.error as exc:
        raise ImageFileError(f"{path}: PNG data does not decompress ({exc})") from exc
    stride = width * channels
    if len(raw) != height * (stride + 1):
        raise ImageFileError(f"{path}: PNG data has {len(raw)} bytes, expected the image's")
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, stride + 1)
    pixels = _unfilter(rows[:, 0], rows[:, 1:], channels, path)
    image = pixels.reshape(height, width, channels)
    if colour == 3:
        if palette is None:
            raise ImageFileError(f"{path}: palette PNG without a PLTE chunk")
        return palette[image[..., 0]]
    return image


def _unfilter(
    kinds: NDArray[np.uint8], rows: NDArray[np.uint8], bpp: int, path: Path
) -> NDArray[np.uint8]:
    """Undo PNG's per-row filters (None, Sub, Up, Average, Paeth)."""
    out = np.zeros_like(rows)
    previous = np.zeros(rows.shape[1], dtype=np.uint8)
    for y, kind in enumerate(kinds.tolist()):
        row = rows[y]
        if kind == 0:
            current = row.copy()
        elif kind == 1:  # Sub: running sum per channel, modulo 256
            current = np.cumsum(row.reshape(-1, bpp), axis=0, dtype=np.uint8).reshape(-1)
        elif kind == 2:
            current = row + previous
        elif kind in (3, 4):
            current = _unfilter_sequential(kind, row, previous, bpp)
        else:
            raise ImageFileError(f"{path}: PNG row {y} has unknown filter type {kind}")
        out[y] = current
        previous = current
    return out


def _unfilter_sequential(
    kind: int, row: NDArray[np.uint8], previous: NDArray[np.uint8], bpp: int
) -> NDArray[np.uint8]:
    line = row.tolist()
    up = previous.tolist()
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        if kind == 3:
            line[i] = (line[i] + ((left + up[i]) >> 1)) & 0xFF
            continue
        upper_left = up[i - bpp] if i >= bpp else 0
        estimate = left + up[i] - upper_left
        pa, pb, pc = abs(estimate - left), abs(estimate - up[i]), abs(estimate - upper_left)
        if pa <= pb and pa <= pc:
            predictor = left
        elif pb <= pc:
            predictor = up[i]
        else:
            predictor = upper_left
        line[i] = (line[i] + predictor) & 0xFF
    return np.array(line, dtype=np.uint8)


def encode_png(pixels: NDArray[np.uint8]) -> bytes:
    """PNG bytes of a (height, width, 3) RGB or (height, width) grey uint8 image.

    Each row is stored with the "Up" filter (its difference to the row above), which
    compresses photographs about as well as the adaptive filters of image libraries.
    """
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3):
        raise ValueError(f"image of shape {pixels.shape} and type {pixels.dtype}: need uint8")
    if pixels.ndim == 3 and pixels.shape[2] != 3:
        raise ValueError(f"image with {pixels.shape[2]} channels: need 3 (RGB) or grey")
    height, width = pixels.shape[:2]
    colour = 2 if pixels.ndim == 3 else 0
    rows = np.ascontiguousarray(pixels).reshape(height, -1)
    filtered = np.empty((height, rows.shape[1] + 1), dtype=np.uint8)
    filtered[:, 0] = 2
    filtered[0, 1:] = rows[0]
    filtered[1:, 1:] = rows[1:] - rows[:-1]

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (
        _PNG_SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(filtered.tobytes(), 6))
        + chunk(b"IEND", b"")
    )


def write_png(path: Path, pixels: NDArray[np.uint8]) -> None:
    """Write an RGB or grey uint8 image as PNG (no image library needed)."""
    if path.suffix.lower() != ".png":
        raise ImageFileError(f"{path}: overlays are written as PNG; name the file *.png")
    try:
        path.write_bytes(encode_png(pixels))
    except OSError as exc:
        raise ImageFileError(f"{path}: cannot write the image: {exc.strerror}") from exc
