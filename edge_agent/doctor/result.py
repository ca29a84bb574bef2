"""What one check of ``edge-agent doctor`` found: ok, warn or fail, and what to fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["ok", "warn", "fail"]

_RANK: dict[Status, int] = {"ok": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check.

    Attributes:
        name: the check's short name (``clock``, ``disk-space``).
        status: ``ok``, ``warn`` (worth a look, the device works) or ``fail`` (fix it).
        summary: what was found, one line.
        fix: what to do about it (empty when nothing needs doing).
        details: figures behind the summary, for ``--json``.
    """

    name: str
    status: Status
    summary: str
    fix: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The result as plain JSON-ready data."""
        return {
            "name": self.name,
            "status": self.status,
            "summary": self.summary,
            "fix": self.fix,
            "details": self.details,
        }


def worst(statuses: list[Status]) -> Status:
    """The most serious of ``statuses`` (``ok`` for none)."""
    return max(statuses, key=_RANK.__getitem__, default="ok")


def ok(name: str, summary: str, **details: Any) -> CheckResult:
    """A passed check."""
    return CheckResult(name, "ok", summary, "", details)


def warn(name: str, summary: str, fix: str, **details: Any) -> CheckResult:
    """A check that found something worth a look."""
    return CheckResult(name, "warn", summary, fix, details)


def fail(name: str, summary: str, fix: str, **details: Any) -> CheckResult:
    """A check that found something to fix."""
    return CheckResult(name, "fail", summary, fix, details)


def format_bytes(count: float) -> str:
    """Bytes in decimal units for people: ``512 B``, ``3.2 MB``, ``1.9 GB``."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(count) >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count:.0f} B"
