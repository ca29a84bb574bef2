"""A grid of parking bays, each a small box: green free, red occupied, grey unknown.

As many boxes per row as the width allows; one repaint when a bay changes, none otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import RenderableType
from rich.text import Text
from textual.widget import Widget

from ..format import shorten

CELL_WIDTH = 12
"""Columns of one bay's box, its margin included."""


@dataclass(frozen=True)
class Bay:
    """One bay: its id and whether it is occupied (None: not known yet, or flagged)."""

    id: str
    occupied: bool | None


class BayGrid(Widget):
    """Boxes of bays; :meth:`show` repaints only when the bays changed."""

    DEFAULT_CSS = """
    BayGrid { height: auto; min-height: 3; }
    """

    def __init__(self, *, empty: str = "no bays", id: str | None = None) -> None:
        super().__init__(id=id)
        self.bays: tuple[Bay, ...] = ()
        self.empty = empty

    def show(self, bays: Sequence[Bay]) -> None:
        """Show ``bays`` in order."""
        new = tuple(bays)
        if new != self.bays:
            resize = len(new) != len(self.bays)
            self.bays = new
            self.refresh(layout=resize)

    def _per_row(self, width: int) -> int:
        return max(1, width // CELL_WIDTH)

    def get_content_height(self, container, viewport, width: int) -> int:  # type: ignore[no-untyped-def]
        if not self.bays:
            return 1
        rows = -(-len(self.bays) // self._per_row(width))
        return rows * 3

    def render(self) -> RenderableType:
        if not self.bays:
            return Text(self.empty, style="dim")
        per_row = self._per_row(self.size.width)
        text = Text(no_wrap=True, overflow="crop")
        inner = CELL_WIDTH - 3
        for first in range(0, len(self.bays), per_row):
            row = self.bays[first : first + per_row]
            lines = ["", "", ""]
            styles = []
            for bay in row:
                if bay.occupied is None:
                    style, state = "dim", "?"
                elif bay.occupied:
                    style, state = "bold white on dark_red", "taken"
                else:
                    style, state = "bold black on green", "free"
                styles.append(style)
                lines[0] += shorten(bay.id, inner).center(inner)
                lines[1] += state.center(inner)
                lines[2] += ""
            for line_no in range(3):
                for index, style in enumerate(styles):
                    if line_no == 2:
                        text.append(" " * CELL_WIDTH)
                        continue
                    part = lines[line_no][index * inner : (index + 1) * inner]
                    text.append(" ")
                    text.append(part, style=style)
                    text.append("  ")
                text.append("\n")
        text.rstrip()
        return text
