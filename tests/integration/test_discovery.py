"""mDNS discovery between real agents on a real (virtual) network: two network namespaces made
by the test, joined by a veth pair, each running ``edge-agent run`` with discovery on, and a
broker announcing ``_mqtt._tcp`` in one of them. Multicast never leaves the namespaces.

Needs root (or CAP_NET_ADMIN) and ``ip``; skipped with the reason otherwise.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest

from edge_agent.api.client import ApiClient, ApiError, SyncApiClient

from .agent_process import AgentProcess
from .test_api_support import remove, short_tmp, wait_for

pytestmark = pytest.mark.slow

AGENT = """
[device]
id = "{id}"
city = "{city}"
lab = "digitallabor-test"
trust_clock = true

[store]
data_dir = "{root}/{id}"
flush_interval = "500ms"

[api]
socket = "{root}/{id}.sock"

[discovery]
enabled = true
interfaces = ["{interface}"]
update_interval = "1s"

[[sensor]]
name = "air"
driver = "simulated.air"
interval = "1s"
"""

BROKER = """
import signal, socket, sys
from zeroconf import IPVersion, ServiceInfo, Zeroconf

zc = Zeroconf(interfaces=[sys.argv[1]], ip_version=IPVersion.V4Only)
info = ServiceInfo(
    "_mqtt._tcp.local.", "region-broker._mqtt._tcp.local.", port=1883,
    server="broker.local.", addresses=[socket.inet_aton(sys.argv[1])],
)
zc.register_service(info)
print("announced", flush=True)
signal.sigwait({signal.SIGTERM})
zc.unregister_service(info)
zc.close()
"""


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture
def lab_network():
    """Two namespaces, ``a`` (169.254.231.1) and ``b`` (169.254.231.2), on one veth link."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 to make network namespaces for multicast")
    tag = secrets.token_hex(3)
    names = {"a": f"ea{tag}a", "b": f"ea{tag}b"}
    links = {"a": f"ea{tag}x", "b": f"ea{tag}y"}
    addresses = {"a": "169.254.231.1", "b": "169.254.231.2"}
    try:
        ip("netns", "add", names["a"])
    except (subprocess.CalledProcessError, OSError) as exc:
        pytest.skip(f"cannot create a network namespace here: {exc}")
    try:
        ip("netns", "add", names["b"])
        ip("link", "add", links["a"], "type", "veth", "peer", "name", links["b"])
        for side in ("a", "b"):
            ip("link", "set", links[side], "netns", names[side])
            ip("-n", names[side], "addr", "add", f"{addresses[side]}/24", "dev", links[side])
            ip("-n", names[side], "link", "set", links[side], "up")
            ip("-n", names[side], "link", "set", "lo", "up")
        yield names, links, addresses
    finally:
        for name in names.values():
            subprocess.run(
                ["ip", "netns", "del", name], capture_output=True, timeout=30, check=False
            )


def peers_of(client: SyncApiClient) -> dict | None:
    try:
        return client.peers()
    except ApiError as exc:
        if exc.status:
            raise
        return None


def test_agents_find_each_other_and_the_broker(lab_network, edge_agent_cmd):
    names, links, addresses = lab_network
    root = short_tmp()
    agents: list[AgentProcess] = []
    broker = None
    try:
        for side, (device, city) in {
            "a": ("agent-a", "Rastatt"),
            "b": ("agent-b", "Bruchsal"),
        }.items():
            config = root / f"{device}.toml"
            config.write_text(AGENT.format(id=device, city=city, root=root, interface=links[side]))
            agents.append(
                AgentProcess(["ip", "netns", "exec", names[side], *edge_agent_cmd], config)
            )
        broker = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                names["b"],
                sys.executable,
                "-c",
                textwrap.dedent(BROKER),
                addresses["b"],
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert broker.stdout is not None
        assert broker.stdout.readline().strip() == "announced"

        with (
            SyncApiClient(ApiClient.unix(root / "agent-a.sock")) as a,
            SyncApiClient(ApiClient.unix(root / "agent-b.sock")) as b,
        ):

            def a_sees_all():
                seen = peers_of(a)
                return seen if seen and seen["peers"] and seen["brokers"] else None

            seen = wait_for(a_sees_all, timeout=40, what="agent-a to see agent-b and the broker")
            assert seen["enabled"] is True
            assert seen["announced_as"] == "agent-a"
            (peer,) = seen["peers"]
            assert peer["name"] == "agent-b"
            assert peer["host"] == "agent-b.local"
            assert peer["addresses"] == [addresses["b"]]
            assert peer["port"] == 22
            txt = peer["txt"]
            assert (txt["txtvers"], txt["id"], txt["city"], txt["lab"]) == (
                "1",
                "agent-b",
                "Bruchsal",
                "digitallabor-test",
            )
            assert txt["health"] in ("ok", "degraded")
            assert "backlog" not in txt  # no uplink: nothing waits for one
            assert txt["version"] == a.device()["version"]
            (found_broker,) = seen["brokers"]
            assert (found_broker["name"], found_broker["port"]) == ("region-broker", 1883)
            assert found_broker["addresses"] == [addresses["b"]]

            b_sees = wait_for(
                lambda: (p := peers_of(b)) and p["peers"] and p,
                timeout=40,
                what="agent-b to see agent-a",
            )
            assert [p["name"] for p in b_sees["peers"]] == ["agent-a"]

            # Browsing from a command, without announcing anything.
            browsed = subprocess.run(
                [
                    "ip",
                    "netns",
                    "exec",
                    names["a"],
                    *edge_agent_cmd,
                    "peers",
                    "--browse",
                    "--seconds",
                    "3",
                    "--interface",
                    links["a"],
                    "--json",
                ],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert browsed.returncode == 0, browsed.stderr
            listing = json.loads(browsed.stdout)
            assert sorted(p["name"] for p in listing["peers"]) == ["agent-a", "agent-b"]
            assert [p["name"] for p in listing["brokers"]] == ["region-broker"]
            assert listing["announced_as"] is None

            # The running agent's view as text.
            text = subprocess.run(
                [*edge_agent_cmd, "peers", "--socket", str(root / "agent-a.sock")],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert text.returncode == 0, text.stderr
            assert "this device is announced as 'agent-a'" in text.stdout
            assert "agent   agent-b" in text.stdout
            assert "Bruchsal/digitallabor-test" in text.stdout
            assert "broker  region-broker" in text.stdout

            # agent-b stops: it says goodbye, and agent-a forgets it.
            agents[1].proc.send_signal(signal.SIGTERM)
            assert agents[1].wait(30) == 0, agents[1].log
            wait_for(
                lambda: (p := peers_of(a)) is not None and not p["peers"],
                timeout=30,
                what="agent-a to forget agent-b",
            )
    finally:
        if broker is not None:
            broker.send_signal(signal.SIGTERM)
            broker.wait(30)
            if broker.stdout is not None:
                broker.stdout.close()
        for agent in agents:
            if agent.proc.poll() is None:
                agent.proc.send_signal(signal.SIGTERM)
                agent.wait(30)
        remove(root)
