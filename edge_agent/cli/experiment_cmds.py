"""``edge-agent experiment new|list|run|test`` and ``edge-agent record``: the maker's path.

::

    edge-agent experiment new frost-watch          # a working folder with a passing test
    edge-agent experiment test ./frost_watch       # its tests (pytest)
    edge-agent record --data-dir DIR --since 2h -o lab.jsonl
    edge-agent experiment run ./frost_watch --trace lab.jsonl   # replay, deterministic
    edge-agent experiment run ./frost_watch --duration 60       # live, simulated sensors
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

from ..agent import Agent
from ..config import bundled_config, load_config, parse_config, resolve_config_path
from ..durations import parse_duration
from ..errors import ConfigError, unknown_choice
from ..experiments import find_experiments, load_manifest
from ..experiments.manifest import MANIFEST_NAME, Manifest
from ..experiments.replay import replay
from ..experiments.scaffold import create_experiment
from ..experiments.trace import TraceHeader, read_trace, reading_line, write_header
from ..logs import setup_logging
from ..readings import Quality, Reading, check_name, stream_matcher
from ..store import Store
from .common import add_config_option, add_data_dir_option, data_dir_from

EXAMPLES = """
examples:
  edge-agent experiment new frost-watch
  edge-agent experiment test ./frost_watch
  edge-agent experiment run road-icing --trace lab.jsonl --param margin_c=1.5
  edge-agent experiment run ./frost_watch --duration 60
