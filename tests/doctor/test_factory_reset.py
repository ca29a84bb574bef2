"""``edge-agent factory-reset`` on a device laid out in a temporary directory.

The command wipes the data directory's contents and the credential files the config names,
only with ``--yes``, never while an agent holds the store, and never a directory that is not
the agent's; the software, the config and the region's CA stay.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from edge_agent.config import parse_config
from edge_agent.doctor.reset import plan_reset
from edge_agent.errors import ConfigError
from edge_agent.readings import Reading
from edge_agent.store import Store


def device(tmp_path: Path) -> dict[str, Path]:
    """A lab Pi's files: data with readings, credentials, the CA, and the config naming them."""
    etc = tmp_path / "etc" / "edge-agent"
    credentials = etc / "credentials"
    credentials.mkdir(parents=True)
    files = {
        "password": credentials / "broker-password",
        "cert": credentials / "client.crt",
        "key": credentials / "client.key",
        "ca": credentials / "region-ca.crt",
        "camera": credentials / "camera-password",
    }
    for name, path in files.items():
        path.write_text(f"{name} secret\n")
        path.chmod(0o640)
    data = tmp_path / "var" / "lib" / "edge-agent"
    with Store(data) as store:
        store.write(
            [Reading("air/temperature", 1_767_225_600.0 + i, 1.0, "Cel") for i in range(99)]
        )
    (data / "readings-corrupt-20261124T220501Z.db").write_bytes(b"\0" * 4096)
    (data / "experiments" / "my-counter").mkdir(parents=True)
    (data / "experiments" / "my-counter" / "experiment.toml").write_text('name = "my-counter"\n')
    config = etc / "agent.toml"
    config.write_text(
        f"""
[device]
id = "reset-pi"

[store]
data_dir = "{data}"

[uplink]
host = "broker.region.example"
username = "reset-pi"
password_file = "{files["password"]}"
ca_file = "{files["ca"]}"
client_cert = "{files["cert"]}"
client_key = "{files["key"]}"

[[sensor]]
name = "cam"
driver = "camera.frames"
options = {{ source = "rtsp://viewer@10.0.0.2/stream", password_file = "{files["camera"]}" }}
"""
    )
    return {**files, "data": data, "config": config}


def reset(cmd: list[str], config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cmd, "factory-reset", "--config", str(config), *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_yes_it_only_shows_what_would_go(edge_agent_cmd: list[str], tmp_path: Path) -> None:
    files = device(tmp_path)
    before = sorted(p.name for p in files["data"].iterdir())
    done = reset(edge_agent_cmd, files["config"])
    assert done.returncode == 2
    assert "Nothing removed: run again with --yes" in done.stderr
    assert f"data directory {files['data']}: {len(before)} entries" in done.stdout
    for name in ("password", "cert", "key", "camera"):
        assert f"credential {files[name]}" in done.stdout
    assert str(files["ca"]) not in done.stdout
    assert sorted(p.name for p in files["data"].iterdir()) == before
    assert all(files[n].exists() for n in ("password", "cert", "key", "camera"))


def test_with_yes_data_and_credentials_go_software_and_config_stay(
    edge_agent_cmd: list[str], tmp_path: Path
) -> None:
    files = device(tmp_path)
    with files["key"].open("rb") as held:  # keeps the key's inode to look at after the reset
        done = reset(edge_agent_cmd, files["config"], "--yes")
        assert held.read() == b"\0" * len("key secret\n")  # overwritten before it was unlinked
    assert done.returncode == 0, done.stderr
    assert "and 4 credential files" in done.stdout
    assert files["data"].is_dir() and list(files["data"].iterdir()) == []
    for name in ("password", "cert", "key", "camera"):
        assert not files[name].exists(), name
    assert files["ca"].read_text() == "ca secret\n"  # the region's public CA stays
    assert files["config"].exists()
    # The agent starts afresh on the emptied directory.
    with Store(files["data"]) as store:
        assert store.count() == 0


def test_refused_while_an_agent_holds_the_store(edge_agent_cmd: list[str], tmp_path: Path) -> None:
    files = device(tmp_path)
    with Store(files["data"]):  # a running agent's writer holds the lock
        done = reset(edge_agent_cmd, files["config"], "--yes")
    assert done.returncode == 1
    assert "an edge-agent is running" in done.stderr and "systemctl stop edge-agent" in done.stderr
    assert (files["data"] / "readings.db").exists() and files["password"].exists()


def test_a_directory_that_is_not_the_agents_is_never_wiped(
    edge_agent_cmd: list[str], tmp_path: Path
) -> None:
    files = device(tmp_path)
    elsewhere = tmp_path / "photos"
    elsewhere.mkdir()
    (elsewhere / "holiday.jpg").write_bytes(b"\xff\xd8")
    config = files["config"]
    config.write_text(config.read_text().replace(str(files["data"]), str(elsewhere)))
    done = reset(edge_agent_cmd, config, "--yes")
    assert done.returncode == 2
    assert "does not look like the agent's data directory" in done.stderr
    assert (elsewhere / "holiday.jpg").exists() and files["password"].exists()


@pytest.mark.parametrize("where", ["/", "/var/lib", "home", "software"])
def test_system_home_and_software_directories_are_refused(where: str, tmp_path: Path) -> None:
    data_dir = {
        "home": str(Path.home()),
        "software": sys.prefix,
    }.get(where, where)
    config = parse_config(tomllib.loads(f'[store]\ndata_dir = "{data_dir}"\n'))
    with pytest.raises(ConfigError, match=r"system directory|holds the installed agent"):
        plan_reset(config)  # only planned: nothing is ever removed here
