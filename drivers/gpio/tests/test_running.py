"""The drivers run as the agent runs them: start, run (with the simulation), stop.

First each driver's ``run_forever`` on the simulated backend, cancelled like the supervisor
cancels it; then the whole agent with the sample config's sensors on the simulated backend.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

from gpiozero.threads import GPIOThread  # type: ignore[import-untyped]

from drivers.gpio.outputs import Output
from drivers.gpio.tests.harness import Recorder, make_driver, wait_until
from edge_agent.agent import Agent
from edge_agent.clock import SystemClock
from edge_agent.config import load_config
from edge_agent.readings import Reading
from edge_agent.store import Store
from edge_agent.supervisor import Supervisor

SAMPLE = Path(__file__).parent.parent / "gpio.example.toml"


def run_until(driver: Any, recorder: Recorder, done: Any, what: str) -> None:
    """Run ``driver.run_forever()`` until ``done(recorder)``, then cancel it."""

    async def main() -> None:
        task = asyncio.create_task(driver.run_forever())
        try:
            await wait_until(lambda: task.done() or done(recorder), what, timeout=60)
            if task.done():
                task.result()  # a failure ends the test with its own message
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())


def total(recorder: Recorder, quantity: str) -> int:
    return sum(int(v or 0) for v in recorder.values(quantity))


def assert_closed(driver: Any) -> None:
    assert driver.factory is None and driver.device is None
    assert not driver.is_open
    assert [t for t in threading.enumerate() if isinstance(t, GPIOThread)] == []


def test_the_simulated_bay_sees_cars_come_and_go() -> None:
    driver, recorder = make_driver(
        "gpio.distance",
        {
            "backend": "simulated",
            "trigger": 23,
            "echo": 24,
            "median_of": 3,
            "confirm_samples": 2,
            "simulation": {"seed": 5, "mean_gap": "1s", "mean_stay": "1s", "drive_in": "200ms"},
        },
        interval=0.1,
        clock=SystemClock(trust=True),
    )
    run_until(
        driver,
        recorder,
        lambda r: r.values("occupied")[-2:] == [True, False],
        "a car to arrive and leave",
    )
    assert_closed(driver)
    distances = [float(v) for v in recorder.values("distance") if v is not None]
    assert min(distances) < 1.5 and max(distances) > 2.4  # roof at 1.1 m, floor at 2.6 m


def test_a_sensor_without_echo_fails_and_the_supervisor_reopens_it() -> None:
    # A floor 40 m away: every echo comes back later than gpiozero waits (100 ms).
    driver, recorder = make_driver(
        "gpio.distance",
        {
            "backend": "simulated",
            "trigger": 23,
            "echo": 24,
            "median_of": 3,
            "lost_after": "1s",
            "simulation": {"floor_distance_m": 40.0, "mean_gap": "1h"},
        },
        interval=0.1,
        clock=SystemClock(trust=True),
    )
    supervisor = Supervisor(logging.getLogger("edge_agent.test.supervisor"), initial=0.1)

    async def main() -> None:
        state = supervisor.start("sensor:s", driver.run_forever)
        try:
            await wait_until(lambda: state.restarts >= 1, "the driver to fail and restart")
            assert state.last_error is not None
            assert "DriverError: sensor 's': no echo from the HC-SR04" in state.last_error
            assert recorder.values("distance") and set(recorder.values("distance")) == {None}
            # Someone fixes the mounting; the next restart opens the sensor afresh.
            sim = driver.options.simulation.model_copy(update={"floor_distance_m": 2.6})
            driver.options = driver.options.model_copy(update={"simulation": sim})
            await wait_until(
                lambda: any(v is not None for v in recorder.values("distance")),
                "distances after a restart",
            )
        finally:
            await supervisor.stop()

    asyncio.run(main())
    assert_closed(driver)
    assert driver.input_errors["no_echo"] >= 1


def test_the_simulated_rain_switch_chatters_and_is_counted_once_per_tip() -> None:
    driver, recorder = make_driver(
        "gpio.input",
        {
            "backend": "simulated",
            "pin": 22,
            "bounce_time": "20ms",
            "simulation": {"seed": 1, "mean_gap": "200ms", "mean_active": "200ms", "chatter": 3},
        },
        interval=0.5,
        clock=SystemClock(trust=True),
    )
    run_until(driver, recorder, lambda r: total(r, "activations") >= 3, "tips")
    assert_closed(driver)
    assert driver.raw_edges > 2 * total(recorder, "activations")  # chatter seen
    changes = recorder.values("state")
    assert True in changes and False in changes


def test_the_simulated_pir_sees_someone() -> None:
    driver, recorder = make_driver(
        "gpio.motion",
        {
            "backend": "simulated",
            "pin": 4,
            "sample_rate": 50,
            "simulation": {"mean_gap": "300ms", "mean_active": "300ms"},
        },
        interval=0.5,
        clock=SystemClock(trust=True),
    )
    run_until(driver, recorder, lambda r: total(r, "motion_count") >= 2, "motion")
    assert_closed(driver)


def test_the_agent_runs_the_sample_config_on_the_simulated_backend(tmp_path: Path) -> None:
    config = load_config(SAMPLE)
    config = config.model_copy(
        update={
            "backends": {"gpio": "simulated"},
            "store": config.store.model_copy(update={"data_dir": tmp_path / "data"}),
        }
    )
    seen: list[Reading] = []
    outputs: list[list[str]] = []
    agent = Agent(
        config,
        logger=logging.getLogger("edge_agent.test.agent"),
        clock=SystemClock(trust=True),
        on_reading=seen.append,
    )

    def streams() -> set[str]:
        return {r.stream for r in seen}

    def led_values() -> list[object]:
        return [r.value for r in seen if r.stream == "lab-led/state"]

    async def main() -> None:
        runner = asyncio.create_task(agent.run())
        try:
            await wait_until(
                lambda: (
                    {"bay-2/distance", "lab-led/state", "lab-door/state"} <= streams()
                    and led_values() == [False, True, False, True, False]
                ),
                "readings of the bay, the door and the LED's lamp test",
                timeout=60,
            )
            outputs.append(agent.resources.names("output"))
            led = agent.resources.lookup("output", "lab-led", Output)
            await led.blink(0.01, 0.01, n=1)
            led.on()
        finally:
            agent.request_stop()
            await runner

    asyncio.run(main())
    assert outputs == [["lab-buzzer", "lab-led"]]
    assert agent.resources.names("output") == []
    assert all(s.state == "stopped" for s in agent.supervisor.services.values())
    with Store(tmp_path / "data", readonly=True) as store:
        stored = store.streams()
        led_states = [r.value for r in store.query("lab-led/state")]
    assert {"bay-2/distance", "lab-door/state", "lab-led/state", "lab-buzzer/state"} <= set(stored)
    # Off at start, the lamp test, the experiment's blink and switch-on, off at stop.
    assert led_states == [False, True, False, True, False, True, False, True, False]
