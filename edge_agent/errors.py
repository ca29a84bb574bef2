"""Exceptions of the kit: one root, and subclasses that also inherit the matching built-in.

::

    EdgeKitError
    ├── ConfigError(EdgeKitError, ValueError)      a config file or value is invalid
    ├── DriverError(EdgeKitError, RuntimeError)    a driver cannot start or lost its device
    ├── ParseError(EdgeKitError, ValueError)       bytes from a sensor do not decode
    └── StoreError(EdgeKitError, RuntimeError)     the local database cannot be used
        └── StoreCorruptError(StoreError)          the database file failed its integrity check

Every message names the offending value and says how to fix it.
"""

from __future__ import annotations


class EdgeKitError(Exception):
    """Root of every error the kit raises on purpose."""


class ConfigError(EdgeKitError, ValueError):
    """A config file or value is invalid; the message names the file, key path and choices."""


class DriverError(EdgeKitError, RuntimeError):
    """A driver cannot start, or lost its device."""


class ParseError(EdgeKitError, ValueError):
    """Bytes from a sensor do not decode; parsers raise only this."""


class StoreError(EdgeKitError, RuntimeError):
    """The local database cannot be opened or written."""


class StoreCorruptError(StoreError):
    """The database file failed SQLite's integrity check."""
