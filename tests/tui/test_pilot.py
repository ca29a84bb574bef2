"""The console against a real agent (``edge-agent run`` with simulated sensors, the road-icing
experiment and a small parking experiment): navigation by keys, mouse and command palette, every
screen's data, and every action, driven through Textual's Pilot."""

from __future__ import annotations

import pytest

from edge_agent.api.client import ApiClient
from tui.console import EdgeConsole
from tui.link import Target

from .rig import remove, run, screen_text, start_lab, until

SIZE = (100, 30)


@pytest.fixture(scope="module")
def lab():
    agent, root = start_lab()
    yield agent
    agent.stop()
    remove(root)


def console(agent, **options) -> EdgeConsole:
    return EdgeConsole(Target(socket=agent.socket), **options)


def test_every_screen_by_its_key(lab):
    async def main() -> None:
        app = console(lab)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.screen.ready, what="the device screen")
            for key, mode in [
                ("1", "fleet"),
                ("3", "experiments"),
                ("4", "parking"),
                ("5", "icing"),
                ("6", "sync"),
                ("7", "logs"),
                ("8", "config"),
                ("2", "device"),
            ]:
                await pilot.press(key)
                assert app.current_mode == mode
                await until(pilot, lambda: app.screen.ready, what=f"the {mode} screen")
            assert app.faults == []

    run(main())


async def open_screen(app, pilot, key: str) -> None:
    await pilot.press(key)
    await until(pilot, lambda: app.screen.ready, what=f"screen {key}")


def test_mouse_on_the_screen_bar_and_the_command_palette(lab):
    async def main() -> None:
        app = console(lab)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.screen.ready, what="the device screen")
            bar = screen_text(app).splitlines()[0]
            await pilot.click("NavBar", offset=(bar.index("Sync") + 1, 0))
            await until(pilot, lambda: app.current_mode == "sync", what="a click on Sync")
            await pilot.press("ctrl+p")
            await until(pilot, lambda: app.screen.query("CommandInput"), what="the palette")
            await pilot.press(*"show logs")
            await until(
                pilot,
                lambda: app.screen.query_one("CommandList").option_count > 0,
                what="palette hits",
            )
            await pilot.press("enter")
            await until(pilot, lambda: app.current_mode == "logs", what="the palette's choice")
            assert app.faults == []

    run(main())


def test_dashboard_shows_live_values_with_trends_and_a_sensor_detail(lab):
    async def main() -> None:
        app = console(lab)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.screen.ready, what="the device screen")
            table = app.screen.query_one("#sensors")
            await until(
                pilot,
                lambda: "road-surface/temperature" in [k.value for k in table.rows],
                what="the road-surface row",
            )
            first = str(table.get_cell("air/temperature", "time"))
            # The live stream moves the values on (sensors read every 200 ms).
            await until(
                pilot,
                lambda: str(table.get_cell("air/temperature", "time")) != first,
                what="a live update of air/temperature",
            )
            trend = str(table.get_cell("air/temperature", "trend")).strip()
            assert len(trend) >= 2 and set(trend) <= set("▁▂▃▄▅▆▇█")
            text = screen_text(app)
            assert "tui-pi" in text and "● ok" in text
            assert "°C" in text and "bay-2/occupied" in text
            table.move_cursor(row=table.get_row_index("air/humidity"))
            await pilot.press("enter")
            await until(
                pilot,
                lambda: "last day" in screen_text(app),
                what="the sensor detail",
            )
            detail = screen_text(app)
            assert "simulated.air" in detail and "air/humidity" in detail
            await pilot.press("escape")
            await until(pilot, lambda: app.current_mode == "device" and app.screen.ready)
            assert "last day" not in screen_text(app)
            assert app.faults == []

    run(main())


async def experiment_state(agent, name: str) -> str:
    """The experiment's state as the agent reports it (asked apart from the console)."""
    async with ApiClient.unix(agent.socket) as api:
        return next(e["state"] for e in await api.experiments() if e["name"] == name)


def test_experiments_restart_stop_and_start(lab):
    async def main() -> None:
        app = console(lab)
        async with app.run_test(size=SIZE) as pilot:
            await open_screen(app, pilot, "3")
            table = app.screen.query_one("#experiments")
            await until(pilot, lambda: table.row_count == 2, what="two experiments")
            table.move_cursor(row=table.get_row_index("lot"))
            await until(pilot, lambda: app.screen.log_of == "lot", what="the log of lot")

            await pilot.press("r")
            await until(
                pilot,
                lambda: any("lot restarted" in n.message for n in app._notifications),
                what="the restart's notification",
            )
            await pilot.press("x")
            await until(pilot, lambda: app.screen.query("#confirm-question"), what="the question")
            assert "Stop experiment lot?" in screen_text(app)
            await pilot.press("y")
            await until(
                pilot,
                lambda: any("lot stopped" in n.message for n in app._notifications),
                what="the stop's notification",
            )
            assert await experiment_state(lab, "lot") == "stopped"
            await until(
                pilot,
                lambda: str(table.get_cell("lot", "state")) == "stopped",
                what="the table to say stopped",
            )
            # The log shows the action with who did it.
            await until(
                pilot,
                lambda: "stopped through the API" in screen_text(app),
                what="the action in the log",
            )
            await pilot.press("x")
            await until(pilot, lambda: app.screen.query("#confirm-question"))
            await pilot.press("n")  # asked again, and told no: nothing happens
            await pilot.press("s")
            await until(
                pilot,
                lambda: any("lot started" in n.message for n in app._notifications),
                what="the start's notification",
            )
            assert await experiment_state(lab, "lot") == "running"
            assert app.faults == []

    run(main())


