"""Decoding benchmark: BLE advertisements and serial bytes per second, on one core.

BLE: advertisements per second through :func:`drivers.ble.decode_advertisement`, the entry
point the driver calls for every advertisement it hears, per format: ATC1441 and pvvx (decoded
here), BTHome v2 plain (five objects, as a pvvx thermometer sends them) and encrypted (two
objects, AES-CCM), RuuviTag data format 5; and raw HCI LE advertising reports (ATC1441 inside)
parsed with :func:`drivers.ble.parse_hci_le_advertising_report` and decoded. Every
advertisement of a run is different (values, packet ids and counters change), so none is
answered from the BTHome decoder's cache of repeats; the row "BTHome v2 plain, each sent 4
times" shows what that cache saves on the traffic real devices send (each measurement in
several advertisements).

Serial: bytes per second through the stream parsers (``feed`` in 64-byte reads, as a serial
port delivers them, then ``next_event`` until ``NEED_DATA``), on byte streams from the
simulators: NMEA 0183 (GGA, RMC, VTG of a moving vehicle), Lufft UMB (IRS31Pro-UMB answers to
the multi-channel request) and key=value lines of a maker's board.

The process is pinned to one CPU, and rates are per second of the process's CPU time: on an
idle core that equals the wall-clock time (the decoding is single-threaded and does no I/O),
and on a shared machine it does not count the time other processes had the core. Each figure is
the median of ``--runs`` runs; this is a benchmark, never a pass/fail test. Target (issue):
>= 20,000 advertisements/s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from drivers.ble import (
    BTHOME_UUID,
    ENVIRONMENTAL_SENSING_UUID,
    RUUVI_COMPANY_ID,
    decode_advertisement,
    parse_hci_le_advertising_report,
)
from drivers.ble.bthome import DECODE_CACHE_SIZE
from drivers.serial import irs31, umb
from drivers.serial.lines import LineStreamParser
from drivers.serial.nmea import NmeaStreamParser
from drivers.serial.simulators import Irs31Responder, MicrocontrollerTalker, NmeaTalker
from drivers.serial.stream_parser import StreamParser

TARGET_PER_S = 20_000
READ_SIZE = 64
MAC = bytes.fromhex("a4c138bc7c4e")
ADDRESS = MAC.hex(":").upper()
BIND_KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")


@dataclass(frozen=True)
class Advertisement:
    """What the driver hands to the decoder: bleak's address, service and manufacturer data."""

    address: str
    service_data: dict[str, bytes]
    manufacturer_data: dict[int, bytes]
    bind_key: bytes | None = None


# --- BLE inputs: every one different --------------------------------------------------------


def atc1441(i: int) -> bytes:
    """13 bytes, big-endian: MAC, 0.1 °C, %, %, mV, frame counter."""
    temperature = -200 + i % 600
    return (
        MAC
        + temperature.to_bytes(2, "big", signed=True)
        + bytes((30 + i % 60, 80 + i % 20))
        + (2900 + i % 200).to_bytes(2, "big")
        + bytes((i % 256,))
    )


def pvvx(i: int) -> bytes:
    """15 bytes, little-endian: MAC, 0.01 °C, 0.01 %, mV, %, counter, flags."""
    return (
        MAC[::-1]
        + (-2000 + i % 6000).to_bytes(2, "little", signed=True)
        + (3000 + (i * 7) % 6000).to_bytes(2, "little")
        + (2900 + i % 200).to_bytes(2, "little")
        + bytes((80 + i % 20, i % 256, i % 32))
    )