"""


def register(commands: Any) -> None:
    """Add ``experiment`` (new, list, run, test) and ``record``."""
    experiment = commands.add_parser(
        "experiment",
        help="create, list, run and test experiments",
        description="Work with experiments: folders with a manifest, code, README and tests.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = experiment.add_subparsers(dest="experiment_command", metavar="SUBCOMMAND", required=True)

    new = sub.add_parser(
        "new",
        help="create a working experiment folder with a passing test",
        description="Create NAME's folder (manifest, code, README, tests) in --dir.",
    )
    new.add_argument("name", help="lower-case name with dashes, e.g. frost-watch")
    new.add_argument("--dir", type=Path, default=Path(), help="where to create it (default .)")
    new.add_argument(
        "--reads", default="air/temperature", metavar="STREAM", help="stream it watches"
    )
    new.set_defaults(handler=cmd_new)

    listing = sub.add_parser(
        "list",
        help="list the bundled experiments and the lab's own",
        description="List experiments with their parameters (bundled, then experiments_dir).",
    )
    add_config_option(listing)
    listing.add_argument("--dir", type=Path, action="append", help="also look in this directory")
    listing.set_defaults(handler=cmd_list)

    run = sub.add_parser(
        "run",
        help="run an experiment on a recorded trace, or live on simulated sensors",
        description=(
            "With --trace, replay the trace through the experiment (deterministic: the clock "
            "is each reading's time) and print what it publishes. Without, run it live beside "
            "the demo's simulated sensors (or --config's sensors) in a scratch data directory."
        ),
    )
    run.add_argument("experiment", help="a name, or the path of an experiment folder")
    run.add_argument("--trace", type=Path, metavar="FILE", help="a trace from `edge-agent record`")
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help='set a parameter (TOML value: 1.5, true, "text"); repeatable',
    )
    run.add_argument("--timer", metavar="DURATION", help="override the manifest's timer")
    run.add_argument("--duration", type=float, metavar="SECONDS", help="live: stop after this")
    run.add_argument("--json", action="store_true", help="print JSON lines")
    add_config_option(run)
    run.set_defaults(handler=cmd_run)

    test = sub.add_parser(
        "test",
        help="run an experiment's tests with pytest",
        description="Run pytest on the experiment folder's tests; extra arguments go to pytest.",
    )
    test.add_argument("experiment", help="a name, or the path of an experiment folder")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER, help="passed to pytest")
    test.set_defaults(handler=cmd_test)

    record = commands.add_parser(
        "record",
        help="record committed readings into a trace file for `experiment run`",
        description=(
            "Write readings from the local store to a trace file: those since --since, then "
            "new ones as the running agent commits them, until --duration or Ctrl-C."
        ),
    )
    add_data_dir_option(record)
    record.add_argument("-o", "--out", type=Path, required=True, metavar="FILE")
    record.add_argument(
        "--stream", action="append", metavar="PATTERN", help="streams to keep (default all)"
    )
    record.add_argument("--since", metavar="DURATION", help="include the last DURATION (e.g. 2h)")
    record.add_argument(
        "--duration",
        metavar="DURATION",
        help="how long to follow new readings (default: do not follow, only what is stored)",
    )
    record.set_defaults(handler=cmd_record)


def _user_dirs(args: argparse.Namespace) -> list[Path]:
    dirs: list[Path] = list(getattr(args, "dir", None) or [])
    path = resolve_config_path(args.config)
    if args.config is not None or path.exists():
        dirs.insert(0, load_config(path).user_experiments_dir)
    return dirs


def resolve_experiment(spec: str, user_dirs: list[Path] | None = None) -> Manifest:
    """An experiment by folder path (has ``experiment.toml``) or by name."""
    path = Path(spec)
    if (path / MANIFEST_NAME).is_file():
        return load_manifest(path.resolve())
    catalog = find_experiments(user_dirs or [])
    if spec in catalog:
        return catalog[spec]
    raise ConfigError(
        unknown_choice("experiment", spec, catalog)
        + f" (or give the path of a folder holding {MANIFEST_NAME})"
    )


def cmd_new(args: argparse.Namespace) -> int:
    """Create an experiment folder from the skeleton."""
    name = check_name("experiment", args.name)
    folder = create_experiment(args.dir, name, reads=args.reads)
    print(f"created {folder}")
    print(f"  try it:   edge-agent experiment test {folder}")
    print(f"  run it:   edge-agent experiment run {folder} --duration 30")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """Print the experiments with their parameters."""
    for name, manifest in sorted(find_experiments(_user_dirs(args)).items()):
        print(f"{name} {manifest.version}  {manifest.description}")
        print(f"  folder  {manifest.folder}")
        if manifest.reads:
            print(f"  reads   {', '.join(manifest.reads)}")
        if manifest.cameras:
            print(f"  frames  {', '.join(manifest.cameras)}")
        for key, spec in manifest.params.items():
            default = "(required)" if spec.required else repr(spec.default)
            unit = f" {spec.unit}" if spec.unit else ""
            print(f"  param   {key} = {default}{unit}  {spec.description}")
    return 0


def _params(pairs: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--param {pair!r}: write KEY=VALUE, e.g. --param margin_c=1.5")
        try:
            params[key] = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            params[key] = text  # a bare word is a string
    return params


def _show(reading: Reading, as_json: bool) -> str:
    if as_json:
        return reading_line(reading)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(reading.time))
    flags = ",".join(Quality(reading.quality).names())
    return f"{stamp}  {reading.stream:<32} {reading.value} {reading.unit}".rstrip() + (
        f"  [{flags}]" if flags else ""
    )


def cmd_run(args: argparse.Namespace) -> int:
    """Replay a trace through the experiment, or run it live with simulated sensors."""
    manifest = resolve_experiment(args.experiment, _user_dirs(args))
    if args.timer:
        manifest = manifest.model_copy(update={"timer": parse_duration(args.timer)})
    params = _params(args.param)
    if args.trace is not None:
        return _run_trace(manifest, params, args)
    return _run_live(manifest, params, args)


def _run_trace(manifest: Manifest, params: dict[str, Any], args: argparse.Namespace) -> int:
    _, readings = read_trace(args.trace)
    setup_logging("warning")
    result = replay(manifest, readings, params=params)
    for reading in result.readings:
        print(_show(reading, args.json))
    for event in result.events:
        if args.json:
            print(json.dumps({"event": event.kind, "t": event.time, "message": event.message}))
        else:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(event.time))
            print(f"{stamp}  event {event.kind} ({event.severity}): {event.message}")
    print(
        f"{manifest.name}: {result.delivered} readings in, {result.ticks} timer ticks, "
        f"{len(result.readings)} readings and {len(result.events)} events out, "
        f"{result.stats['cpu_s']:.3f} s CPU",
        file=sys.stderr,
    )
    return 0


def _run_live(manifest: Manifest, params: dict[str, Any], args: argparse.Namespace) -> int:
    if args.config is not None:
        data = tomllib.loads(Path(args.config).read_text(encoding="utf-8"))
    else:
        data = tomllib.loads(bundled_config("demo.toml"))
    scratch = tempfile.TemporaryDirectory(prefix="edge-experiment-")
    data.setdefault("store", {})["data_dir"] = scratch.name
    data["experiments_dir"] = str(manifest.folder.parent)
    entry: dict[str, Any] = {"name": manifest.name, "params": params}
    if manifest.timer:
        entry["timer"] = f"{manifest.timer}s"
    data["experiment"] = [entry]
    config = parse_config(data)
    logger = setup_logging("warning")
    prefix = f"{manifest.name}/"

    def show(reading: Reading) -> None:
        if reading.stream.startswith(prefix):
            print(_show(reading, args.json), flush=True)

    agent = Agent(config, logger=logger, on_reading=show)
    print(
        f"running {manifest.name} beside {len(config.sensors)} sensors; Ctrl-C stops",
        file=sys.stderr,
    )

    async def main() -> None:
        task = asyncio.create_task(agent.run())
        started = time.monotonic()
        while not task.done():
            await asyncio.sleep(0.2)
            if args.duration is not None and time.monotonic() - started >= args.duration:
                agent.request_stop()
        await task

    with scratch:
        asyncio.run(main())
        with Store(Path(scratch.name), readonly=True) as store:
            for event in store.events(limit=1000):
                print(f"event {event['kind']} ({event['severity']}): {event['message']}")
    runner = agent.experiments[manifest.name]
    stats = runner.stats()
    print(
        f"{manifest.name}: {stats['emitted']} readings and {stats['events']} events out, "
        f"{stats['hook_errors']} hook errors, {stats['cpu_s']:.3f} s CPU",
        file=sys.stderr,
    )
    return 1 if stats["hook_errors"] or stats["timeouts"] else 0


def cmd_test(args: argparse.Namespace) -> int:
    """Run pytest on the experiment's folder."""
    manifest = resolve_experiment(args.experiment)
    if importlib.util.find_spec("pytest") is None:
        raise ConfigError(
            "pytest is not installed; install it with: pip install 'digitallabor-edge-kit[dev]'"
        )
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(manifest.folder),
        str(manifest.folder),
        *args.pytest_args,
    ]
    return subprocess.call(command)


