"""What a ``decode`` run says besides its JSON lines: problems, notes, summaries, the exit code.

Exit codes (the same meanings as the rest of the command line, see :mod:`edge_agent.cli`):
0 everything decoded; 1 some inputs decoded and others were bad; 2 a usage error, or nothing
decoded.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Final

EXIT_OK: Final = 0
EXIT_PARTIAL: Final = 1
EXIT_USAGE: Final = 2

_SKIP_DETAILS_SHOWN: Final = 6
"""Up to this many different details (addresses, sentence types) are listed in a summary."""


class Report:
    """Prints decoded objects and problems, counts them, and decides the exit code.

    Attributes:
        prefix: ``edge-agent decode <format>``, in front of every line on stderr.
        noun: what the inputs are, plural (``sentences``), for "no sentences given".
        decoded: inputs that decoded (each may give several readings, or none).
        problems: errors reported: bad inputs, unreadable files, damaged frames.
        skipped: valid inputs that carry no reading.
    """

    def __init__(self, command: str, noun: str) -> None:
        self.prefix = f"edge-agent decode {command}"
        self.noun = noun
        self.decoded = 0
        self.problems = 0
        self.skipped = 0
        self._quiet_skips: Counter[str] = Counter()
        self._skip_details: dict[str, set[str]] = {}
        # Looked up now rather than at import, so that redirected streams are honoured.
        self.out = sys.stdout
        self.err = sys.stderr

    def emit(self, obj: Mapping[str, object]) -> None:
        """One JSON line on stdout, flushed at once for a live pipe (``hcidump | decode``)."""
        self.out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.out.flush()

    def say(self, message: str) -> None:
        """A line on stderr about the whole run (not counted as a problem)."""
        print(f"{self.prefix}: {message}", file=self.err, flush=True)

    def error(self, where: str, message: str) -> None:
        """A problem with the input ``where`` (``arg 2``, ``stdin line 7``, a path)."""
        self.problems += 1
        self.say(f"{where}: {message}")

    def note(self, where: str, message: str) -> None:
        """Something worth knowing about ``where`` that is not a problem."""
        self.say(f"{where}: note: {message}")

    def skip(
        self, where: str, message: str, *, summary: str, detail: str = "", quiet: bool
    ) -> None:
        """Valid input without a reading: a note now, or (``quiet``) a line in the summary."""
        self.skipped += 1
        if not quiet:
            self.note(where, message)
            return
        self._quiet_skips[summary] += 1
        if detail:
            self._skip_details.setdefault(summary, set()).add(detail)

    def finish(self) -> int:
        """Print the summaries and return the exit code."""
        for summary, count in self._quiet_skips.items():
            details = sorted(self._skip_details.get(summary, ()))
            shown = ""
            if 0 < len(details) <= _SKIP_DETAILS_SHOWN:
                shown = f" ({', '.join(details)})"
            elif details:
                shown = f" ({len(details)} different)"
            self.say(f"skipped {summary}: {count}{shown}")
        if not self.decoded:
            if not self.problems:
                reason = "every input was skipped" if self.skipped else f"no {self.noun} given"
                self.say(f"nothing decoded: {reason}")
            return EXIT_USAGE
        if self.problems:
            self.say(
                f"{_plural(self.problems, 'problem')} reported above; "
                f"{_plural(self.decoded, 'input')} decoded"
            )
            return EXIT_PARTIAL
        return EXIT_OK


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class _NoteHandler(logging.Handler):
    """Shows a library's log records as notes of the report, in the command's own format."""

    def __init__(self, report: Report, library: str) -> None:
        super().__init__(logging.WARNING)
        self.report = report
        self.library = library

    def emit(self, record: logging.LogRecord) -> None:
        self.report.note(self.library, record.getMessage().rstrip(": "))


@contextlib.contextmanager
def library_warnings_as_notes(report: Report, logger_name: str, library: str) -> Iterator[None]:
    """While decoding, a library's warnings (``bthome-ble``: objects out of order, decryption
    failed) become notes instead of bare lines from logging's last-resort handler."""
    logger = logging.getLogger(logger_name)
    handler = _NoteHandler(report, library)
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
