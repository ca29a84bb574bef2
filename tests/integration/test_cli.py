"""Every command has --help; the readings commands export what the store holds."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest

from edge_agent.cli import build_parser, main
from edge_agent.readings import Quality, Reading
from edge_agent.store import Store

T0 = 1_767_225_600.0


def all_commands() -> list[list[str]]:
    """Every command path of the CLI, found by walking argparse's tree."""
    paths: list[list[str]] = [[]]

    def walk(parser: object, prefix: list[str]) -> None:
        for action in parser._actions:  # type: ignore[attr-defined]
            choices = getattr(action, "choices", None)
            if isinstance(choices, dict):
                for name, sub in choices.items():
                    paths.append([*prefix, name])
                    walk(sub, [*prefix, name])

    walk(build_parser(), [])
    return paths


@pytest.mark.parametrize("command", all_commands(), ids=lambda c: " ".join(c) or "edge-agent")
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # In-process: one interpreter start per command would cost about a second each.
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    out = capsys.readouterr().out
    assert exited.value.code == 0
    assert "usage: edge-agent" in out
    described = out.split("\n\n", 2)
    assert len(described) > 1 and described[1].strip(), "the help says what the command does"


def test_the_console_script_answers_help(edge_agent_cmd: list[str]) -> None:
    proc = subprocess.run(
        [*edge_agent_cmd, "--help"], capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "usage: edge-agent" in proc.stdout


def run(cmd: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cmd, *args], capture_output=True, text=True, check=False, timeout=30)


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    with Store(tmp_path) as store:
        store.write(
            [
                Reading("air/temperature", T0, 1.5, "Cel"),
                Reading("air/humidity", T0, 93.0, "%RH"),
                Reading("road-surface/temperature", T0 + 1, 85.0, "Cel", Quality.OUT_OF_RANGE),
                Reading("bay-1/occupied", T0 + 2, True, ""),
            ]
        )
    return tmp_path


def test_query_csv(edge_agent_cmd: list[str], filled: Path) -> None:
    proc = run(
        edge_agent_cmd, "readings", "query", "--data-dir", str(filled), "--stream", "*/temperature"
    )
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert [(r["stream"], r["value"], r["quality"]) for r in rows] == [
        ("air/temperature", "1.5", ""),
        ("road-surface/temperature", "85.0", "out_of_range"),
    ]
    assert rows[0]["time"] == f"{T0:.6f}"


def test_query_jsonl_to_file_with_time_range(
    edge_agent_cmd: list[str], filled: Path, tmp_path: Path
) -> None:
    out = tmp_path / "export.jsonl"
    proc = run(
        edge_agent_cmd,
        "readings", "query", "--data-dir", str(filled), "--format", "jsonl",
        "--since", "2026-01-01T00:00:01+00:00", "-o", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "wrote 2 readings" in proc.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(x["stream"], x["value"]) for x in lines] == [
        ("road-surface/temperature", 85.0),
        ("bay-1/occupied", True),
    ]


def test_bad_time_is_a_usage_error(edge_agent_cmd: list[str], filled: Path) -> None:
    proc = run(
        edge_agent_cmd, "readings", "query", "--data-dir", str(filled), "--since", "yesterday"
    )
    assert proc.returncode == 2
    assert "time 'yesterday' is not understood" in proc.stderr


def test_tail_and_status(edge_agent_cmd: list[str], filled: Path) -> None:
    tail = run(edge_agent_cmd, "readings", "tail", "--data-dir", str(filled), "-n", "2")
    assert tail.returncode == 0
    assert len(tail.stdout.splitlines()) == 2
    assert "out_of_range" in tail.stdout
    status = run(edge_agent_cmd, "status", "--data-dir", str(filled), "--json")
    summary = json.loads(status.stdout)
    assert summary["readings"] == 4
    assert {s["stream"] for s in summary["streams"]} == {
        "air/temperature", "air/humidity", "road-surface/temperature", "bay-1/occupied",
    }  # fmt: skip


def test_missing_store_exits_1_and_says_what_to_do(
    edge_agent_cmd: list[str], tmp_path: Path
) -> None:
    proc = run(edge_agent_cmd, "status", "--data-dir", str(tmp_path / "nothing"))
    assert proc.returncode == 1
    assert "no readings database" in proc.stderr and "edge-agent demo" in proc.stderr
