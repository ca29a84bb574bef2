"""Every runtime dependency resolves to a wheel for aarch64 on Python 3.11 and 3.13.

A Raspberry Pi installs the agent from wheels (embedded in the SD image, or from the package
index): a dependency that has only a source distribution for aarch64 would need a compiler on
the Pi, or fail. For each requirement of ``[project] dependencies`` in ``pyproject.toml`` (and
of the ``ble`` and ``camera`` extras, which labs install for BLE tags and cameras), whose
environment markers hold on aarch64, pip must find a wheel (``--only-binary=:all: --no-deps``)
for CPython 3.11 (Raspberry Pi OS Bookworm) and 3.13 (Trixie). The resolver runs as
``pip install --dry-run --report``, which chooses the files exactly as ``pip download`` does
with the same options but reads only the index (and the wheels' metadata files), not the
wheels themselves: tens of megabytes of numpy, LiteRT and OpenCV are not downloaded each run.

pip takes ``--platform`` literally: a wheel tagged ``manylinux2014_aarch64`` (glibc 2.17) is
not taken for ``--platform manylinux_2_28_aarch64`` alone, although it runs there. So every
manylinux level from 2014 up to 2_28 is given, 2_28 being the oldest glibc of the images'
releases (Bookworm has 2.36, Trixie 2.41). Skipped, with the reason, when the package index
cannot be reached.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
PYTHONS = ("3.11", "3.13")
EXTRAS = ("ble", "camera")
PLATFORMS = ("manylinux2014_aarch64", *(f"manylinux_2_{m}_aarch64" for m in range(17, 29)))
INDEX = "https://pypi.org/simple/pip/"


def requirements() -> list[tuple[str, str]]:
    """(where, requirement) for the runtime dependencies and the extras, as on aarch64."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    found = [("dependencies", r) for r in project["dependencies"]]
    for extra in EXTRAS:
        found += [(f"[{extra}]", r) for r in project["optional-dependencies"][extra]]
    selected = []
    for where, text in found:
        requirement = Requirement(text)
        marker = requirement.marker
        if marker is not None and not marker.evaluate(
            {"platform_machine": "aarch64", "sys_platform": "linux", "python_version": "3.11"}
        ):
            continue
        if requirement.name == "digitallabor-edge-kit":
            continue
        requirement.marker = None
        selected.append((where, str(requirement)))
    return selected


@pytest.fixture(scope="module")
def index_reachable() -> None:
    try:
        with urllib.request.urlopen(INDEX, timeout=10):
            pass
    except (urllib.error.URLError, OSError) as exc:
        pytest.skip(f"the package index cannot be reached ({INDEX}: {exc}); run where it can")


def test_the_runtime_set_is_what_pyproject_says() -> None:
    names = {Requirement(r).name for _, r in requirements()}
    # ai-edge-litert's marker holds on aarch64; tflite-runtime is never a requirement.
    assert {"pydantic", "numpy", "paho-mqtt", "ai-edge-litert", "bleak"} <= names


def resolve(python: str, wanted: list[str], report: Path) -> subprocess.CompletedProcess[str]:
    """pip's resolver for aarch64 and ``python``, without dependencies and without downloading."""
    platforms = [arg for tag in PLATFORMS for arg in ("--platform", tag)]
    return subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
            "--disable-pip-version-check", "--no-deps", "--only-binary=:all:",
            "--implementation", "cp", "--python-version", python, *platforms,
            "--target", str(report.parent / "target"), "--report", str(report), *wanted,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip


@pytest.mark.parametrize("python", PYTHONS)
def test_every_dependency_has_an_aarch64_wheel(
    index_reachable: None, tmp_path: Path, python: str
) -> None:
    wanted = requirements()
    report = tmp_path / "report.json"
    done = resolve(python, [r for _, r in wanted], report)
    if done.returncode != 0:  # name each requirement that has no wheel
        missing = [
            f"{where} {requirement}"
            for where, requirement in wanted
            if resolve(python, [requirement], tmp_path / "one.json").returncode != 0
        ]
        pytest.fail(
            f"no aarch64 wheel for Python {python}: {', '.join(missing) or '(see pip)'}\n"
            + done.stderr[-2000:]
        )
    chosen = {
        entry["metadata"]["name"].lower().replace("_", "-"): entry["download_info"]["url"]
        for entry in json.loads(report.read_text())["install"]
    }
    for where, requirement in wanted:
        name = Requirement(requirement).name.lower().replace("_", "-")
        wheel = chosen[name].rsplit("/", 1)[-1]
        assert wheel.endswith(".whl"), (where, wheel)
        tags = wheel.removesuffix(".whl").split("-")[-1]
        assert tags == "any" or "aarch64" in tags, (where, wheel)
        print(f"{python} {where:<12} {requirement:<28} {wheel}")
