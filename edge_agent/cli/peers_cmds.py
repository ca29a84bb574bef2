"""``edge-agent peers``: the lab's other agents and MQTT brokers, as mDNS shows them."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
from typing import Any

from ..api.client import SyncApiClient
from ..api.models import Peer, PeersReply
from ..config import DiscoveryConfig, load_config, resolve_config_path
from ..discovery import browse
from .api_cmds import add_client_options, client_from


def register(commands: Any) -> None:
    """Add ``peers``."""
    peers = commands.add_parser(
        "peers",
        help="list the agents and MQTT brokers on the lab network (mDNS)",
        description=(
            "Ask the running agent what its mDNS discovery sees, or (--browse) look around "
            "for a few seconds from here, without announcing anything."
        ),
    )
    add_client_options(peers)
    peers.add_argument("--browse", action="store_true", help="browse from this command itself")
    peers.add_argument(
        "--seconds", type=float, default=3.0, metavar="S", help="how long to browse (default 3)"
    )
    peers.add_argument(
        "--interface",
        action="append",
        default=None,
        metavar="NAME",
        help="with --browse: interface name or IPv4 address (repeatable; default: the "
        "config's [discovery] interfaces, else all)",
    )
    peers.add_argument("--config", metavar="FILE", help="config whose [discovery] to use")
    peers.add_argument("--json", action="store_true", help="print JSON")
    peers.set_defaults(handler=cmd_peers)


def _browse_config(args: argparse.Namespace) -> DiscoveryConfig:
    if args.interface:
        return DiscoveryConfig(interfaces=args.interface)
    path = resolve_config_path(args.config)
    if args.config or path.exists():
        return load_config(path).discovery
    return DiscoveryConfig()


def _line(peer: Peer) -> str:
    txt = peer["txt"]
    where = ", ".join(peer["addresses"]) or "-"
    if peer["kind"] == "broker":
        return f"broker  {peer['name']:<24} {peer['host'] or '-'}:{peer['port']}  {where}"
    place = "/".join(x for x in (txt.get("city", ""), txt.get("lab", "")) if x) or "-"
    health = txt.get("health", "?")
    backlog = f", backlog {txt['backlog']}" if "backlog" in txt else ""
    return (
        f"agent   {txt.get('id', peer['name']):<24} {peer['host'] or '-'}  {where}  {place}  "
        f"v{txt.get('version', '?')}  {health}{backlog}"
    )


def render(reply: PeersReply) -> list[str]:
    """The text lines of ``edge-agent peers``."""
    if not reply["enabled"]:
        return [
            "discovery is off on this agent; enable it with [discovery] enabled = true, or "
            "look around from here with: edge-agent peers --browse"
        ]
    lines = []
    if reply["announced_as"]:
        lines.append(f"this device is announced as {reply['announced_as']!r}")
    found = reply["peers"] + reply["brokers"]
    lines += [_line(p) for p in found] or ["no other agents or brokers seen (yet)"]
    return lines


def cmd_peers(args: argparse.Namespace) -> int:
    """List peers from the agent, or browse."""
    if args.browse:
        config = _browse_config(args)
        reply = asyncio.run(browse(config, args.seconds, logger=logging.getLogger("edge_agent")))
    else:
        with SyncApiClient(client_from(args)) as api:
            reply = api.peers()
    if args.json:
        print(json.dumps(reply, indent=2))
        return 0
    now = time.time()
    for line in render(reply):
        print(line)
    stale = [p for p in reply["peers"] if now - p["seen"] > 600]
    if stale:
        print(f"({len(stale)} seen more than 10 minutes ago)")
    return 0
