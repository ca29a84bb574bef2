"""A :class:`~textual.widgets.Static` that repaints only when given different content.

Screens reload their figures every few seconds; most of the time nothing changed, and on a slow
SSH link every repaint costs bytes. Comparing first makes an unchanged reload free.
"""

from __future__ import annotations

from textual.visual import VisualType
from textual.widgets import Static


class Readout(Static):
    """Text that is repainted only when it changes."""

    _shown: object = None

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        if content == self._shown:
            return
        self._shown = content
        super().update(content, layout=layout)
