"""Make the output image from the downloaded one: copy a ``.img``, decompress a ``.img.xz``.

The input is never modified. Decompression streams through :mod:`lzma` in 1 MiB blocks, so a
2.7 GB image needs no more memory than that, and blocks of zeros become holes: the output is a
sparse file that takes on disk only what the image really holds (a Lite image: about 2 GB of
2.7). Progress is reported as (bytes of the input consumed, input size), which for ``.xz`` is
the compressed size: the decompressed size is not known until the end.
"""

from __future__ import annotations

import lzma
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Final

from .errors import ImageError

BLOCK: Final = 1 << 20
_ZEROS: Final = bytes(BLOCK)

Progress = Callable[[int, int], None]


class _Counting:
    """A read-only file wrapper that remembers how many bytes were read from it."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.done = 0

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        self.done += len(data)
        return data

    def readable(self) -> bool:
        return True


def _write_sparse(reader: Callable[[int], bytes], out: BinaryIO, report: Callable[[], None]) -> int:
    total = 0
    while True:
        block = reader(BLOCK)
        if not block:
            break
        if block == _ZEROS[: len(block)]:
            out.seek(len(block), os.SEEK_CUR)
        else:
            out.write(block)
        total += len(block)
        report()
    out.truncate(total)
    return total


def write_image(source: Path, out: Path, progress: Progress | None = None) -> int:
    """Copy or decompress ``source`` to ``out``; returns the image size in bytes."""
    suffix = source.suffix.lower()
    if suffix in (".zip", ".gz", ".7z"):
        raise ImageError(
            f"{source}: {suffix} archives are not read; decompress it first, or use the .img.xz "
            "that raspberrypi.com offers"
        )
    try:
        size = source.stat().st_size
        with source.open("rb") as raw, out.open("wb") as dest:
            counting = _Counting(raw)

            def report() -> None:
                if progress is not None:
                    progress(counting.done, size)

            if suffix == ".xz":
                with lzma.LZMAFile(counting) as unpacked:  # type: ignore[arg-type]
                    return _write_sparse(unpacked.read, dest, report)
            return _write_sparse(counting.read, dest, report)
    except lzma.LZMAError as exc:
        raise ImageError(f"{source}: not a valid .xz file ({exc}); download it again") from exc
    except EOFError as exc:
        raise ImageError(f"{source}: the .xz file ends early; download it again") from exc
    except OSError as exc:
        raise ImageError(f"{exc.filename or out}: {exc.strerror}") from exc
