"""The test cases in ``testcases/``: ``w1_slave`` files, what they must parse to, their source."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from drivers.onewire import parse_w1_slave, to_readings
from edge_agent.errors import ParseError

CASES = Path(__file__).parent / "testcases"
CASE_NAMES = sorted(path.name for path in CASES.iterdir() if path.is_dir())


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_parses_as_expected(name: str) -> None:
    content = (CASES / name / "w1_slave").read_bytes()
    expected = json.loads((CASES / name / "expected.json").read_text(encoding="utf-8"))
    if "error" in expected:
        with pytest.raises(ParseError, match=re.escape(expected["error"])):
            parse_w1_slave(content)
        return
    sample = parse_w1_slave(content)
    want = expected["sample"]
    assert sample.temperature_c == want["temperature_c"]
    assert sample.crc_ok is want["crc_ok"]
    assert sample.scratchpad.hex() == want["scratchpad"]
    assert sample.crc == want["crc"]
    assert sample.power_on_reset is want["power_on_reset"]
    readings = to_readings(sample, "probe", 12.5)
    assert [
        {"stream": r.stream, "value": r.value, "unit": r.unit, "quality": r.quality.names()}
        for r in readings
    ] == expected["readings"]
    assert parse_w1_slave(content.decode("ascii")) == sample


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_has_its_source_written_down(name: str) -> None:
    source = (CASES / name / "SOURCE.md").read_text(encoding="utf-8")
    assert "http" in source or "constructed" in source.lower(), (
        f"{name}/SOURCE.md must say where the content came from"
    )
