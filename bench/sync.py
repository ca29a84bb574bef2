"""Sync benchmark: readings per second from the store's outbox to a local mosquitto at QoS 1,
and the time to drain a backlog, beside a naive one-message-per-reading uplink in the same run.

The store is filled with ``--count`` committed readings (default 1M: a few days of a busy lab
offline). The broker is a real mosquitto on a loopback port with TLS, a password file and an
ACL, as the integration tests start it (``tests/integration/mosquitto.py``). Each run resets the
outbox cursor and times the agent's :class:`~edge_agent.uplink.Uplink` from start until the
broker has acknowledged the last reading: connecting, reading the outbox, SenML packs of
``--pack-size`` readings, PUBACKs, cursor writes through the store's writer.

The baseline sends the same outbox the naive way: one JSON message per reading (read through
``Store.after``), QoS 1, paho's default in-flight window (``--baseline-inflight``), over the
same TLS connection code. It runs on ``--baseline-count`` readings (it is slow); its 1M drain
time is projected from its rate. Targets (issue 4): >= 100k readings/s and >= 5x the
baseline. Prints medians of ``--runs`` runs; a benchmark, never a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.integration.mosquitto

from edge_agent.config import parse_config
from edge_agent.readings import Reading
from edge_agent.store import BatchWriter, Store
from edge_agent.uplink.connection import MqttSession, read_password, tls_context
from edge_agent.uplink.forwarder import Uplink
from tests.integration.mosquitto import Broker, agent_config, make_pki, uplink_table

STREAMS = [f"sensor-{i}/temperature" for i in range(10)]


def fill(data_dir: Path, count: int) -> int:
    """Commit ``count`` readings; returns the last row id."""
    base = time.time() - count * 0.01
    last = 0
    with Store(data_dir) as store:
        for first in range(0, count, 20_000):
            batch = [
                Reading(STREAMS[i % 10], base + i * 0.01, 20.0 + (i % 1000) / 100, "Cel")
                for i in range(first, min(first + 20_000, count))
            ]
            last = store.write(batch)
    return last


def drain(uplink: Uplink, last_row: int) -> float:
    """Seconds until the broker acknowledged every reading up to ``last_row``."""
    thread = threading.Thread(target=uplink.run_blocking, name="uplink")
    start = time.perf_counter()
    thread.start()
    while uplink.acked_row < last_row:
        if not thread.is_alive():
            raise SystemExit(f"the uplink stopped: {uplink.last_error}")
        time.sleep(0.002)
    elapsed = time.perf_counter() - start
    uplink.stop()
    thread.join()
    return elapsed


def naive(uplink: Uplink, data_dir: Path, count: int, inflight: int) -> tuple[float, int]:
    """One QoS 1 message per reading; (seconds until all acknowledged, bytes sent)."""
    wake = threading.Event()
    settings = uplink.broker
    session = MqttSession(
        settings,
        protocol="5",
        password=None if settings.password_file is None else read_password(settings.password_file),
        tls=tls_context(settings),
        wake=wake,
        inflight=inflight,
        logger=logging.getLogger("bench.naive"),
    )
    sent = 0
    with Store(data_dir, readonly=True) as store:
        start = time.perf_counter()
        session.open()
        position = 0
        published = 0
        while published < count:
            batch = store.after(position, limit=min(1000, count - published))
            for r in batch:
                payload = json.dumps(
                    {"n": r.stream, "t": r.time, "v": r.value, "u": r.unit, "id": r.id}
                ).encode()
                topic = f"{uplink.topics.readings}/{r.stream}"
                session.publish(topic, payload)
                sent += len(topic) + len(payload)
            position = batch[-1].row
            published += len(batch)
        while len(session.acks) < count:
            wake.wait(0.01)
            wake.clear()
        elapsed = time.perf_counter() - start
    session.close()
    return elapsed, sent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="backlog to drain")
    parser.add_argument("--baseline-count", type=int, default=50_000, help="for the naive way")
    parser.add_argument(
        "--baseline-inflight", type=int, default=20, help="naive: messages in flight (paho's 20)"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pack-size", type=int, default=500, help="readings per pack")
    parser.add_argument("--inflight", type=int, default=16, help="packs in flight")
    parser.add_argument("--dir", type=Path, help="where to put the data (default: a temp dir)")
    parser.add_argument(
        "--quick", action="store_true", help="1 run of 200,000 readings (naive: 10,000)"
    )
    parser.add_argument(
        "--json", action="store_true", help="figures as JSON on stdout (the table on stderr)"
    )
    args = parser.parse_args()
    if args.quick:
        args.runs, args.count, args.baseline_count = 1, 200_000, 10_000
    stdout = sys.stdout
    if args.json:
        sys.stdout = sys.stderr
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        broker = Broker(root / "broker", make_pki(root / "pki"))
        broker.start()
        try:
            data = root / "data"
            started = time.perf_counter()
            last_row = fill(data, args.count)
            print(
                f"filled the outbox with {args.count:,} readings in "
                f"{time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )
            table = uplink_table(
                broker.port,
                broker.pki,
                root,
                pack_size=args.pack_size,
                max_inflight=args.inflight,
            )
            path = agent_config(root / "agent.toml", data, table, sensors=False)
            config = parse_config(tomllib.loads(path.read_text()))
            assert config.uplink is not None
            writer = BatchWriter(lambda: Store(data), logger=logging.getLogger("bench.store"))
            writer.start()
            rates, per_reading, naive_rates, naive_per = [], [], [], []
            try:
                for run in range(args.runs):
                    writer.call(lambda store: store.set_meta("outbox.readings", 0)).result()
                    uplink = Uplink(
                        config.uplink,
                        config.device,
                        data,
                        writer=writer,
                        logger=logging.getLogger("bench.uplink"),
                    )
                    elapsed = drain(uplink, last_row)
                    rates.append(args.count / elapsed)
                    per_reading.append(uplink.bytes_sent / args.count)
                    seconds, sent = naive(uplink, data, args.baseline_count, args.baseline_inflight)
                    naive_rates.append(args.baseline_count / seconds)
                    naive_per.append(sent / args.baseline_count)
                    print(
                        f"run {run + 1}/{args.runs}: uplink {rates[-1]:,.0f} readings/s "
                        f"({elapsed:.1f} s for {args.count:,}), naive {naive_rates[-1]:,.0f} "
                        f"readings/s",
                        file=sys.stderr,
                    )
            finally:
                writer.stop()
        finally:
            broker.stop()
    rate, baseline = statistics.median(rates), statistics.median(naive_rates)
    n = args.count
    print(
        f"sync to local mosquitto, TLS, QoS 1: uplink {args.pack_size} readings per pack, "
        f"{args.inflight} packs in flight; naive one message per reading, "
        f"{args.baseline_inflight} in flight; median of {args.runs} runs"
    )
    print(f"uplink readings/s                    {rate:>10,.0f}   target >= 100,000")
    print(f"uplink time to drain {n:>9,} readings {n / rate:>10.1f} s")
    print(f"uplink bytes on the wire per reading {statistics.median(per_reading):>10.1f}")
    print(f"naive readings/s                     {baseline:>10,.0f}")
    print(f"naive time to drain {n:>9,} readings  {n / baseline:>10.1f} s (projected)")
    print(f"naive bytes on the wire per reading  {statistics.median(naive_per):>10.1f}")
    print(f"uplink / naive                       {rate / baseline:>10.1f}x  target >= 5x")
    if args.json:
        figures = [
            ("uplink to local mosquitto, TLS, QoS 1", "readings/s", rate, 100_000, "higher"),
            (f"uplink time to drain {n:,} readings", "s", n / rate, None, None),
            (
                "uplink bytes on the wire per reading",
                "B",
                statistics.median(per_reading),
                None,
                None,
            ),
            ("naive one message per reading", "readings/s", baseline, None, None),
            ("uplink / naive", "x", rate / baseline, 5, "higher"),
        ]
        keys = ("figure", "unit", "measured", "target", "better")
        document = {
            "benchmark": "sync",
            "figures": [dict(zip(keys, f, strict=True)) for f in figures],
        }
        print(json.dumps(document), file=stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
