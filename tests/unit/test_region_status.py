"""The region table of the uplink: parsing status and health messages, and the table's rules
(bounded, emptied per subscription, removed retained messages, stale after a lost connection).

The health payload is the example of ``edge_agent/uplink/README.md``, which is what
``Uplink.health`` writes; ``tests/integration/test_region_status.py`` checks the same against
real agents and a real broker.
"""

from __future__ import annotations

import json
import logging

import pytest

from edge_agent.errors import ParseError
from edge_agent.uplink.region_status import (
    MAX_PAYLOAD,
    SILENT_AFTER,
    HealthSummary,
    RegionStatus,
    parse_health,
    parse_message,
    parse_status,
)

HEALTH = (
    b'{"time":1767254460.5,"device":"rastatt-lab-01","version":"0.1.0","uptime_s":86400.2,'
    b'"protocol":"5","backlog":0,"oldest_unsynced":null,'
    b'"last_ack":{"id":"9f2c4e1a0b7d3e55-88210","time":1767254459.0},"events_pending":0,'
    b'"dropped_unsynced":0,"disk":{"free_bytes":24016343040,"total_bytes":31254757376},'
    b'"cpu_temperature_c":48.3}'
)
BASE = "digitallabor/rastatt/digitallabor-rastatt/rastatt-lab-01"


