"""The API socket: reachable by its group, refused to everyone else by its mode.

The agent makes the socket ``0660`` and gives it to ``[api] group`` where that group exists
(see :mod:`edge_agent.api.server`); the kernel then refuses other users before the API's own
check of the peer's credentials.
"""

from __future__ import annotations

import grp
import stat

from ..api.paths import SYSTEM_SOCKET
from .device import Device
from .result import CheckResult, fail, ok, warn


def check_api_socket(device: Device) -> CheckResult:
    """Mode and group of the API socket."""
    name = "api-socket"
    config = device.config
    if config is not None and not config.api.enabled:
        return ok(name, "the API is turned off ([api] enabled = false)")
    path = (config.api.socket if config is not None else None) or SYSTEM_SOCKET
    group = config.api.group if config is not None else "edge-agent"
    try:
        st = path.lstat()
    except FileNotFoundError:
        return warn(
            name,
            f"no socket at {path}: the agent is not running, or binds elsewhere",
            "start the agent (systemctl start edge-agent), or set [api] socket",
        )
    if not stat.S_ISSOCK(st.st_mode):
        return fail(name, f"{path} is not a socket", "remove it and restart the agent")
    mode = stat.S_IMODE(st.st_mode)
    try:
        owner_group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        owner_group = str(st.st_gid)
    details = {"path": str(path), "mode": f"{mode:04o}", "group": owner_group}
    if mode & stat.S_IRWXO:
        return fail(
            name,
            f"{path} is open to every user (mode {mode:04o})",
            f"chmod o-rwx {path}; the agent sets 0660 when it binds: upgrade it if it does not",
            **details,
        )
    if owner_group != group:
        return warn(
            name,
            f"{path} belongs to group {owner_group!r}, not {group!r}: technicians in "
            f"{group!r} cannot use it",
            f"create the group (groupadd --system {group}) and restart the agent",
            **details,
        )
    return ok(name, f"{path}: mode {mode:04o}, group {group!r}", **details)
