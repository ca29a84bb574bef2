"""The line under the screen names: which agent, whether it answers, its health, and whether
this console may change anything. Repainted only when its text changes."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static


class StatusLine(Static):
    """One line of connection and health status; :meth:`show` ignores unchanged text."""

    def __init__(self) -> None:
        super().__init__("connecting …")
        self._markup = ""

    def show(self, markup: str) -> None:
        """Show ``markup`` (Textual content markup) unless it is already shown."""
        if markup == self._markup:
            return
        self._markup = markup
        self.update(Content.from_markup(markup))
        self.set_class(markup.startswith("[$error"), "-down")
