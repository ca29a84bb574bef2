"""``edge-agent doctor`` on machines as captured trees, real files, sockets and stores.

The command runs as a technician runs it (the installed console script), with ``--root``
pointing at a captured Pi (the ``system.health`` driver's test cases, completed with the files
the doctor reads besides) and a fake ``vcgencmd`` on ``PATH`` that prints what the Pi printed.
"""

from __future__ import annotations

import grp
import json
import os
import socket
import subprocess
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from edge_agent.config import parse_config
from edge_agent.doctor import Device, run_checks
from edge_agent.doctor.api_socket import check_api_socket
from edge_agent.doctor.files import check_files
from edge_agent.doctor.network import check_broker, parse_proc_net_tcp
from edge_agent.doctor.sensors import check_sensors
from edge_agent.doctor.storage import check_free_space
from edge_agent.doctor.timekeeping import check_clock
from edge_agent.readings import Reading
from edge_agent.store import Store
from tests.doctor.machines import (
    LOCAL_BROKER,
    SSHD,
    SSHD6,
    TCP6_HEADER,
    TCP_HEADER,
    WEB,
    machine,
    vcgencmd_on_path,
)


def write_config(tmp_path: Path, body: str = "", *, store: str = "", api: str = "") -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(
        f"""
[device]
id = "doctor-pi"

[store]
data_dir = "{tmp_path / "data"}"
{store}

[api]
socket = "{tmp_path / "api.sock"}"
{api}
{body}
"""
    )
    path.chmod(0o640)
    return path


def doctor(
    cmd: list[str], config: Path, root: Path | None = None, path: str | None = None
) -> tuple[int, dict[str, Any]]:
    args = [*cmd, "doctor", "--config", str(config), "--json", "--timeout", "2"]
    if root is not None:
        args += ["--root", str(root)]
    env = {**os.environ, **({"PATH": path} if path else {})}
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, check=False)
    report = json.loads(done.stdout)
    return done.returncode, {c["name"]: c for c in report["checks"]} | {"_counts": report}


def device_for(config_path: Path, **kwargs: Any) -> Device:
    config = parse_config(tomllib.loads(config_path.read_text()), source=config_path)
    return Device(config=config, config_path=config_path, **kwargs)


PI_HEALTH = """
[[sensor]]
name = "pi"
driver = "system.health"
interval = "60s"
options = {{ backend = "linux", block_device = "{block}" }}
"""


def test_a_pi4_with_a_weak_supply_an_open_port_and_password_logins(
    edge_agent_cmd: list[str], tmp_path: Path
) -> None:
    case = "pi4-bookworm-under-voltage"
    tree = machine(tmp_path, case, uptime_s=2 * 86400, extra_listener=True, password_logins=True)
    config = write_config(tmp_path, PI_HEALTH.format(block="mmcblk0"))
    code, checks = doctor(edge_agent_cmd, config, tree, vcgencmd_on_path(tmp_path, case))

    assert code == 1
    power = checks["power"]
    assert power["status"] == "fail"
    assert "under_voltage, throttled now (from vcgencmd get_throttled)" in power["summary"]
    assert "power supply" in power["fix"] and power["details"]["raw"] == 0x50005
    temperature = checks["temperature"]
    assert temperature["status"] == "ok"
    captured = next((tree / "sys/class/thermal").glob("*/temp")).read_text()
    assert temperature["details"]["celsius"] == pytest.approx(int(captured) / 1000)
    writes = checks["sd-writes"]
    assert writes["status"] == "ok"  # 1.6 GB in two days
    assert writes["details"]["bytes_written"] == 3142600 * 512
    listeners = checks["listeners"]
    assert listeners["status"] == "fail"
    assert "0.0.0.0:8080 by lighttpd (pid 731)" in listeners["summary"]
    assert listeners["details"]["loopback_ports"] == [631, 1883]
    assert checks["ssh"]["status"] == "warn"
    assert "PasswordAuthentication" in checks["ssh"]["summary"]
    assert checks["config"]["status"] == "ok" and checks["broker"]["status"] == "ok"


def test_sd_writes_of_gigabytes_a_day_are_flagged(
    edge_agent_cmd: list[str], tmp_path: Path
) -> None:
    case = "pi4-bookworm-under-voltage"
    tree = machine(tmp_path, case, uptime_s=600)  # 1.6 GB in ten minutes
    config = write_config(tmp_path, PI_HEALTH.format(block="mmcblk0"))
    _, checks = doctor(edge_agent_cmd, config, tree, vcgencmd_on_path(tmp_path, case))
    writes = checks["sd-writes"]
    assert writes["status"] == "warn"
    assert writes["details"]["bytes_per_day"] == pytest.approx(3142600 * 512 / 600 * 86400)
    assert "iotop" in writes["fix"]


