"""``edge-agent inventory``: discovered agents as Ansible's JSON inventory.

The formatting is tested with discovery records as data (what :func:`browse` returns), and the
result is read back by the real ``ansible-inventory``; one test browses for real, with agents
announced by zeroconf in a network namespace of its own (multicast never leaves it).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from edge_agent.api.models import Peer
from edge_agent.cli.inventory_cmds import ansible_inventory, group_name, host_vars

from .test_ansible_support import ansible_env, ansible_tool
from .test_discovery import lab_network  # noqa: F401 (the fixture: two namespaces, one link)


def agent(
    device: str,
    city: str,
    lab: str,
    addresses: list[str],
    *,
    port: int = 22,
    version: str = "0.1.0",
    **txt: str,
) -> Peer:
    """A discovered agent as :func:`edge_agent.discovery.browse` reports it."""
    record = {"txtvers": "1", "id": device, "city": city, "lab": lab, "version": version}
    record.update(txt)
    return {
        "kind": "agent",
        "name": device,
        "host": f"{device}.local",
        "addresses": addresses,
        "port": port,
        "txt": record,
        "seen": 1_700_000_000.0,
    }


BROKER: Peer = {
    "kind": "broker",
    "name": "region-broker",
    "host": "broker.local",
    "addresses": ["192.0.2.1"],
    "port": 8883,
    "txt": {},
    "seen": 1_700_000_000.0,
}

LAB = [
    agent("buehl-dl-01", "Bühl", "digitallabor-buehl", ["192.0.2.11"], health="ok"),
    agent("buehl-dl-02", "Bühl", "digitallabor-buehl", ["fe80::2", "192.0.2.12"], port=2222),
    agent("rastatt-b36-01", "Rastatt", "winterdienst-rastatt", ["192.0.2.21"], backlog="1200"),
    agent("rastatt-dl-01", "Rastatt", "digitallabor-rastatt", ["192.0.2.22"]),
    agent("baden-baden-dl-01", "Baden-Baden", "digitallabor-baden-baden", ["192.0.2.31"]),
    agent("bench-pi", "", "", ["192.0.2.99"], health="degraded"),
    BROKER,
]


@pytest.mark.parametrize(
    ("text", "group"),
    [
        ("Bühl", "buehl"),
        ("Baden-Baden", "baden_baden"),
        ("digitallabor-buehl", "digitallabor_buehl"),
        ("  Rheinstetten ", "rheinstetten"),
        ("Straßburg", "strassburg"),
        ("Sélestat", "selestat"),
        ("3D-Druck Labor", "_3d_druck_labor"),
        ("", ""),
    ],
)
def test_group_names_are_ansible_identifiers(text: str, group: str) -> None:
    assert group_name(text) == group


def test_agents_are_grouped_by_city_then_lab() -> None:
    inventory = ansible_inventory(LAB)
    assert inventory["all"]["children"] == ["edge_agents", "ungrouped"]
    assert inventory["edge_agents"] == {
        "hosts": ["bench-pi"],  # announces no city or lab
        "children": ["baden_baden", "buehl", "rastatt"],
    }
    assert inventory["rastatt"] == {
        "hosts": [],
        "children": ["digitallabor_rastatt", "winterdienst_rastatt"],
    }
    assert inventory["digitallabor_buehl"] == {
        "hosts": ["buehl-dl-01", "buehl-dl-02"],
        "children": [],
    }
    assert "region-broker" not in json.dumps(inventory)  # brokers are not hosts to configure


def test_host_variables_say_how_to_reach_the_agent_and_what_it_announced() -> None:
    inventory = ansible_inventory(LAB)
    assert host_vars(inventory, "buehl-dl-02") == {
        "ansible_host": "192.0.2.12",  # IPv4 first: link-local IPv6 needs a zone for SSH
        "ansible_port": 2222,
        "edge_agent_device_id": "buehl-dl-02",
        "edge_agent_city": "Bühl",
        "edge_agent_lab": "digitallabor-buehl",
        "edge_agent_discovered": {
            "host": "buehl-dl-02.local",
            "addresses": ["fe80::2", "192.0.2.12"],
            "version": "0.1.0",
        },
    }
    assert host_vars(inventory, "rastatt-b36-01")["edge_agent_discovered"]["backlog"] == "1200"
    assert "edge_agent_city" not in host_vars(inventory, "bench-pi")
    assert host_vars(inventory, "nobody") == {}


def test_an_agent_seen_on_two_interfaces_is_one_host() -> None:
    wired = agent("rastatt-dl-01", "Rastatt", "digitallabor-rastatt", ["192.0.2.22"])
    wireless = agent("rastatt-dl-01", "Rastatt", "digitallabor-rastatt", ["198.51.100.22"])
    inventory = ansible_inventory([wired, wireless])
    assert inventory["digitallabor_rastatt"]["hosts"] == ["rastatt-dl-01"]
    found = host_vars(inventory, "rastatt-dl-01")
    assert found["ansible_host"] == "192.0.2.22"
    assert found["edge_agent_discovered"]["addresses"] == ["192.0.2.22", "198.51.100.22"]


def test_a_lab_named_like_its_city_does_not_loop() -> None:
    inventory = ansible_inventory([agent("pi-1", "Bretten", "Bretten", ["192.0.2.5"])])
    assert inventory["bretten"] == {"hosts": ["pi-1"], "children": []}
    assert inventory["edge_agents"]["children"] == ["bretten"]


def read_with_ansible(tmp_path: Path, inventory: dict[str, Any]) -> dict[str, Any]:
    """What ``ansible-inventory`` makes of ``inventory`` served by an inventory script."""
    data = tmp_path / "inventory.json"
    data.write_text(json.dumps(inventory, ensure_ascii=False))
    script = tmp_path / "lab-inventory"
    script.write_text(f"#!/bin/sh\nexec cat {data}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    proc = subprocess.run(
        [ansible_tool("ansible-inventory"), "-i", str(script), "--list"],
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def test_ansible_reads_the_inventory(tmp_path: Path) -> None:
    seen = read_with_ansible(tmp_path, ansible_inventory(LAB))
    assert seen["winterdienst_rastatt"]["hosts"] == ["rastatt-b36-01"]
    assert set(seen["buehl"]["children"]) == {"digitallabor_buehl"}
    hostvars = seen["_meta"]["hostvars"]
    assert hostvars["buehl-dl-01"]["edge_agent_city"] == "Bühl"
    assert hostvars["buehl-dl-02"]["ansible_port"] == 2222
    assert hostvars["bench-pi"]["ansible_host"] == "192.0.2.99"


ANNOUNCER = """
import signal, socket, sys
from zeroconf import IPVersion, ServiceInfo, Zeroconf
from edge_agent.discovery import SERVICE_TYPE, build_txt

