"""``edge-agent inventory``: the lab's agents, found by mDNS, as an Ansible inventory.

Prints Ansible's JSON inventory format (what an inventory script answers to ``--list``), so a
technician in a lab can run the playbooks of ``ansible/`` against the Pis that are on the
network right now::

    ansible-playbook -i ansible/inventory/edge-agent-mdns playbooks/site.yml

Each agent becomes a host named after its device id (the TXT record's ``id``), reached at its
first IPv4 address on the announced port (SSH). Hosts are grouped as in the example inventory:
``edge_agents`` > city > lab, with group names made from the TXT record's ``city`` and ``lab``
(``Bühl`` -> ``buehl``, ``digitallabor-buehl`` -> ``digitallabor_buehl``), so the example's
group_vars apply. ``edge_agent_city`` and ``edge_agent_lab`` are set from the record;
``edge_agent_discovered`` holds what else it says (version, health, backlog). Nothing secret is
announced, so nothing secret is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import logging
import re
import unicodedata
from collections.abc import Iterable
from typing import Any, Final

from ..api.models import Peer
from ..config import DiscoveryConfig
from ..discovery import browse

EDGE_AGENTS: Final = "edge_agents"
"""The group of every agent (the edge_agent role's group in ``ansible/``)."""

_GERMAN: Final = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def group_name(text: str) -> str:
    """An Ansible group name for a city or lab: ASCII letters, digits and ``_``.

    German umlauts become two letters (``Bühl`` -> ``buehl``), other accents lose their marks,
    everything else between letters becomes ``_``; a leading digit gets a ``_`` in front.
    """
    folded = text.strip().lower().translate(_GERMAN)
    ascii_text = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9]+", "_", ascii_text).strip("_")
    return f"_{name}" if name[:1].isdigit() else name


def _address(peer: Peer) -> str | None:
    """The first IPv4 address of ``peer`` (SSH over link-local IPv6 needs a zone), else any
    address, else its mDNS host name."""
    addresses = peer["addresses"]
    for text in addresses:
        try:
            if ipaddress.ip_address(text).version == 4:
                return text
        except ValueError:
            continue
    return addresses[0] if addresses else peer["host"]


def ansible_inventory(peers: Iterable[Peer]) -> dict[str, Any]:
    """Ansible's JSON inventory (``--list``) for the agents among ``peers``.

    Brokers are left out; an agent seen twice (two interfaces) is listed once, with the
    addresses of both.
    """
    hostvars: dict[str, dict[str, Any]] = {}
    children: dict[str, set[str]] = {EDGE_AGENTS: set()}
    hosts: dict[str, set[str]] = {EDGE_AGENTS: set()}
    for peer in peers:
        if peer["kind"] != "agent":
            continue
        txt = peer["txt"]
        device = txt.get("id") or peer["name"]
        if device in hostvars:
            seen = hostvars[device]["edge_agent_discovered"]["addresses"]
            seen.extend(a for a in peer["addresses"] if a not in seen)
            continue
        address = _address(peer)
        if address is None:
            continue
        city, lab = txt.get("city", ""), txt.get("lab", "")
        variables: dict[str, Any] = {
            "ansible_host": address,
            "edge_agent_device_id": device,
            "edge_agent_discovered": {
                "host": peer["host"],
                "addresses": list(peer["addresses"]),
                **{k: v for k, v in txt.items() if k in ("version", "health", "backlog")},
            },
        }
        if peer["port"] is not None:
            variables["ansible_port"] = peer["port"]
        if city:
            variables["edge_agent_city"] = city
        if lab:
            variables["edge_agent_lab"] = lab
        hostvars[device] = variables

        parent = EDGE_AGENTS
        for place in (city, lab):
            group = group_name(place)
            if not group or group in (parent, EDGE_AGENTS):
                continue
            children.setdefault(parent, set()).add(group)
            children.setdefault(group, set())
            hosts.setdefault(group, set())
            parent = group
        hosts.setdefault(parent, set()).add(device)

    inventory: dict[str, Any] = {
        "_meta": {"hostvars": dict(sorted(hostvars.items()))},
        "all": {"children": [EDGE_AGENTS, "ungrouped"]},
        "ungrouped": {"hosts": []},
    }
    for group in sorted(set(children) | set(hosts)):
        inventory[group] = {
            "hosts": sorted(hosts.get(group, ())),
            "children": sorted(children.get(group, ())),
        }
    return inventory


def host_vars(inventory: dict[str, Any], host: str) -> dict[str, Any]:
    """The variables of ``host`` (``--host``); ``{}`` for a host not seen."""
    found: dict[str, Any] = inventory["_meta"]["hostvars"].get(host, {})
    return found


def register(commands: Any) -> None:
    """Add ``inventory``."""
    inventory = commands.add_parser(
        "inventory",
        help="print the lab's agents found by mDNS as an Ansible inventory (JSON)",
        description=(
            "Browse the lab network for edge agents (mDNS, _edge-agent._tcp) for a few seconds "
            "and print them in Ansible's JSON inventory format, grouped by city and lab. "
            "ansible/inventory/edge-agent-mdns runs this as an inventory script."
        ),
    )
    which = inventory.add_mutually_exclusive_group()
    which.add_argument("--list", action="store_true", help="every agent (the default)")
    which.add_argument("--host", metavar="HOST", help="the variables of one agent")
    inventory.add_argument(
        "--seconds", type=float, default=3.0, metavar="S", help="how long to browse (default 3)"
    )
    inventory.add_argument(
        "--interface",
        action="append",
        default=None,
        metavar="NAME",
        help="interface name or IPv4 address to browse on (repeatable; default: all)",
    )
    inventory.set_defaults(handler=cmd_inventory)


def cmd_inventory(args: argparse.Namespace) -> int:
    """Browse, then print the inventory (or one host's variables) as JSON."""
    logger = logging.getLogger("edge_agent.inventory")
    config = DiscoveryConfig(interfaces=args.interface or [])
    reply = asyncio.run(browse(config, args.seconds, logger=logger))
    inventory = ansible_inventory(reply["peers"])
    result = host_vars(inventory, args.host) if args.host else inventory
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0
