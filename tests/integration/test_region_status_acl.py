"""The region_broker role's ACL, run by a real mosquitto: every device may read every device's
retained status and health (the agents' region table, ``GET /v1/region``), and still nothing
else of the others: not their readings, not their events.

Reuses the role run and the broker of ``test_ansible_broker.py`` (the role applied by
``site.yml`` to a temporary config folder, mosquitto started on its files).
"""

from __future__ import annotations

import pytest

from .mosquitto import wait_until
from .test_ansible_broker import (
    DEVICES,
    RenderedBroker,
    Session,
    broker_fixture,  # noqa: F401
    own_topic,
    rendered_fixture,  # noqa: F401
)

pytestmark = pytest.mark.slow  # two ansible-playbook runs and a broker


def base(host: str) -> str:
    return own_topic(host).rsplit("/", 1)[0]


def test_devices_read_every_status_and_health_but_not_the_others_readings(
    broker: RenderedBroker,
) -> None:
    publisher, reader = "bruchsal-dl-01", "buehl-dl-01"
    _, _, publisher_password = DEVICES[publisher]
    source = Session(broker, publisher, publisher_password)
    try:
        for kind, payload in (("status", b"online"), ("health", b'{"time": 1.0}')):
            source.client.publish(f"{base(publisher)}/{kind}", payload, qos=1, retain=True)
        assert source.publish(f"{base(publisher)}/readings", b"[]").is_failure is False
        assert source.publish(f"{base(publisher)}/events", b"[]").is_failure is False

        _, _, reader_password = DEVICES[reader]
        other = Session(broker, reader, reader_password)
        try:
            other.client.subscribe(
                [
                    ("digitallabor/+/+/+/status", 0),
                    ("digitallabor/+/+/+/health", 0),
                    ("digitallabor/+/+/+/readings", 0),
                    ("digitallabor/+/+/+/events", 0),
                ]
            )
            assert other.subscribed.wait(15)
            wait_until(
                lambda: len(other.messages) >= 2,
                15,
                lambda: f"{reader} got {other.messages}",
            )
            # Live messages after the subscription: readings and events must not come through.
            assert source.publish(f"{base(publisher)}/readings", b"[1]").is_failure is False
            assert source.publish(f"{base(publisher)}/events", b"[1]").is_failure is False
            source.client.publish(f"{base(publisher)}/status", b"offline", qos=1, retain=True)
            wait_until(
                lambda: (f"{base(publisher)}/status", b"offline") in other.messages,
                15,
                lambda: f"{reader} got {other.messages}",
            )
            topics = {topic.rsplit("/", 1)[1] for topic, _ in other.messages}
            assert topics == {"status", "health"}, other.messages
            # Reading is all: writing another device's status stays refused.
            refused = other.publish(f"{base(publisher)}/status", b"online")
            assert refused.getName() == "Not authorized"
        finally:
            other.close()
    finally:
        source.close()


def test_the_acl_lists_the_region_reads_under_each_device(broker: RenderedBroker) -> None:
    acl = (broker.config_dir / "edge-kit" / "acl").read_text()
    for host in DEVICES:
        assert (
            f"user {host}\ntopic write {base(host)}/#\n"
            "topic read digitallabor/+/+/+/status\ntopic read digitallabor/+/+/+/health\n"
        ) in acl