def test_read_only_hides_and_refuses_every_action(lab):
    async def main() -> None:
        app = console(lab, read_only=True)
        async with app.run_test(size=SIZE) as pilot:
            await open_screen(app, pilot, "3")
            await until(pilot, lambda: app.screen.query_one("#experiments").row_count == 2)
            footer = screen_text(app).splitlines()[-1]
            assert "Restart" not in footer and "Stop" not in footer and "Start" not in footer
            assert "read-only" in screen_text(app)
            for key in "xrs":
                await pilot.press(key)
            await pilot.pause(0.5)
            assert not app.screen.query("#confirm-question")
            assert await experiment_state(lab, "road-icing") == "running"
            assert not [n for n in app._notifications if "restarted" in n.message]

            await open_screen(app, pilot, "8")
            footer = screen_text(app).splitlines()[-1]
            assert "Edit" not in footer and "Apply" not in footer and "Validate" in footer
            await pilot.press("e", "x", "y")
            assert app.screen.editor.read_only
            assert app.screen.editor.text == app.screen.original
            assert app.faults == []

    run(main())


def test_parking_and_road_icing_screens_show_their_experiments(lab):
    async def main() -> None:
        app = console(lab)
        async with app.run_test(size=SIZE) as pilot:
            await open_screen(app, pilot, "4")
            await until(
                pilot,
                lambda: len(app.screen.query_one("#bays").bays) == 2,
                what="two bays of the lot experiment",
            )
            text = screen_text(app)
            assert "Free" in text and "Occupied" in text and "Total 2" in text
            assert "bay-1" in text and "bay-2" in text
            assert "no parking experiment running" not in text
            await open_screen(app, pilot, "5")
            await until(
                pilot,
                lambda: "not assessed yet" not in screen_text(app) and "Risk" in screen_text(app),
                what="an icing risk",
            )
            text = screen_text(app)
            assert any(label.upper() in text for label in ("none", "low", "moderate", "high"))
            assert "surface (road-surface/temperature)" in text and "dew point" in text
            assert "forecast" in text
            assert app.faults == []

    run(main())


def test_logs_filter_level_and_pause(lab):
    async def main() -> None:
        app = console(lab)
        async with app.run_test(size=SIZE) as pilot:
            await open_screen(app, pilot, "7")
            screen = app.screen
            await until(pilot, lambda: "control API on" in screen_text(app), what="log lines")
            await pilot.press("slash", *"running as")
            await until(pilot, lambda: "control API on" not in screen_text(app))
            assert "running as 'tui-pi'" in screen_text(app)
            await pilot.press("escape", "v")
            assert screen.level == "warning"
            await until(pilot, lambda: "running as 'tui-pi'" not in screen_text(app))
            await pilot.press("f")
            assert "paused" in screen_text(app)
            await pilot.press("f")
            assert "following" in screen_text(app)
            assert app.faults == []

    run(main())


def test_config_edit_validate_diff_and_undo(lab):
    async def main() -> None:
        app = console(lab)
        async with app.run_test(size=SIZE) as pilot:
            await open_screen(app, pilot, "8")
            screen = app.screen
            await until(pilot, lambda: "[device]" in screen.editor.text, what="the config text")
            await pilot.press("v")
            await until(pilot, lambda: "valid" in screen_text(app), what="the verdict")
            assert "✔ valid" in screen_text(app)
            await pilot.press("e")
            assert not screen.editor.read_only
            screen.editor.move_cursor((0, 0))
            await pilot.press(*"[bogus]", "enter")
            await pilot.press("escape")
            assert screen.editor.read_only and screen.dirty
            await pilot.press("v")
            await until(pilot, lambda: "not valid" in screen_text(app), what="the problems")
            assert "bogus" in screen_text(app)
            await pilot.press("d")
            await until(pilot, lambda: "+[bogus]" in screen_text(app), what="the diff")
            await pilot.press("a")  # validated first: refused, nothing sent
            await until(
                pilot,
                lambda: any("not valid" in n.message for n in app._notifications),
                what="the refusal",
            )
            assert "bogus" not in lab.config.read_text()
            await pilot.press("u")
            assert not screen.dirty
            assert app.faults == []

    run(main())
