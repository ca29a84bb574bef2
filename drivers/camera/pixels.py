"""Bringing images from any backend or file into the one shape frames have.

Every backend hands over what its library gives (a grey array from a ``.npy`` file, a BGRA
array, a camera that ignored the requested size); these functions turn that into a
``uint8`` RGB image of the configured size, so the code above never sees the difference.
"""

from __future__ import annotations

import numpy as np

from .frame import Image

_GREY = 2
_COLOUR = 3


def as_rgb(array: np.ndarray) -> Image:
    """``array`` as a ``uint8`` ``(height, width, 3)`` RGB image.

    Accepts grey ``(h, w)`` or ``(h, w, 1)``, RGB ``(h, w, 3)`` and RGBA ``(h, w, 4)`` (the alpha
    channel is dropped). Channels are taken in the order given: a backend whose library
    delivers BGR converts before calling this.

    Raises:
        ValueError: the array is not ``uint8`` or has another shape; the message names both.
    """
    if array.dtype != np.uint8:
        raise ValueError(
            f"image has pixel type {array.dtype}, expected uint8 (8 bits per channel); "
            "convert it before recording, e.g. (array / 256).astype('uint8') for 16-bit data"
        )
    if array.ndim == _GREY:
        array = array[:, :, np.newaxis]
    if array.ndim != _COLOUR or array.shape[2] not in (1, 3, 4) or 0 in array.shape[:2]:
        raise ValueError(
            f"image has shape {array.shape}, expected (height, width) grey, "
            "(height, width, 3) RGB or (height, width, 4) RGBA"
        )
    channels = array.shape[2]
    if channels == 1:
        return np.repeat(array, 3, axis=2)
    if channels == 4:
        return array[:, :, :3]
    return array


def fit(image: Image, width: int, height: int) -> Image:
    """``image`` scaled to ``width`` x ``height`` pixels (nearest neighbour; no copy if it fits).

    Nearest neighbour needs only numpy and keeps the cost at a few milliseconds per VGA frame on
    a Pi; it does not keep the aspect ratio, so configure the size the camera really delivers.
    """
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    rows = (np.arange(height) * h // height).astype(np.intp)
    cols = (np.arange(width) * w // width).astype(np.intp)
    scaled: Image = image[rows[:, np.newaxis], cols[np.newaxis, :]]
    return scaled


def frozen(image: Image) -> Image:
    """A contiguous, read-only version of ``image``, safe to hand to several consumers.

    Backends return a new array for every read and never write to it afterwards, so marking it
    read-only is enough; no copy is made unless the array is not contiguous.
    """
    out = np.ascontiguousarray(image)
    out.flags.writeable = False
    return out
