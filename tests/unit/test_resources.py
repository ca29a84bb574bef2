"""Shared I/O is started by its first user and stopped by its last; handles are looked up."""

from __future__ import annotations

import asyncio

import pytest

from edge_agent.errors import ConfigError
from edge_agent.resources import Resources


class Radio:
    def __init__(self) -> None:
        self.starts = 0
        self.stops = 0

    async def start(self) -> None:
        self.starts += 1

    async def stop(self) -> None:
        self.stops += 1


class Other(Radio):
    pass


def test_first_user_starts_last_user_stops():
    async def scenario():
        resources = Resources()
        made: list[Radio] = []

        def create() -> Radio:
            made.append(Radio())
            return made[-1]

        first = await resources.acquire("ble:hci0", create, Radio)
        second = await resources.acquire("ble:hci0", create, Radio)
        assert first is second and len(made) == 1 and first.starts == 1
        assert resources.users("ble:hci0") == 2
        await resources.release("ble:hci0")
        assert first.stops == 0
        await resources.release("ble:hci0")
        assert first.stops == 1 and resources.users("ble:hci0") == 0
        third = await resources.acquire("ble:hci0", create, Radio)
        assert third is not first and third.starts == 1

    asyncio.run(scenario())


def test_a_key_holding_something_else_is_refused():
    async def scenario():
        resources = Resources()
        await resources.acquire("bus", Radio, Radio)
        with pytest.raises(TypeError, match="'bus' is a Radio, not Other"):
            await resources.acquire("bus", Other, Other)

    asyncio.run(scenario())


def test_handles_are_offered_looked_up_and_withdrawn():
    resources = Resources()
    led = Radio()
    resources.provide("output", "alarm-led", led)
    assert resources.lookup("output", "alarm-led", Radio) is led
    assert resources.names("output") == ["alarm-led"]
    with pytest.raises(ConfigError, match="alarm-led"):
        resources.lookup("output", "alarm-lde", Radio)
    resources.withdraw("output", "alarm-led")
    with pytest.raises(ConfigError):
        resources.lookup("output", "alarm-led", Radio)
