"""Discovery of the lab's devices over mDNS/DNS-SD (python-zeroconf).

=============  ===============================================================================
module         what it holds
=============  ===============================================================================
``txt``        the announced TXT record (identity, version, health, backlog; no secrets)
``interfaces`` interface names and addresses to IPv4 addresses
``service``    :class:`Discovery`: announce ``_edge-agent._tcp``, browse agents and
               ``_mqtt._tcp`` brokers; :func:`browse` for ``edge-agent peers --browse``
=============  ===============================================================================

The TXT fields and the settings are described in ``edge_agent/api/README.md``.
"""

from .service import BROKER_TYPE, SERVICE_TYPE, Discovery, browse, discovery_enabled
from .txt import build_txt, parse_txt

__all__ = [
    "BROKER_TYPE",
    "SERVICE_TYPE",
    "Discovery",
    "browse",
    "build_txt",
    "discovery_enabled",
    "parse_txt",
]
