"""The test cases in ``testcases/`` (see its README.md): their trees, options and expectations."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

CASES = Path(__file__).parent / "testcases"
CASE_NAMES = sorted(path.name for path in CASES.iterdir() if path.is_dir())


def root(name: str) -> Path:
    """The case's directory tree, shaped like ``/``."""
    return CASES / name / "root"


def expected(name: str) -> dict[str, Any]:
    """The case's ``expected.json``."""
    data: dict[str, Any] = json.loads((CASES / name / "expected.json").read_text("utf-8"))
    return data


def captured_vcgencmd(name: str) -> Path | None:
    """The captured ``vcgencmd get_throttled`` output of the case, if the machine has one."""
    path = CASES / name / "vcgencmd_get_throttled.txt"
    return path if path.exists() else None


def fake_vcgencmd(bin_dir: Path, *, prints: str = "", exit_code: int = 0, body: str = "") -> Path:
    """An executable ``vcgencmd`` in ``bin_dir`` that answers ``get_throttled``.

    It prints ``prints`` and exits with ``exit_code``, or runs the shell ``body`` instead.
    """
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "vcgencmd"
    if not body:
        answer = bin_dir / "vcgencmd.out"
        answer.write_text(prints)
        cat = shutil.which("cat") or "/bin/cat"
        body = f"{cat} '{answer}'\nexit {exit_code}"
    script.write_text(
        "#!/bin/sh\n"
        '[ "$1" = get_throttled ] || { echo "usage: vcgencmd get_throttled" >&2; exit 2; }\n'
        f"{body}\n"
    )
    script.chmod(0o755)
    return script


def path_with(bin_dir: Path) -> str:
    """A ``PATH`` of ``bin_dir`` only, so that no real vcgencmd is found."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    return os.fspath(bin_dir)
