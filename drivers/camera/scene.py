"""A synthetic parking row seen from above, rendered with numpy: the simulated camera's view.

The scene is a function of its seed and the time, nothing else: the same seed gives the same
frame for the same time, however often or seldom it is rendered. It shows

- a pavement with a kerb at the top, then a row of ``bays`` parking bays with white lines on
  textured asphalt, then the driving lane with a dashed centre line;
- cars as coloured rounded rectangles with windows and a shadow, parked nose in or nose out,
  slightly off-centre as people park;
- daylight that follows the simulated day (bright at 13:00, dim at night).

Cars come and go by a seeded model: each bay's time is cut into windows of
``mean_stay + mean_gap`` seconds (shifted per bay, so bays do not change together). In each
window a car comes with a probability that follows the time of day (about 0.95 in the early
afternoon, 0.1 at night), arrives at a random moment and stays between half and one and a half
``mean_stay``, within the window. :meth:`ParkingScene.occupancy` is the ground truth a
parking-occupancy experiment can be checked against.

The bays' pixel boxes (:func:`bay_boxes`) cover the asphalt between the lines; a car lies
inside its bay's box.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from drivers.simulated.model import day_fraction, diurnal

from .crop import Box
from .frame import Image

_DAY: Final = 86400.0

PALETTE: Final[tuple[tuple[int, int, int], ...]] = (
    (236, 236, 232),  # white
    (182, 184, 188),  # silver
    (28, 28, 31),  # black
    (82, 84, 90),  # dark grey
    (34, 62, 140),  # blue
    (168, 30, 36),  # red
    (38, 92, 62),  # green
    (200, 186, 150),  # beige
    (222, 178, 38),  # yellow
)
"""Car colours (RGB), common ones first."""

_ASPHALT: Final = (92.0, 92.0, 97.0)
_PAVEMENT: Final = (152.0, 149.0, 140.0)
_KERB: Final = (196.0, 195.0, 188.0)
_PAINT: Final = (226.0, 226.0, 214.0)
_GLASS: Final = (38.0, 44.0, 56.0)


@dataclass(frozen=True, slots=True)
class Layout:
    """Where things are in a frame, in pixels (see :func:`layout`)."""

    width: int
    height: int
    line: int
    """Thickness of the painted lines."""
    kerb_top: int
    kerb_bottom: int
    back_line: int
    """Top row of the line along the back of the bays."""
    bays_bottom: int
    """One past the last row of the bays (the lane starts here)."""
    centre_line: int
    """Top row of the lane's dashed centre line."""
    dividers: tuple[int, ...]
    """Centre column of each line between (and around) the bays, left to right."""
    boxes: tuple[Box, ...]


def layout(width: int, height: int, bays: int) -> Layout:
    """The scene's geometry for a ``width`` x ``height`` frame with ``bays`` bays."""
    line = max(2, round(width / 160))
    margin = round(width * 0.04)
    dividers = tuple(round(margin + i * (width - 2 * margin) / bays) for i in range(bays + 1))
    back_line = round(height * 0.14)
    bays_bottom = round(height * 0.64)
    top = back_line + line
    boxes = tuple(
        Box(
            f"bay-{i + 1}",
            left - line // 2 + line,
            top,
            right - left - line,
            bays_bottom - top,
        )
        for i, (left, right) in enumerate(itertools.pairwise(dividers))
    )
    return Layout(
        width=width,
        height=height,
        line=line,
        kerb_top=round(height * 0.08),
        kerb_bottom=round(height * 0.095),
        back_line=back_line,
        bays_bottom=bays_bottom,
        centre_line=round(height * 0.82),
        dividers=dividers,
        boxes=boxes,
    )


def bay_boxes(width: int = 640, height: int = 480, bays: int = 6) -> list[Box]:
    """The bays of the simulated scene (``bay-1`` on the left), in frame pixels."""
    return list(layout(width, height, bays).boxes)


@dataclass(frozen=True, slots=True)
class Visit:
    """One car's stay in one bay."""

    bay: int
    """Index of the bay, 0 for ``bay-1``."""
    arrives: float
    """Epoch seconds."""
    leaves: float
    colour: tuple[int, int, int]
    nose_up: bool
    """Parked nose in (towards the kerb) rather than reversed in."""
    offset_x: float
    """Where the car sits across its bay's free width: -1 left, 0 centred, 1 right."""
    offset_y: float


