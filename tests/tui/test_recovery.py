"""The console when the agent goes away and comes back: an agent that is not there yet, and a
config apply that restarts the agent (confirmed), or that it rolls back."""

from __future__ import annotations

import pytest

from tui.console import EdgeConsole
from tui.link import Target

from .rig import Agent, remove, run, screen_text, short_tmp, start_lab, until, write_lab

pytestmark = pytest.mark.slow

SIZE = (100, 30)


def test_an_absent_agent_is_said_and_found_when_it_starts():
    root = short_tmp()
    agent = None
    try:

        async def main() -> None:
            nonlocal agent
            app = EdgeConsole(Target(socket=root / "api.sock"))
            async with app.run_test(size=SIZE) as pilot:
                await until(pilot, lambda: "unreachable" in screen_text(app), what="the news")
                assert f"no agent socket at {root / 'api.sock'}" in screen_text(app)
                await pilot.press("3")  # the console keeps working meanwhile
                assert app.current_mode == "experiments"
                assert "unreachable" in screen_text(app)
                agent = Agent(write_lab(root), root).wait_ready()
                await until(
                    pilot,
                    lambda: "● ok" in screen_text(app) and "tui-pi" in screen_text(app),
                    what="the agent found",
                )
                await until(
                    pilot,
                    lambda: app.screen.query_one("#experiments").row_count == 2,
                    what="its experiments",
                )
                assert "unreachable" not in screen_text(app)
                assert app.faults == []

        run(main())
    finally:
        if agent is not None:
            agent.stop()
        remove(root)


@pytest.fixture
def lab():
    agent, root = start_lab()
    (root / "w1").mkdir()
    yield agent
    agent.stop()
    remove(root)


async def apply_text(app, pilot, extra: str) -> None:
    """Edit the config on the Config screen (``extra`` at the top) and apply it."""
    await pilot.press("8")
    await until(pilot, lambda: app.screen.ready and "[device]" in app.screen.editor.text)
    await pilot.press("e")
    app.screen.editor.move_cursor((0, 0))
    app.screen.editor.insert(extra)
    await pilot.press("escape", "a")
    await until(pilot, lambda: app.screen.query("#confirm-question"), what="the question")
    assert "Apply the edited config" in screen_text(app)
    await pilot.press("y")


def test_apply_restarts_the_agent_on_the_new_config(lab):
    async def main() -> None:
        app = EdgeConsole(Target(socket=lab.socket))
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.device is not None, what="the device")
            before = app.device["instance"]
            await apply_text(app, pilot, "# tried from the console\n")
            await until(pilot, lambda: "✔ applied" in screen_text(app), 90, "the agent's verdict")
            assert lab.config.read_text().startswith("# tried from the console\n")
            assert "confirmed" in screen_text(app)
            await until(pilot, lambda: app.device["instance"] != before, what="the new instance")
            assert "● ok" in screen_text(app)
            assert app.faults == []

    run(main())


def test_a_config_that_fails_at_run_time_is_rolled_back(lab):
    broken = (
        '[[sensor]]\nname = "gone-probe"\ndriver = "onewire.ds18b20"\ninterval = "1s"\n'
        f'options = {{ backend = "sysfs", sysfs_root = "{lab.root / "w1"}" }}\n\n'
    )
    original = lab.config.read_text()
    # A short trial, so that the roll-back comes soon.
    lab.config.write_text(original.replace('apply_timeout = "30s"', 'apply_timeout = "6s"'))
    lab.stop()
    agent = Agent(lab.config, lab.root).wait_ready()
    try:

        async def main() -> None:
            app = EdgeConsole(Target(socket=agent.socket))
            async with app.run_test(size=SIZE) as pilot:
                # The sensor section goes after the [api] table, before the first sensor.
                await pilot.press("8")
                await until(
                    pilot, lambda: app.screen.ready and "[[sensor]]" in app.screen.editor.text
                )
                line = app.screen.editor.text.splitlines().index("[[sensor]]")
                await pilot.press("e")
                app.screen.editor.move_cursor((line, 0))
                app.screen.editor.insert(broken)
                await pilot.press("escape", "a")
                await until(pilot, lambda: app.screen.query("#confirm-question"))
                await pilot.press("y")
                await until(pilot, lambda: "rolled-back" in screen_text(app), 120, "the roll-back")
                assert "gone-probe" not in agent.config.read_text()
                assert "gone-probe" not in app.screen.editor.text
                assert any("rolled-back" in n.message for n in app._notifications)
                assert app.faults == []

        run(main())
    finally:
        agent.stop()
