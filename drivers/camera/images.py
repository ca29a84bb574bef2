"""Reading and writing single frames as files: PNG or JPEG through OpenCV, else NumPy ``.npy``.

Used by the replay backend (recorded frames) and by snapshots a technician asks for. OpenCV is
optional (the ``camera`` extra): it is imported here only when a PNG or JPEG is read or
written, and where it is missing frames are kept as ``.npy`` arrays (RGB, ``uint8``), which
``numpy.load`` reads anywhere. Files are written atomically (a temporary file, then a rename),
so a reader never sees half a frame.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import BinaryIO

import numpy as np

from edge_agent.errors import DriverError

from .frame import Image
from .pixels import as_rgb

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
"""Image files read and written through OpenCV."""
ARRAY_SUFFIX = ".npy"
"""NumPy arrays, readable and writable without OpenCV."""
FRAME_SUFFIXES = IMAGE_SUFFIXES | {ARRAY_SUFFIX}

INSTALL_OPENCV = "install the camera extra: pip install 'digitallabor-edge-kit[camera]'"


def opencv() -> ModuleType | None:
    """The ``cv2`` module, or None where OpenCV is not installed."""
    try:
        import cv2  # noqa: PLC0415 - optional; imported only when an image file is handled
    except ImportError:
        return None
    return cv2


def _require_opencv(path: Path) -> ModuleType:
    cv2 = opencv()
    if cv2 is None:
        raise DriverError(
            f"{path}: PNG and JPEG frames need OpenCV, which is not installed; {INSTALL_OPENCV}, "
            "or use .npy frames"
        )
    return cv2


def read_image(path: Path) -> Image:
    """The RGB image in ``path`` (``.png``, ``.jpg``, ``.jpeg`` or ``.npy``).

    Raises:
        OSError: the file cannot be read.
        ValueError: its content is not an image (an undecodable PNG, a ``.npy`` of floats).
        DriverError: a PNG or JPEG, and OpenCV is not installed.
    """
    suffix = path.suffix.lower()
    if suffix == ARRAY_SUFFIX:
        return as_rgb(np.load(path, allow_pickle=False))
    if suffix not in IMAGE_SUFFIXES:
        accepted = ", ".join(sorted(FRAME_SUFFIXES))
        raise ValueError(f"{path}: not a frame file; frames are {accepted}")
    cv2 = _require_opencv(path)
    data = np.fromfile(path, dtype=np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if bgr is None:
        raise ValueError(f"{path}: OpenCV cannot decode it as {suffix[1:].upper()}")
    if bgr.ndim == 3 and bgr.shape[2] >= 3:
        code = cv2.COLOR_BGRA2RGBA if bgr.shape[2] == 4 else cv2.COLOR_BGR2RGB
        bgr = cv2.cvtColor(bgr, code)
    return as_rgb(bgr)


def snapshot_path(path: Path) -> Path:
    """Where :func:`write_image` puts a frame asked for at ``path``.

    ``.png``, ``.jpg`` and ``.jpeg`` are kept when OpenCV is installed; without it the suffix
    becomes ``.npy``. ``.npy`` is always kept.

    Raises:
        ValueError: another suffix; the message lists the accepted ones.
    """
    suffix = path.suffix.lower()
    if suffix not in FRAME_SUFFIXES:
        raise ValueError(
            f"cannot write a frame as {path.name!r}; name the file .png, .jpg, .jpeg or .npy"
        )
    if suffix in IMAGE_SUFFIXES and opencv() is None:
        return path.with_suffix(ARRAY_SUFFIX)
    return path


def write_image(path: Path, image: Image) -> Path:
    """Write the RGB ``image`` to ``path`` (see :func:`snapshot_path`) and return where it went.

    Raises:
        ValueError: an unsupported suffix.
        OSError: the directory is missing or not writable, or the disk is full.
    """
    target = snapshot_path(path)
    if target.suffix.lower() == ARRAY_SUFFIX:
        _write_atomically(target, lambda f: np.save(f, np.ascontiguousarray(image)))
        return target
    cv2 = _require_opencv(target)
    ok, encoded = cv2.imencode(target.suffix.lower(), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"{target}: OpenCV could not encode the frame")
    _write_atomically(target, lambda f: f.write(encoded.tobytes()))
    return target


def _write_atomically(target: Path, write: Callable[[BinaryIO], object]) -> None:
    # The file is created with mode 0600 (mkstemp): frames are readable by the agent's user only.
    directory = target.parent
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
