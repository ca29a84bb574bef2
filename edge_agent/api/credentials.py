"""Who is on the other end of the socket, and whether they may use the API.

The kernel tells a Unix socket server the process id, user id and group id of the peer
(``SO_PEERCRED``), so no token or password is needed: the API admits root, the agent's own
user, and members of the API group (``edge-agent`` by default). Everyone else gets
``403 Forbidden`` with a message that says how to get access.

Group membership is read from the peer process's own supplementary groups
(``/proc/<pid>/status``), which is what the kernel checks for files too: a user added to the
group must log in again before it counts. Where ``/proc`` hides other users' processes
(``hidepid``), the group database is used instead.
"""

from __future__ import annotations

import grp
import os
import pwd
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

_UCRED: Final = struct.Struct("3i")


@dataclass(frozen=True, slots=True)
class PeerCredentials:
    """The process on the other end of a Unix socket connection."""

    pid: int
    uid: int
    gid: int

    def user_name(self) -> str:
        """The peer's user name, or ``uid N`` when the user database does not know it."""
        try:
            return pwd.getpwuid(self.uid).pw_name
        except KeyError:
            return f"uid {self.uid}"


def peer_credentials(sock: socket.socket) -> PeerCredentials:
    """The credentials the kernel recorded for the peer of a connected Unix socket."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    pid, uid, gid = _UCRED.unpack(raw)
    return PeerCredentials(pid=pid, uid=uid, gid=gid)


def process_groups(peer: PeerCredentials, proc: Path = Path("/proc")) -> set[int]:
    """The peer's primary and supplementary group ids.

    From ``/proc/<pid>/status`` where readable, else from the group database.
    """
    groups = {peer.gid}
    try:
        for line in (proc / str(peer.pid) / "status").read_text().splitlines():
            if line.startswith("Groups:"):
                groups.update(int(g) for g in line.split()[1:])
                return groups
    except (OSError, ValueError):
        pass
    try:
        name = pwd.getpwuid(peer.uid).pw_name
        groups.update(os.getgrouplist(name, peer.gid))
    except (KeyError, OSError):
        pass
    return groups


PeerCheck = Callable[[PeerCredentials], str | None]
"""Decides on a peer: None admits it, a text refuses it and says why and how to fix it."""


class PeerPolicy:
    """Admit fixed user ids and the members of one group.

    Args:
        allowed_uids: user ids always admitted (root and the agent's own user).
        group: the API group's name (for messages), None for no group.
        group_gid: its id, None when the group does not exist here.
        groups_of: how to find a peer's groups (injectable for tests).
    """

    def __init__(
        self,
        allowed_uids: frozenset[int],
        *,
        group: str | None = None,
        group_gid: int | None = None,
        groups_of: Callable[[PeerCredentials], set[int]] = process_groups,
    ) -> None:
        self.allowed_uids = allowed_uids
        self.group = group
        self.group_gid = group_gid
        self._groups_of = groups_of

    @classmethod
    def for_agent(cls, group: str | None) -> PeerPolicy:
        """root, this process's user, and the members of ``group`` (if it exists)."""
        gid = None
        if group:
            try:
                gid = grp.getgrnam(group).gr_gid
            except KeyError:
                gid = None
        return cls(frozenset({0, os.getuid()}), group=group, group_gid=gid)

    def __call__(self, peer: PeerCredentials) -> str | None:
        """None if ``peer`` may use the API, else the reason and the fix."""
        if peer.uid in self.allowed_uids:
            return None
        if self.group_gid is not None and self.group_gid in self._groups_of(peer):
            return None
        who = f"user {peer.user_name()!r} (uid {peer.uid})"
        if self.group and self.group_gid is not None:
            return (
                f"{who} may not use the edge-agent API; add it to the group {self.group!r} "
                f"(sudo usermod -aG {self.group} {peer.user_name()}) and log in again"
            )
        if self.group:
            return (
                f"{who} may not use the edge-agent API, and the group {self.group!r} does not "
                f"exist on this device; create it (sudo groupadd --system {self.group}), add the "
                "user, and restart the agent; or use the API as root"
            )
        return f"{who} may not use the edge-agent API; use it as root or as the agent's user"
