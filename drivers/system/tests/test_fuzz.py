"""Light fuzzing of the system parsers: only ParseError escapes, whatever the text.

Besides random text, each parser gets the captured files of ``testcases/`` damaged at one spot
(a character replaced, removed or inserted, or the text cut short), so that most examples get
past the first checks. 100 examples per parser keep this in the fast test run (well under a
second each); the slow set runs 10,000 examples per parser.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.system.proc import parse_diskstats, parse_loadavg, parse_meminfo
from drivers.system.tests.cases import CASE_NAMES, CASES, root
from drivers.system.thermal import parse_thermal_temp
from drivers.system.throttling import parse_get_throttled, parse_hwmon_alarm
from edge_agent.errors import ParseError

LIGHT = settings(max_examples=100, deadline=None, database=None)
DAMAGE = "0123456789abcdefx :/=.-\n\t\x00é"

PARSERS: dict[str, tuple[Callable[[str], object], list[Path]]] = {
    "meminfo": (parse_meminfo, [root(n) / "proc" / "meminfo" for n in CASE_NAMES]),
    "loadavg": (parse_loadavg, [root(n) / "proc" / "loadavg" for n in CASE_NAMES]),
    "diskstats": (parse_diskstats, [root(n) / "proc" / "diskstats" for n in CASE_NAMES]),
    "thermal": (parse_thermal_temp, sorted(CASES.glob("*/root/sys/class/thermal/*/temp"))),
    "get_throttled": (parse_get_throttled, sorted(CASES.glob("*/vcgencmd_get_throttled.txt"))),
    "hwmon": (parse_hwmon_alarm, sorted(CASES.glob("*/root/sys/class/hwmon/*/in0_lcrit_alarm"))),
}


def _damaged(text: str, selector: int) -> str:
    selector, position = divmod(selector, len(text) + 1)
    selector, action = divmod(selector, 5)
    char = DAMAGE[selector % len(DAMAGE)]
    match action:
        case 0:
            return text
        case 1:
            return text[:position] + char + text[position + 1 :]
        case 2:
            return text[:position] + text[position + 1 :]
        case 3:
            return text[:position] + char + text[position:]
        case _:
            return text[:position]


def _parse(parser: Callable[[str], object], text: str) -> None:
    with contextlib.suppress(ParseError):
        parser(text)


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_there_are_files_to_damage(kind: str) -> None:
    assert PARSERS[kind][1], f"no captured {kind} file in testcases/"


@pytest.mark.parametrize("kind", sorted(PARSERS))
@LIGHT
@given(text=st.text(max_size=200))
def test_random_text(kind: str, text: str) -> None:
    _parse(PARSERS[kind][0], text)


@pytest.mark.parametrize("kind", sorted(PARSERS))
@LIGHT
@given(
    pick=st.integers(min_value=0, max_value=1000),
    damage=st.lists(st.integers(min_value=0, max_value=2**40), min_size=1, max_size=3),
)
def test_damaged_real_files(kind: str, pick: int, damage: list[int]) -> None:
    parser, files = PARSERS[kind]
    text = files[pick % len(files)].read_text()
    for selector in damage:
        text = _damaged(text, selector)
    _parse(parser, text)


FULL = settings(max_examples=10_000, deadline=None, database=None)


@st.composite
def texts_for(draw: st.DrawFn, kind: str) -> str:
    """Random text, or a captured file of ``kind`` damaged at up to three spots."""
    if draw(st.booleans()):
        return draw(st.text(max_size=200))
    files = PARSERS[kind][1]
    text = files[draw(st.integers(min_value=0, max_value=len(files) - 1))].read_text()
    for selector in draw(st.lists(st.integers(0, 2**40), min_size=1, max_size=3)):
        text = _damaged(text, selector)
    return text


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_10k_examples_only_parse_error_escapes(kind: str) -> None:
    """The full fuzz run (10,000 examples per parser) of the slow set."""

    @FULL
    @given(text=texts_for(kind))
    def check(text: str) -> None:
        _parse(PARSERS[kind][0], text)

    check()
