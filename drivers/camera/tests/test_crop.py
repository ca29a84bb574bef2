"""Cropping named bay boxes out of frames, with the boxes checked against the frame size."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.camera.crop import Box, boxes_from_mapping, check_boxes, crop
from drivers.camera.frame import Frame
from drivers.camera.scene import bay_boxes
from edge_agent.errors import ConfigError


def numbered_frame(width: int = 64, height: int = 48) -> Frame:
    """Every pixel says where it is: R = column, G = row."""
    image = np.zeros((height, width, 3), dtype=np.uint8)
    image[:, :, 0] = np.arange(width)[np.newaxis, :]
    image[:, :, 1] = np.arange(height)[:, np.newaxis]
    image.flags.writeable = False
    return Frame(image, 0.0, 0)


def test_crops_are_the_boxes_pixels_by_bay_and_share_the_frames_memory() -> None:
    frame = numbered_frame()
    crops = crop(frame, [Box("bay-1", 2, 3, 10, 20), Box("bay-2", 50, 0, 14, 48)])

    assert list(crops) == ["bay-1", "bay-2"]
    one = crops["bay-1"]
    assert one.shape == (20, 10, 3)
    assert (one[0, 0, 0], one[0, 0, 1]) == (2, 3)  # top-left is (x, y)
    assert (one[-1, -1, 0], one[-1, -1, 1]) == (11, 22)
    assert np.shares_memory(one, frame.image) and not one.flags.writeable
    assert crops["bay-2"].shape == (48, 14, 3)  # touching the right and bottom edges is fine


@pytest.mark.parametrize(
    ("box", "message"),
    [
        (
            Box("bay-9", 60, 0, 5, 10),
            r"bay 'bay-9': box x=60 y=0 width=5 height=10 reaches to "
            r"\(65, 10\), outside the 64x48 frame",
        ),
        (Box("bay-9", 0, 40, 5, 9), r"reaches to \(5, 49\), outside the 64x48 frame"),
    ],
)
def test_a_box_beyond_the_frame_is_refused_with_bay_and_frame_size(box: Box, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        crop(numbered_frame(), [Box("bay-1", 0, 0, 4, 4), box])


def test_boxes_from_a_config_table() -> None:
    boxes = boxes_from_mapping({"bay-1": [28, 71, 94, 236], "bay-2": [126, 71, 94, 236]})
    assert boxes == [Box("bay-1", 28, 71, 94, 236), Box("bay-2", 126, 71, 94, 236)]
    assert check_boxes(boxes, 640, 480) == boxes
    assert [b.as_list() for b in boxes] == [[28, 71, 94, 236], [126, 71, 94, 236]]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"bay-1": [1, 2, 3]}, r"write \[x, y, width, height\]"),
        ({"bay-1": "1,2,3,4"}, r"write \[x, y, width, height\]"),
        ({"bay-1": [1, 2, 0, 4]}, "box is 0x4 pixels"),
        ({"bay-1": [-1, 2, 3, 4]}, "is negative"),
        ({"bay-1": [1.5, 2, 3, 4]}, "box x is 1.5; write whole pixels"),
        ({"Bay 1": [1, 2, 3, 4]}, "bay name 'Bay 1' is not allowed"),
    ],
)
def test_malformed_boxes_are_refused(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        boxes_from_mapping(table)  # type: ignore[arg-type]


def test_two_boxes_for_one_bay_are_refused() -> None:
    with pytest.raises(ConfigError, match="bay 'bay-1' has two boxes"):
        check_boxes([Box("bay-1", 0, 0, 4, 4), Box("bay-1", 8, 0, 4, 4)], 64, 48)


def test_the_simulated_scenes_default_boxes() -> None:
    # The boxes the demo's parking experiment uses (640x480, six bays).
    assert [b.as_list() for b in bay_boxes()] == [
        [28, 71, 94, 236],
        [126, 71, 94, 236],
        [224, 71, 94, 236],
        [322, 71, 94, 236],
        [420, 71, 94, 236],
        [518, 71, 94, 236],
    ]
