"""Cutting named rectangles (one per parking bay) out of a frame.

A parking-occupancy experiment looks at each bay separately: it names a box per bay in pixel
coordinates of the camera's configured size, checks them once against the frame size, then
crops every frame. Crops are views into the frame (no copy) and read-only like the frame.

Boxes are written in configs as ``{ bay-1 = [x, y, width, height], ... }``: ``x`` and ``y``
are the top-left corner in pixels from the frame's top-left, ``width`` and ``height`` in pixels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from edge_agent.errors import ConfigError
from edge_agent.readings import check_name

from .frame import Frame, Image


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle of a frame named after its bay.

    Attributes:
        bay: the bay's name (lower-case letters, digits, ``-``, ``_``, ``.``: it may become part
            of a stream name such as ``parking/bay-3.occupied``).
        x: left edge, pixels from the frame's left.
        y: top edge, pixels from the frame's top.
        width: pixels, at least 1.
        height: pixels, at least 1.
    """

    bay: str
    x: int
    y: int
    width: int
    height: int

    def __post_init__(self) -> None:
        check_name("bay", self.bay)
        for field in ("x", "y", "width", "height"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(
                    f"bay {self.bay!r}: box {field} is {value!r}; write whole pixels (int)"
                )
        if self.x < 0 or self.y < 0:
            raise ConfigError(
                f"bay {self.bay!r}: box corner ({self.x}, {self.y}) is negative; x and y count "
                "pixels from the frame's top-left corner and start at 0"
            )
        if self.width < 1 or self.height < 1:
            raise ConfigError(
                f"bay {self.bay!r}: box is {self.width}x{self.height} pixels; width and height "
                "must be at least 1"
            )

    @property
    def right(self) -> int:
        """One past the last column: ``x + width``."""
        return self.x + self.width

    @property
    def bottom(self) -> int:
        """One past the last row: ``y + height``."""
        return self.y + self.height

    def as_list(self) -> list[int]:
        """``[x, y, width, height]``, as configs write a box."""
        return [self.x, self.y, self.width, self.height]


def boxes_from_mapping(mapping: Mapping[str, Sequence[int]]) -> list[Box]:
    """Boxes from a config table ``{bay: [x, y, width, height]}``, in the table's order.

    Raises:
        ConfigError: a box is not four whole numbers, or is empty or negative.
    """
    boxes = []
    for bay, values in mapping.items():
        if isinstance(values, str | bytes) or len(values) != 4:
            raise ConfigError(
                f"bay {bay!r}: box is {values!r}; write [x, y, width, height] in pixels"
            )
        x, y, width, height = values
        boxes.append(Box(bay, x, y, width, height))
    return boxes


def check_boxes(boxes: Iterable[Box], width: int, height: int) -> list[Box]:
    """``boxes`` as a list if every one lies inside a ``width`` x ``height`` frame.

    Raises:
        ConfigError: a box reaches beyond the frame, or two boxes share a bay name; the message
            names the bay, the box and the frame size.
    """
    checked: list[Box] = []
    seen: set[str] = set()
    for box in boxes:
        if box.bay in seen:
            raise ConfigError(f"bay {box.bay!r} has two boxes; give each bay one box")
        seen.add(box.bay)
        if box.right > width or box.bottom > height:
            raise ConfigError(
                f"bay {box.bay!r}: box x={box.x} y={box.y} width={box.width} "
                f"height={box.height} reaches to ({box.right}, {box.bottom}), outside the "
                f"{width}x{height} frame; draw the box inside the frame, or set the camera's "
                "width and height to the size the boxes were drawn for"
            )
        checked.append(box)
    return checked


def crop(frame: Frame | Image, boxes: Iterable[Box]) -> dict[str, Image]:
    """Each box's pixels, by bay name: ``{bay: image of shape (box.height, box.width, 3)}``.

    The crops are views into the frame (no copy), read-only when the frame is.

    Raises:
        ConfigError: see :func:`check_boxes`.
    """
    image = frame.image if isinstance(frame, Frame) else frame
    height, width = image.shape[:2]
    return {
        box.bay: image[box.y : box.bottom, box.x : box.right]
        for box in check_boxes(boxes, width, height)
    }
