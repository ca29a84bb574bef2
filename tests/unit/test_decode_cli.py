"""``edge-agent decode``: captured sensor input in, JSON lines and clear errors out.

Most cases are data in ``decode_cases/<case>/``:

- ``args.txt``: the arguments after ``edge-agent decode``, split like a shell does (``#`` lines
  are comments). ``{repo}`` stands for the repository root, ``{cases}`` for ``decode_cases``.
- ``stdin`` (optional): what standard input holds.
- ``stdout.jsonl``: the JSON objects the command must print, in order; missing = nothing.
- ``stderr.txt``: what it must print on stderr, exactly; missing = nothing.
- ``exit_code``: the exit code.

The inputs are the captured bytes of the parser tests (``drivers/*/tests/testcases``): real
advertisements, receiver logs, manual frames and ``w1_slave`` files; ``SOURCE.md`` there says
where each comes from. Cases run ``main()`` in this process; the last tests run the installed
console script.
"""

from __future__ import annotations

import io
import json
import os
import selectors
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent.cli import main

CASES = Path(__file__).parent / "decode_cases"
REPO = Path(__file__).resolve().parents[2]
CASE_NAMES = sorted(path.name for path in CASES.iterdir() if path.is_dir())


def _expand(text: str) -> str:
    return text.replace("{repo}", str(REPO)).replace("{cases}", str(CASES))


def _case_args(case: Path) -> list[str]:
    text = (case / "args.txt").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    return shlex.split(_expand("\n".join(lines)))


def _expected_objects(case: Path) -> list[object]:
    path = case / "stdout.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in _expand(path.read_text(encoding="utf-8")).splitlines()]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case(
    name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    case = CASES / name
    monkeypatch.setenv("COLUMNS", "100")  # argparse wraps usage messages to the terminal
    stdin = case / "stdin"
    data = stdin.read_bytes() if stdin.exists() else b""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="ascii"))
    try:
        code = main(["decode", *_case_args(case)])
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    out, err = capsys.readouterr()
    expected_err = case / "stderr.txt"
    want_err = _expand(expected_err.read_text(encoding="utf-8")) if expected_err.exists() else ""
    assert err == want_err
    assert [json.loads(line) for line in out.splitlines()] == _expected_objects(case)
    assert code == int((case / "exit_code").read_text())


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_is_complete(name: str) -> None:
    case = CASES / name
    assert (case / "args.txt").exists() and (case / "exit_code").exists()
    assert (case / "stdout.jsonl").exists() or (case / "stderr.txt").exists(), (
        f"{name}: a case must say what the command prints"
    )


def test_cases_cover_every_format_and_exit_code() -> None:
    commands = {(_case_args(CASES / name) or ["(none)"])[0] for name in CASE_NAMES}
    codes = {int((CASES / name / "exit_code").read_text()) for name in CASE_NAMES}
    assert commands >= {"ble", "nmea", "umb", "w1"}
    assert codes == {0, 1, 2}


def test_ble_without_the_extra_says_how_to_install_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Pi set up without the 'ble' extra: bthome-ble cannot be imported."""
    import drivers

    for module in [m for m in sys.modules if m == "drivers.ble" or m.startswith("drivers.ble.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.delattr(drivers, "ble")  # else "from drivers import ble" finds the old one
    monkeypatch.setitem(sys.modules, "bthome_ble", None)  # makes "import bthome_ble" fail
    code = main(["decode", "ble", "--uuid", "fcd2", "40003f015e02820803ac170c830b"])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert "needs the 'ble' extra" in err
    assert "pip install 'digitallabor-edge-kit[ble]'" in err


PVVX_REPORT = "043E2202010000B2188D38C1A41602010612161A18B2188D38C1A42B089011F70A43200FC2"
"""``drivers/ble/tests/testcases/pvvx_with_flags_structure``: a LYWSD03MMC with pvvx firmware."""


def test_console_script_decodes_an_argument(edge_agent_cmd: list[str]) -> None:
    proc = subprocess.run(
        [*edge_agent_cmd, "decode", "ble", "--sensor", "lab-window", PVVX_REPORT],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    objects = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(o["stream"], o["value"], o["unit"]) for o in objects] == [
        ("lab-window/temperature", 20.91, "Cel"),
        ("lab-window/humidity", 44.96, "%RH"),
        ("lab-window/battery", 67, "%EL"),
        ("lab-window/battery_voltage", 2.807, "V"),
    ]
    assert {(o["address"], o["format"], o["packet_id"], o["rssi_dbm"]) for o in objects} == {
        ("A4:C1:38:8D:18:B2", "pvvx", 32, -62)
    }


def test_console_script_reports_bad_lines_of_a_pipe(edge_agent_cmd: list[str]) -> None:
    sentences = (REPO / "drivers/serial/tests/testcases/nmea-noisy-line/input.nmea").read_bytes()
    proc = subprocess.run(
        [*edge_agent_cmd, "decode", "nmea", "-"],
        input=sentences,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    objects = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {o["input"] for o in objects} == {"stdin line 3", "stdin line 6", "stdin line 8"}
    errors = proc.stderr.decode().splitlines()
    assert "edge-agent decode nmea: stdin line 2: NMEA checksum mismatch" in errors[1]
    assert errors[-1] == "edge-agent decode nmea: 5 problems reported above; 3 inputs decoded"


def test_console_script_shows_each_advertisement_while_hcidump_runs(
    edge_agent_cmd: list[str],
) -> None:
    """``hcidump -R | edge-agent decode ble -``: a reading appears as soon as the last byte of
    its report is in, not when the capture ends."""
    proc = subprocess.Popen(
        [*edge_agent_cmd, "decode", "ble", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        report = bytes.fromhex(PVVX_REPORT)
        proc.stdin.write(b"> " + report[:20].hex(" ").encode() + b"\n")
        proc.stdin.write(b"  " + report[20:].hex(" ").encode() + b"\n")
        proc.stdin.flush()
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            assert selector.select(timeout=60), "no reading while stdin is still open"
        first = json.loads(proc.stdout.readline())
        assert (first["stream"], first["value"], first["input"]) == (
            "ble/temperature",
            20.91,
            "stdin line 1",
        )
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
        proc.stdout.close()
        assert proc.stderr is not None
        proc.stderr.close()
    assert proc.returncode == 0


def test_help_shows_examples(edge_agent_cmd: list[str]) -> None:
    for command in ("ble", "nmea", "umb", "w1"):
        proc = subprocess.run(
            [*edge_agent_cmd, "decode", command, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "COLUMNS": "100"},
        )
        assert proc.returncode == 0
        examples = proc.stdout.split("examples:\n", 1)[1]
        assert f"edge-agent decode {command} " in examples
