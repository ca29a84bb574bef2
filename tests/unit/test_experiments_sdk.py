"""The experiments SDK: manifests, catalog, the runner's containment, the agent running one."""

from __future__ import annotations

import asyncio
import logging
import textwrap
import time
from pathlib import Path

import pytest

from edge_agent.agent import Agent
from edge_agent.clock import ManualClock
from edge_agent.config import parse_config
from edge_agent.errors import ConfigError, ExperimentError
from edge_agent.experiments import ExperimentRunner, find_experiments, load_manifest
from edge_agent.experiments.replay import replay
from edge_agent.experiments.trace import TraceHeader, read_trace, write_trace
from edge_agent.hub import Hub
from edge_agent.readings import Reading
from edge_agent.resources import Resources
from edge_agent.store import Store

LOG = logging.getLogger("test.experiments")

MANIFEST = """
name = "{name}"
entry = "experiment:Probe"
reads = ["{{stream}}"]
writes = ["doubled"]
timer = "{timer}"

[params.stream]
type = "str"
default = "air/temperature"

[params.mode]
type = "str"
default = "ok"
choices = ["ok", "raise", "hang", "burn"]
"""

CODE = """
import time
from edge_agent.experiments import Experiment

from .helper import double


class Probe(Experiment):
    async def on_start(self):
        self.seen = 0

    async def on_reading(self, reading):
        mode = self.params["mode"]
        self.seen += 1
        if mode == "raise" and self.seen == 3:
            raise RuntimeError("sensor value made no sense")
        if mode == "hang":
            import asyncio
            await asyncio.sleep(3600)
        if mode == "burn":
            await self.ctx.run_in_thread(spin, 0.05)
        self.ctx.emit("doubled", double(reading.value), reading.unit)

    async def on_timer(self, now):
        self.ctx.event("tick", f"seen {{self.seen}}", seen=self.seen)


def spin(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass
"""


def make_experiment(root: Path, name: str = "probe", timer: str = "10s") -> Path:
    folder = root / name.replace("-", "_")
    folder.mkdir(parents=True)
    (folder / "experiment.toml").write_text(MANIFEST.format(name=name, timer=timer))
    (folder / "experiment.py").write_text(textwrap.dedent(CODE.format()))
    (folder / "helper.py").write_text("def double(x):\n    return 2 * x\n")
    return folder


def air(t: float, value: float) -> Reading:
    return Reading("air/temperature", t, value, "Cel")


def test_replay_delivers_matching_readings_and_fires_timers_in_time_order(tmp_path):
    folder = make_experiment(tmp_path)
    readings = [air(100 + 5 * i, float(i)) for i in range(10)]
    readings.insert(3, Reading("bay-1/occupied", 111, True, ""))
    result = replay(folder, readings)
    assert [r.value for r in result.stream("doubled")] == [2.0 * i for i in range(10)]
    assert result.delivered == 10
    # Timer every 10 s from the first reading (t=100): ticks at 110, 120, 130, 140.
    assert [e.time for e in result.events] == [110, 120, 130, 140]
    assert [e.data["seen"] for e in result.events] == [2, 4, 6, 8]


def test_a_raising_hook_becomes_an_experiment_error_naming_the_hook(tmp_path):
    folder = make_experiment(tmp_path)
    with pytest.raises(ExperimentError, match=r"on_reading raised RuntimeError: sensor value"):
        replay(folder, [air(i, 1.0) for i in range(5)], params={"mode": "raise"})


def test_a_hanging_hook_times_out(tmp_path):
    folder = make_experiment(tmp_path)
    with pytest.raises(ExperimentError, match=r"did not return within 0\.2 s"):
        replay(folder, [air(0, 1.0)], params={"mode": "hang"}, hook_timeout=0.2)


def test_cpu_time_of_threads_is_accounted(tmp_path):
    folder = make_experiment(tmp_path)
    result = replay(folder, [air(i, 1.0) for i in range(4)], params={"mode": "burn"})
    assert result.stats["cpu_s"] >= 0.2  # four calls of 50 ms of CPU each


