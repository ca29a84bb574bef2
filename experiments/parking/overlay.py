"""Drawing bays and their state on a frame, so a technician can check the calibration.

Each bay's quadrilateral (the one that is rectified, after reducing polygons) is tinted and
outlined, red when occupied and green when free, with a small square on the corner that becomes
the patch's top-left, and labelled with its id and occupied probability. A line at the top gives
the lot's counts. Pure NumPy with a built-in 3 x 5 pixel font, so no image library is needed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from .classifier import BayVerdict
from .rectify import Quad

OCCUPIED_RGB = (230, 40, 40)
FREE_RGB = (40, 210, 70)
TEXT_RGB = (255, 255, 255)
BOX_RGB = (0, 0, 0)

_GLYPHS = {
    "0": "###,#.#,#.#,#.#,###",
    "1": ".#.,##.,.#.,.#.,###",
    "2": "###,..#,###,#..,###",
    "3": "###,..#,.##,..#,###",
    "4": "#.#,#.#,###,..#,..#",
    "5": "###,#..,###,..#,###",
    "6": "###,#..,###,#.#,###",
    "7": "###,..#,.#.,.#.,.#.",
    "8": "###,#.#,###,#.#,###",
    "9": "###,#.#,###,..#,###",
    "A": ".#.,#.#,###,#.#,#.#",
    "B": "##.,#.#,##.,#.#,##.",
    "C": ".##,#..,#..,#..,.##",
    "D": "##.,#.#,#.#,#.#,##.",
    "E": "###,#..,##.,#..,###",
    "F": "###,#..,##.,#..,#..",
    "G": ".##,#..,#.#,#.#,.##",
    "H": "#.#,#.#,###,#.#,#.#",
    "I": "###,.#.,.#.,.#.,###",
    "J": "..#,..#,..#,#.#,.#.",
    "K": "#.#,#.#,##.,#.#,#.#",
    "L": "#..,#..,#..,#..,###",
    "M": "#.#,###,###,#.#,#.#",
    "N": "##.,#.#,#.#,#.#,#.#",
    "O": ".#.,#.#,#.#,#.#,.#.",
    "P": "##.,#.#,##.,#..,#..",
    "Q": ".#.,#.#,#.#,##.,.##",
    "R": "##.,#.#,##.,#.#,#.#",
    "S": ".##,#..,.#.,..#,##.",
    "T": "###,.#.,.#.,.#.,.#.",
    "U": "#.#,#.#,#.#,#.#,###",
    "V": "#.#,#.#,#.#,#.#,.#.",
    "W": "#.#,#.#,###,###,#.#",
    "X": "#.#,#.#,.#.,#.#,#.#",
    "Y": "#.#,#.#,.#.,.#.,.#.",
    "Z": "###,..#,.#.,#..,###",
    ".": "...,...,...,...,.#.",
    ",": "...,...,...,.#.,#..",
    "-": "...,...,###,...,...",
    "_": "...,...,...,...,###",
    ":": "...,.#.,...,.#.,...",
    "%": "#..,..#,.#.,#..,..#",
    "/": "..#,..#,.#.,#..,#..",
    "(": ".#.,#..,#..,#..,.#.",
    ")": ".#.,..#,..#,..#,.#.",
    " ": "...,...,...,...,...",
    "?": "###,..#,.#.,...,.#.",
}
_FONT = {
    char: np.array([[c == "#" for c in row] for row in rows.split(",")])
    for char, rows in _GLYPHS.items()
}


def text_size(text: str, scale: int) -> tuple[int, int]:
    """(width, height) in pixels of ``text`` drawn at ``scale`` pixels per font pixel."""
    return (4 * len(text) - 1) * scale, 5 * scale


def draw_text(
    image: NDArray[np.uint8],
    text: str,
    x: int,
    y: int,
    *,
    scale: int = 2,
    colour: tuple[int, int, int] = TEXT_RGB,
    box: tuple[int, int, int] | None = BOX_RGB,
) -> None:
    """Write ``text`` (upper case, digits, a few signs) with its top-left corner at (x, y)."""
    width, height = text_size(text, scale)
    pad = scale
    if box is not None:
        _fill_rect(image, (x - pad, y - pad, width + 2 * pad, height + 2 * pad), box)
    for i, char in enumerate(text.upper()):
        glyph = _FONT.get(char, _FONT["?"])
        mask = np.kron(glyph, np.ones((scale, scale), dtype=bool))
        _paint(image, mask, x + 4 * scale * i, y, colour)


def _fill_rect(
    image: NDArray[np.uint8], box: tuple[int, int, int, int], colour: tuple[int, int, int]
) -> None:
    x, y, w, h = box
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(image.shape[1], x + w), min(image.shape[0], y + h)
    if x1 > x0 and y1 > y0:
        image[y0:y1, x0:x1] = colour


def _paint(
    image: NDArray[np.uint8], mask: NDArray[np.bool_], x: int, y: int, colour: tuple[int, ...]
) -> None:
    """Set the pixels of ``mask`` placed at (x, y), clipped to the image."""
    h, w = mask.shape
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(image.shape[1], x + w), min(image.shape[0], y + h)
    if x1 <= x0 or y1 <= y0:
        return
    region = image[y0:y1, x0:x1]
    region[mask[y0 - y : y1 - y, x0 - x : x1 - x]] = colour


def polygon_mask(quad: Quad, height: int, width: int) -> tuple[NDArray[np.bool_], int, int]:
    """Pixels whose centre lies inside the polygon, as (mask, x0, y0) over its bounding box."""
    x0 = int(max(0, np.floor(quad[:, 0].min())))
    y0 = int(max(0, np.floor(quad[:, 1].min())))
    x1 = int(min(width, np.ceil(quad[:, 0].max())))
    y1 = int(min(height, np.ceil(quad[:, 1].max())))
    if x1 <= x0 or y1 <= y0:
        return np.zeros((0, 0), dtype=bool), x0, y0
    px = np.arange(x0, x1) + 0.5
    py = (np.arange(y0, y1) + 0.5)[:, None]
    inside = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    for (ax, ay), (bx, by) in zip(quad, np.roll(quad, -1, axis=0), strict=True):
        if ay == by:
            continue
        crosses = (ay > py) != (by > py)
        x_at = ax + (py - ay) * (bx - ax) / (by - ay)
        inside ^= crosses & (px < x_at)
    return inside, x0, y0


def draw_line(
    image: NDArray[np.uint8],
    start: Sequence[float],
    end: Sequence[float],
    colour: tuple[int, int, int],
    thickness: int,
) -> None:
    """A straight line of ``thickness`` pixels."""
    length = float(np.hypot(end[0] - start[0], end[1] - start[1]))
    steps = max(2, int(length * 2))
    t = np.linspace(0.0, 1.0, steps)
    xs = np.rint(start[0] + t * (end[0] - start[0])).astype(int)
    ys = np.rint(start[1] + t * (end[1] - start[1])).astype(int)
    half = thickness // 2
    for dy in range(-half, thickness - half):
        for dx in range(-half, thickness - half):
            cx, cy = xs + dx, ys + dy
            keep = (cx >= 0) & (cx < image.shape[1]) & (cy >= 0) & (cy < image.shape[0])
            image[cy[keep], cx[keep]] = colour


def draw_lot(
    frame: NDArray[np.uint8], quads: Sequence[Quad], verdicts: Sequence[BayVerdict]
) -> NDArray[np.uint8]:
    """A copy of ``frame`` (RGB) with every bay drawn in its state and the lot's counts."""
    image = frame.copy()
    height, width = image.shape[:2]
    scale = max(1, height // 270)
    thickness = max(1, height // 360)
    for quad, verdict in zip(quads, verdicts, strict=True):
        colour = OCCUPIED_RGB if verdict.occupied else FREE_RGB
        mask, x0, y0 = polygon_mask(quad, height, width)
        region = image[y0 : y0 + mask.shape[0], x0 : x0 + mask.shape[1]]
        tinted = region[mask].astype(np.float32) * 0.65 + np.array(colour) * 0.35
        region[mask] = np.rint(tinted).astype(np.uint8)
        for a, b in zip(quad, np.roll(quad, -1, axis=0), strict=True):
            draw_line(image, a, b, colour, thickness)
        corner = 3 * thickness
        cx, cy = int(quad[0][0]), int(quad[0][1])
        _fill_rect(image, (cx - corner // 2, cy - corner // 2, corner, corner), colour)
        _label(image, quad, [verdict.id, f"{verdict.occupied_probability:.2f}"], scale)
    occupied = sum(v.occupied for v in verdicts)
    summary = f"occupied {occupied}  free {len(verdicts) - occupied}  total {len(verdicts)}"
    draw_text(image, summary, 2 * scale, 2 * scale, scale=scale)
    return image


def _label(image: NDArray[np.uint8], quad: Quad, lines: list[str], largest: int) -> None:
    """Lines of text centred on the bay, as large as fits its width (up to ``largest``)."""
    width = float(quad[:, 0].max() - quad[:, 0].min())
    widest = max(text_size(line, 1)[0] for line in lines)
    scale = max(1, min(largest, int(width * 0.9 / widest)))
    line_height = 7 * scale
    centre = quad.mean(axis=0)
    top = centre[1] - line_height * len(lines) / 2
    for i, line in enumerate(lines):
        w, _ = text_size(line, scale)
        draw_text(image, line, int(centre[0] - w / 2), int(top + i * line_height), scale=scale)


def mosaic(patches: NDArray[np.uint8], columns: int = 10, gap: int = 2) -> NDArray[np.uint8]:
    """The rectified patches side by side (what the model sees), ``columns`` per row."""
    count, h, w = patches.shape[:3]
    columns = max(1, min(columns, count))
    rows = max(1, -(-count // columns))
    sheet = np.full((rows * (h + gap) + gap, columns * (w + gap) + gap, 3), 40, np.uint8)
    for i, patch in enumerate(patches):
        y, x = gap + (i // columns) * (h + gap), gap + (i % columns) * (w + gap)
        sheet[y : y + h, x : x + w] = patch
    return sheet
