"""Contact debouncing, replayed from ``testcases/debounce/*.toml``."""

from __future__ import annotations

from typing import Any

import pytest

from drivers.gpio.debounce import Change, Debouncer
from drivers.gpio.tests.harness import load_cases

CASES = load_cases("debounce")


def replay(bounce_s: float, initial: bool | None, edges: list[list[Any]]) -> list[Change]:
    """Feed ``edges`` in order, settling whenever a bounce time runs out before the next."""
    debouncer = Debouncer(bounce_s, initial)
    accepted: list[Change] = []

    def settle_until(now: float) -> None:
        due = debouncer.due
        while due is not None and due <= now:
            change = debouncer.settle(due)
            if change is not None:
                accepted.append(change)
            due = debouncer.due

    for at, level in edges:
        settle_until(float(at))
        change = debouncer.edge(bool(level), float(at), stamp=1_700_000_000.0 + float(at))
        if change is not None:
            accepted.append(change)
    settle_until(float("inf"))
    assert not debouncer.pending
    return accepted


def test_there_are_cases() -> None:
    assert len(CASES) >= 5


@pytest.mark.parametrize("name", list(CASES))
def test_case(name: str) -> None:
    case = CASES[name]
    initial = None if case["initial"] == "unknown" else bool(case["initial"])
    accepted = replay(case["bounce_s"], initial, case["edges"])
    assert [(c.at, c.level) for c in accepted] == [(at, level) for at, level in case["expected"]]
    assert all(c.stamp == pytest.approx(1_700_000_000.0 + c.at) for c in accepted)


def test_settle_before_the_bounce_time_decides_nothing() -> None:
    debouncer = Debouncer(0.05, False)
    assert debouncer.edge(True, 10.0, 0.0) is None
    assert debouncer.due == pytest.approx(10.05)
    assert debouncer.settle(10.04) is None
    assert debouncer.pending
    assert debouncer.settle(10.05) == Change(True, 10.0, 0.0)
    assert debouncer.level is True
