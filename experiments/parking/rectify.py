"""Cut bays out of a camera frame and rectify each to the model's square input, in numpy only.

A bay is a quadrilateral in image coordinates (pixels, x to the right, y down, the frame
spanning ``[0, width] x [0, height]``). Its corners go round the bay starting at the corner that
becomes the patch's top-left, clockwise on screen: top-left, top-right, bottom-right,
bottom-left. A perspective transform (a homography) maps the unit square onto that
quadrilateral, so a bay seen at an angle comes out as an upright rectangle.

Resampling is a box filter by supersampling: each output pixel averages ``s x s`` nearest
samples spread over its footprint in the frame (``s = 2`` by default). That removes most of the
aliasing of plain nearest-neighbour sampling when a bay is two to three times larger than the
patch, costs four gathers per output pixel, and needs no OpenCV. The training script cuts its
patches with this same code, so the model sees at run time exactly what it was trained on.

Speed: the sample positions depend only on the bays and the frame size, so
:class:`BayRectifier` computes them once; each frame then costs one copy of the rows that hold
bays (packing three bytes per pixel into one 32-bit word) and one gather per sample. On one x86
core that is about 3 ms for 50 bays of 48 x 48 pixels at ``s = 2`` (see ``bench/inference.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

Quad = NDArray[np.float64]
"""Corners of one bay, shape (4, 2): (x, y) in pixels, clockwise from the patch's top-left."""

_UNIT_SQUARE = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
_LOW_BYTES = np.uint32(0x00FF00FF)
_BYTE = np.uint32(0xFF)


def rect_quad(x: float, y: float, width: float, height: float) -> Quad:
    """The quadrilateral of an axis-aligned rectangle (left, top, width, height in pixels)."""
    if width <= 0 or height <= 0:
        raise ValueError(f"rectangle {width} x {height} px: width and height must be positive")
    return np.array(
        [[x, y], [x + width, y], [x + width, y + height], [x, y + height]], dtype=np.float64
    )


def polygon_quad(points: Sequence[Sequence[float]]) -> Quad:
    """The quadrilateral to rectify for a bay polygon.

    Four points are used as given (clockwise from the patch's top-left). A polygon with more
    points is reduced to its smallest enclosing rotated rectangle, starting at the corner
    nearest the first point, so a traced kerb outline still gives an upright patch.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 4:
        raise ValueError(
            f"polygon {np.asarray(points).tolist()!r}: give at least 4 [x, y] points in pixels"
        )
    if not np.all(np.isfinite(pts)):
        raise ValueError(f"polygon {pts.tolist()!r}: coordinates must be finite numbers")
    if len(pts) == 4:
        quad = pts
    else:
        quad = _min_area_rectangle(pts)
        start = int(np.argmin(np.linalg.norm(quad - pts[0], axis=1)))
        quad = np.roll(quad, -start, axis=0)
    if abs(_signed_area(quad)) < 1.0:
        raise ValueError(f"polygon {pts.tolist()!r} encloses less than one pixel")
    return quad


def _signed_area(pts: NDArray[np.float64]) -> float:
    x, y = pts[:, 0], pts[:, 1]
    return float(0.5 * (np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _convex_hull(pts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Andrew's monotone chain; corners in the order the input's orientation suggests."""
    order = sorted({(float(x), float(y)) for x, y in pts})
    if len(order) < 3:
        return np.array(order, dtype=np.float64)

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    for p in order:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(order):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    hull = np.array(lower[:-1] + upper[:-1], dtype=np.float64)
    # Keep the orientation of the polygon as traced, so clockwise stays clockwise.
    if np.sign(_signed_area(hull)) != np.sign(_signed_area(pts)):
        hull = hull[::-1]
    return hull


