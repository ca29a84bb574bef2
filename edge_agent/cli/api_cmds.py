"""``edge-agent api get|post|bridge``: the control API from the shell and through SSH."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..api.bridge import run_bridge
from ..api.client import ApiClient, ApiError, SyncApiClient
from ..api.paths import find_socket


def add_client_options(parser: argparse.ArgumentParser) -> None:
    """``--socket`` for the local agent, or ``--ssh`` for a remote one."""
    parser.add_argument(
        "--socket",
        type=Path,
        metavar="PATH",
        help="the agent's API socket (default: $EDGE_AGENT_SOCKET, /run/edge-agent/api.sock)",
    )
    parser.add_argument(
        "--ssh",
        metavar="[USER@]HOST",
        help="reach a remote agent through SSH (runs 'edge-agent api bridge' there)",
    )
    parser.add_argument(
        "--ssh-option",
        action="append",
        default=[],
        metavar="OPT",
        help="an option for ssh, e.g. --ssh-option=-p2222 (repeatable)",
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, metavar="SECONDS", help="per request (default 10)"
    )


def client_from(args: argparse.Namespace) -> ApiClient:
    """The client the options ask for."""
    if args.ssh:
        return ApiClient.ssh(
            args.ssh,
            ssh_options=args.ssh_option,
            socket=str(args.socket) if args.socket else None,
            timeout=max(args.timeout, 20.0),
        )
    return ApiClient.unix(args.socket, timeout=args.timeout)


def register(commands: Any) -> None:
    """Add ``api`` and its subcommands."""
    api = commands.add_parser(
        "api",
        help="talk to the running agent's control API (JSON), locally or through SSH",
        description=(
            "The agent's control API is HTTP+JSON on a Unix socket (no network port). "
            "'GET /v1' lists the endpoints; edge_agent/api/README.md explains them."
        ),
    )
    sub = api.add_subparsers(dest="api_command", metavar="SUBCOMMAND", required=True)

    get = sub.add_parser(
        "get",
        help="GET an endpoint and print its JSON",
        description=(
            "GET PATH (with its query, e.g. '/v1/streams/air/humidity/history?since=2h') and "
            "print the answer. /v1/live prints one JSON line per message until Ctrl-C."
        ),
    )
    get.add_argument("path", metavar="PATH")
    add_client_options(get)
    get.add_argument("--compact", action="store_true", help="one line instead of indented JSON")
    get.set_defaults(handler=cmd_get)

    post = sub.add_parser(
        "post",
        help="POST to an endpoint (start an experiment, validate or apply a config)",
        description=(
            "POST PATH with an optional body from FILE ('-' for stdin), e.g. "
            "'edge-agent api post /v1/config/validate --data agent.toml'."
        ),
    )
    post.add_argument("path", metavar="PATH")
    post.add_argument("--data", metavar="FILE", help="request body from FILE, '-' for stdin")
    add_client_options(post)
    post.add_argument("--compact", action="store_true", help="one line instead of indented JSON")
    post.set_defaults(handler=cmd_post)

    bridge = sub.add_parser(
        "bridge",
        help="connect stdin/stdout to the API socket (what 'edge-tui --ssh' runs remotely)",
        description=(
            "Pump bytes between stdin/stdout and the agent's API socket until the agent closes "
            "the connection. Run through SSH: ssh pi@lab-pi edge-agent api bridge."
        ),
    )
    bridge.add_argument("--socket", type=Path, metavar="PATH", help="default: as for 'api get'")
    bridge.set_defaults(handler=cmd_bridge)


def _print(data: Any, compact: bool) -> None:
    print(json.dumps(data, indent=None if compact else 2, ensure_ascii=False))


def _failed(exc: ApiError) -> int:
    """Say what the agent answered, with a config's problems one per line; exit 1."""
    where = f"HTTP {exc.status}: " if exc.status else ""
    print(f"edge-agent: {where}{exc.error}", file=sys.stderr)
    for problem in exc.body.get("problems", []):
        print(f"  {problem}", file=sys.stderr)
    if exc.fix:
        print(f"fix: {exc.fix}", file=sys.stderr)
    return 1


def cmd_get(args: argparse.Namespace) -> int:
    """GET and print; the live stream line by line."""
    with SyncApiClient(client_from(args)) as api:
        try:
            if args.path.split("?", 1)[0].rstrip("/") == "/v1/live":
                for message in api.iterate(api.client.live_target(args.path)):
                    print(json.dumps(message, ensure_ascii=False), flush=True)
                return 0
            _print(api.get(args.path), args.compact)
        except ApiError as exc:
            return _failed(exc)
    return 0


def cmd_post(args: argparse.Namespace) -> int:
    """POST and print."""
    body: bytes | None = None
    if args.data == "-":
        body = sys.stdin.buffer.read()
    elif args.data:
        body = Path(args.data).read_bytes()
    with SyncApiClient(client_from(args)) as api:
        try:
            _print(api.post(args.path, body), args.compact)
        except ApiError as exc:
            return _failed(exc)
    return 0


def cmd_bridge(args: argparse.Namespace) -> int:
    """Bridge stdio to the socket."""
    return run_bridge(find_socket(args.socket))
