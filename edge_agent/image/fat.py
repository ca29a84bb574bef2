"""Read and write files on a FAT partition inside a disk image with mtools, without root.

mtools addresses a partition inside an image file as ``-i IMAGE@@OFFSET`` (the partition's
byte offset, from :mod:`.partitions`), so nothing is mounted and no loop device is needed.
``MTOOLS_SKIP_CHECK`` accepts the geometry of images made by other tools, and ``MTOOLSRC`` is
pointed at /dev/null so a user's ``~/.mtoolsrc`` cannot change the behaviour.

Paths are POSIX-style relative to the partition's root (``edge-agent/agent.toml``). FAT
compares names without regard to case; so does :meth:`FatPartition.files`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path, PurePosixPath
from typing import Final

from .errors import ImageError

MTOOLS_ENV: Final = {"MTOOLS_SKIP_CHECK": "1", "MTOOLSRC": "/dev/null", "LC_ALL": "C"}
_FREE: Final = re.compile(r"([\d ]+) bytes free")


def require_tool(name: str, package: str) -> str:
    """The path of a command, or an :class:`ImageError` saying which package has it."""
    found = shutil.which(name)
    if found is None:
        raise ImageError(
            f"{name} is not installed; install the {package} package (apt install {package})"
        )
    return found


class FatPartition:
    """The FAT file system at ``offset`` bytes into ``image``."""

    def __init__(self, image: Path, offset: int) -> None:
        self.image = image
        self.offset = offset
        # mtools parses "@@" and ":" in the -i argument; a link with a plain name avoids surprises.
        self._dir = tempfile.TemporaryDirectory(prefix="edge-kit-fat-")
        self._link = Path(self._dir.name) / "disk.img"
        self._link.symlink_to(image.resolve())

    def close(self) -> None:
        """Remove the private temporary directory."""
        self._dir.cleanup()

    def __enter__(self) -> FatPartition:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[bytes]:
        require_tool(tool, "mtools")
        env = {**os.environ, **MTOOLS_ENV}
        return subprocess.run(
            [tool, "-i", f"{self._link}@@{self.offset}", *args],
            capture_output=True,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def _check(self, result: subprocess.CompletedProcess[bytes], what: str) -> None:
        if result.returncode != 0:
            detail = result.stderr.decode(errors="replace").strip()
            raise ImageError(f"{self.image}: cannot {what} on the boot partition: {detail}")

    @staticmethod
    def _fat(path: str) -> str:
        return "::/" + str(PurePosixPath(path)).lstrip("/")

    def files(self) -> dict[str, str]:
        """Every file and directory: lower-cased path -> path as stored (directories end in /)."""
        result = self._run("mdir", "-/", "-b", "::")
        self._check(result, "list files")
        found: dict[str, str] = {}
        for line in result.stdout.decode(errors="replace").splitlines():
            name = line.strip().removeprefix("::/")
            if name:
                found[name.lower()] = name
        return found

    def exists(self, path: str) -> bool:
        """Whether ``path`` (file or directory) exists, ignoring case."""
        key = str(PurePosixPath(path)).lstrip("/").lower()
        names = self.files()
        return key in names or key + "/" in names

    def read(self, path: str) -> bytes:
        """The bytes of a file."""
        result = self._run("mcopy", "-n", self._fat(path), "-")
        self._check(result, f"read {path}")
        return result.stdout

    def mkdir(self, path: str) -> None:
        """Create a directory (and its parents) unless it exists."""
        parts = PurePosixPath(path).parts
        names = self.files()
        for depth in range(1, len(parts) + 1):
            sub = "/".join(parts[:depth])
            if sub.lower() + "/" not in names:
                self._check(self._run("mmd", self._fat(sub)), f"create directory {sub}")
                names[sub.lower() + "/"] = sub + "/"

    def write(self, path: str, data: bytes) -> None:
        """Create or replace a file; parent directories must exist (see :meth:`mkdir`)."""
        # The data passes through a file in a private directory (mode 0700), removed at once.
        tmp = Path(self._dir.name) / "data"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            self._check(self._run("mcopy", "-o", str(tmp), self._fat(path)), f"write {path}")
        finally:
            tmp.unlink(missing_ok=True)

    def copy_in(self, source: Path, path: str) -> None:
        """Copy a local file (wheels: large, not held in memory) to ``path``."""
        self._check(self._run("mcopy", "-o", str(source), self._fat(path)), f"copy {source.name}")

    def remove(self, path: str) -> None:
        """Delete a file."""
        self._check(self._run("mdel", self._fat(path)), f"delete {path}")

    def free_bytes(self) -> int:
        """Free space in bytes."""
        result = self._run("mdir", "::")
        self._check(result, "read the free space")
        match = _FREE.search(result.stdout.decode(errors="replace"))
        if match is None:
            raise ImageError(
                f"{self.image}: mdir did not report the free space of the boot partition"
            )
        return int(match.group(1).replace(" ", ""))
