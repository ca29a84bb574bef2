"""The bays file: rectangles and polygons, scaling to the frame, and errors that say where."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge_agent.errors import ConfigError
from experiments.parking.bays import load_lot

SAMPLE = Path(__file__).parents[1] / "sample-bays.toml"


BAY = '[[bay]]\nid = "a"\n'
SQUARE = "rect = [0, 0, 5, 5]\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bays.toml"
    path.write_text(text)
    return path


def test_the_sample_bays_file_loads() -> None:
    lot = load_lot(SAMPLE)
    assert lot.frame_size == (640, 480)
    assert lot.ids == ["bay-1", "bay-2", "bay-3", "bay-4", "bay-5", "bay-6"]


def test_rectangles_and_polygons_become_quadrilaterals(tmp_path: Path) -> None:
    lot = load_lot(
        write(
            tmp_path,
            """
            [[bay]]
            id = "A1"
            rect = [10, 20, 30, 40]
            [[bay]]
            id = "A2"
            polygon = [[50, 20], [80, 22], [82, 60], [48, 58]]
            """,
        )
    )
    np.testing.assert_array_equal(lot.bays[0].quad, [[10, 20], [40, 20], [40, 60], [10, 60]])
    np.testing.assert_array_equal(lot.bays[1].quad, [[50, 20], [80, 22], [82, 60], [48, 58]])
    assert lot.frame_size is None
    assert lot.quads_for(1000, 1000)[0] is lot.bays[0].quad  # no frame size: used as drawn


def test_a_smaller_frame_of_the_same_aspect_scales_the_bays(tmp_path: Path) -> None:
    text = "frame_width = 1920\nframe_height = 1080\n" + BAY + "rect = [960, 540, 192, 108]"
    lot = load_lot(write(tmp_path, text))
    np.testing.assert_allclose(lot.quads_for(960, 540)[0][0], [480, 270])
    np.testing.assert_allclose(lot.quads_for(960, 540)[0][2], [576, 324])
    with pytest.raises(
        ConfigError, match=r"drawn on 1920 x 1080 frames but this frame is 640 x 480"
    ):
        lot.quads_for(640, 480)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BAY, r"bay\.0: give either polygon"),
        (BAY + SQUARE + "polygon = [[0, 0], [1, 0], [1, 1], [0, 1]]", "give either"),
        (BAY + "rect = [0, 0, 0, 5]", r"bay\[0\] \('a'\): rectangle 0\.0 x 5\.0 px"),
        (BAY + SQUARE + BAY + SQUARE, "bay\\[1\\]\\.id: bay 'a' is defined twice"),
        (BAY + SQUARE + 'colour = "red"', r"bay\.0\.colour: unknown key"),
        (BAY + "polygon = [[0, 0], [5, 0], [5, 5]]", "at least 4"),
        ("frame_width = 640\n" + BAY + SQUARE, "both frame_width and frame_height"),
        ("bay = []", r"bay: List should have at least 1 item"),
        ("[[bay]\n", "not valid TOML"),
    ],
)
def test_bad_bays_files_name_the_file_and_the_bay(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_lot(path)
    assert str(path) in str(caught.value)


def test_a_missing_bays_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such bays file; draw the bays"):
        load_lot(tmp_path / "nope.toml")