def test_a_healthy_pi5_passes_the_hardware_checks(
    edge_agent_cmd: list[str], tmp_path: Path
) -> None:
    case = "pi5-trixie-nvme-healthy"
    tree = machine(tmp_path, case, uptime_s=3 * 86400)  # 3.7 GB in three days
    config = write_config(tmp_path, PI_HEALTH.format(block="nvme0n1"))
    _, checks = doctor(edge_agent_cmd, config, tree, vcgencmd_on_path(tmp_path, case))
    for name in ("power", "temperature", "sd-writes", "listeners", "ssh", "permissions"):
        assert checks[name]["status"] == "ok", checks[name]
    assert checks["temperature"]["summary"] == "CPU at 47.4 °C"
    assert (
        checks["listeners"]["summary"]
        == "only 22 open to the network; 2 loopback-only listener(s) ignored"
    )


def test_exit_code_is_zero_without_failures(edge_agent_cmd: list[str], tmp_path: Path) -> None:
    case = "pi5-trixie-nvme-healthy"
    tree = machine(tmp_path, case, uptime_s=3 * 86400)
    body = PI_HEALTH.format(block="nvme0n1")
    config = write_config(tmp_path, body.replace('interval = "60s"', 'interval = "1s"'))
    with Store(tmp_path / "data") as store:
        store.write([Reading("pi/cpu_temperature", time.time(), 47.0, "Cel")])
    code, checks = doctor(edge_agent_cmd, config, tree, vcgencmd_on_path(tmp_path, case))
    failed = [c for name, c in checks.items() if name != "_counts" and c["status"] == "fail"]
    assert failed == [] and code == 0
    assert checks["_counts"]["fail"] == 0 and checks["sensors"]["status"] == "ok"


def test_a_broken_config_fails_and_the_other_checks_still_run(
    edge_agent_cmd: list[str], tmp_path: Path
) -> None:
    config = tmp_path / "agent.toml"
    config.write_text('[store]\nmax_sise = "2GB"\n')
    code, checks = doctor(edge_agent_cmd, config)
    assert code == 1
    assert checks["config"]["status"] == "fail"
    assert "did you mean 'max_size'?" in checks["config"]["summary"]
    assert "edge-agent config check" in checks["config"]["fix"]
    assert len(checks) - 1 == 12


def test_readable_secrets_and_passwords_in_urls_fail(tmp_path: Path) -> None:
    password = tmp_path / "broker-password"
    password.write_text("s3cret\n")
    key = tmp_path / "client.key"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    config = write_config(
        tmp_path,
        f"""
[uplink]
host = "127.0.0.1"
username = "doctor-pi"
password_file = "{password}"
client_cert = "{tmp_path / "client.crt"}"
client_key = "{key}"

[[sensor]]
name = "cam"
driver = "camera.frames"
options = {{ source = "rtsp://admin:hunter2@10.0.0.2/stream" }}
""",
    )
    password.chmod(0o644)
    key.chmod(0o600)
    result = check_files(device_for(config))
    assert result.status == "fail"
    assert f"{password} can be read by every user on this machine (mode 0644)" in result.summary
    assert f"chmod 600 {password}" in result.summary
    assert "sensor[0].options.source carries a password" in result.summary
    assert "client.key" not in result.summary

    password.chmod(0o600)
    key.chmod(0o604)
    result = check_files(device_for(config))
    assert "uplink.client_key" in result.summary and "mode 0604" in result.summary
    config.chmod(0o646)
    assert "can be changed by every user" in check_files(device_for(config)).summary


def test_secrets_kept_to_their_owner_pass(tmp_path: Path) -> None:
    password = tmp_path / "broker-password"
    password.write_text("s3cret\n")
    password.chmod(0o640)
    config = write_config(
        tmp_path,
        f'[uplink]\nhost = "127.0.0.1"\nusername = "u"\npassword_file = "{password}"\n',
    )
    result = check_files(device_for(config))
    assert result.status == "ok"
    assert (
        result.summary
        == "config not writable by other users; 1 secrets file, none readable by them"
    )


