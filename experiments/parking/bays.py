"""The bays of a lot: a TOML file of polygons (or rectangles) in a camera's image coordinates.

::

    # bays.toml: the lot as seen by camera "lot-north"
    frame_width = 1920          # size of the frames the coordinates were taken on (pixels);
    frame_height = 1080         # frames of another size with the same aspect are scaled to it

    [[bay]]
    id = "A01"
    polygon = [[412, 630], [505, 622], [530, 700], [420, 712]]   # [x, y] pixels

    [[bay]]
    id = "A02"
    rect = [520, 620, 90, 80]   # x, y (top-left), width, height in pixels

A four-point polygon goes round the bay clockwise on screen, starting at the corner that
should be the patch's top-left (for a bay seen from the driving lane: the far-left corner);
the patch is rectified from it with a perspective warp. Polygons with more points are reduced to
their smallest enclosing rotated rectangle. Coordinates are pixels, x to the right and y down
from the frame's top-left corner.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from edge_agent.errors import ConfigError

from .rectify import Quad, polygon_quad, rect_quad


class _BayEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    polygon: list[tuple[float, float]] | None = None
    rect: tuple[float, float, float, float] | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> _BayEntry:
        if (self.polygon is None) == (self.rect is None):
            raise ValueError("give either polygon = [[x, y], ...] or rect = [x, y, w, h]")
        return self


class _BaysFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    frame_width: int | None = Field(default=None, gt=0)
    frame_height: int | None = Field(default=None, gt=0)
    bay: list[_BayEntry] = Field(min_length=1)


@dataclass(frozen=True)
class Bay:
    """One bay: its id and the quadrilateral that is rectified into its patch (pixels)."""

    id: str
    quad: Quad


@dataclass(frozen=True)
class Lot:
    """The bays of one camera view.

    Attributes:
        bays: in file order.
        frame_size: (width, height) in pixels the coordinates refer to, if the file says.
        source: the file they came from.
    """

    bays: tuple[Bay, ...]
    frame_size: tuple[int, int] | None = None
    source: Path | None = None

    @property
    def ids(self) -> list[str]:
        """The bay ids, in file order."""
        return [bay.id for bay in self.bays]

    def quads_for(self, width: int, height: int) -> list[Quad]:
        """Every bay's corners in a frame of ``width`` x ``height`` pixels.

        When the file names its frame size and the frame has another size with the same
        aspect ratio (a downscaled stream), the coordinates are scaled; another aspect ratio is
        refused, because the bays would not fit the view.
        """
        if self.frame_size is None or self.frame_size == (width, height):
            return [bay.quad for bay in self.bays]
        file_w, file_h = self.frame_size
        sx, sy = width / file_w, height / file_h
        if abs(sx - sy) > 0.01 * max(sx, sy):
            raise ConfigError(
                f"{self.source or 'bays'}: the bays were drawn on {file_w} x {file_h} frames but "
                f"this frame is {width} x {height} (another aspect ratio); draw the bays on a "
                "frame of this camera at this resolution"
            )
        return [bay.quad * np.array([sx, sy]) for bay in self.bays]


def parse_lot(data: dict[str, object], *, source: Path | None = None) -> Lot:
    """Validate parsed TOML; :class:`ConfigError` names the file, the bay and the problem."""
    where = f"{source}: " if source else ""
    try:
        parsed = _BaysFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = ".".join(str(p) for p in error["loc"]) or "(top level)"
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown key; accepted: frame_width, frame_height, [[bay]] with id, "
                message += "polygon or rect"
            problems.append(f"{where}{loc}: {message}")
        raise ConfigError("\n".join(problems)) from exc
    if (parsed.frame_width is None) != (parsed.frame_height is None):
        raise ConfigError(f"{where}give both frame_width and frame_height, or neither")
    bays: list[Bay] = []
    seen: set[str] = set()
    for index, entry in enumerate(parsed.bay):
        if entry.id in seen:
            raise ConfigError(f"{where}bay[{index}].id: bay {entry.id!r} is defined twice")
        seen.add(entry.id)
        try:
            if entry.polygon is not None:
                quad = polygon_quad(entry.polygon)
            else:
                assert entry.rect is not None  # the entry's validator ensures one of them
                quad = rect_quad(*entry.rect)
        except ValueError as exc:
            raise ConfigError(f"{where}bay[{index}] ({entry.id!r}): {exc}") from None
        bays.append(Bay(entry.id, quad))
    size = None
    if parsed.frame_width is not None and parsed.frame_height is not None:
        size = (parsed.frame_width, parsed.frame_height)
    return Lot(tuple(bays), size, source)


def load_lot(path: Path) -> Lot:
    """Read a bays file; :class:`ConfigError` says what is wrong and where."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such bays file; draw the bays (see experiments/parking/README.md) "
            "and pass the file with --bays"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the bays file: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return parse_lot(data, source=path)
