"""Install the agent's system files into a root file system: ``/`` on a Pi, or a directory.

The steps, each safe to repeat (a second run changes nothing):

1. place the unit, sysusers, tmpfiles, udev and journald files (:data:`DEPLOY_FILES`);
2. create the ``edge-agent`` user and group (``systemd-sysusers``);
3. write the ``groups.conf`` drop-in: ``SupplementaryGroups=`` with those of gpio, bluetooth,
   dialout and video that exist in the root's ``/etc/group``. A unit that names a missing group
   does not start (status 216/GROUP), and which groups exist depends on the platform: Raspberry
   Pi OS has all four; plain Debian has dialout and video, bluetooth only with bluez;
4. create ``/etc/edge-agent`` and ``/etc/edge-agent/credentials`` (``systemd-tmpfiles``) and
   give what is in them the agent's ownership: ``agent.toml`` edge-agent:edge-agent 0640 (the
   API's config apply rewrites it), credentials root:edge-agent 0640;
5. add the technicians' accounts (``admin_users``) to group ``edge-agent``: they read the
   config and data and use the API socket without sudo;
6. link ``/usr/local/bin/edge-agent`` to ``/opt/edge-agent/current/bin/edge-agent``;
7. enable ``edge-agent.service`` (``systemctl enable`` works offline, in a chroot too).

For a directory other than ``/`` the systemd tools get ``--root``, so an image build or a test
installs into a tree without touching the machine it runs on.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Final

from ..errors import EdgeKitError

USER: Final = "edge-agent"
SERVICE: Final = "edge-agent.service"
VENV_LINK: Final = PurePosixPath("/opt/edge-agent/current")
"""The unit runs ``/opt/edge-agent/current/bin/edge-agent``: installers point this link at a
versioned virtual environment (``/opt/edge-agent/versions/<version>``), so an upgrade or a
rollback is one link change."""
CONFIG_DIR: Final = PurePosixPath("/etc/edge-agent")
COMMAND_LINK: Final = PurePosixPath("/usr/local/bin/edge-agent")
GROUPS_DROPIN: Final = PurePosixPath("/etc/systemd/system/edge-agent.service.d/groups.conf")
SUPPLEMENTARY_GROUPS: Final = ("gpio", "bluetooth", "dialout", "video")
"""What the sensor families need: /dev/gpiochip* (gpio), BlueZ over D-Bus (bluetooth), serial
ports (dialout), cameras and the firmware mailbox for vcgencmd (video)."""


class DeployError(EdgeKitError, RuntimeError):
    """A step of the installation failed; the message names the step and the fix."""


@dataclass(frozen=True)
class DeployFile:
    """One file shipped in this package and where it goes on the target system."""

    source: str
    target: PurePosixPath
    mode: int = 0o644

    def data(self) -> bytes:
        """The file's bytes, from the installed package."""
        return (
            resources.files(__package__ or "edge_agent.deploy").joinpath(self.source).read_bytes()
        )


DEPLOY_FILES: Final = (
    DeployFile("edge-agent.service", PurePosixPath("/etc/systemd/system/edge-agent.service")),
    DeployFile("sysusers.conf", PurePosixPath("/etc/sysusers.d/edge-agent.conf")),
    DeployFile("tmpfiles.conf", PurePosixPath("/etc/tmpfiles.d/edge-agent.conf")),
    DeployFile(
        "70-edge-agent-serial.rules", PurePosixPath("/etc/udev/rules.d/70-edge-agent-serial.rules")
    ),
    DeployFile("journald.conf", PurePosixPath("/etc/systemd/journald.conf.d/50-edge-agent.conf")),
)

Runner = Callable[[Sequence[str]], None]


def run_command(argv: Sequence[str]) -> None:
    """Run a system tool; a failure becomes a :class:`DeployError` with its output."""
    try:
        result = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise DeployError(
            f"{argv[0]} is not installed; the agent's service needs systemd (apt install systemd)"
        ) from exc
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip()
        raise DeployError(f"{' '.join(argv)} failed (exit {result.returncode}): {output}")


def inside(root: Path, path: PurePosixPath) -> Path:
    """``path`` of the target system as a path under ``root``."""
    return root / path.relative_to("/")


def read_groups(root: Path) -> dict[str, tuple[int, list[str]]]:
    """The root's ``/etc/group``: name -> (gid, members)."""
    groups: dict[str, tuple[int, list[str]]] = {}
    try:
        text = inside(root, PurePosixPath("/etc/group")).read_text()
    except FileNotFoundError:
        return groups
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[2].isdigit():
            groups[fields[0]] = (int(fields[2]), [m for m in fields[3].split(",") if m])
    return groups


def user_ids(root: Path, user: str) -> tuple[int, int] | None:
    """(uid, gid) of ``user`` in the root's ``/etc/passwd``, or None."""
    try:
        text = inside(root, PurePosixPath("/etc/passwd")).read_text()
    except FileNotFoundError:
        return None
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[0] == user:
            return int(fields[2]), int(fields[3])
    return None