def cmd_record(args: argparse.Namespace) -> int:
    """Write stored and newly committed readings to a trace."""
    patterns = args.stream or ["*"]
    matcher = stream_matcher(patterns)
    follow_s = parse_duration(args.duration) if args.duration else 0.0
    now = time.time()
    since = now - parse_duration(args.since) if args.since else None
    count = 0
    with Store(data_dir_from(args), readonly=True) as store, args.out.open("w") as out:
        write_header(out, TraceHeader(device=store.uid, recorded_at=now, patterns=patterns))
        last = store.last_row()
        if since is not None:
            for stored in store.query("*", since=since):
                if stored.row > last:
                    break
                if matcher.match(stored.stream):
                    out.write(reading_line(_plain(stored)) + "\n")
                    count += 1
        deadline = time.monotonic() + follow_s
        next_report = time.monotonic() + 5
        while time.monotonic() < deadline:
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
            for stored in store.after(last, limit=10_000):
                last = stored.row
                if matcher.match(stored.stream):
                    out.write(reading_line(_plain(stored)) + "\n")
                    count += 1
            if time.monotonic() >= next_report:
                print(f"recorded {count} readings ...", file=sys.stderr)
                next_report += 5
    print(f"wrote {count} readings to {args.out}", file=sys.stderr)
    return 0


def _plain(stored: Any) -> Reading:
    return Reading(stored.stream, stored.time, stored.value, stored.unit, stored.quality)