def bthome_objects(i: int) -> bytes:
    """Packet id, battery, temperature, humidity, voltage: what pvvx's BTHome mode sends."""
    return (
        bytes((0x00, i % 256, 0x01, 60 + i % 40, 0x02))
        + (-2000 + (i // 256) % 6000).to_bytes(2, "little", signed=True)
        + b"\x03"
        + (3000 + i % 6000).to_bytes(2, "little")
        + b"\x0c"
        + (2900 + i % 200).to_bytes(2, "little")
    )


def bthome_encrypted(i: int) -> bytes:
    """Temperature and humidity, encrypted as bthome.io describes, counter ``i``."""
    plaintext = (
        b"\x02"
        + (-2000 + i % 6000).to_bytes(2, "little", signed=True)
        + b"\x03"
        + (3000 + (i * 7) % 6000).to_bytes(2, "little")
    )
    info = 0x41
    counter = i.to_bytes(4, "little")
    nonce = MAC + bytes.fromhex("d2fc") + bytes((info,)) + counter
    sealed = AESCCM(BIND_KEY, tag_length=4).encrypt(nonce, plaintext, None)
    return bytes((info,)) + sealed[:-4] + counter + sealed[-4:]


def ruuvi(i: int) -> bytes:
    """RuuviTag data format 5, 24 bytes; the measurement sequence number is ``i``."""
    return (
        b"\x05"
        + (4000 + i % 3000).to_bytes(2, "big", signed=True)
        + (20000 + i % 8000).to_bytes(2, "big")
        + (50000 + i % 1000).to_bytes(2, "big")
        + (4).to_bytes(2, "big", signed=True)
        + (-4).to_bytes(2, "big", signed=True)
        + (1036).to_bytes(2, "big", signed=True)
        + ((1377 << 5) | 22).to_bytes(2, "big")
        + bytes((i % 255,))
        + (i % 65535).to_bytes(2, "big")
        + bytes.fromhex("cbb8334c884f")
    )


def hci_report(service_data: bytes) -> bytes:
    """An LE Advertising Report event (H4 ``04``) with flags and service data of 0x181A."""
    ad = bytes.fromhex("020106") + bytes((len(service_data) + 3, 0x16, 0x1A, 0x18)) + service_data
    report = bytes((0x00, 0x00)) + MAC[::-1] + bytes((len(ad),)) + ad + bytes((0xC4,))
    params = bytes((0x02, 0x01)) + report
    return bytes((0x04, 0x3E, len(params))) + params


def service(uuid: str, make: Callable[[int], bytes], count: int, **extra: bytes) -> list[object]:
    return [Advertisement(ADDRESS, {uuid: make(i)}, {}, **extra) for i in range(count)]


def decode_each(ads: Sequence[object]) -> int:
    decoded = 0
    for ad in ads:
        assert isinstance(ad, Advertisement)
        sample = decode_advertisement(
            ad.address, ad.service_data, ad.manufacturer_data, bind_key=ad.bind_key
        )
        decoded += sample is not None
    return decoded


def parse_and_decode_each(reports: Sequence[object]) -> int:
    decoded = 0
    for data in reports:
        assert isinstance(data, bytes)
        for ad in parse_hci_le_advertising_report(data):
            sample = decode_advertisement(ad.address, ad.service_data, ad.manufacturer_data)
            decoded += sample is not None
    return decoded


@dataclass(frozen=True)
class BleCase:
    name: str
    make: Callable[[int], list[object]]
    run: Callable[[Sequence[object]], int]


BLE_CASES = (
    BleCase(
        "ATC1441 (service data 0x181A)",
        lambda n: service(ENVIRONMENTAL_SENSING_UUID, atc1441, n),
        decode_each,
    ),
    BleCase(
        "pvvx custom (service data 0x181A)",
        lambda n: service(ENVIRONMENTAL_SENSING_UUID, pvvx, n),
        decode_each,
    ),
    BleCase(
        "BTHome v2 plain (0xFCD2, 5 objects)",
        lambda n: service(BTHOME_UUID, lambda i: b"\x40" + bthome_objects(i), n),
        decode_each,
    ),
    BleCase(
        "BTHome v2 encrypted (0xFCD2, 2 objects)",
        lambda n: service(BTHOME_UUID, bthome_encrypted, n, bind_key=BIND_KEY),
        decode_each,
    ),
    BleCase(
        "RuuviTag data format 5 (0x0499)",
        lambda n: [Advertisement(ADDRESS, {}, {RUUVI_COMPANY_ID: ruuvi(i)}) for i in range(n)],
        decode_each,
    ),
    BleCase(
        "HCI LE report parse + decode (ATC1441)",
        lambda n: [hci_report(atc1441(i)) for i in range(n)],
        parse_and_decode_each,
    ),
    BleCase(
        "BTHome v2 plain, each sent 4 times",
        lambda n: [
            Advertisement(ADDRESS, {BTHOME_UUID: b"\x40" + bthome_objects(i // 4)}, {})
            for i in range(n)
        ],
        decode_each,
    ),
)


# --- serial inputs ---------------------------------------------------------------------------


def nmea_bytes(size: int) -> bytes:
    talker = NmeaTalker(start=dt.datetime(2026, 1, 15, 5, 0, tzinfo=dt.UTC))
    chunks, total = [], 0
    while total < size:
        chunk = talker.epoch()
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def umb_bytes(size: int) -> bytes:
    request = umb.multi_channel_request(irs31.DEFAULT_ADDRESS, irs31.DEFAULT_CHANNELS)
    sensor = Irs31Responder()
    chunks, total, i = [], 0, 0
    while total < size:
        sensor.surface_temperature_c = -5.0 + (i % 100) / 10
        chunk = sensor.on_receive(request)
        chunks.append(chunk)
        total += len(chunk)
        i += 1
    return b"".join(chunks)


def line_bytes(size: int) -> bytes:
    board = MicrocontrollerTalker()
    chunks, total = [], 0
    while total < size:
        chunk = board.on_tick()
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


@dataclass(frozen=True)
class SerialCase:
    name: str
    make_bytes: Callable[[int], bytes]
    make_parser: Callable[[], StreamParser[Any]]


SERIAL_CASES = (
    SerialCase("NMEA 0183 (GGA, RMC, VTG)", nmea_bytes, NmeaStreamParser),
    SerialCase("Lufft UMB (IRS31 answers, 4 channels)", umb_bytes, umb.UmbStreamParser),
    SerialCase("lines (key=value, 4 pairs)", line_bytes, LineStreamParser),
)


def parse_stream(make_parser: Callable[[], StreamParser[Any]], reads: Sequence[bytes]) -> int:
    """Feed ``reads`` to a new parser and take every event; the number of events."""
    parser = make_parser()
    events = 0
    for read in reads:
        parser.feed(read)
        for _ in parser.events():
            events += 1
    return events


# --- running ---------------------------------------------------------------------------------


def median_rate(run: Callable[[], int], amount: int, runs: int) -> tuple[float, int]:
    """``amount`` per second of CPU time (median over ``runs``) and what ``run`` returned."""
    rates, result = [], 0
    for _ in range(runs):
        start = time.process_time()
        result = run()
        rates.append(amount / (time.process_time() - start))
    return statistics.median(rates), result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="Prints two tables; progress goes to stderr.",
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (default 5)")
    parser.add_argument(
        "--count", type=int, default=20_000, help="advertisements per run (default 20000)"
    )
    parser.add_argument(
        "--serial-bytes",
        type=int,
        default=1_000_000,
        help="bytes per run and protocol (default 1000000)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="3 runs of 2000 advertisements and 100 kB"
    )
    parser.add_argument(
        "--json", action="store_true", help="figures as JSON on stdout (the tables on stderr)"
    )
    args = parser.parse_args()
    stdout, figures = sys.stdout, []
    if args.json:
        sys.stdout = sys.stderr
    if args.quick:
        args.runs, args.count, args.serial_bytes = 3, 2_000, 100_000
    if args.count < 4 * DECODE_CACHE_SIZE:
        parser.error(
            f"--count must be at least {4 * DECODE_CACHE_SIZE}, so that the BTHome decoder's "
            f"cache of {DECODE_CACHE_SIZE} advertisements cannot answer a run"
        )
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    if hasattr(os, "getloadavg"):
        load = os.getloadavg()[0]
        print(f"load average when starting: {load:.2f} on {os.cpu_count()} CPUs\n")

    print(
        f"BLE advertisements decoded per CPU second (1 core, median of {args.runs} runs of "
        f"{args.count:,} different advertisements)"
    )
    print(f"{'format':<42} {'adverts/s':>12} {'us/advert':>10}")
    for case in BLE_CASES:
        print(f"  {case.name} ...", file=sys.stderr, flush=True)
        inputs = case.make(args.count)
        rate, decoded = median_rate(functools.partial(case.run, inputs), len(inputs), args.runs)
        assert decoded == len(inputs), f"{case.name}: only {decoded} of {len(inputs)} decoded"
        print(f"{case.name:<42} {rate:>12,.0f} {1e6 / rate:>10.1f}", flush=True)
        figures.append((f"BLE {case.name}", "adverts/s", rate, TARGET_PER_S, "higher"))
    print(f"{'target':<42} {'>= ' + format(TARGET_PER_S, ','):>12}")

    print()
    print(
        f"Serial bytes parsed per CPU second (1 core, median of {args.runs} runs of "
        f"{args.serial_bytes:,} bytes, {READ_SIZE}-byte reads)"
    )
    print(f"{'protocol':<42} {'bytes/s':>12} {'events/s':>10}")
    for serial in SERIAL_CASES:
        print(f"  {serial.name} ...", file=sys.stderr, flush=True)
        data = serial.make_bytes(args.serial_bytes)
        reads = [data[i : i + READ_SIZE] for i in range(0, len(data), READ_SIZE)]
        rate, events = median_rate(
            functools.partial(parse_stream, serial.make_parser, reads), len(data), args.runs
        )
        assert events > 0, serial.name
        events_per_s = rate * events / len(data)
        print(f"{serial.name:<42} {rate:>12,.0f} {events_per_s:>10,.0f}", flush=True)
        figures.append((f"serial {serial.name}", "bytes/s", rate, None, None))
    if args.json:
        keys = ("figure", "unit", "measured", "target", "better")
        document = {
            "benchmark": "decode",
            "figures": [dict(zip(keys, f, strict=True)) for f in figures],
        }
        print(json.dumps(document), file=stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
