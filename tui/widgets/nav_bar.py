"""The row of screens at the top: each with its key, the current one highlighted, each
clickable (the mouse works as well as the keys)."""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content
from textual.widgets import Static


def nav_content(entries: Sequence[tuple[str, str, str]], current: str) -> Content:
    """The bar's content: ``key label`` items, clickable, the current one reversed."""
    items = []
    for key, mode, label in entries:
        style = "reverse b" if mode == current else "$text-muted"
        items.append(f"[@click=app.show({mode!r})][{style}] [b]{key}[/b] {label} [/][/]")
    return Content.from_markup("".join(items))


class NavBar(Static):
    """``1 Fleet  2 Device  3 Experiments ...`` with the current screen marked.

    Args:
        entries: ``(key, mode, label)`` of every screen, in order.
        current: the mode of the screen this bar sits on.
    """

    def __init__(self, entries: Sequence[tuple[str, str, str]], current: str) -> None:
        super().__init__(nav_content(entries, current))
