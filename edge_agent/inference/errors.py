"""Errors of the inference layer, under the kit's one root (see :mod:`edge_agent.errors`).

::

    EdgeKitError
    ├── ConfigError
    │   └── ModelCardError(ConfigError)            a model card is invalid or contradicts its model
    ├── ModelError(EdgeKitError, RuntimeError)     a model cannot be loaded or run
    └── ModelInputError(EdgeKitError, ValueError)  the pixels handed to a model do not fit it
"""

from __future__ import annotations

from ..errors import ConfigError, EdgeKitError


class ModelCardError(ConfigError):
    """A model card is invalid, or says something the model file contradicts."""


class ModelError(EdgeKitError, RuntimeError):
    """A model file is missing or unreadable, or no TensorFlow Lite runtime is installed."""


class ModelInputError(EdgeKitError, ValueError):
    """Pixels of the wrong shape or type were handed to a model."""
