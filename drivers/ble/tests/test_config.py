"""Options as the config file gives them, the sample config, and the backend choice."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.ble.driver import BleTagDriver
from drivers.ble.options import BleTagOptions
from drivers.ble.tests.rig import Rig
from edge_agent.config import load_config, parse_config
from edge_agent.errors import ConfigError

SAMPLE = Path(__file__).parent.parent / "ble.example.toml"
KEY = "231d39c1d7cc1ab1aee224cd096db932"


def check(options: dict[str, object]) -> str:
    """What ``edge-agent config check`` says about one ble.tag sensor with ``options``."""
    with pytest.raises(ConfigError) as caught:
        parse_config({"sensor": [{"name": "tag", "driver": "ble.tag", "options": options}]})
    return str(caught.value)


def test_address_is_normalised() -> None:
    options = BleTagOptions.model_validate({"address": "a4-c1-38-8d-18-b2"})
    assert options.address == "A4:C1:38:8D:18:B2"
    assert (options.format, options.adapter, options.bind_key, options.stale_after) == (
        "auto",
        "hci0",
        None,
        None,
    )


@pytest.mark.parametrize("address", ["A4:C1:38:8D:18", "A4:C1:38:8D:18:GG", "A4C1388D18B2", ""])
def test_a_bad_address_names_the_value_and_the_fix(address: str) -> None:
    message = check({"address": address})
    assert f"sensor[0].options.address: address {address!r} is not a Bluetooth MAC" in message
    assert "bluetoothctl scan on" in message


def test_address_is_required() -> None:
    assert "sensor[0].options.address: required key is missing" in check({})


def test_unknown_format_lists_the_choices() -> None:
    message = check({"address": "A4:C1:38:8D:18:B2", "format": "xiaomi"})
    assert "sensor[0].options.format" in message
    for choice in ("auto", "bthome", "ruuvi", "atc1441", "pvvx"):
        assert repr(choice) in message


def test_bind_key_spellings_and_secrecy() -> None:
    for text in (KEY, KEY.upper(), " ".join(KEY[i : i + 8] for i in range(0, 32, 8))):
        options = BleTagOptions.model_validate({"address": "A4:C1:38:8D:18:B2", "bind_key": text})
        assert options.bind_key_bytes() == bytes.fromhex(KEY)
        assert KEY not in repr(options) and KEY not in str(options.model_dump())
        assert "**********" in repr(options)


@pytest.mark.parametrize("key", [KEY[:-1], KEY[:-1] + "z", KEY + "00", 1234])
def test_a_bad_bind_key_is_refused_without_showing_it(key: object) -> None:
    message = check({"address": "A4:C1:38:8D:18:B2", "bind_key": key})
    assert "sensor[0].options.bind_key: bind_key must be" in message
    assert str(key) not in message and KEY[:16] not in message


def test_bind_key_is_only_for_bthome() -> None:
    message = check({"address": "A4:C1:38:8D:18:B2", "format": "pvvx", "bind_key": KEY})
    assert "bind_key is only used by encrypted BTHome, but format is 'pvvx'" in message
    assert KEY not in message


def test_adapter_and_stale_after() -> None:
    assert "adapter 'bluetooth0' is not a BlueZ adapter name" in check(
        {"address": "A4:C1:38:8D:18:B2", "adapter": "bluetooth0"}
    )
    assert "duration 'soon' is not understood" in check(
        {"address": "A4:C1:38:8D:18:B2", "stale_after": "soon"}
    )
    options = BleTagOptions.model_validate(
        {"address": "A4:C1:38:8D:18:B2", "adapter": "hci1", "stale_after": "5m"}
    )
    assert (options.adapter, options.stale_after) == ("hci1", 300.0)


def test_unknown_backend_lists_the_ble_backends() -> None:
    message = check({"address": "A4:C1:38:8D:18:B2", "backend": "bluez"})
    assert "unknown ble backend 'bluez'; known ble backends: bleak, simulated" in message


def test_sample_config_is_valid_and_names_every_format() -> None:
    config = load_config(SAMPLE)
    options = [config.driver_options[s.name] for s in config.sensors]
    assert all(isinstance(o, BleTagOptions) for o in options)
    assert {o.format for o in options if isinstance(o, BleTagOptions)} == {
        "auto",
        "bthome",
        "ruuvi",
        "atc1441",
        "pvvx",
    }
    assert config.backends == {"ble": "bleak"}


def test_sample_config_passes_edge_agent_config_check_without_showing_the_key() -> None:
    script = Path(sys.executable).parent / "edge-agent"
    result = subprocess.run(
        [str(script), "config", "check", str(SAMPLE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "office-tag           ble.tag every 30s" in result.stdout
    assert "bind_key=**********" in result.stdout
    assert KEY not in result.stdout + result.stderr


def test_probe_on_this_machine(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Without a Bluetooth adapter the probe chooses the simulated radio, with a warning."""
    monkeypatch.delenv("EDGE_AGENT_BLE_BACKEND", raising=False)
    has_adapter = any(Path("/sys/class/bluetooth").glob("hci*"))
    tag = Rig().tag(address="A4:C1:38:8D:18:B2", backend=None)
    with caplog.at_level(logging.WARNING):
        choice = tag.choose_backend()
    assert choice.source == "probe"
    if has_adapter:
        assert choice.name == "bleak"
        return
    assert choice.name == "simulated"
    warning = next(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert "probed and chose 'simulated'" in warning
    assert "bleak: no Bluetooth adapter (/sys/class/bluetooth/hci*)" in warning


def test_config_and_environment_choose_before_the_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGE_AGENT_BLE_BACKEND", "bleak")
    assert Rig().tag(address="A4:C1:38:8D:18:B2", backend=None).choose_backend().name == "bleak"
    configured = Rig().tag(
        address="A4:C1:38:8D:18:B2", backend=None, configured={"ble": "simulated"}
    )
    assert configured.choose_backend().name == "simulated"
    assert [b.name for b in BleTagDriver.backends] == ["bleak", "simulated"]
