"""The control API: HTTP/1.1 + JSON on a Unix socket, for the TUI, the CLI and scripts.

::

    edge-tui / edge-agent api ──HTTP──▶ /run/edge-agent/api.sock ──▶ ApiService (agent's loop)
    remote:  ssh pi edge-agent api bridge  (stdin/stdout <-> the socket)

=================  ===========================================================================
module             what it holds
=================  ===========================================================================
``paths``          where the socket is (agent and clients)
``credentials``    SO_PEERCRED and who may connect (root, the agent's user, the API group)
``http``           HTTP/1.1 on asyncio streams with h11: requests, JSON and streamed answers
``server``         the socket: mode 0660, group, stale sockets, connection limit
``routes``         the endpoints
``live``           ``GET /v1/live``: readings, events and logs as NDJSON, per-client bounds
``logbuffer``      the agent's recent log records in memory
``configapply``    validate, back up, restart, confirm or roll back a new config
``service``        :class:`ApiService`, the API's place in the agent
``models``         the JSON shapes as typed dictionaries
``client``         :class:`ApiClient` (async) and :class:`SyncApiClient`, over a socket or SSH
``bridge``         ``edge-agent api bridge``: a byte pump between stdio and the socket
=================  ===========================================================================

``README.md`` in this folder lists the endpoints with examples.

Importing this package imports none of its modules, so ``edge-agent api bridge`` (run for
every SSH connection of a console) starts fast; the names below load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "ApiClient": "client",
    "ApiError": "client",
    "SyncApiClient": "client",
    "ApiService": "service",
}

__all__ = ["ApiClient", "ApiError", "ApiService", "SyncApiClient"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
