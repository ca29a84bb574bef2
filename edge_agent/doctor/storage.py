"""Storage: free space where the readings are kept, set-aside databases, and how fast the SD
card is being written.

The write rate is the average since boot: bytes written to the data directory's block device
(``/proc/diskstats``, parsed by the ``system.health`` parser) over the uptime
(``/proc/uptime``). The agent itself writes about 100 bytes per reading; a card written at
gigabytes a day is worn out by something else (logs to disk, swap, a chatty service).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from drivers.system.proc import parse_diskstats
from drivers.system.sources import DiskSpace

from ..errors import ParseError
from ..store.database import DB_FILENAME
from ..store.recovery import SET_ASIDE_PATTERN
from .device import Device
from .result import CheckResult, fail, format_bytes, ok, warn

FREE_WARN_RATIO: Final = 0.10
FREE_FAIL_RATIO: Final = 0.02
FREE_FAIL_BYTES: Final = 64 * 1024 * 1024
WRITE_WARN_PER_DAY: Final = 2_000_000_000
"""Bytes a day above which the card's wear deserves a look (a 32 GB card of 3000 write cycles
lasts decades at this rate; a cheap one of a few hundred cycles, a few years)."""


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _disk_space(path: Path) -> DiskSpace:
    stat = os.statvfs(_existing(path))
    return DiskSpace(
        free_bytes=stat.f_bavail * stat.f_frsize, total_bytes=stat.f_blocks * stat.f_frsize
    )


def _store_bytes(data_dir: Path) -> int:
    total = 0
    for suffix in ("", "-wal", "-shm"):
        try:
            total += (data_dir / f"{DB_FILENAME}{suffix}").stat().st_size
        except OSError:
            continue
    return total


def check_free_space(device: Device) -> CheckResult:
    """Free space on the data directory's file system, against the store's size limit."""
    name = "disk-space"
    data_dir = device.data_dir() or Path("/var/lib/edge-agent")
    try:
        space = _disk_space(data_dir)
    except OSError as exc:
        return fail(name, f"cannot stat {data_dir}: {exc.strerror}", "check store.data_dir")
    free, ratio = space.free_bytes, space.free_ratio
    details = {"path": str(data_dir), "free_bytes": free, "total_bytes": space.total_bytes}
    summary = f"{format_bytes(free)} free of {format_bytes(space.total_bytes)} ({ratio:.0%})"
    fix = (
        "free space on the card (journalctl --vacuum-size=100M, apt-get clean, old camera "
        "recordings), or lower store.max_size"
    )
    if ratio < FREE_FAIL_RATIO or free < FREE_FAIL_BYTES:
        return fail(name, summary + ": the store is dropping its oldest readings", fix, **details)
    set_aside = sorted(data_dir.glob(SET_ASIDE_PATTERN)) if data_dir.is_dir() else []
    if set_aside:
        size = sum(p.stat().st_size for p in set_aside)
        names = ", ".join(p.name for p in set_aside)
        return warn(
            name,
            f"{summary}; {len(set_aside)} damaged database(s) set aside: {names} "
            f"({format_bytes(size)})",
            "rescue what you need (sqlite3 FILE .recover > rescued.sql), then delete them",
            set_aside=[str(p) for p in set_aside],
            **details,
        )
    max_size = device.config.store.max_size if device.config is not None else None
    room = free + _store_bytes(data_dir)
    if max_size is not None and room < max_size:
        return warn(
            name,
            f"{summary}; the store may grow to store.max_size = {format_bytes(max_size)} "
            f"but has room for {format_bytes(room)}",
            f"lower store.max_size below {format_bytes(room * 8 // 10)}, so that retention by "
            "size keeps the card from filling",
            **details,
        )
    if ratio < FREE_WARN_RATIO:
        return warn(name, summary, fix, **details)
    return ok(name, summary, **details)


def _block_device(device: Device, diskstats: str) -> str | None:
    options = device.health_options()
    if options is not None:
        return options.block_device
    data_dir = device.data_dir() or Path("/var/lib/edge-agent")
    try:
        st_dev = _existing(data_dir).stat().st_dev
    except OSError:
        return None
    major, minor = os.major(st_dev), os.minor(st_dev)
    try:
        devices = parse_diskstats(diskstats)
    except ParseError:
        return None
    for entry in devices.values():
        if (entry.major, entry.minor) == (major, minor):
            return entry.name
    return None


def check_write_rate(device: Device) -> CheckResult:
    """Bytes written to the data directory's block device per day since boot."""
    name = "sd-writes"
    diskstats = device.raw_health().diskstats
    if diskstats is None:
        return warn(name, "cannot tell: no /proc/diskstats", "check that /proc is mounted")
    block = _block_device(device, diskstats)
    if block is None:
        return ok(name, "the data directory is on no block device (tmpfs, network): no wear")
    try:
        stats = parse_diskstats(diskstats).get(block)
        uptime = float(device.path("/proc/uptime").read_text().split()[0])
    except (ParseError, OSError, ValueError, IndexError) as exc:
        return warn(name, f"cannot tell: {exc}", "check /proc/diskstats and /proc/uptime")
    if stats is None:
        return warn(
            name,
            f"block device {block!r} is not in /proc/diskstats",
            "set options.block_device of the system.health sensor as lsblk names the disk",
        )
    per_day = stats.bytes_written / max(uptime, 1.0) * 86400
    summary = (
        f"{format_bytes(round(per_day))} a day written to {block} since boot "
        f"({format_bytes(stats.bytes_written)} in {uptime / 3600:.1f} h)"
    )
    details = {"block_device": block, "bytes_written": stats.bytes_written, "uptime_s": uptime}
    if per_day > WRITE_WARN_PER_DAY:
        return warn(
            name,
            summary,
            "find the writer: sudo iotop -ao; keep the journal in memory (Storage=volatile in "
            "journald.conf) and turn off swap on the card (dphys-swapfile swapoff)",
            bytes_per_day=per_day,
            **details,
        )
    return ok(name, summary, bytes_per_day=per_day, **details)