address = sys.argv[1]
zc = Zeroconf(interfaces=[address], ip_version=IPVersion.V4Only)
infos = []
for device, city, lab in [
    ("buehl-dl-01", "Bühl", "digitallabor-buehl"),
    ("rastatt-b36-01", "Rastatt", "winterdienst-rastatt"),
]:
    txt = build_txt(device_id=device, city=city, lab=lab, version="0.1.0", extra={"health": "ok"})
    info = ServiceInfo(
        SERVICE_TYPE, f"{device}.{SERVICE_TYPE}", port=22, properties=txt,
        server=f"{device}.local.", addresses=[socket.inet_aton(address)],
    )
    zc.register_service(info)
    infos.append(info)
print("announced", flush=True)
signal.sigwait({signal.SIGTERM})
for info in infos:
    zc.unregister_service(info)
zc.close()
"""


@pytest.mark.slow
def test_browsing_a_lab_network_prints_its_agents(lab_network, edge_agent_cmd) -> None:  # noqa: F811
    names, links, addresses = lab_network
    announcer = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            names["b"],
            sys.executable,
            "-c",
            textwrap.dedent(ANNOUNCER),
            addresses["b"],
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        assert announcer.stdout is not None
        assert announcer.stdout.readline().strip() == "announced"
        proc = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                names["a"],
                *edge_agent_cmd,
                "inventory",
                "--list",
                "--interface",
                links["a"],
                "--seconds",
                "4",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    finally:
        announcer.terminate()
        announcer.wait(30)
        if announcer.stdout is not None:
            announcer.stdout.close()
    inventory = json.loads(proc.stdout)
    assert inventory["edge_agents"]["children"] == ["buehl", "rastatt"]
    assert inventory["winterdienst_rastatt"]["hosts"] == ["rastatt-b36-01"]
    assert host_vars(inventory, "buehl-dl-01")["ansible_host"] == addresses["b"]
    assert host_vars(inventory, "buehl-dl-01")["edge_agent_discovered"]["health"] == "ok"
