"""Ingest benchmark: readings per second through hub -> batch writer -> SQLite, on one core,
and bytes written to storage per reading.

Readings are created the way a driver creates them (one ``Reading`` per value, published to the
hub); the store's subscription hands them to the batch writer thread, which commits them in
batches of ``--flush-count``. The process is pinned to one CPU so that the event loop and the
writer thread share it, as on a busy Pi. Bytes come from ``/proc/self/io``: ``write_bytes`` is
what reached the block layer (SQLite's WAL, the checkpoints into the database file, and the
page cache write-back they caused), ``wchar`` what passed through write(2).

Targets (issue 2): >= 100k readings/s and <= 150 bytes per reading. Prints the median of
``--runs`` runs; this is a benchmark, never a pass/fail test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from edge_agent.hub import Hub
from edge_agent.readings import Reading
from edge_agent.store import BatchWriter, Store

STREAMS = [f"sensor-{i}/temperature" for i in range(10)]


def io_counters() -> dict[str, int]:
    """This process's I/O counters from /proc/self/io."""
    with open("/proc/self/io") as f:
        return {k: int(v) for k, v in (line.split(":") for line in f)}


async def ingest(data_dir: Path, count: int, flush_count: int) -> tuple[float, int, int]:
    """Publish ``count`` readings, wait until all are committed; (s, write_bytes, wchar)."""
    hub = Hub()
    writer = BatchWriter(
        lambda: Store(data_dir),
        flush_count=flush_count,
        flush_interval=1.0,
        max_pending=10 * flush_count + count,
        logger=logging.getLogger("bench"),
    )
    writer.start()
    sub = hub.subscribe("*", name="store", maxlen=count)

    async def feed() -> None:
        async for batch in sub:
            writer.add(batch)

    feeder = asyncio.create_task(feed())
    base = time.time()
    values = [20.0 + (i % 1000) / 100 for i in range(1000)]
    os.sync()
    before = io_counters()
    start = time.perf_counter()
    publish = hub.publish
    n_streams = len(STREAMS)
    for i in range(count):
        publish(Reading(STREAMS[i % n_streams], base + i * 1e-3, values[i % 1000], "Cel"))
        if i % 1000 == 999:
            await asyncio.sleep(0)  # let the feeder hand the batch over, as between driver ticks
    sub.close()
    await feeder
    await asyncio.to_thread(writer.stop)  # commits the rest and closes (checkpoints) the database
    os.sync()
    elapsed = time.perf_counter() - start
    after = io_counters()
    assert writer.committed == count, (writer.committed, count)
    return elapsed, after["write_bytes"] - before["write_bytes"], after["wchar"] - before["wchar"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=300_000, help="readings per run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--flush-count", type=int, default=5000)
    parser.add_argument("--dir", type=Path, help="where to put the database (default: a temp dir)")
    parser.add_argument("--quick", action="store_true", help="1 run of 50,000 readings")
    parser.add_argument(
        "--json", action="store_true", help="figures as JSON on stdout (the table on stderr)"
    )
    args = parser.parse_args()
    if args.quick:
        args.runs, args.count = 1, 50_000
    stdout = sys.stdout
    if args.json:
        sys.stdout = sys.stderr
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    rates, write_per, wchar_per = [], [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            elapsed, write_bytes, wchar = asyncio.run(
                ingest(Path(tmp), args.count, args.flush_count)
            )
        rates.append(args.count / elapsed)
        write_per.append(write_bytes / args.count)
        wchar_per.append(wchar / args.count)
        print(
            f"run {run + 1}/{args.runs}: {rates[-1]:,.0f} readings/s, "
            f"{write_per[-1]:.1f} B/reading to storage, {wchar_per[-1]:.1f} B/reading written",
            file=sys.stderr,
        )
    rate, per = statistics.median(rates), statistics.median(write_per)
    print(f"ingest readings/s (1 core, median of {args.runs})   {rate:,.0f}   target >= 100,000")
    print(f"ingest bytes to storage per reading                {per:.1f}   target <= 150")
    print(f"ingest bytes through write(2) per reading          {statistics.median(wchar_per):.1f}")
    if args.json:
        figures = [
            ("ingest through hub -> store, 1 core", "readings/s", rate, 100_000, "higher"),
            ("bytes to storage per reading", "B", per, 150, "lower"),
            ("bytes through write(2) per reading", "B", statistics.median(wchar_per), None, None),
        ]
        keys = ("figure", "unit", "measured", "target", "better")
        print(
            json.dumps(
                {
                    "benchmark": "ingest",
                    "figures": [dict(zip(keys, f, strict=True)) for f in figures],
                }
            ),
            file=stdout,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
