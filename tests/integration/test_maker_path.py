"""A maker's path with the installed console script: new, edit, test, record, run on the trace."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

EDGE_AGENT = shutil.which("edge-agent", path=str(Path(sys.executable).parent))


def edge_agent(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    assert EDGE_AGENT, "the edge-agent console script is not installed in this environment"
    return subprocess.run(
        [EDGE_AGENT, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_new_edit_test_record_and_replay(tmp_path: Path) -> None:
    created = edge_agent("experiment", "new", "frost-watch", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    folder = tmp_path / "frost_watch"
    assert (folder / "experiment.toml").is_file()

    tested = edge_agent("experiment", "test", str(folder), cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "2 passed" in tested.stdout

    # The maker's edit: also publish how far the value is from the limit.
    code = folder / "experiment.py"
    code.write_text(
        code.read_text().replace(
            '        self.ctx.emit("above", above, units.NONE, at=reading.time)\n',
            '        self.ctx.emit("above", above, units.NONE, at=reading.time)\n'
            '        distance = round(reading.value - self.params["limit"], 3)\n'
            '        self.ctx.emit("distance", distance, reading.unit, at=reading.time)\n',
        )
    )
    manifest = folder / "experiment.toml"
    manifest.write_text(
        manifest.read_text().replace('writes = ["above"]', 'writes = ["above", "distance"]')
    )
    assert edge_agent("experiment", "test", str(folder), cwd=tmp_path).returncode == 0

    # A broken edit makes `experiment test` fail, so the test above can fail too.
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    (broken / "experiment.py").write_text(
        (broken / "experiment.py").read_text().replace("> self.params", "< self.params")
    )
    assert edge_agent("experiment", "test", str(broken), cwd=tmp_path).returncode != 0

    data = tmp_path / "demo-data"
    demo = edge_agent("demo", "--duration", "4", "--data-dir", str(data), cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    trace = tmp_path / "lab.jsonl"
    recorded = edge_agent(
        "record",
        "--data-dir",
        str(data),
        "--since",
        "1h",
        "--stream",
        "air/*",
        "-o",
        str(trace),
        cwd=tmp_path,
    )
    assert recorded.returncode == 0, recorded.stderr
    lines = trace.read_text().splitlines()
    assert json.loads(lines[0])["trace"] == 1
    air_temperatures = [json.loads(x) for x in lines[1:] if '"air/temperature"' in x]
    assert air_temperatures, "the demo's air sensor should have been recorded"

    runs = [
        edge_agent(
            "experiment",
            "run",
            str(folder),
            "--trace",
            str(trace),
            "--param",
            "limit=5.0",
            "--json",
            cwd=tmp_path,
        )
        for _ in range(2)
    ]
    assert runs[0].returncode == 0, runs[0].stderr
    assert runs[0].stdout == runs[1].stdout, "a replay must give the same output every time"
    out = [json.loads(x) for x in runs[0].stdout.splitlines() if x.startswith('{"s"')]
    distances = [r["v"] for r in out if r["s"] == "frost-watch/distance"]
    expected = [round(r["v"] - 5.0, 3) for r in air_temperatures]
    assert distances == expected


def test_bad_input_exits_non_zero_with_a_clear_message(tmp_path: Path) -> None:
    missing = edge_agent("experiment", "run", "frost-wach", "--trace", "x.jsonl", cwd=tmp_path)
    assert missing.returncode == 2
    assert "unknown experiment 'frost-wach'" in missing.stderr
    (tmp_path / "x.txt").write_text("not a trace\n")
    bad = edge_agent("experiment", "run", "road-icing", "--trace", "x.txt", cwd=tmp_path)
    assert bad.returncode == 2
    assert "not a trace file" in bad.stderr
    assert edge_agent("experiment", "new", "Frost Watch", cwd=tmp_path).returncode == 2