def test_clock_unsynchronised_is_a_warning_with_the_fix(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    result = check_clock(device_for(config, clock_synchronized=lambda: False))
    assert result.status == "warn" and "timedatectl" in result.fix
    assert check_clock(device_for(config, clock_synchronized=lambda: True)).status == "ok"


def test_broker_reachable_on_loopback_and_refused_when_nobody_listens(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        config = write_config(tmp_path, f'[uplink]\nhost = "127.0.0.1"\nport = {port}\n')
        result = check_broker(device_for(config, connect_timeout=2))
        assert result.status == "ok"
        assert result.summary.startswith(f"127.0.0.1:{port} accepts TCP connections")
    result = check_broker(device_for(config, connect_timeout=2))
    assert result.status == "fail"
    assert "connection refused (no broker listens there)" in result.summary
    plain = write_config(tmp_path, f'[uplink]\nhost = "127.0.0.1"\nport = {port}\ntls = false\n')
    with socket.create_server(("127.0.0.1", port)):
        result = check_broker(device_for(plain, connect_timeout=2))
    assert result.status == "warn" and "TLS is off" in result.summary


def test_sensors_alive_silent_and_never_heard(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        """
[[sensor]]
name = "road-surface"
driver = "simulated.road_surface"
interval = "30s"

[[sensor]]
name = "air"
driver = "simulated.air"
interval = "30s"

[[sensor]]
name = "bay-1"
driver = "simulated.parking_bay"
interval = "30s"
""",
    )
    device = device_for(config)
    assert check_sensors(device).status == "fail"  # no database yet
    now = time.time()
    with Store(tmp_path / "data") as store:
        store.write(
            [
                Reading("road-surface/temperature", now - 20, 1.0, "Cel"),
                Reading("air/temperature", now - 3 * 3600, 2.0, "Cel"),
                Reading("air/humidity", now - 3 * 3600, 80.0, "%RH"),
            ]
        )
    result = check_sensors(device)
    assert result.status == "fail"
    assert result.summary == (
        "1 of 3 sensors alive; 'air' silent for 3h (every 30s expected); "
        "'bay-1' has never stored a reading"
    )
    assert result.details["ages_s"]["bay-1"] is None


def test_api_socket_open_to_everyone_fails_and_group_only_passes(tmp_path: Path) -> None:
    path = tmp_path / "api.sock"
    group = grp.getgrgid(os.getgid()).gr_name
    device = device_for(write_config(tmp_path, api=f'group = "{group}"'))
    assert check_api_socket(device).status == "warn"  # not running
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        path.chmod(0o666)
        result = check_api_socket(device)
        assert result.status == "fail" and "open to every user (mode 0666)" in result.summary
        path.chmod(0o660)
        result = check_api_socket(device)
        assert result.status == "ok", result
        assert result.summary == f"{path}: mode 0660, group {group!r}"


def test_free_space_names_set_aside_databases_and_a_store_larger_than_the_disk(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    config = write_config(tmp_path)
    assert check_free_space(device_for(config)).status in ("ok", "warn")
    (data / "readings-corrupt-20261124T220501Z.db").write_bytes(b"x" * 4096)
    result = check_free_space(device_for(config))
    assert result.status == "warn"
    assert "1 damaged database(s) set aside: readings-corrupt-20261124T220501Z.db" in result.summary
    assert ".recover" in result.fix
    (data / "readings-corrupt-20261124T220501Z.db").unlink()
    disk = os.statvfs(tmp_path)
    larger = (disk.f_blocks * disk.f_frsize) // 10**9 + 10
    config = write_config(tmp_path, store=f'max_size = "{larger}GB"')
    result = check_free_space(device_for(config))
    assert result.status == "warn" and "may grow to store.max_size" in result.summary


def test_proc_net_tcp_parsing_keeps_listeners_in_the_kernels_byte_order() -> None:
    listeners = parse_proc_net_tcp(TCP_HEADER + SSHD + LOCAL_BROKER + WEB)
    assert [(lst.where(), lst.loopback_only, lst.inode) for lst in listeners] == [
        ("0.0.0.0:22", False, 1311),
        ("127.0.0.1:1883", True, 2010),
        ("0.0.0.0:8080", False, 4242),
    ]
    (ssh6,) = parse_proc_net_tcp(TCP6_HEADER + SSHD6)
    assert ssh6.where() == "[::]:22" and not ssh6.loopback_only
    assert parse_proc_net_tcp("garbage\n  0: zz:zz 0 0A\n") == []


def test_every_check_runs_even_when_one_breaks(tmp_path: Path) -> None:
    def broken(device: Device) -> Any:
        raise RuntimeError("boom")

    config = write_config(tmp_path)
    results = run_checks(device_for(config), (broken, check_clock))
    assert (results[0].name, results[0].status) == ("broken", "fail")
    assert "the check itself failed: RuntimeError: boom" in results[0].summary
    assert results[1].name == "clock"
