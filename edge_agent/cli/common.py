"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..config import AgentConfig, load_config, resolve_config_path
from ..errors import ConfigError


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """``--config FILE`` (else ``$EDGE_AGENT_CONFIG``, else ``/etc/edge-agent/agent.toml``)."""
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="config file (default: $EDGE_AGENT_CONFIG, else /etc/edge-agent/agent.toml)",
    )


def add_data_dir_option(parser: argparse.ArgumentParser) -> None:
    """``--data-dir DIR`` or ``--config FILE``: where the readings database is."""
    add_config_option(parser)
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="data directory holding readings.db (default: the config's store.data_dir)",
    )


def config_from(args: argparse.Namespace) -> AgentConfig:
    """Load the config named by ``--config`` (or its defaults)."""
    return load_config(resolve_config_path(args.config))


def data_dir_from(args: argparse.Namespace) -> Path:
    """``--data-dir``, else the data directory of the config, else a clear error."""
    if args.data_dir is not None:
        return Path(args.data_dir)
    path = resolve_config_path(args.config)
    if not path.exists():
        raise ConfigError(
            f"{path}: no such config file; pass --data-dir DIR (the demo prints its own) or "
            "--config FILE"
        )
    return load_config(path).store.data_dir


def demo_data_dir() -> Path:
    """Where the demo keeps its data: ``$XDG_DATA_HOME/edge-agent/demo``."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "edge-agent" / "demo"
