"""Replay every ``testcases/<case>/`` stream in awkward chunk sizes; all give the same result."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.serial.tests.casedata import (
    case_dirs,
    load_expected,
    load_input,
    make_parser,
    random_sizes,
    replay,
    to_json,
)
from drivers.serial.tests.compare import assert_matches

CASES = case_dirs()

CHUNKINGS = {
    "whole": None,
    "1-byte": [1],
    "3-byte": [3],
    "2-then-5": [2, 5],
    "random-a": random_sizes(1),
    "random-b": random_sizes(2, largest=7),
    "random-c": random_sizes(3, largest=120),
}


def test_every_case_has_input_expected_and_source() -> None:
    assert len(CASES) >= 10
    for case in CASES:
        assert (case / "SOURCE.md").read_text().strip(), f"{case.name} lacks SOURCE.md"
        assert load_input(case), f"{case.name} has no input bytes"


@pytest.mark.parametrize("chunking", list(CHUNKINGS), ids=list(CHUNKINGS))
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_case_replays_to_expected_events_and_counters(case: Path, chunking: str) -> None:
    expected = load_expected(case)
    data = load_input(case)
    parser = make_parser(expected["parser"], expected["options"])
    sizes = CHUNKINGS[chunking] or [len(data)]

    events = replay(parser, data, sizes)

    assert_matches(to_json(events), expected["events"])
    assert parser.counters() == expected["counters"]
