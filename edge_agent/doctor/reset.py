"""Factory reset: wipe the readings and the credentials, keep the software and the config.

What goes:

- everything inside the store's data directory: the readings database with its WAL and
  reserve, set-aside databases, the uplink's state, the lab's own experiments (kept there
  unless ``experiments_dir`` says otherwise); the directory itself stays, with its owner and
  mode, for the agent to start afresh;
- the credential files the config names: ``uplink.password_file``, ``uplink.client_key``,
  ``uplink.client_cert`` and each sensor's ``password_file``. They are overwritten with zeros
  before they are deleted, as first boot does with the image's secrets; on flash memory that
  is a best effort (wear levelling may keep old blocks), so a card that leaves the region's
  hands is best erased whole (``blkdiscard``).

What stays: the installed agent, the config (it names the broker and where the new credentials
go; provision them again before the agent starts), ``uplink.ca_file`` (the region's public
CA, no secret), SSH keys and the rest of the system.

The reset refuses to run while an agent holds the data directory's lock, and refuses a data
directory that does not look like the agent's (no ``readings.db`` in a directory that is not
empty) or that holds the system, a home or the software itself, so that a wrong
``store.data_dir`` cannot wipe what it should not.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from ..config import AgentConfig
from ..errors import ConfigError, StoreError
from ..store.database import DB_FILENAME

PROTECTED: Final = frozenset(
    Path(p)
    for p in (
        "/",
        "/bin",
        "/boot",
        "/boot/firmware",
        "/dev",
        "/etc",
        "/home",
        "/lib",
        "/opt",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/srv",
        "/sys",
        "/tmp",
        "/usr",
        "/var",
        "/var/lib",
        "/var/log",
    )
)
"""Directories a data directory may never be."""


@dataclass(frozen=True)
class ResetPlan:
    """What a reset removes."""

    data_dir: Path
    entries: list[Path]
    """Everything directly inside the data directory."""
    credentials: list[tuple[str, Path]]
    """(setting, file) of each credential file that exists."""
    config_path: Path | None

    def data_bytes(self) -> int:
        """Bytes taken by the data directory's contents."""
        total = 0
        for entry in self.entries:
            if entry.is_dir() and not entry.is_symlink():
                for dirpath, _, files in os.walk(entry):
                    for name in files:
                        try:
                            total += (Path(dirpath) / name).lstat().st_size
                        except OSError:
                            continue
            else:
                try:
                    total += entry.lstat().st_size
                except OSError:
                    continue
        return total


@dataclass
class ResetReport:
    """What a reset removed, and what it could not."""

    removed: int = 0
    credentials: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _credentials(config: AgentConfig) -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    if config.uplink is not None:
        for setting in ("password_file", "client_key", "client_cert"):
            path = getattr(config.uplink, setting)
            if path is not None:
                found.append((f"uplink.{setting}", Path(path)))
    for index, sensor in enumerate(config.sensors):
        password = getattr(config.driver_options.get(sensor.name), "password_file", None)
        if isinstance(password, Path):
            found.append((f"sensor[{index}].options.password_file", password))
    return [(setting, path) for setting, path in found if path.exists()]


def _check_data_dir(data_dir: Path) -> None:
    resolved = data_dir.resolve()
    software = Path(sys.prefix).resolve()
    if resolved in PROTECTED or resolved == Path.home().resolve():
        raise ConfigError(
            f"store.data_dir = {str(data_dir)!r} is a system directory; a factory reset wipes "
            "the data directory, so it refuses this one: fix store.data_dir "
            "(normally /var/lib/edge-agent)"
        )
    if software == resolved or resolved in software.parents:
        raise ConfigError(
            f"store.data_dir = {str(data_dir)!r} holds the installed agent ({software}); a "
            "factory reset keeps the software, so it refuses this data directory"
        )
    if not resolved.is_dir():
        return
    names = {p.name for p in resolved.iterdir()}
    if names and not ({DB_FILENAME, f"{DB_FILENAME}.lock"} & names):
        raise ConfigError(
            f"{data_dir} does not look like the agent's data directory (no {DB_FILENAME} among "
            f"its {len(names)} entries); nothing removed: check store.data_dir"
        )


def plan_reset(config: AgentConfig) -> ResetPlan:
    """What a reset of this device would remove; refuses unsafe data directories."""
    data_dir = config.store.data_dir
    _check_data_dir(data_dir)
    entries = sorted(data_dir.iterdir()) if data_dir.is_dir() else []
    return ResetPlan(data_dir, entries, _credentials(config), config.source)


def _wipe_file(path: Path) -> None:
    """Overwrite a small secrets file with zeros, then delete it."""
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.write(b"\0" * size)
        f.flush()
        os.fsync(f.fileno())
    path.unlink()


def factory_reset(plan: ResetPlan) -> ResetReport:
    """Remove what ``plan`` lists; raises :class:`StoreError` while an agent runs."""
    report = ResetReport()
    lock_fd: int | None = None
    if plan.data_dir.is_dir():
        lock_fd = os.open(plan.data_dir / f"{DB_FILENAME}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            raise StoreError(
                f"an edge-agent is running on {plan.data_dir}; stop it first "
                "(sudo systemctl stop edge-agent), then reset; nothing was removed"
            ) from None
    try:
        for setting, path in plan.credentials:
            try:
                _wipe_file(path)
                report.credentials.append(path)
            except OSError as exc:
                report.errors.append(f"{setting}: cannot wipe {path}: {exc.strerror or exc}")
        for entry in plan.entries:
            try:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
                report.removed += 1
            except FileNotFoundError:
                continue
            except OSError as exc:
                report.errors.append(f"cannot remove {entry}: {exc.strerror or exc}")
    finally:
        if lock_fd is not None:
            os.close(lock_fd)
    return report


__all__ = ["PROTECTED", "ResetPlan", "ResetReport", "factory_reset", "plan_reset"]
