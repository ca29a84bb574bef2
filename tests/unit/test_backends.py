"""Backend choice: option > config > environment > probe, and the messages a user sees."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from edge_agent.backends import (
    Backend,
    all_of,
    always,
    choose_backend,
    environment_variable,
    needs_module,
    needs_path,
)
from edge_agent.errors import ConfigError

LOG = logging.getLogger("test.backends")


def missing(reason: str):
    return lambda: reason


BACKENDS = [
    Backend("lgpio", "the Pi's GPIO chip", missing("no /dev/gpiochip*")),
    Backend("rpigpio", "RPi.GPIO", missing("Python module 'RPi' is missing")),
    Backend("simulated", "simulated pins", always),
]


def choose(option=None, configured=None, environ=None):
    return choose_backend(
        "gpio",
        BACKENDS,
        option=option,
        configured=configured or {},
        sensor="bay-1",
        logger=LOG,
        environ=environ or {},
    )


def test_option_wins_over_config_and_environment(caplog):
    env = {"EDGE_AGENT_GPIO_BACKEND": "simulated"}
    choice = choose(option="rpigpio", configured={"gpio": "simulated"}, environ=env)
    assert (choice.name, choice.source) == ("rpigpio", "option")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_config_wins_over_environment():
    env = {"EDGE_AGENT_GPIO_BACKEND": "simulated"}
    choice = choose(configured={"gpio": "lgpio"}, environ=env)
    assert (choice.name, choice.source) == ("lgpio", "config")


def test_environment_is_used_when_nothing_is_configured():
    choice = choose(environ={"EDGE_AGENT_GPIO_BACKEND": "rpigpio"})
    assert (choice.name, choice.source) == ("rpigpio", "environment")
    assert environment_variable("gpio") == "EDGE_AGENT_GPIO_BACKEND"


def test_probing_warns_and_says_why_the_real_backends_were_skipped(caplog):
    with caplog.at_level(logging.WARNING, logger=LOG.name):
        choice = choose()
    assert (choice.name, choice.source) == ("simulated", "probe")
    [warning] = caplog.records
    text = warning.getMessage()
    assert "'bay-1'" in text and "'simulated'" in text
    assert "lgpio: no /dev/gpiochip*" in text
    assert "EDGE_AGENT_GPIO_BACKEND" in text


def test_an_unknown_name_lists_the_known_backends_and_says_where_it_came_from():
    with pytest.raises(ConfigError) as caught:
        choose(environ={"EDGE_AGENT_GPIO_BACKEND": "lgpi0"})
    message = str(caught.value)
    assert "$EDGE_AGENT_GPIO_BACKEND" in message
    assert "'lgpi0'" in message and "lgpio" in message and "simulated" in message


def test_no_working_backend_is_a_config_error_with_every_reason():
    real_only = BACKENDS[:2]
    with pytest.raises(ConfigError, match=r"no gpio backend works here.*gpiochip.*RPi"):
        choose_backend(
            "gpio", real_only, option=None, configured={}, sensor="s", logger=LOG, environ={}
        )


def test_probes_look_at_modules_and_paths(tmp_path: Path):
    assert needs_module("json", "python3")() is None
    assert "install edge-kit-nothing" in (needs_module("no_such_mod_x", "edge-kit-nothing")() or "")
    assert needs_path(str(tmp_path / "tty*"), "serial port")() == (
        f"no serial port ({tmp_path / 'tty*'})"
    )
    (tmp_path / "ttyUSB0").touch()
    assert needs_path(str(tmp_path / "tty*"), "serial port")() is None
    both = all_of(needs_path(str(tmp_path / "tty*"), "port"), missing("second fails"))
    assert both() == "second fails"
