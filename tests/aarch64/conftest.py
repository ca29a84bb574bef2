"""The ``aarch64`` marker: tests that run the agent in an arm64 root under qemu-user.

They take minutes, need root and the cached arm64 root, so a normal test run deselects them;
``tests/aarch64/run.sh`` (or ``-m aarch64``, or ``EDGE_KIT_AARCH64=1``) runs them.
"""

from __future__ import annotations

import os

import pytest

MARKER = "aarch64"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}: runs the agent in an arm64 root under qemu (tests/aarch64/run.sh)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = (
        MARKER in (config.getoption("markexpr") or "") or os.environ.get("EDGE_KIT_AARCH64") == "1"
    )
    if wanted:
        return
    deselected = [item for item in items if item.get_closest_marker(MARKER) is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item.get_closest_marker(MARKER) is None]
