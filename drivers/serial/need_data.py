"""The sentinel that every stream parser returns when it needs more bytes.

Like h11's ``NEED_DATA``: call ``next_event()`` until it returns :data:`NEED_DATA`, then
``feed()`` more bytes. It is a one-member enum so that ``event is NEED_DATA`` narrows the type
for mypy.
"""

from __future__ import annotations

import enum
from typing import Final


class NeedData(enum.Enum):
    """Type of :data:`NEED_DATA`; it has exactly one member."""

    NEED_DATA = "NEED_DATA"

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = NeedData.NEED_DATA
"""Returned by ``next_event()`` when the buffered bytes hold no complete frame."""
