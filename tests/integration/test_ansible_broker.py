"""The region_broker role for real: site.yml writes the broker's files from an inventory, a real
mosquitto runs them, and each device may write below its own topics and nowhere else.

The role runs against this machine (connection local) into a temporary config folder, with the
package and service steps off; mosquitto is started here on a free loopback port with Debian's
layout (a main config that reads the role's ``conf.d``).
"""

from __future__ import annotations

import base64
import getpass
import grp
import hashlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from .mosquitto import free_port, make_pki, require_mosquitto, wait_until
from .test_ansible_support import run_playbook

pytestmark = pytest.mark.slow  # two ansible-playbook runs and a broker

PREFIX = "digitallabor"
DEVICES = {
    # host: (city, lab, password)
    "bruchsal-dl-01": ("Bruchsal", "digitallabor-bruchsal", "q8WJ1cZb4f0n9yQv-bruchsal"),
    "buehl-dl-01": ("Bühl", "digitallabor-buehl", "Zt7x0L2mP9sKdE4r-buehl"),
    "baden-baden-dl-01": ("Baden-Baden", "digitallabor-baden-baden", "h3Nq$v:8 'quoted\" pw"),
}
READER = ("region-collector", "r7bC2kLm0PqX9sTz-reader")


def own_topic(host: str) -> str:
    city, lab, _ = DEVICES[host]
    level = {"Bühl": "bühl"}.get(city, city.lower())
    return f"{PREFIX}/{level}/{lab}/{host}/readings"


@dataclass
class RenderedBroker:
    """The role's output and how to reach the broker that runs it."""

    config_dir: Path
    inventory: Path
    port: int
    ca_cert: Path


def write_inventory(tmp_path: Path, port: int, pki_dir: Path) -> RenderedBroker:
    pki = make_pki(pki_dir)
    config_dir = tmp_path / "etc" / "mosquitto"
    edge_agents = {
        "children": {
            host.split("-dl-")[0].replace("-", "_"): {
                "vars": {"edge_agent_city": city},
                "hosts": {
                    host: {
                        "edge_agent_lab": lab,
                        "edge_agent_uplink_password": password,
                    }
                },
            }
            for host, (city, lab, password) in DEVICES.items()
        }
    }
    inventory = {
        "all": {
            "children": {
                "region_brokers": {
                    "hosts": {
                        "broker-under-test": {
                            "ansible_connection": "local",
                            "ansible_python_interpreter": sys.executable,
                            "ansible_become": False,
                        }
                    },
                    "vars": {
                        "region_broker_config_dir": str(config_dir),
                        "region_broker_install_packages": False,
                        "region_broker_manage_service": False,
                        "region_broker_group": grp.getgrgid(os.getgid()).gr_name,
                        "region_broker_listen_address": "127.0.0.1",
                        "region_broker_port": port,
                        "region_broker_tls_cert": pki.server_cert.read_text(),
                        "region_broker_tls_key": pki.server_key.read_text(),
                        "region_broker_tls_ca_cert": pki.ca_cert.read_text(),
                        "region_broker_readers": [{"name": READER[0], "password": READER[1]}],
                    },
                },
                "edge_agents": edge_agents,
            }
        }
    }
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory, allow_unicode=True))
    return RenderedBroker(config_dir, path, port, pki.ca_cert)


@pytest.fixture(name="rendered", scope="module")
def rendered_fixture(tmp_path_factory: pytest.TempPathFactory) -> RenderedBroker:
    """The role run twice by site.yml; the first run must change things, the second nothing."""
    require_mosquitto()
    tmp_path = tmp_path_factory.mktemp("broker-role")
    rendered = write_inventory(tmp_path, free_port(), tmp_path / "pki")
    for run, expect_changes in ((1, True), (2, False)):
        result = run_playbook(
            "site.yml", "-i", str(rendered.inventory), "--limit", "region_brokers"
        )
        assert result.returncode == 0, f"run {run} failed:\n{result.output}"
        changed = result.changed("broker-under-test")
        assert (changed > 0) == expect_changes, f"run {run}: {changed} changed\n{result.output}"
    return rendered


@pytest.fixture(name="broker")
def broker_fixture(rendered: RenderedBroker, tmp_path: Path) -> Iterator[RenderedBroker]:
    """mosquitto started on the role's files, as Debian's mosquitto.conf would include them."""
    binary = require_mosquitto()
    log = tmp_path / "mosquitto.log"
    main = tmp_path / "mosquitto.conf"
    main.write_text(
        f"user {getpass.getuser()}\npersistence false\nlog_dest file {log}\n"
        f"log_type all\ninclude_dir {rendered.config_dir}/conf.d\n"
    )
    proc = subprocess.Popen([binary, "-c", str(main)], stderr=subprocess.PIPE)
    try:
        wait_until(
            lambda: proc.poll() is not None or "Opening ipv4 listen socket" in _read(log),
            15,
            lambda: f"mosquitto did not start:\n{_read(log)}",
        )
        assert proc.poll() is None, f"mosquitto exited:\n{proc.stderr.read()}\n{_read(log)}"
        yield rendered
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