def test_the_supervisor_restarts_a_failing_experiment_and_others_keep_running(tmp_path):
    bad = load_manifest(make_experiment(tmp_path, "flaky"))
    good = load_manifest(make_experiment(tmp_path, "steady"))

    async def scenario():
        from edge_agent.supervisor import Supervisor

        hub, clock, sup = Hub(), ManualClock(), Supervisor(LOG, initial=0.05, maximum=0.05)
        out = hub.subscribe("*/doubled", name="out")
        runners = {}
        for manifest, mode in ((bad, "raise"), (good, "ok")):
            runners[manifest.name] = runner = ExperimentRunner(
                manifest,
                manifest.validate_params({"mode": mode}),
                publish=hub.publish,
                record_event=lambda *a: None,
                clock=clock,
                resources=Resources(),
                logger=LOG,
            )
            sup.start(f"experiment:{manifest.name}", lambda r=runner: r.run(hub))
        await asyncio.sleep(0.05)
        deadline = time.monotonic() + 20
        while sup.services["experiment:flaky"].restarts < 2 and time.monotonic() < deadline:
            hub.publish(air(clock.now(), 1.5))
            await asyncio.sleep(0.01)
        await sup.stop()
        return sup.services, runners, out.drain()

    services, runners, doubled = asyncio.run(scenario())
    assert services["experiment:flaky"].restarts >= 2
    assert "sensor value made no sense" in (services["experiment:flaky"].last_error or "")
    assert services["experiment:steady"].restarts == 0
    assert any(r.stream == "steady/doubled" for r in doubled)
    assert runners["flaky"].hook_errors >= 2


def test_user_experiments_replace_bundled_ones_and_are_validated(tmp_path):
    make_experiment(tmp_path / "user", "road-icing")
    catalog = find_experiments([tmp_path / "user"], logger=LOG)
    assert catalog["road-icing"].folder == tmp_path / "user" / "road_icing"
    (tmp_path / "broken" / "x").mkdir(parents=True)
    (tmp_path / "broken" / "x" / "experiment.toml").write_text('name = "Bad Name"\n')
    with pytest.raises(ConfigError, match=r"broken/x/experiment.toml: name"):
        find_experiments([tmp_path / "broken"])


def test_manifest_default_of_the_wrong_type_is_refused(tmp_path):
    folder = make_experiment(tmp_path)
    text = (folder / "experiment.toml").read_text().replace('default = "ok"', "default = 3")
    (folder / "experiment.toml").write_text(text)
    with pytest.raises(ConfigError, match=r"params.mode.default"):
        load_manifest(folder)


def test_trace_round_trip_and_bad_lines_name_the_line(tmp_path):
    readings = [air(1.5, -0.25), Reading("bay-1/occupied", 2.0, True, "")]
    path = tmp_path / "t.jsonl"
    assert write_trace(path, readings, TraceHeader(device="pi")) == 2
    header, back = read_trace(path)
    assert header.device == "pi" and list(back) == readings
    path.write_text(path.read_text() + "{not json\n")
    _, back = read_trace(path)
    with pytest.raises(ConfigError, match=r"t.jsonl:4: not a reading line"):
        list(back)
    (tmp_path / "plain.txt").write_text("hello\n")
    with pytest.raises(ConfigError, match="not a trace file"):
        read_trace(tmp_path / "plain.txt")


def test_the_agent_runs_an_enabled_experiment_and_stores_its_output(tmp_path):
    users = tmp_path / "experiments"
    make_experiment(users, "probe")
    config = parse_config(
        {
            "experiments_dir": str(users),
            "device": {"id": "pi", "trust_clock": True},
            "store": {"data_dir": str(tmp_path / "data"), "flush_interval": "100ms"},
            "sensor": [{"name": "air", "driver": "simulated.air", "interval": "50ms"}],
            "experiment": [{"name": "probe", "timer": "200ms"}],
        }
    )

    async def scenario():
        agent = Agent(config, logger=LOG)
        task = asyncio.create_task(agent.run())
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            runner = agent.experiments.get("probe")
            if runner and runner.stats()["events"] >= 2 and runner.stats()["emitted"] >= 5:
                break
        agent.request_stop()
        await task

    asyncio.run(scenario())
    with Store(tmp_path / "data", readonly=True) as store:
        assert "probe/doubled" in store.streams()
        assert any(e["kind"] == "tick" for e in store.recent_events(50))
