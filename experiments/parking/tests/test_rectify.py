"""Cutting and rectifying bays: exact crops, box averages, perspective, polygons, errors."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.parking.rectify import (
    BayRectifier,
    polygon_quad,
    rect_quad,
    square_to_quad,
)


@pytest.fixture
def frame() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)


def rectifier(quads: list[np.ndarray], frame: np.ndarray, size: int, s: int) -> BayRectifier:
    return BayRectifier(
        quads,
        frame_width=frame.shape[1],
        frame_height=frame.shape[0],
        patch_width=size,
        patch_height=size,
        supersample=s,
    )


def test_a_rectangle_of_the_patch_size_is_an_exact_crop(frame: np.ndarray) -> None:
    r = rectifier([rect_quad(10, 20, 16, 16), rect_quad(144, 104, 16, 16)], frame, 16, 1)
    patches = r.crop(frame)
    np.testing.assert_array_equal(patches[0], frame[20:36, 10:26])
    np.testing.assert_array_equal(patches[1], frame[104:120, 144:160])  # the last pixel too


def test_supersampling_averages_each_output_pixels_footprint(frame: np.ndarray) -> None:
    r = rectifier([rect_quad(30, 10, 32, 32)], frame, 16, 2)
    block = frame[10:42, 30:62].astype(int).reshape(16, 2, 16, 2, 3).sum(axis=(1, 3))
    np.testing.assert_array_equal(r.crop(frame)[0], (block + 2) // 4)
    r3 = rectifier([rect_quad(0, 0, 48, 48)], frame, 16, 3)
    block3 = frame[:48, :48].astype(int).reshape(16, 3, 16, 3, 3).sum(axis=(1, 3))
    np.testing.assert_array_equal(r3.crop(frame)[0], (block3 + 4) // 9)


def test_bgr_frames_come_out_in_rgb_when_asked(frame: np.ndarray) -> None:
    r = rectifier([rect_quad(5, 5, 20, 20)], frame, 10, 2)
    np.testing.assert_array_equal(r.crop(frame[..., ::-1].copy(), swap_rb=True), r.crop(frame))


def test_a_read_only_frame_is_fine(frame: np.ndarray) -> None:
    frame.flags.writeable = False  # frames from the camera driver are read-only
    assert rectifier([rect_quad(0, 0, 8, 8)], frame, 8, 1).crop(frame).shape == (1, 8, 8, 3)


def test_a_bay_seen_in_perspective_is_rectified_back() -> None:
    """A checkerboard warped into a trapezoid comes back as the checkerboard."""
    board = ((np.arange(32)[:, None] // 8 + np.arange(32)[None, :] // 8) % 2 * 255).astype(np.uint8)
    quad = np.array([[60.0, 20.0], [140.0, 30.0], [150.0, 100.0], [40.0, 90.0]])
    h = np.linalg.inv(square_to_quad(quad))  # frame pixel -> unit square
    ys, xs = np.mgrid[0:120, 0:180] + 0.5
    uvw = h @ np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    u, v = uvw[0] / uvw[2], uvw[1] / uvw[2]
    inside = (u >= 0) & (u < 1) & (v >= 0) & (v < 1)
    grey = np.full(xs.size, 128, np.uint8)
    grey[inside] = board[(v[inside] * 32).astype(int), (u[inside] * 32).astype(int)]
    frame = np.repeat(grey.reshape(120, 180, 1), 3, axis=2)
    patch = rectifier([quad], frame, 32, 1).crop(frame)[0, :, :, 0]
    agreement = np.mean(np.abs(patch.astype(int) - board) < 60)
    assert agreement > 0.95, agreement


def test_square_to_quad_maps_the_corners() -> None:
    quad = np.array([[3.0, 4.0], [20.0, 2.0], [25.0, 30.0], [1.0, 28.0]])
    h = square_to_quad(quad)
    for (u, v), corner in zip([(0, 0), (1, 0), (1, 1), (0, 1)], quad, strict=True):
        x, y, w = h @ np.array([u, v, 1.0])
        np.testing.assert_allclose([x / w, y / w], corner)


def test_degenerate_corners_are_refused() -> None:
    with pytest.raises(ValueError, match="degenerate"):
        square_to_quad(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]))


def test_four_points_are_used_as_given_and_more_become_the_enclosing_rectangle() -> None:
    four = [[0, 0], [10, 1], [11, 9], [1, 10]]
    np.testing.assert_array_equal(polygon_quad(four), np.array(four, dtype=float))
    # A rectangle rotated by 30 degrees, traced with extra points on its edges.
    angle = np.radians(30)
    axis_u, axis_v = (
        np.array([np.cos(angle), np.sin(angle)]),
        np.array([-np.sin(angle), np.cos(angle)]),
    )
    corners = [axis_u * a * 40 + axis_v * b * 20 + 100 for a, b in [(0, 0), (1, 0), (1, 1), (0, 1)]]
    traced = [corners[0], (corners[0] + corners[1]) / 2, corners[1], corners[2], corners[3]]
    quad = polygon_quad([list(p) for p in traced])
    np.testing.assert_allclose(quad, np.array(corners), atol=1e-6)


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([[0, 0], [1, 0], [1, 1]], "at least 4"),
        ([[0, 0], [0.1, 0], [0.1, 0.1], [0, 0.1]], "less than one pixel"),
        ([[0, 0], [1, 0], [1, float("nan")], [0, 1]], "finite"),
    ],
)
def test_bad_polygons_are_refused(points: list[list[float]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        polygon_quad(points)


def test_a_bay_outside_the_frame_is_refused_with_its_corner(frame: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"bay 1: corner \[170\.0, 10\.0\] lies outside the 160"):
        rectifier([rect_quad(0, 0, 10, 10), rect_quad(150, 10, 20, 20)], frame, 8, 1)


def test_a_frame_of_another_size_is_refused(frame: np.ndarray) -> None:
    r = rectifier([rect_quad(0, 0, 10, 10)], frame, 8, 1)
    with pytest.raises(ValueError, match=r"made for \(120, 160, 3\) uint8 frames"):
        r.crop(frame[:100])
