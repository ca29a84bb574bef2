"""Snapshots of every screen at 80x24 with a recorded data set (``recorded/``, served by a
static agent over a real Unix socket) and a fixed clock, compared as text with
``snapshots/<screen>.txt``; ``snapshots/<screen>.svg`` keeps the look (colours) for review.

After an intended change of the look, regenerate them and review the diff::

    TUI_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/tui/test_snapshots.py

A new data set: ``.venv/bin/python -m tests.tui.record_dataset``, then the line above.
"""

from __future__ import annotations

import difflib
import os
from datetime import UTC
from pathlib import Path

import pytest

from edge_agent.api.client import ApiClient, unix_connector
from tui.console import EdgeConsole

from .record_dataset import RECORDED_NOW
from .rig import remove, run, screen_text, short_tmp, until
from .static_agent import StaticAgent

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("TUI_UPDATE_SNAPSHOTS") == "1"
SIZE = (80, 24)
SCREENS = [
    ("1", "fleet"),
    ("2", "device"),
    ("3", "experiments"),
    ("4", "parking"),
    ("5", "icing"),
    ("6", "sync"),
    ("7", "logs"),
    ("8", "config"),
]


@pytest.fixture
def socket_dir():
    root = short_tmp()
    yield root
    remove(root)


def check(name: str, text: str, svg: str, out: Path) -> str | None:
    """Compare ``text`` with the stored snapshot; a description of the difference, or None."""
    expected_file = SNAPSHOTS / f"{name}.txt"
    if UPDATE:
        SNAPSHOTS.mkdir(exist_ok=True)
        expected_file.write_text(text)
        (SNAPSHOTS / f"{name}.svg").write_text(svg)
        return None
    if not expected_file.exists():
        return f"{name}: no snapshot; run with TUI_UPDATE_SNAPSHOTS=1 and review it"
    expected = expected_file.read_text()
    if text == expected:
        return None
    (out / f"{name}.txt").write_text(text)
    (out / f"{name}.svg").write_text(svg)
    diff = "\n".join(
        difflib.unified_diff(
            expected.splitlines(), text.splitlines(), "snapshot", "now", lineterm=""
        )
    )
    return f"{name} differs (now: {out / name}.svg):\n{diff}"


def test_every_screen_looks_as_recorded(socket_dir, tmp_path):
    async def main() -> list[str]:
        problems = []
        async with StaticAgent(socket_dir / "api.sock") as agent:
            api = ApiClient(unix_connector(agent.socket), description="lab-pi (recorded)")
            app = EdgeConsole(api=api, clock=lambda: RECORDED_NOW, tz=UTC, live=False)
            async with app.run_test(size=SIZE) as pilot:
                for key, mode in SCREENS:
                    await pilot.press(key)
                    await until(pilot, lambda: app.screen.ready, what=f"the {mode} screen")
                    await pilot.pause(0.3)
                    await pilot.wait_for_scheduled_animations()
                    problem = check(mode, screen_text(app), app.export_screenshot(), tmp_path)
                    if problem:
                        problems.append(problem)
                assert app.faults == []
            await api.close()
        return problems

    problems = run(main())
    assert not problems, "\n\n".join(problems)
