"""The image customiser's error: :class:`ImageError` (an ``EdgeKitError``, exit code 1).

Wrong input from the user (a bad host name, a missing key file) is a ``ConfigError`` (exit 2);
an image or tool that does not work is an :class:`ImageError`. Both name what is wrong and how
to fix it.
"""

from __future__ import annotations

from ..errors import EdgeKitError


class ImageError(EdgeKitError, RuntimeError):
    """The disk image cannot be read or written, or a tool it needs is missing or failed."""
