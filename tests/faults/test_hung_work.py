"""A hung experiment and a hung camera in a running agent.

The experiment's ``on_reading`` stops returning (it awaits forever) after a few readings, every
time it is started; the camera is a network camera (an HTTP MJPEG stream on loopback, read
through OpenCV) that sends a few frames and then keeps the connection open without sending any
more, every time it is opened: a read blocks in the capture thread.

What must hold: each hang is detected (the hook timeout, the camera's silence), the supervisor
restarts the experiment and reopens the camera with backoff, again and again; and the rest of
the agent is not affected: a sensor keeps publishing and committing through every hang, never
restarted.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from edge_agent.readings import Reading
from tests.faults.rig import agent_config, read_store, running, wait_until, write_experiment

pytest.importorskip("cv2")
from drivers.camera.tests.test_opencv import PASSWORD, camera_server

pytestmark = pytest.mark.slow

STUCK_MANIFEST = """
name = "stuck"
entry = "experiment:Stuck"
reads = ["air/temperature"]
writes = ["seen", "hanging"]
"""

STUCK_CODE = """
import asyncio

from edge_agent import units
from edge_agent.experiments import Experiment


class Stuck(Experiment):
    seen = 0

    async def on_reading(self, reading):
        self.seen += 1
        self.ctx.emit("seen", self.seen, units.COUNT)
        if self.seen == 5:
            self.ctx.emit("hanging", 1, units.COUNT)
            await asyncio.sleep(3600)  # a hook that never returns
"""


def test_hung_experiment_and_camera_are_restarted_and_nothing_else_stalls(
    tmp_path: Path,
) -> None:
    write_experiment(tmp_path, "stuck", STUCK_MANIFEST, STUCK_CODE)
    secret = tmp_path / "camera-password"
    secret.write_text(PASSWORD)
    secret.chmod(0o600)
    arrivals: dict[str, list[float]] = {"road-surface": [], "stuck-hanging": []}

    def seen(reading: Reading) -> None:
        if reading.stream.startswith("road-surface/"):
            arrivals["road-surface"].append(time.monotonic())
        elif reading.stream == "stuck/hanging":
            arrivals["stuck-hanging"].append(time.monotonic())

    with camera_server(frames=3, stall=True) as url:
        camera = f"""
[[sensor]]
name = "cam"
driver = "camera.frames"
interval = "1s"
[sensor.options]
source = "{url}"
password_file = "{secret}"
fps = 10
width = 64
height = 48
open_timeout = "2s"
max_failures = 1000

[[experiment]]
name = "stuck"
"""
        config = agent_config(tmp_path, extra=camera)
        restarts: dict[str, list[float]] = {"experiment:stuck": [], "sensor:cam": []}

        async def scenario() -> None:
            async with running(config, on_reading=seen, hook_timeout=1.0) as agent:
                services = agent.supervisor.services

                def watch() -> bool:
                    for name, times in restarts.items():
                        while len(times) < services[name].restarts:
                            times.append(time.monotonic())
                    return all(len(times) >= 2 for times in restarts.values())

                await wait_until(watch, "two restarts of the experiment and of the camera")
                experiment, cam = services["experiment:stuck"], services["sensor:cam"]
                assert experiment.last_error is not None
                assert "on_reading did not return within 1 s" in experiment.last_error
                assert agent.experiments["stuck"].timeouts >= 2
                assert cam.last_error is not None
                assert "delivered no frame for" in cam.last_error
                # The camera opens again after each hang and delivers frames.
                source = agent.drivers["cam"].frame_source
                await wait_until(
                    lambda: agent.drivers["cam"].frame_source not in (None, source),
                    "the camera to be reopened once more",
                )
                road = services["sensor:road-surface"]
                assert road.restarts == 0 and road.state == "running"
                assert services["sensor:air"].restarts == 0

        asyncio.run(scenario())

    road = arrivals["road-surface"]
    # The sensor published through every hang: between the experiment hanging and its restart,
    # and in the seconds before each camera restart, when the camera was silent.
    for hung_at, restarted_at in zip(
        arrivals["stuck-hanging"], restarts["experiment:stuck"], strict=False
    ):
        assert any(hung_at < t < restarted_at for t in road), "sensor stalled with experiment"
    for restarted_at in restarts["sensor:cam"]:
        assert any(restarted_at - 2.0 < t < restarted_at for t in road), "stalled with camera"
    with read_store(config.store.data_dir) as store:
        assert store.integrity_check() == []
        committed = {s.stream: s.count for s in store.stats()}
    assert committed["road-surface/temperature"] == len(road)  # every one stored
    assert committed["stuck/seen"] >= 15  # the experiment works between its hangs
    assert committed["cam/frames"] >= 1
