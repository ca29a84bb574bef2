"""Digitallabor Edge Kit: the agent that runs on each lab's Raspberry Pi.

Drivers read sensors and publish :class:`~edge_agent.readings.Reading` objects to the
:class:`~edge_agent.hub.Hub`; the :class:`~edge_agent.store.Store` commits them to SQLite; the
uplink (when configured) syncs what is committed to the region.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("digitallabor-edge-kit")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
