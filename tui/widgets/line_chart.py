"""A small line chart in text: a few series over time, one character per column and series, with
a dotted reference line (0 °C on the road-icing screen) and the value range on the left.

Drawn from the data alone (no clock), so the same data gives the same picture; it repaints only
when :meth:`LineChart.plot` is given different data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo

from rich.console import RenderableType
from rich.text import Text
from textual.widget import Widget

from ..format import clock_text

LABEL_WIDTH = 7
"""Columns of the value labels on the left (``-12.5 ┤``)."""


@dataclass(frozen=True)
class Series:
    """One line: its name (for the legend), mark, style, and ``(time, value)`` points."""

    name: str
    mark: str
    style: str
    points: tuple[tuple[float, float], ...]


def _columns(
    points: Sequence[tuple[float, float]], start: float, span: float, width: int
) -> list[float | None]:
    """The mean value of the points falling in each of ``width`` time columns (None: none)."""
    sums = [0.0] * width
    counts = [0] * width
    for when, value in points:
        column = min(width - 1, max(0, int((when - start) / span * width))) if span > 0 else 0
        sums[column] += value
        counts[column] += 1
    return [s / c if c else None for s, c in zip(sums, counts, strict=True)]


class LineChart(Widget):
    """Series over a shared time axis, with a reference line and a legend."""

    DEFAULT_CSS = """
    LineChart { height: 1fr; min-height: 6; }
    """

    def __init__(
        self,
        *,
        reference: float | None = None,
        reference_label: str = "",
        empty: str = "no data yet",
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.reference = reference
        self.reference_label = reference_label
        self.empty = empty
        self.series: tuple[Series, ...] = ()
        self.tz: tzinfo | None = None

    def plot(self, series: Sequence[Series]) -> None:
        """Draw ``series`` (repaints only when they differ from what is drawn)."""
        new = tuple(series)
        if new != self.series:
            self.series = new
            self.refresh()

    def render(self) -> RenderableType:
        width, height = self.size.width, self.size.height
        points = [p for s in self.series for p in s.points if math.isfinite(p[1])]
        if not points or width <= LABEL_WIDTH + 4 or height < 4:
            return Text(self.empty, style="dim")
        plot_w, plot_h = width - LABEL_WIDTH, height - 2
        times = [t for t, _ in points]
        values = [v for _, v in points]
        if self.reference is not None:
            values.append(self.reference)
        start, end = min(times), max(times)
        low, high = min(values), max(values)
        if high - low < 1.0:  # keep a flat line from filling the chart with noise
            middle = (high + low) / 2
            low, high = middle - 0.5, middle + 0.5
        cells: list[list[tuple[str, str]]] = [[(" ", "")] * plot_w for _ in range(plot_h)]

        def row_of(value: float) -> int:
            return round((high - value) / (high - low) * (plot_h - 1))

        if self.reference is not None:
            ref_row = row_of(self.reference)
            cells[ref_row] = [("┄", "dim")] * plot_w
        for series in self.series:
            for column, value in enumerate(_columns(series.points, start, end - start, plot_w)):
                if value is None:
                    continue
                row = row_of(value)
                mark, _ = cells[row][column]
                cells[row][column] = (
                    ("◆", "bold")
                    if mark in "•×◆" and mark != " "
                    else (
                        series.mark,
                        series.style,
                    )
                )
        text = Text(no_wrap=True, overflow="crop")
        for index, cell_row in enumerate(cells):
            value = high - index * (high - low) / max(1, plot_h - 1)
            label = f"{value:6.1f}┤" if index in (0, plot_h - 1, plot_h // 2) else "      │"
            text.append(label, style="dim")
            for mark, style in cell_row:
                text.append(mark, style=style)
            text.append("\n")
        left, right = clock_text(start, self.tz), clock_text(end, self.tz)
        axis = " " * LABEL_WIDTH + left + right.rjust(max(0, plot_w - len(left)))
        text.append(axis + "\n", style="dim")
        for series in self.series:
            text.append(" " * LABEL_WIDTH if series is self.series[0] else "   ")
            text.append(series.mark, style=series.style)
            text.append(f" {series.name}")
        if self.reference is not None and self.reference_label:
            text.append("   ┄ ", style="dim")
            text.append(self.reference_label)
        return text