class Clock:
    def __init__(self, now: float = 1_767_254_500.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def region(clock: Clock) -> RegionStatus:
    return make_region(clock)


def make_region(clock: Clock, **options: object) -> RegionStatus:
    return RegionStatus(
        "digitallabor",
        own_base=BASE,
        reader="user 'rastatt-lab-01'",
        clock=clock,
        logger=logging.getLogger("test.region"),
        **options,  # type: ignore[arg-type]
    )


def test_status_is_online_or_offline_and_nothing_else() -> None:
    assert parse_status(b"online") == "online"
    assert parse_status(b"offline\n") == "offline"
    for bad in (b"", b"ONLINE", b"on line", b"\xff\xfe", b"1"):
        with pytest.raises(ParseError, match="neither 'online' nor 'offline'"):
            parse_status(bad)


def test_health_message_of_the_readme_is_summarised_with_its_units() -> None:
    assert parse_health(HEALTH) == HealthSummary(
        time=1767254460.5,
        version="0.1.0",
        uptime_s=86400.2,
        protocol="5",
        backlog=0,
        oldest_unsynced=None,
        last_ack_time=1767254459.0,
        events_pending=0,
        dropped_unsynced=0,
        disk_free_bytes=24016343040,
        disk_total_bytes=31254757376,
        cpu_temperature_c=48.3,
    )


def test_health_fields_of_another_shape_become_none_not_errors() -> None:
    # A device of another version may send other types; the rest of its message still counts.
    odd = {
        "time": "yesterday",
        "version": 2,
        "backlog": 12.5,
        "events_pending": True,
        "disk": [1, 2],
        "last_ack": None,
        "cpu_temperature_c": 51,
        "extra": {"new": "field"},
    }
    summary = parse_health(json.dumps(odd).encode())
    assert summary.time is None and summary.version is None and summary.backlog is None
    assert summary.events_pending is None and summary.disk_free_bytes is None
    assert summary.last_ack_time is None
    assert summary.cpu_temperature_c == 51.0


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"online", "not JSON"),
        (b"[1, 2]", "JSON list, not an object"),
        (b"\xff{}", "not JSON"),
        (b'{"time": NaN', "not JSON"),
    ],
)
def test_health_that_is_not_a_json_object_is_refused(payload: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_health(payload)


def test_oversized_messages_are_refused_before_parsing() -> None:
    with pytest.raises(ParseError, match=f"at most {MAX_PAYLOAD}"):
        parse_message("health", b" " * (MAX_PAYLOAD + 1))


def test_table_keeps_status_and_health_per_device_sorted_by_place(
    region: RegionStatus, clock: Clock
) -> None:
    other = "digitallabor/bad-schönborn/lab-2/bs-01"
    assert region.receive(f"{BASE}/status", b"online")
    clock.now += 5
    assert region.receive(f"{BASE}/health", HEALTH)
    assert region.receive(f"{other}/status", b"offline")
    devices = region.snapshot().devices
    assert [(d.city, d.lab, d.device, d.status) for d in devices] == [
        ("bad-schönborn", "lab-2", "bs-01", "offline"),
        ("rastatt", "digitallabor-rastatt", "rastatt-lab-01", "online"),
    ]
    rastatt = devices[1]
    assert rastatt.status_at == 1_767_254_500.0
    assert rastatt.health_at == 1_767_254_505.0
    assert rastatt.health is not None and rastatt.health.version == "0.1.0"
    # Last seen is when the device itself sent its health, not when it reached us.
    assert rastatt.last_seen == 1767254460.5
    assert devices[0].last_seen == clock.now and devices[0].health is None


def test_other_topics_and_bad_payloads_are_not_taken_and_bad_ones_are_counted(
    region: RegionStatus,
) -> None:
    assert not region.receive(f"{BASE}/readings", b"[]")
    assert not region.receive("elsewhere/a/b/c/status", b"online")
    assert not region.receive(f"{BASE}/extra/status", b"online")
    assert not region.receive(f"{BASE}/status", b"maybe")
    assert not region.receive(f"{BASE}/health", b"{broken")
    snapshot = region.snapshot()
    assert snapshot.devices == ()
    assert snapshot.rejected == 2


def test_an_empty_retained_message_removes_what_it_replaces(region: RegionStatus) -> None:
    region.receive(f"{BASE}/status", b"offline")
    region.receive(f"{BASE}/health", HEALTH)
    assert region.receive(f"{BASE}/health", b"")
    (device,) = region.snapshot().devices
    assert device.health is None and device.status == "offline"
    region.receive(f"{BASE}/status", b"")
    assert region.snapshot().devices == ()


def test_table_is_bounded_and_counts_the_devices_left_out(clock: Clock) -> None:
    region = make_region(clock, max_devices=3)
    for n in range(5):
        region.receive(f"digitallabor/city/lab/pi-{n}/status", b"online")
    region.receive("digitallabor/city/lab/pi-4/health", HEALTH)  # the same one, once more
    region.receive("digitallabor/city/lab/pi-0/status", b"offline")  # known ones still change
    snapshot = region.snapshot()
    assert [(d.device, d.status) for d in snapshot.devices] == [
        ("pi-0", "offline"),
        ("pi-1", "online"),
        ("pi-2", "online"),
    ]
    assert snapshot.ignored_devices == 2 and snapshot.max_devices == 3


def test_subscription_states_and_a_lost_connection_keep_the_last_table(
    region: RegionStatus, clock: Clock
) -> None:
    assert region.snapshot().subscription == "waiting"
    region.subscribing()
    assert region.snapshot().subscription == "pending"
    region.granted()
    region.receive(f"{BASE}/status", b"online")
    clock.now += 60
    region.connection_lost("connection to the broker at h:8883 lost (keepalive timeout)")
    snapshot = region.snapshot()
    assert snapshot.subscription == "waiting"
    assert snapshot.stale_since == clock.now
    assert snapshot.error is not None and "keepalive timeout" in snapshot.error
    assert [d.device for d in snapshot.devices] == ["rastatt-lab-01"]
    # A new subscription starts from nothing: the broker sends every retained message again.
    region.subscribing()
    assert region.snapshot().devices == ()
    region.granted()
    snapshot = region.snapshot()
    assert (snapshot.error, snapshot.stale_since, snapshot.subscribed_at) == (
        None,
        None,
        clock.now,
    )


def test_a_refused_subscription_says_which_acl_entries_are_missing(
    region: RegionStatus, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="test.region"):
        for _ in range(3):  # refused again after each reconnect: logged once
            region.subscribing()
            region.refused("Not authorized")
            region.connection_lost("connection lost")
    snapshot = region.snapshot()
    assert snapshot.subscription == "refused"
    assert snapshot.error == (
        "the broker refused this device's subscription to the region's status (Not "
        "authorized); its ACL must let user 'rastatt-lab-01' read digitallabor/+/+/+/status "
        "and digitallabor/+/+/+/health (the region_broker Ansible role writes that)"
    )
    assert len([r for r in caplog.records if "refused" in r.getMessage()]) == 1


def test_a_granted_subscription_that_brings_not_even_our_own_status_is_explained(
    region: RegionStatus, clock: Clock
) -> None:
    # mosquitto grants what its ACL file forbids to read, then drops every message.
    region.subscribing()
    region.granted()
    region.receive("digitallabor/other/lab/pi-9/status", b"online")
    clock.now += SILENT_AFTER - 1
    assert region.snapshot().error is None
    clock.now += 1
    error = region.snapshot().error
    assert error is not None
    assert "has not sent even this device's own status in 10 s" in error
    assert "its ACL must let user 'rastatt-lab-01' read digitallabor/+/+/+/status" in error
    region.receive(f"{BASE}/status", b"online")
    assert region.snapshot().error is None


def test_own_base_must_lie_under_the_prefix(clock: Clock) -> None:
    with pytest.raises(ValueError, match="not a device's topic base"):
        RegionStatus(
            "digitallabor",
            own_base="elsewhere/a/b/c",
            reader="user 'x'",
            logger=logging.getLogger("test.region"),
        )
