"""The hub fans readings out by pattern; a slow consumer loses its oldest, never blocks others."""

from __future__ import annotations

import asyncio

from edge_agent.hub import Hub
from edge_agent.readings import Reading


def r(stream: str, i: int = 0) -> Reading:
    return Reading(stream, float(i), float(i), "Cel")


def test_readings_reach_every_matching_subscription_only() -> None:
    async def main() -> None:
        hub = Hub()
        air = hub.subscribe("air/*")
        temps = hub.subscribe("*/temperature")
        everything = hub.subscribe()
        hub.publish(r("air/temperature"))
        hub.publish(r("air/humidity"))
        hub.publish(r("road-surface/temperature"))
        assert [x.stream for x in await air.get_batch()] == ["air/temperature", "air/humidity"]
        assert [x.stream for x in await temps.get_batch()] == [
            "air/temperature",
            "road-surface/temperature",
        ]
        assert len(await everything.get_batch()) == 3

    asyncio.run(main())


def test_a_slow_consumer_drops_its_oldest_and_counts_them() -> None:
    hub = Hub()
    slow = hub.subscribe(maxlen=10)
    fast = hub.subscribe(maxlen=1000)
    for i in range(25):
        hub.publish(r("air/temperature", i))  # returns at once: the producer is never blocked
    assert slow.dropped == 15
    assert [x.time for x in slow.drain()] == [float(i) for i in range(15, 25)]
    assert fast.dropped == 0 and len(fast.drain()) == 25
    assert hub.dropped() == 15
    assert hub.published == 25


def test_a_waiting_consumer_wakes_up_on_publish_and_ends_on_close() -> None:
    async def main() -> list[list[float]]:
        hub = Hub()
        sub = hub.subscribe()
        got: list[list[float]] = []

        async def consume() -> None:
            async for batch in sub:
                got.append([x.time for x in batch])

        task = asyncio.create_task(consume())
        await asyncio.sleep(0)
        hub.publish(r("a/b", 1))
        await asyncio.sleep(0.01)
        hub.publish(r("a/b", 2))
        hub.publish(r("a/b", 3))
        sub.close()
        await asyncio.wait_for(task, 2)
        hub.publish(r("a/b", 4))  # after close: not delivered
        return got

    assert asyncio.run(main()) == [[1.0], [2.0, 3.0]]


def test_subscribing_later_changes_routing() -> None:
    hub = Hub()
    hub.publish(r("air/temperature"))
    late = hub.subscribe("air/*")
    hub.publish(r("air/temperature", 1))
    assert [x.time for x in late.drain()] == [1.0]
