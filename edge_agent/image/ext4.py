"""Read a file from the ext4 root partition inside a disk image with debugfs, without root.

e2fsprogs opens a file system at an offset inside a file when the name carries the I/O option
``?offset=BYTES``, so ``debugfs -R "cat /usr/lib/os-release" "disk.img?offset=N"`` reads the
root file system of an unmounted image as an ordinary user. When debugfs is not installed the
customiser falls back to the boot partition's files (see :mod:`.release`).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path


def debugfs_available() -> bool:
    """Whether debugfs (e2fsprogs) is installed."""
    return shutil.which("debugfs") is not None


def _debugfs(image: Path, offset: int, request: str) -> subprocess.CompletedProcess[bytes] | None:
    if not debugfs_available():
        return None
    with tempfile.TemporaryDirectory(prefix="edge-kit-ext4-") as tmp:
        link = Path(tmp) / "disk.img"  # "?" in a real path would be read as an option
        link.symlink_to(image.resolve())
        return subprocess.run(
            ["debugfs", "-R", request, f"{link}?offset={offset}"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )


def read_root_file(image: Path, offset: int, path: str) -> bytes | None:
    """The bytes of ``path`` in the ext4 file system at ``offset``; None if absent or unreadable."""
    result = _debugfs(image, offset, f"cat {path}")
    if result is None or result.returncode != 0:
        return None
    errors = result.stderr.decode(errors="replace")
    if "not found" in errors or "Bad magic number" in errors or "Could not open" in errors:
        return None
    return result.stdout


def root_has(image: Path, offset: int, path: str) -> bool | None:
    """Whether ``path`` exists in the root file system; None when debugfs cannot tell."""
    result = _debugfs(image, offset, f"stat {path}")
    if result is None:
        return None
    errors = result.stderr.decode(errors="replace")
    if "Bad magic number" in errors or "Could not open" in errors:
        return None
    return "not found" not in errors and result.returncode == 0
