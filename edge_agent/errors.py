"""Exceptions of the kit: one root, and subclasses that also inherit the matching built-in.

::

    EdgeKitError
    ├── ConfigError(EdgeKitError, ValueError)      a config file or value is invalid
    │   └── ModelCardError                         a model card is missing or wrong (inference)
    ├── DriverError(EdgeKitError, RuntimeError)    a driver cannot start or lost its device
    ├── ExperimentError(EdgeKitError, RuntimeError) an experiment failed or hung in a hook
    ├── ParseError(EdgeKitError, ValueError)       bytes from a sensor do not decode
    ├── StoreError(EdgeKitError, RuntimeError)     the local database cannot be used
    │   ├── StoreCorruptError(StoreError)          the database file failed its integrity check
    │   └── StoreFullError(StoreError)             the disk is full
    ├── UplinkError(EdgeKitError, ConnectionError) the broker refused or cannot be reached
    ├── ApiError(EdgeKitError, RuntimeError)       the control API answered with an error
    ├── ApiSocketError(EdgeKitError, OSError)      the API socket cannot be bound
    ├── ModelError(EdgeKitError, RuntimeError)     a model cannot be loaded or run
    ├── ModelInputError(EdgeKitError, ValueError)  an input does not fit the model
    ├── ImageError(EdgeKitError, RuntimeError)     an SD image cannot be customised
    └── DeployError(EdgeKitError, RuntimeError)    the service files cannot be installed

The ones not defined here live beside the code that raises them (``edge_agent.uplink``,
``edge_agent.api``, ``edge_agent.inference``, ``edge_agent.image``, ``edge_agent.deploy``).
Every message names the offending value and says how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class EdgeKitError(Exception):
    """Root of every error the kit raises on purpose."""


class ConfigError(EdgeKitError, ValueError):
    """A config file or value is invalid; the message names the file, key path and choices."""


class DriverError(EdgeKitError, RuntimeError):
    """A driver cannot start, or lost its device."""


class ExperimentError(EdgeKitError, RuntimeError):
    """An experiment raised or hung in one of its hooks; the supervisor restarts it."""


class ParseError(EdgeKitError, ValueError):
    """Bytes from a sensor do not decode; parsers raise only this."""


class StoreError(EdgeKitError, RuntimeError):
    """The local database cannot be opened or written."""


class StoreCorruptError(StoreError):
    """The database file failed SQLite's integrity check."""


class StoreFullError(StoreError):
    """The file system of the data directory is full; nothing of the batch was stored."""


def unknown_choice(kind: str, value: str, choices: Iterable[str]) -> str:
    """The message for a name that is not among ``choices``, with the nearest one suggested.

    ``unknown driver 'ds18b2O'; known drivers: onewire.ds18b20, ...; did you mean ...?``
    """
    names = sorted(choices)
    plural = kind[:-1] + "ies" if kind.endswith("y") else kind + "s"
    text = f"unknown {kind} {value!r}; known {plural}: {', '.join(names) or '(none)'}"
    close = difflib.get_close_matches(value, names, n=1, cutoff=0.6)
    if close:
        text += f"; did you mean {close[0]!r}?"
    return text
