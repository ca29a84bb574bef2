"""Where a ``decode`` run's input comes from, and hex as people paste it.

INPUT arguments are decoded one by one; ``-`` (standard input) and ``--file`` are streams read
line by line, so that a live pipe (``hcidump -R | edge-agent decode ble -``) shows each reading
as soon as its input is in.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from collections.abc import Iterable, Iterator
from typing import Final

from ...errors import ParseError
from .report import Report

_HEX_TOKEN: Final = re.compile(r"[^\s,:]+")
_HEX_DIGITS: Final = re.compile(r"[0-9a-fA-F]*")


@dataclasses.dataclass(frozen=True, slots=True)
class Argument:
    """One INPUT given on the command line; ``where`` is ``arg <n>``, counted from 1."""

    where: str
    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class Stream:
    """Standard input or a ``--file``, read line by line as bytes."""

    name: str
    lines: Iterable[bytes]

    def numbered_lines(self) -> Iterator[tuple[str, bytes]]:
        """``(where, line)``: each line with where it is (``stdin line 3``), counted from 1."""
        for number, line in enumerate(self.lines, start=1):
            yield f"{self.name} line {number}", line

    def hex_lines(self) -> Iterator[tuple[str, str]]:
        """``(where, text)`` of each line of a hex stream that holds more than a ``#`` comment."""
        for where, raw in self.numbered_lines():
            text = raw.decode("ascii", errors="replace").split("#", 1)[0]
            if text.strip():
                yield where, text


def sources(args: argparse.Namespace, report: Report) -> Iterator[Argument | Stream]:
    """The INPUT arguments in order (``-`` is stdin), then ``--file``."""
    for index, text in enumerate(args.inputs, start=1):
        if text == "-":
            yield Stream("stdin", sys.stdin.buffer)
        else:
            yield Argument(f"arg {index}", text)
    path = args.file
    if path is not None:
        try:
            handle = path.open("rb")
        except OSError as exc:
            report.error(str(path), f"cannot read the file: {exc.strerror}")
            return
        with handle:
            yield Stream(str(path), handle)


def no_inputs(args: argparse.Namespace, report: Report) -> bool:
    """Say what to give when neither INPUT nor ``--file`` was given."""
    if args.inputs or args.file is not None:
        return False
    report.say(
        f"give {report.noun} as arguments, '-' to read standard input, or --file FILE "
        f"(see {report.prefix} --help)"
    )
    return True


def parse_hex(text: str, what: str, example: str) -> bytes:
    """Hex bytes as people paste them: ``04 3e 2b``, ``043e2b``, ``04:3e:2b``, ``0x04,0x3e``.

    A leading ``>`` (how ``hcidump -R`` marks an event) is ignored. The error names the first
    token that is not hex and its position (1-based, in characters), so a typo is easy to find.

    Raises:
        ParseError: empty, not hex, or a token with an odd number of digits.
    """
    chunks: list[str] = []
    for match in _HEX_TOKEN.finditer(text):
        token, position = match.group(), match.start() + 1
        digits = token
        if not chunks and digits.startswith(">"):
            digits = digits[1:]
        if digits[:2].lower() == "0x":
            digits = digits[2:]
        if not _HEX_DIGITS.fullmatch(digits):
            raise ParseError(
                f"not hex: {token!r} at position {position}; give the {what} as hex bytes like "
                f"{example!r}"
            )
        if len(digits) % 2:
            raise ParseError(
                f"odd number of hex digits in {token!r} at position {position}: a byte takes "
                f"two ('0a', not 'a'); give the {what} as hex bytes like {example!r}"
            )
        chunks.append(digits)
    data = bytes.fromhex("".join(chunks))
    if not data:
        raise ParseError(f"no bytes given; give the {what} as hex bytes like {example!r}")
    return data
