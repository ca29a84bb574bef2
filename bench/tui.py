"""edge-tui in a pseudo-terminal: time to first paint, and bytes written to the terminal per
second while idle and while 50 streams update at 1 Hz.

::

    .venv/bin/python bench/tui.py                 # 3 runs each, 20 s windows, 80x24
    .venv/bin/python bench/tui.py --runs 5 --seconds 30 --screen fleet

For each case a real agent (``edge-agent run``) runs on a generated config: *idle* has one
sensor that reads once an hour, *50 streams* has 25 simulated air sensors (temperature and
humidity) reading every second. ``edge-tui`` runs in a pty of 80x24 with TERM=xterm-256color;
every byte it writes is counted. First paint is the time from starting the process until its
first frame (the row of screens) is on the terminal; first data until the device's name is.
Bytes per second are counted over a window that starts 5 s after the first data, so start-up
drawing is left out. Medians over the runs are printed. Targets: first paint <= 1 s, idle <=
5 kB/s.

The kit's own packages are byte-compiled first, as installing them does: otherwise an
environment with ``PYTHONDONTWRITEBYTECODE`` set (or a source tree that never ran) would add
compiling the console's source to every start, which no installed console does.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

BIN = Path(sys.executable).parent

IDLE = """
[device]
id = "bench-pi"
trust_clock = true
[store]
data_dir = "{root}/data"
[api]
socket = "{root}/api.sock"
[[sensor]]
name = "air"
driver = "simulated.air"
interval = "1h"
"""

BUSY_SENSOR = """
[[sensor]]
name = "air-{n:02d}"
driver = "simulated.air"
interval = "1s"
options = {{ seed = {n} }}
"""


def config_text(root: Path, busy: bool) -> str:
    text = IDLE.format(root=root)
    if busy:
        text = text.split("[[sensor]]")[0] + "".join(BUSY_SENSOR.format(n=n) for n in range(25))
    return text


class Agent:
    """``edge-agent run`` on a generated config in a temporary directory."""

    def __init__(self, busy: bool) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="bench-tui-", dir="/tmp"))
        config = self.root / "agent.toml"
        config.write_text(config_text(self.root, busy))
        self.socket = self.root / "api.sock"
        self.proc = subprocess.Popen(
            [str(BIN / "edge-agent"), "run", "--config", str(config), "--log-level", "warning"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while not self.socket.exists():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit("the agent did not start")
            time.sleep(0.05)
        time.sleep(2)  # first readings committed

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        shutil.rmtree(self.root, ignore_errors=True)


def compile_kit() -> None:
    """Byte-compile ``tui`` and ``edge_agent`` where ``edge-tui`` imports them from (in a child
    process: here ``tui`` would be this file)."""
    code = (
        "import compileall, pathlib, edge_agent, tui\n"
        "for module in (edge_agent, tui):\n"
        "    compileall.compile_dir(pathlib.Path(module.__file__).parent, quiet=1)\n"
    )
    subprocess.run([str(BIN / "python"), "-c", code], cwd="/", check=True)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_console(
    socket: Path, seconds: float, screen: str, refresh: float
) -> tuple[float, float, float, float]:
    """(first paint s, first data s, bytes per second, CPU s until first paint) of one run of
    edge-tui in a pty."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            str(BIN / "edge-tui"),
            "--socket",
            str(socket),
            "--screen",
            screen,
            "--refresh",
            str(refresh),
        ],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    received: list[tuple[float, int]] = []
    seen = bytearray()
    marks: dict[str, float] = {}

    def read() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            now = time.monotonic()
            received.append((now, len(data)))
            if len(marks) < 3:
                seen.extend(data)
                for name, needle in (("paint", b"Fleet"), ("data", b"bench-pi")):
                    if name not in marks and needle in seen:
                        marks[name] = now
                        if name == "paint":
                            marks["cpu"] = cpu_seconds(proc.pid)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 30
    while len(marks) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    if len(marks) < 3:
        proc.kill()
        raise SystemExit(f"edge-tui did not paint within 30 s: {bytes(seen[-500:])!r}")
    window_start = marks["data"] + 5
    window_end = window_start + seconds
    time.sleep(max(0.0, window_end - time.monotonic()))
    counted = sum(n for at, n in received if window_start <= at < window_end)
    os.write(master, b"q")
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    os.close(master)
    reader.join(2)
    return marks["paint"] - started, marks["data"] - started, counted / seconds, marks["cpu"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of a window")
    parser.add_argument("--screen", default="device", help="the screen measured")
    parser.add_argument("--refresh", type=float, default=1.0, help="edge-tui --refresh (Hz)")
    parser.add_argument("--quick", action="store_true", help="1 run of 8 s per case")
    parser.add_argument(
        "--json", action="store_true", help="figures as JSON on stdout (the lines on stderr)"
    )
    args = parser.parse_args()
    if args.quick:
        args.runs, args.seconds = 1, 8.0
    stdout, figures = sys.stdout, []
    if args.json:
        sys.stdout = sys.stderr
    compile_kit()
    print(
        f"edge-tui in an 80x24 pty, screen '{args.screen}', refresh {args.refresh:g} Hz, "
        f"{args.runs} runs of "
        f"{args.seconds:g} s, load average {os.getloadavg()[0]:.1f}"
    )
    for name, busy in (("idle", False), ("50 streams at 1 Hz", True)):
        agent = Agent(busy)
        try:
            results = [
                run_console(agent.socket, args.seconds, args.screen, args.refresh)
                for _ in range(args.runs)
            ]
        finally:
            agent.stop()
        paint = statistics.median(r[0] for r in results)
        data = statistics.median(r[1] for r in results)
        rate = statistics.median(r[2] for r in results)
        cpu = statistics.median(r[3] for r in results)
        print(
            f"{name:<20} first paint {paint:.2f} s ({cpu:.2f} s CPU)   first data {data:.2f} s   "
            f"{rate / 1000:.2f} kB/s to the terminal   "
            f"(runs: {', '.join(f'{r[2] / 1000:.2f}' for r in results)} kB/s)"
        )
        figures.append((f"edge-tui first paint, {name}", "s", paint, 1.0, "lower"))
        figures.append(
            (
                f"edge-tui to the terminal, {name}",
                "kB/s",
                rate / 1000,
                None if busy else 5.0,
                None if busy else "lower",
            )
        )
    if args.json:
        keys = ("figure", "unit", "measured", "target", "better")
        document = {
            "benchmark": "tui",
            "figures": [dict(zip(keys, f, strict=True)) for f in figures],
        }
        print(json.dumps(document), file=stdout)


if __name__ == "__main__":
    main()
