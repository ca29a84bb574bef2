"""The demo's live view: the latest value of every stream, redrawn once a second."""

from __future__ import annotations

import time
from typing import TextIO

from ..agent import AgentStats
from ..readings import Reading


class LiveView:
    """Keeps the latest reading per stream and draws them as a table.

    On a terminal the table is redrawn in place; otherwise (a pipe, a log) one summary line is
    printed per refresh, so the output stays readable in a file.
    """

    def __init__(self, out: TextIO, *, title: str) -> None:
        self.out = out
        self.title = title
        self.latest: dict[str, Reading] = {}
        self.counts: dict[str, int] = {}
        self.tty = out.isatty()
        self._drawn_lines = 0

    def update(self, reading: Reading) -> None:
        """Remember ``reading`` as its stream's latest (called for every reading)."""
        self.latest[reading.stream] = reading
        self.counts[reading.stream] = self.counts.get(reading.stream, 0) + 1

    def render(self, stats: AgentStats) -> None:
        """Draw the table (terminal) or one line (pipe)."""
        if not self.tty:
            values = ", ".join(f"{name}={_fmt(r)}" for name, r in sorted(self.latest.items()))
            print(f"[{stats.uptime_s:5.0f}s] {stats.line()} | {values}", file=self.out, flush=True)
            return
        lines = [
            f"{self.title}  {time.strftime('%H:%M:%S')}",
            f"{'stream':<26} {'value':>14}  {'count':>6}  flags",
        ]
        for name, reading in sorted(self.latest.items()):
            flags = ",".join(reading.quality.names())
            lines.append(f"{name:<26} {_fmt(reading):>14}  {self.counts[name]:>6}  {flags}")
        lines.append(stats.line())
        if self._drawn_lines:
            self.out.write(f"\x1b[{self._drawn_lines}F\x1b[J")
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()
        self._drawn_lines = len(lines)


def _fmt(reading: Reading) -> str:
    value = reading.value
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, float):
        text = f"{value:.2f}"
    else:
        text = str(value)
    return f"{text} {reading.unit}".strip()
