"""Support for the Ansible tests (no tests here): paths, the tools and the play recap.

The tools come from the ``ops`` extra (``pip install -e '.[ops]'``: ansible-core and
ansible-lint). Tests that need them skip with that hint when they are missing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ANSIBLE_DIR = Path(__file__).resolve().parents[2] / "ansible"
BIN_DIR = Path(sys.executable).parent


def ansible_tool(name: str) -> str:
    """Path of ``ansible-playbook``, ``ansible-lint`` ...; skips the test when it is missing."""
    path = BIN_DIR / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[ops]' installs it)")
    return found


def ansible_env(**extra: str) -> dict[str, str]:
    """The environment for the tools: the kit's virtual environment first on PATH, no colours,
    no cows, nothing from the user's own Ansible set-up."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["PATH"] = f"{BIN_DIR}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOWS="1",
        ANSIBLE_LOCAL_TEMP=str(Path(env.get("TMPDIR", "/tmp")) / f"ansible-local-{os.getuid()}"),
        PY_COLORS="0",
        NO_COLOR="1",
    )
    env.update(extra)
    return env


@dataclass(frozen=True)
class PlayResult:
    """What ``ansible-playbook`` did: its exit code, output and the recap per host."""

    returncode: int
    output: str
    recap: dict[str, dict[str, int]]

    def changed(self, host: str) -> int:
        """How many tasks changed something on ``host``."""
        return self.recap[host]["changed"]


_RECAP_LINE = re.compile(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$", re.MULTILINE)


def parse_recap(output: str) -> dict[str, dict[str, int]]:
    """The PLAY RECAP lines of ``output``: host -> {ok, changed, failed, ...}."""
    _, _, tail = output.rpartition("PLAY RECAP")
    recap = {}
    for host, counts in _RECAP_LINE.findall(tail):
        recap[host] = {k: int(v) for k, v in (item.split("=") for item in counts.split())}
    return recap


def run_playbook(
    playbook: str, *args: str, timeout: float = 600, env: dict[str, str] | None = None
) -> PlayResult:
    """Run ``ansible/playbooks/<playbook>`` from ``ansible/`` (so ansible.cfg applies)."""
    proc = subprocess.run(
        [ansible_tool("ansible-playbook"), f"playbooks/{playbook}", *args],
        cwd=ANSIBLE_DIR,
        env=env or ansible_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = proc.stdout + proc.stderr
    return PlayResult(proc.returncode, output, parse_recap(output))