class Session:
    """One MQTT 5 client over TLS, logged in as ``user``; records PUBACKs and messages."""

    def __init__(self, broker: RenderedBroker, user: str | None, password: str | None) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"test-{user}-{os.getpid()}",
            protocol=mqtt.MQTTv5,
        )
        self.client.tls_set(ca_certs=str(broker.ca_cert))
        if user is not None:
            self.client.username_pw_set(user, password)
        self.connected = threading.Event()
        self.connack: ReasonCode | None = None
        self.acks: dict[int, ReasonCode] = {}
        self.messages: list[tuple[str, bytes]] = []
        self.subscribed = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: self.subscribed.set()
        self.client.connect("127.0.0.1", broker.port, keepalive=30)
        self.client.loop_start()
        if not self.connected.wait(15):
            raise AssertionError(f"no CONNACK for {user}")

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: object,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self.connack = reason
        self.connected.set()

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self.acks[mid] = reason

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        self.messages.append((message.topic, message.payload))

    def publish(self, topic: str, payload: bytes) -> ReasonCode:
        """Publish at QoS 1 and return the broker's PUBACK reason code."""
        info = self.client.publish(topic, payload, qos=1)
        wait_until(lambda: info.mid in self.acks, 15, f"no PUBACK for {topic}")
        return self.acks[info.mid]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture(name="reader")
def reader_fixture(broker: RenderedBroker) -> Iterator[Session]:
    """The region's reader, subscribed to every device topic."""
    session = Session(broker, *READER)
    assert not session.connack.is_failure, session.connack
    session.client.subscribe(f"{PREFIX}/#", qos=1)
    assert session.subscribed.wait(15)
    yield session
    session.close()


def test_each_device_writes_below_its_own_topic_and_nowhere_else(
    broker: RenderedBroker, reader: Session
) -> None:
    for host, (_, _, password) in DEVICES.items():
        device = Session(broker, host, password)
        try:
            assert not device.connack.is_failure, f"{host}: {device.connack}"
            own = device.publish(own_topic(host), f"from {host}".encode())
            assert own.value == 0, f"{host} was refused on its own topic: {own}"
            for other in DEVICES:
                if other == host:
                    continue
                refused = device.publish(own_topic(other), f"{host} posing as {other}".encode())
                assert refused.getName() == "Not authorized", (host, other, refused)
        finally:
            device.close()
    wait_until(
        lambda: len(reader.messages) >= len(DEVICES),
        15,
        lambda: f"the reader got {reader.messages}",
    )
    # Only what each device sent on its own topic arrives; nothing sent as another device does.
    assert sorted(reader.messages) == sorted(
        (own_topic(host), f"from {host}".encode()) for host in DEVICES
    )


def test_wrong_password_and_anonymous_clients_are_refused(broker: RenderedBroker) -> None:
    wrong = Session(broker, "bruchsal-dl-01", DEVICES["buehl-dl-01"][2])
    anonymous = Session(broker, None, None)
    try:
        assert wrong.connack.getName() in {"Bad user name or password", "Not authorized"}
        assert anonymous.connack.is_failure, anonymous.connack
    finally:
        wrong.close()
        anonymous.close()


def test_the_reader_may_read_but_not_write(broker: RenderedBroker) -> None:
    reader = Session(broker, *READER)
    try:
        refused = reader.publish(own_topic("bruchsal-dl-01"), b"forged")
        assert refused.getName() == "Not authorized"
    finally:
        reader.close()


def test_the_password_file_holds_hashes_mosquitto_passwd_would_accept(
    rendered: RenderedBroker,
) -> None:
    lines = (rendered.config_dir / "edge-kit" / "passwd").read_text().splitlines()
    entries = dict(line.split(":", 1) for line in lines)
    assert set(entries) == {*DEVICES, READER[0]}
    for user, (_, _, password) in DEVICES.items():
        assert password not in entries[user]
        _, kind, iterations, salt, digest = entries[user].split("$")
        assert kind == "7"
        expected = hashlib.pbkdf2_hmac(
            "sha512", password.encode(), base64.b64decode(salt), int(iterations)
        )
        assert base64.b64decode(digest) == expected
    mode = (rendered.config_dir / "edge-kit" / "passwd").stat().st_mode & 0o777
    assert mode == 0o640


def test_the_acl_names_every_device_of_the_inventory(rendered: RenderedBroker) -> None:
    acl = (rendered.config_dir / "edge-kit" / "acl").read_text()
    for host in DEVICES:
        topic = own_topic(host).rsplit("/", 1)[0]
        assert f"user {host}\ntopic write {topic}/#\n" in acl
    assert f"user {READER[0]}\ntopic read {PREFIX}/#\n" in acl