def groups_dropin(available: Iterable[str]) -> str:
    """The ``groups.conf`` drop-in for the groups of :data:`SUPPLEMENTARY_GROUPS` available."""
    present = [g for g in SUPPLEMENTARY_GROUPS if g in set(available)]
    missing = [g for g in SUPPLEMENTARY_GROUPS if g not in present]
    lines = [
        "# Written by `python -m edge_agent.deploy install`: the device groups that exist here.",
        f"# Missing on this system (not added, or the unit would not start): "
        f"{' '.join(missing) or 'none'}.",
        "[Service]",
    ]
    if present:
        lines.append(f"SupplementaryGroups={' '.join(present)}")
    return "\n".join(lines) + "\n"


class Installer:
    """Runs the steps of the module docstring against ``root``."""

    def __init__(
        self, root: Path, *, run: Runner = run_command, log: Callable[[str], None] = print
    ) -> None:
        self.root = root
        self.live = root.resolve() == Path("/")
        self.run = run
        self.log = log

    def _systemd(self, tool: str, *args: str) -> None:
        root = [] if self.live else [f"--root={self.root}"]
        self.run([tool, *root, *args])

    def _write(self, target: PurePosixPath, data: bytes, mode: int = 0o644) -> bool:
        path = inside(self.root, target)
        if path.exists() and path.read_bytes() == data and (path.stat().st_mode & 0o777) == mode:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.new")
        tmp.write_bytes(data)
        tmp.chmod(mode)
        tmp.replace(path)
        return True

    def place_files(self) -> None:
        """Step 1."""
        for item in DEPLOY_FILES:
            changed = self._write(item.target, item.data(), item.mode)
            self.log(f"{'installed' if changed else 'unchanged'} {item.target}")

    def create_user(self) -> None:
        """Step 2."""
        self._systemd("systemd-sysusers", "edge-agent.conf")
        if user_ids(self.root, USER) is None:
            raise DeployError(f"systemd-sysusers did not create user {USER!r} in {self.root}")
        self.log(f"user {USER} ready")

    def write_groups_dropin(self) -> list[str]:
        """Step 3; returns the groups the agent gets."""
        available = read_groups(self.root)
        text = groups_dropin(available)
        changed = self._write(GROUPS_DROPIN, text.encode())
        present: list[str] = [g for g in SUPPLEMENTARY_GROUPS if g in available]
        self.log(
            f"{'wrote' if changed else 'unchanged'} {GROUPS_DROPIN}: "
            f"SupplementaryGroups={' '.join(present) or '(none)'}"
        )
        return present

    def create_dirs(self) -> None:
        """Step 4: directories, then ownership of what the image or Ansible put there."""
        self._systemd("systemd-tmpfiles", "--create", "edge-agent.conf")
        ids = user_ids(self.root, USER)
        if ids is None:  # pragma: no cover - create_user checked it
            raise DeployError(f"user {USER!r} is missing in {self.root}")
        uid, gid = ids
        config = inside(self.root, CONFIG_DIR / "agent.toml")
        if config.exists():
            os.chown(config, uid, gid)
            config.chmod(0o640)
        credentials = inside(self.root, CONFIG_DIR / "credentials")
        for path in sorted(credentials.iterdir()) if credentials.is_dir() else []:
            if path.is_file():
                os.chown(path, 0, gid)
                path.chmod(0o640)
        self.log(f"{CONFIG_DIR} ready (agent.toml 0640 {USER}, credentials 0640 root:{USER})")

    def add_admin_users(self, users: Iterable[str]) -> None:
        """Step 5."""
        for user in users:
            if user_ids(self.root, user) is None:
                raise DeployError(
                    f"admin user {user!r} does not exist in {self.root}/etc/passwd; create it "
                    "first or leave it out"
                )
            if user in read_groups(self.root)[USER][1]:
                self.log(f"{user} already in group {USER}")
                continue
            chroot = [] if self.live else ["-R", str(self.root)]
            self.run(["usermod", *chroot, "-a", "-G", USER, user])
            self.log(f"added {user} to group {USER}")

    def link_command(self) -> None:
        """Step 6."""
        link = inside(self.root, COMMAND_LINK)
        target = str(VENV_LINK / "bin" / "edge-agent")
        if link.is_symlink() and os.readlink(link) == target:
            return
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)
        self.log(f"linked {COMMAND_LINK} -> {target}")

    def enable(self) -> None:
        """Step 7."""
        self._systemd("systemctl", "enable", SERVICE)
        self.log(f"enabled {SERVICE}")

    def install(self, *, admin_users: Iterable[str] = (), enable: bool = True) -> None:
        """All steps, in order."""
        self.place_files()
        self.create_user()
        self.write_groups_dropin()
        self.create_dirs()
        self.add_admin_users(admin_users)
        self.link_command()
        if enable:
            self.enable()
