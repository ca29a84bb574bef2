"""Digitallabor Edge Kit: the agent that runs on each lab's Raspberry Pi.

Drivers read sensors and publish :class:`~edge_agent.readings.Reading` objects to the
:class:`~edge_agent.hub.Hub`; the :class:`~edge_agent.store.Store` commits them to SQLite; the
uplink (when configured) syncs what is committed to the region.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    __version__: str


def __getattr__(name: str) -> Any:
    # The version is looked up on first use: importing importlib.metadata and reading the
    # distribution costs about 0.05 s, which edge-tui and `edge-agent api bridge` would pay at
    # every start without needing the version.
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        value = version("digitallabor-edge-kit")
    except PackageNotFoundError:  # running from a source tree that was never installed
        value = "0.0.0+source"
    globals()["__version__"] = value
    return value
