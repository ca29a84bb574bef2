"""The supervisor restarts a failing service with backoff and keeps the others running."""

from __future__ import annotations

import asyncio
import itertools
import logging

import pytest

from edge_agent.supervisor import Supervisor


def test_failing_service_is_restarted_with_growing_backoff_others_keep_running(
    logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> tuple[list[float], int]:
        loop = asyncio.get_running_loop()
        starts: list[float] = []
        ticks = 0

        async def flaky() -> None:
            starts.append(loop.time())
            raise OSError("device vanished")

        async def steady() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        sup = Supervisor(logger, initial=0.05, maximum=0.2, stable_after=10)
        sup.start("flaky", flaky)
        sup.start("steady", steady)
        await asyncio.sleep(0.75)
        assert sup.services["flaky"].state == "backoff"
        assert sup.services["flaky"].last_error == "OSError: device vanished"
        assert sup.services["steady"].state == "running"
        await sup.stop()
        assert {s.state for s in sup.services.values()} == {"stopped"}
        return starts, ticks

    with caplog.at_level(logging.ERROR):
        starts, ticks = asyncio.run(main())
    gaps = [round(b - a, 2) for a, b in itertools.pairwise(starts)]
    assert len(starts) >= 4
    assert gaps[:3] == pytest.approx([0.05, 0.1, 0.2], abs=0.04)  # doubling, then capped
    assert all(g <= 0.25 for g in gaps)
    assert ticks > 30  # the steady service was never held up
    assert "flaky failed after" in caplog.text and "device vanished" in caplog.text


def test_backoff_resets_after_a_stable_run(logger: logging.Logger) -> None:
    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        starts: list[float] = []

        async def fails_after_a_while() -> None:
            starts.append(loop.time())
            await asyncio.sleep(0.12)  # longer than stable_after
            raise RuntimeError("lost")

        sup = Supervisor(logger, initial=0.05, maximum=1.0, stable_after=0.1)
        sup.start("svc", fails_after_a_while)
        await asyncio.sleep(0.8)
        await sup.stop()
        return starts

    starts = asyncio.run(main())
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(gaps) >= 3
    assert all(g == pytest.approx(0.17, abs=0.04) for g in gaps)  # 0.12 run + 0.05 initial


def test_a_service_that_returns_is_finished_not_restarted(logger: logging.Logger) -> None:
    async def main() -> int:
        runs = 0

        async def once() -> None:
            nonlocal runs
            runs += 1

        sup = Supervisor(logger, initial=0.01)
        sup.start("once", once)
        await asyncio.sleep(0.1)
        assert sup.services["once"].state == "finished"
        return runs

    assert asyncio.run(main()) == 1
