"""The uplink's pieces without a broker: SenML packs, topics, outbox packs from a real store,
password files, backoff, the bandwidth cap, health figures and the ``[uplink]`` config."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from edge_agent.cli.sync_cmds import span
from edge_agent.config import AgentConfig
from edge_agent.errors import ConfigError, ParseError
from edge_agent.readings import Quality, Reading
from edge_agent.store import Store
from edge_agent.uplink.connection import read_password
from edge_agent.uplink.health import cpu_temperature
from edge_agent.uplink.outbox import Outbox
from edge_agent.uplink.pacing import Backoff, TokenBucket
from edge_agent.uplink.senml import PackEncoder, decode_pack
from edge_agent.uplink.topics import DeviceTopics, parse_topic, topic_level

T0 = 1_767_250_800.25  # 2026-01-01 07:00:00.25 UTC


def write(store: Store, readings: list[Reading]) -> None:
    store.write(readings)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "data") as s:
        yield s


def test_pack_round_trips_every_kind_of_value_with_ids_and_exact_times(store: Store) -> None:
    readings = [
        Reading("road-surface/temperature", T0 + 0.000001, -1.5, "Cel"),
        Reading("air/humidity", T0, 93, "%RH", Quality.CLOCK_UNSYNCED),
        Reading("bay-1/occupied", T0 + 2.5, True, ""),
        Reading("bay-1/occupied", T0 + 3.5, False, "", Quality.STALE),
        Reading("surface/condition", T0 + 4, 'wet "salted"', ""),
        Reading("lab-tag/battery", T0 + 5, None, "%EL", Quality.OUT_OF_RANGE),
        Reading("air/temperature", T0 + 6, math.inf, "Cel", Quality.OUT_OF_RANGE),
    ]
    store.write(readings)
    with Store(store.data_dir, readonly=True) as ro:
        outbox = Outbox(ro, "rastatt-lab-01")
        pack = outbox.next_readings(100, 1 << 20)
    assert pack is not None and (pack.first, pack.last, pack.count) == (1, 7, 7)
    raw = json.loads(pack.payload)
    # RFC 8428: base name and base time in the first record only; base time is the earliest.
    assert raw[0]["bn"] == "rastatt-lab-01/" and raw[0]["bt"] == T0
    assert all("bn" not in r and "bt" not in r for r in raw[1:])
    assert raw[1]["t"] == 0.0 and raw[0]["t"] == 1e-6
    assert raw[2]["vb"] is True and "u" not in raw[2]
    assert "v" not in raw[5] and "v" not in raw[6]  # not available; infinity is not JSON

    records = decode_pack(pack.payload, now=T0)
    assert [r.id for r in records] == [f"{store.uid}-{row}" for row in range(1, 8)]
    assert [r.name for r in records] == [f"rastatt-lab-01/{r.stream}" for r in readings]
    assert [r.time_us for r in records] == [round(r.time * 1e6) for r in readings]
    assert [r.value for r in records] == [-1.5, 93, True, False, 'wet "salted"', None, None]
    assert [r.unit for r in records] == [r.unit for r in readings]
    assert records[1].quality == ("clock_unsynced",) and records[3].quality == ("stale",)
    assert records[0].quality == ()


def test_packs_respect_count_and_bytes_and_follow_commit_order(store: Store) -> None:
    store.write([Reading(f"s{i % 3}/temperature", T0 + i, float(i), "Cel") for i in range(1000)])
    with Store(store.data_dir, readonly=True) as ro:
        outbox = Outbox(ro, "dev")
        sizes = []
        rows: list[int] = []
        while (pack := outbox.next_readings(300, 8000)) is not None:
            assert len(pack.payload) <= 8000
            sizes.append(pack.count)
            rows += [int(r.id.rsplit("-", 1)[1]) for r in decode_pack(pack.payload, now=T0)]
        assert rows == list(range(1, 1001))
        assert max(sizes) <= 300 and len(sizes) >= 1000 * 60 // 8000
        # Nothing was acknowledged: a rewind starts again at the first reading.
        outbox.rewind()
        first = outbox.next_readings(10, 1 << 20)
        assert first is not None and first.first == 1


def test_outbox_resumes_from_the_persisted_cursor_and_sends_events(store: Store) -> None:
    store.write([Reading("air/temperature", T0 + i, float(i), "Cel") for i in range(10)])
    store.set_outbox_cursor(6)
    store.record_event("retention", "dropped 3 readings", severity="warning", data={"n": 3})
    with Store(store.data_dir, readonly=True) as ro:
        outbox = Outbox(ro, "dev")
        assert outbox.backlog() == 4 and outbox.oldest_unsynced() == T0 + 6
        events = outbox.next_events()
        assert events is not None and outbox.next_events() is None
        (event,) = decode_pack(events.payload, now=T0)
        assert event.name == "dev/event/retention" and event.value == "dropped 3 readings"
        assert event.extra == {"sev": "warning", "data": {"n": 3}} and event.id == f"{ro.uid}-e1"
        pack = outbox.next_readings(100, 1 << 20)
        assert pack is not None and (pack.first, pack.last) == (7, 10)
        outbox.acknowledge(pack)
        assert outbox.acked_row == 10 and outbox.backlog() == 0


def test_decode_resolves_base_fields_of_other_senders() -> None:
    payload = json.dumps(
        [
            {
                "bn": "urn:dev:ow:10e2073a01080063/",
                "bt": 1.32e9,
                "bu": "Cel",
                "bv": 20,
                "n": "t",
                "v": 1.5,
            },
            {"n": "t", "t": 10, "v": 2},
            {"n": "h", "u": "%RH", "t": -10, "v": 50},  # a relative time: bv applies too
            {"n": "rel", "bt": 0, "t": -5, "vs": "x"},
        ]
    ).encode()
    a, b, c, d = decode_pack(payload, now=2_000_000_000.0)
    assert (a.value, a.unit, a.time) == (21.5, "Cel", 1.32e9)
    assert (b.value, b.time) == (22.0, 1.32e9 + 10)
    assert (c.unit, c.value) == ("%RH", 70.0)
    assert d.time == 2_000_000_000.0 - 5 and d.value == "x"


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        (b"{not json", "not a SenML JSON pack"),
        (b'{"n": "x"}', "JSON array"),
        (b"[1]", "not an object"),
        (b'[{"v": 1}]', "no name"),
        (b'[{"n": "x", "v": "1"}]', "must be a number"),
        (b"\xff\xfe", "not a SenML JSON pack"),
    ],
)
def test_decode_refuses_what_is_not_senml(payload: bytes, says: str) -> None:
    with pytest.raises(ParseError, match=says):
        decode_pack(payload, now=T0)


def test_pack_encoder_needs_readings() -> None:
    with pytest.raises(ValueError, match="at least one"):
        PackEncoder("dev", "uid").readings([])


def test_topics_are_lower_case_levels_and_parse_back() -> None:
    topics = DeviceTopics.build("region/ka", "Bad Schönborn", "Lab #1 / West", "pi-7")
    assert topics.base == "region/ka/bad-schönborn/lab-1-west/pi-7"
    assert topics.readings.endswith("/pi-7/readings") and topics.status.endswith("/status")
    parts = parse_topic("region/ka", topics.health)
    assert parts is not None and (parts.city, parts.lab, parts.device, parts.kind) == (
        "bad-schönborn",
        "lab-1-west",
        "pi-7",
        "health",
    )
    assert parse_topic("region/ka", "region/ka/a/b/c/unknown") is None
    assert parse_topic("region/ka", "other/a/b/c/readings") is None
    assert topic_level("  Rastatt ") == "rastatt"


def test_topics_need_city_and_lab() -> None:
    with pytest.raises(ConfigError, match=r"set device\.city and device\.lab"):
        DeviceTopics.build("digitallabor", "", " ", "pi-7")


def test_password_file_that_everyone_can_read_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "mqtt.password"
    path.write_text("s3cret\nignored\n")
    path.chmod(0o644)
    with pytest.raises(ConfigError) as info:
        read_password(path)
    assert str(path) in str(info.value) and f"chmod 600 {path}" in str(info.value)
    assert "0644" in str(info.value)
    path.chmod(0o640)
    assert read_password(path) == "s3cret"
    with pytest.raises(ConfigError, match="does not exist"):
        read_password(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.write_text("")
    empty.chmod(0o600)
    with pytest.raises(ConfigError, match="is empty"):
        read_password(empty)


def test_backoff_doubles_with_jitter_up_to_the_maximum_and_resets() -> None:
    backoff = Backoff(1.0, 30.0, rng=random.Random(7))
    delays = [backoff.next() for _ in range(8)]
    ceilings = [1, 2, 4, 8, 16, 30, 30, 30]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert len({round(d, 6) for d in delays[5:]}) == 3  # jitter: no two Pis wait alike
    backoff.reset()
    assert backoff.next() <= 1.0


def test_token_bucket_holds_the_average_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(1000.0, burst=1000.0, clock=lambda: now[0])
    sent = 0
    while now[0] < 10.0:
        wait = bucket.wait_time()
        if wait > 0:
            now[0] += wait
            continue
        bucket.spend(700)
        sent += 700
    assert 10_000 <= sent <= 10_000 + 1000 + 700


def test_cpu_temperature_prefers_the_cpu_zone_of_a_thermal_tree(tmp_path: Path) -> None:
    assert cpu_temperature(tmp_path / "none") is None
    for index, (kind, milli) in enumerate([("acpitz", "27800"), ("cpu-thermal", "48312")]):
        zone = tmp_path / f"thermal_zone{index}"
        zone.mkdir()
        (zone / "type").write_text(kind + "\n")
        (zone / "temp").write_text(milli + "\n")
    assert cpu_temperature(tmp_path) == pytest.approx(48.312)
    (tmp_path / "thermal_zone1" / "temp").write_text("garbage")
    assert cpu_temperature(tmp_path) == pytest.approx(27.8)


def test_uplink_config_defaults_and_checks(make_config: Callable[[str], AgentConfig]) -> None:
    config = make_config('[uplink]\nhost = "broker.example"\n')
    assert config.uplink is not None and config.uplink.port == 8883 and config.uplink.tls
    plain = make_config('[uplink]\nhost = "b"\ntls = false\n')
    assert plain.uplink is not None and plain.uplink.port == 1883
    capped = make_config('[uplink]\nhost = "b"\nmax_bandwidth = "20kB"\nreconnect_max = "2m"\n')
    assert capped.uplink is not None and capped.uplink.max_bandwidth == 20_000
    bad = {
        'password_file = "/p"': "password_file is set without username",
        'client_key = "/k"': "client_key is set without client_cert",
        'tls = false\nca_file = "/ca.pem"': "ca_file is set but tls = false",
        'topic_prefix = "a/+/b"': "wildcards",
        'topic_prefix = "/a"': "not usable",
        'reconnect_min = "1m"\nreconnect_max = "10s"': "shorter than reconnect_min",
        'protocol = "4"': "uplink.protocol",
        "port = 70000": "not a TCP port",
    }
    for text, says in bad.items():
        with pytest.raises(ConfigError, match=says.replace(".", r"\.")):
            make_config(f'[uplink]\nhost = "b"\n{text}\n')


def test_sync_status_shows_spans_in_two_units() -> None:
    assert [span(s) for s in (0.4, 12, 60, 5460, 3601, 93605, 28306944)] == [
        "0s",
        "12s",
        "1m",
        "1h31m",
        "1h",
        "1d2h",
        "327d15h",
    ]