class ParkingScene:
    """Renders the simulated parking row (see the module docstring).

    Args:
        width: frame width in pixels.
        height: frame height in pixels.
        bays: bays in the row.
        seed: chooses arrivals, colours, texture and noise.
        mean_stay: average stay of a car, seconds.
        mean_gap: seconds added to ``mean_stay`` to make a bay's window.
        day_length: seconds in a simulated day (86400 is real time).
        utc_offset_h: the simulated place's time zone, hours.
    """

    def __init__(
        self,
        *,
        width: int = 640,
        height: int = 480,
        bays: int = 6,
        seed: int = 0,
        mean_stay: float = 120.0,
        mean_gap: float = 60.0,
        day_length: float = _DAY,
        utc_offset_h: float = 1.0,
    ) -> None:
        self.layout = layout(width, height, bays)
        self.seed = seed
        self.mean_stay = mean_stay
        self.window = mean_stay + mean_gap
        self.day_length = day_length
        self.utc_offset_h = utc_offset_h
        self._phases = [
            random.Random(f"camera-scene:{seed}:{bay}:phase").uniform(0, self.window)
            for bay in range(bays)
        ]
        self._background = self._paint_background()

    @property
    def boxes(self) -> list[Box]:
        """The bays' boxes (see :func:`bay_boxes`)."""
        return list(self.layout.boxes)

    def day_fraction(self, now: float) -> float:
        """Time of the simulated day at ``now`` in [0, 1), 0.5 being noon."""
        return day_fraction(now, day_length=self.day_length, utc_offset_h=self.utc_offset_h)

    def daylight(self, now: float) -> float:
        """Brightness of the scene at ``now``: 1.0 at 13:00 local time, 0.18 at 01:00."""
        return diurnal(self.day_fraction(now), low=0.18, high=1.0, warmest=13 / 24)

    def demand(self, now: float) -> float:
        """Probability that a car comes to a bay in the window starting at ``now``."""
        return diurnal(self.day_fraction(now), low=0.1, high=0.95, warmest=14 / 24)

    def visit(self, bay: int, now: float) -> Visit | None:
        """The car in bay index ``bay`` at ``now``, or None when the bay is free."""
        phase = self._phases[bay]
        index = math.floor((now + phase) / self.window)
        start = index * self.window - phase
        draw = random.Random(f"camera-scene:{self.seed}:{bay}:{index}")
        if draw.random() >= self.demand(start):
            return None
        stay = min(self.window, self.mean_stay * draw.uniform(0.5, 1.5))
        arrives = start + draw.uniform(0, self.window - stay)
        leaves = arrives + stay
        if not arrives <= now < leaves:
            return None
        return Visit(
            bay=bay,
            arrives=arrives,
            leaves=leaves,
            colour=draw.choice(PALETTE),
            nose_up=draw.random() < 0.7,
            offset_x=draw.uniform(-1, 1),
            offset_y=draw.uniform(-1, 1),
        )

    def occupancy(self, now: float) -> dict[str, bool]:
        """Which bays hold a car at ``now``, by bay name: the ground truth of a frame."""
        return {
            box.bay: self.visit(bay, now) is not None for bay, box in enumerate(self.layout.boxes)
        }

    def render(self, now: float) -> Image:
        """The frame at ``now``: a new ``uint8`` RGB array of shape ``(height, width, 3)``."""
        canvas = self._background.copy()
        for bay, box in enumerate(self.layout.boxes):
            visit = self.visit(bay, now)
            if visit is not None:
                self._paint_car(canvas, box, visit)
        lay = self.layout
        rng = np.random.default_rng([self.seed % 2**63, round(now * 1000) % 2**63])
        noise = rng.integers(-3, 4, size=(lay.height, lay.width, 1), dtype=np.int16)
        # In place: fresh temporaries of a whole frame cost several times the arithmetic.
        np.multiply(canvas, np.float32(self.daylight(now)), out=canvas)
        np.add(canvas, noise, out=canvas)
        np.clip(canvas, 0, 255, out=canvas)
        frame: Image = canvas.astype(np.uint8)
        return frame

    def _paint_background(self) -> npt.NDArray[np.float32]:
        lay = self.layout
        rng = np.random.default_rng([self.seed % 2**63, 0xA5FA17])
        h, w = lay.height, lay.width
        grain = rng.normal(0.0, 6.0, size=(h, w, 1))
        blotches = _smooth_noise(rng, h, w, cell=max(8, w // 24), sigma=6.0)
        canvas = np.empty((h, w, 3), dtype=np.float32)
        canvas[:] = np.array(_ASPHALT, dtype=np.float32)
        canvas[: lay.kerb_top] = np.array(_PAVEMENT, dtype=np.float32)
        canvas[lay.kerb_top : lay.kerb_bottom] = np.array(_KERB, dtype=np.float32)
        canvas += grain + blotches
        # Paving slab joints on the pavement.
        slab = max(6, w // 16)
        canvas[: lay.kerb_top, ::slab] -= 25
        paint = np.zeros((h, w), dtype=bool)
        left, right = lay.dividers[0] - lay.line // 2, lay.dividers[-1] - lay.line // 2 + lay.line
        paint[lay.back_line : lay.back_line + lay.line, left:right] = True
        for x in lay.dividers:
            start = x - lay.line // 2
            paint[lay.back_line : lay.bays_bottom, start : start + lay.line] = True
        dash = max(8, w // 16)
        for x in range(dash // 2, w, 2 * dash):
            paint[lay.centre_line : lay.centre_line + lay.line, x : x + dash] = True
        wear = 1.0 - 0.18 * rng.random(size=(h, w))
        canvas[paint] = np.array(_PAINT, dtype=np.float32) * wear[paint, np.newaxis]
        return np.clip(canvas, 0, 255).astype(np.float32)

    def _paint_car(self, canvas: npt.NDArray[np.float32], box: Box, visit: Visit) -> None:
        """A car seen from above: shadow, a shaded body, windows, a lighter roof, mirrors."""
        car_w = round(box.width * 0.72)
        car_l = round(box.height * 0.8)
        slack_x, slack_y = box.width - car_w, box.height - car_l
        x0 = box.x + round(slack_x / 2 * (1 + 0.8 * visit.offset_x))
        y0 = box.y + round(slack_y / 2 * (1 + 0.8 * visit.offset_y))
        radius = car_w * 0.22
        shadow = max(2, car_w // 8)
        # The shadow may fall on the lines beside the bay, never outside the frame.
        shade_region = _rounded(
            x0 + shadow, y0 + shadow // 2, car_w, car_l, radius, shape=canvas.shape
        )
        _paint(canvas, shade_region, scale=0.45)
        # Paint reflects its grey surroundings, so it looks less saturated than its pigment.
        pigment = np.array(visit.colour, dtype=np.float32)
        body = 0.65 * pigment + 0.35 * pigment.mean()
        rows, cols, mask = _rounded(x0, y0, car_w, car_l, radius, shape=canvas.shape)
        # The body is curved: darker towards the sides, a highlight along the middle.
        across = np.sin(np.pi * (np.arange(mask.shape[1], dtype=np.float32) + 0.5) / car_w)
        across = across[np.newaxis, :, np.newaxis]
        lit = np.clip(body * (0.55 + 0.75 * across) + 45 * across**6, 0, 255)
        view = canvas[rows, cols]
        view[mask] = np.broadcast_to(lit, view.shape)[mask]

        def part(front: float, back: float, inset: float) -> tuple[int, int, int, int]:
            top, bottom = (front, back) if visit.nose_up else (1 - back, 1 - front)
            return (
                x0 + round(car_w * inset),
                y0 + round(car_l * top),
                car_w - 2 * round(car_w * inset),
                round(car_l * (bottom - top)),
            )

        glass = np.array(_GLASS, dtype=np.float32)
        for front, back, inset in ((0.22, 0.38, 0.08), (0.7, 0.82, 0.1)):  # windscreen, rear
            x, y, w, h = part(front, back, inset)
            _paint(canvas, _rounded(x, y, w, h, w * 0.15, shape=canvas.shape), colour=glass)
        x, y, w, h = part(0.38, 0.7, 0.13)  # the roof catches more light
        _paint(canvas, _rounded(x, y, w, h, w * 0.15, shape=canvas.shape), scale=1.12)
        mirror_y = part(0.24, 0.28, 0.0)[1]
        mirror = max(2, car_w // 14)
        for mirror_x in (x0 - mirror + 1, x0 + car_w - 1):
            region = _rounded(
                mirror_x, mirror_y, mirror, mirror + 1, mirror / 3, shape=canvas.shape
            )
            _paint(canvas, region, colour=body * 0.8)


def _rounded(
    x: int, y: int, w: int, h: int, radius: float, *, shape: tuple[int, ...]
) -> tuple[slice, slice, npt.NDArray[np.bool_]]:
    """The mask of a rounded rectangle, clipped to the frame: ``(rows, cols, mask)``."""
    y_end, x_end = min(y + h, shape[0]), min(x + w, shape[1])
    rows = np.arange(y, y_end, dtype=np.float32)[:, np.newaxis] + 0.5
    cols = np.arange(x, x_end, dtype=np.float32)[np.newaxis, :] + 0.5
    dx = np.maximum(np.maximum(x + radius - cols, cols - (x + w - radius)), 0)
    dy = np.maximum(np.maximum(y + radius - rows, rows - (y + h - radius)), 0)
    return slice(y, y_end), slice(x, x_end), dx * dx + dy * dy <= radius * radius


def _paint(
    canvas: npt.NDArray[np.float32],
    region: tuple[slice, slice, npt.NDArray[np.bool_]],
    *,
    colour: npt.NDArray[np.float32] | None = None,
    scale: float = 1.0,
) -> None:
    rows, cols, mask = region
    view = canvas[rows, cols]
    if colour is None:
        view[mask] *= scale
    else:
        view[mask] = colour


def _smooth_noise(
    rng: np.random.Generator, height: int, width: int, *, cell: int, sigma: float
) -> npt.NDArray[np.float64]:
    """Low-frequency noise (blotches of about ``cell`` pixels): a coarse grid, bilinearly scaled."""
    grid = rng.normal(0.0, sigma, size=(height // cell + 2, width // cell + 2))
    ys = np.arange(height) / cell
    xs = np.arange(width) / cell
    y0, x0 = ys.astype(int), xs.astype(int)
    fy, fx = (ys - y0)[:, np.newaxis], (xs - x0)[np.newaxis, :]
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x0 + 1] * fx
    bottom = grid[y0 + 1][:, x0] * (1 - fx) + grid[y0 + 1][:, x0 + 1] * fx
    smooth: npt.NDArray[np.float64] = (top * (1 - fy) + bottom * fy)[:, :, np.newaxis]
    return smooth