def _min_area_rectangle(pts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Smallest rotated rectangle around ``pts`` (one side lies on a hull edge)."""
    hull = _convex_hull(pts)
    best: tuple[float, NDArray[np.float64]] | None = None
    for i in range(len(hull)):
        edge = hull[(i + 1) % len(hull)] - hull[i]
        length = float(np.hypot(*edge))
        if length == 0:
            continue
        ux = edge / length
        uy = np.array([-ux[1], ux[0]])
        a, b = hull @ ux, hull @ uy
        area = float((a.max() - a.min()) * (b.max() - b.min()))
        if best is None or area < best[0]:
            corners = np.array(
                [
                    a.min() * ux + b.min() * uy,
                    a.max() * ux + b.min() * uy,
                    a.max() * ux + b.max() * uy,
                    a.min() * ux + b.max() * uy,
                ]
            )
            best = (area, corners)
    if best is None:
        raise ValueError(f"polygon {pts.tolist()!r} has no extent")
    rect = best[1]
    if np.sign(_signed_area(rect)) != np.sign(_signed_area(pts)):
        rect = rect[::-1]
    return rect


def square_to_quad(quad: Quad) -> NDArray[np.float64]:
    """The 3 x 3 homography that maps the unit square's corners onto ``quad``'s corners.

    ``(u, v) = (0, 0), (1, 0), (1, 1), (0, 1)`` go to ``quad[0], quad[1], quad[2], quad[3]``.
    """
    rows: list[list[float]] = []
    rhs: list[float] = []
    for (u, v), (x, y) in zip(_UNIT_SQUARE, quad, strict=True):
        rows.append([u, v, 1.0, 0.0, 0.0, 0.0, -u * x, -v * x])
        rows.append([0.0, 0.0, 0.0, u, v, 1.0, -u * y, -v * y])
        rhs.extend([x, y])
    try:
        h = np.linalg.solve(np.array(rows), np.array(rhs))
    except np.linalg.LinAlgError:
        raise ValueError(
            f"bay corners {quad.tolist()!r} are degenerate (three in a line or two the same)"
        ) from None
    return np.append(h, 1.0).reshape(3, 3)


class BayRectifier:
    """Crops and rectifies a fixed set of bays from frames of one size.

    Args:
        quads: the bays, shape (N, 4, 2) or a sequence of (4, 2) corner arrays (pixels).
        frame_width, frame_height: size of the frames that :meth:`crop` will get (pixels).
        patch_width, patch_height: size of each rectified patch (the model's input, pixels).
        supersample: samples per axis averaged into one output pixel (1 to 4).
        margin: how far (pixels) a corner may lie outside the frame before the bay is refused;
            samples outside the frame repeat the frame's edge pixels.
    """

    def __init__(
        self,
        quads: Sequence[Quad] | NDArray[np.float64],
        *,
        frame_width: int,
        frame_height: int,
        patch_width: int,
        patch_height: int,
        supersample: int = 2,
        margin: float = 2.0,
    ) -> None:
        if not 1 <= supersample <= 4:
            raise ValueError(f"supersample={supersample}: choose 1, 2, 3 or 4 samples per axis")
        if frame_width < 2 or frame_height < 1:
            raise ValueError(f"frame {frame_width} x {frame_height} px is too small")
        corners = np.asarray(quads, dtype=np.float64).reshape(-1, 4, 2)
        for i, quad in enumerate(corners):
            outside = (
                (quad[:, 0] < -margin)
                | (quad[:, 0] > frame_width + margin)
                | (quad[:, 1] < -margin)
                | (quad[:, 1] > frame_height + margin)
            )
            if outside.any():
                raise ValueError(
                    f"bay {i}: corner {quad[outside][0].tolist()} lies outside the "
                    f"{frame_width} x {frame_height} px frame; check the bays file against "
                    "this camera's resolution"
                )
        self.count = len(corners)
        self.frame_width = frame_width
        self.frame_height = frame_height
        self.patch_width = patch_width
        self.patch_height = patch_height
        self.supersample = supersample
        self._divisor = supersample * supersample
        self._index, self._row_lo, self._row_hi = self._plan(corners)

    def _plan(self, corners: NDArray[np.float64]) -> tuple[NDArray[np.intp], int, int]:
        """Flat pixel index of every sample: shape (s*s, N, patch_height, patch_width)."""
        s, pw, ph = self.supersample, self.patch_width, self.patch_height
        sub = (np.arange(s) + 0.5) / s
        u = ((np.arange(pw)[None, :] + sub[:, None]) / pw).reshape(-1)  # (s*pw,) ordered b, c
        v = ((np.arange(ph)[None, :] + sub[:, None]) / ph).reshape(-1)
        uu = np.broadcast_to(u.reshape(s, 1, 1, pw), (s, s, ph, pw))
        vv = np.broadcast_to(v.reshape(1, s, ph, 1), (s, s, ph, pw))
        points = np.stack([uu.ravel(), vv.ravel(), np.ones(uu.size)])  # (3, s*s*ph*pw)
        if self.count == 0:
            return np.zeros((s * s, 0, ph, pw), dtype=np.intp), 0, 1
        xs = np.empty((self.count, points.shape[1]))
        ys = np.empty_like(xs)
        for i, quad in enumerate(corners):
            mapped = square_to_quad(quad) @ points
            xs[i] = mapped[0] / mapped[2]
            ys[i] = mapped[1] / mapped[2]
        col = np.clip(np.floor(xs), 0, self.frame_width - 1).astype(np.intp)
        row = np.clip(np.floor(ys), 0, self.frame_height - 1).astype(np.intp)
        row_lo, row_hi = int(row.min()), int(row.max()) + 1
        index = (row - row_lo) * self.frame_width + col
        # (N, s_u, s_v, ph, pw) -> (s*s, N, ph, pw): one contiguous slab per sample position.
        index = index.reshape(self.count, s, s, ph, pw).transpose(1, 2, 0, 3, 4)
        return np.ascontiguousarray(index.reshape(s * s, self.count, ph, pw)), row_lo, row_hi

    def crop(self, frame: NDArray[np.uint8], *, swap_rb: bool = False) -> NDArray[np.uint8]:
        """Every bay of ``frame`` as a patch: shape (N, patch_height, patch_width, 3), uint8.

        Args:
            frame: (frame_height, frame_width, 3) uint8 pixels.
            swap_rb: exchange the first and third channel (BGR frames for an RGB model).
        """
        expected = (self.frame_height, self.frame_width, 3)
        if frame.shape != expected or frame.dtype != np.uint8:
            raise ValueError(
                f"frame of shape {frame.shape} and type {frame.dtype}: this rectifier was "
                f"made for {expected} uint8 frames; make a new one for another camera size"
            )
        words = _pack_rgb(frame[self._row_lo : self._row_hi])
        samples = np.take(words, self._index)
        red_blue = samples[0] & _LOW_BYTES
        green = (samples[0] >> 8) & _BYTE
        for i in range(1, len(samples)):
            red_blue += samples[i] & _LOW_BYTES
            green += (samples[i] >> 8) & _BYTE
        out = np.empty((self.count, self.patch_height, self.patch_width, 3), dtype=np.uint8)
        first, last = (2, 0) if swap_rb else (0, 2)
        out[..., first] = self._average(red_blue & np.uint32(0xFFFF))
        out[..., 1] = self._average(green)
        out[..., last] = self._average(red_blue >> 16)
        return out

    def _average(self, total: NDArray[np.uint32]) -> NDArray[np.uint32]:
        k = self._divisor
        if k == 1:
            return total
        total += np.uint32(k // 2)
        if k & (k - 1) == 0:
            return total >> np.uint32(k.bit_length() - 1)
        return total // np.uint32(k)


def _pack_rgb(rows: NDArray[np.uint8]) -> NDArray[np.uint32]:
    """One little-endian 32-bit word per pixel: R | G << 8 | B << 16 (| junk << 24).

    Reads the byte buffer through an unaligned 3-byte-stride view, which numpy copies about ten
    times faster than it shifts and ors three channels together.
    """
    rows = np.ascontiguousarray(rows)
    count = rows.shape[0] * rows.shape[1]
    out = np.empty(count, dtype=np.uint32)
    if count > 1:
        view: NDArray[np.uint32] = np.ndarray(
            shape=(count - 1,), dtype="<u4", buffer=rows, strides=(3,)
        )
        out[:-1] = view
    r, g, b = (np.uint32(c) for c in rows.reshape(-1, 3)[-1])
    out[-1] = r | (g << np.uint32(8)) | (b << np.uint32(16))
    return out
