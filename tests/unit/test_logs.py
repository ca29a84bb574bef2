"""Log lines carry syslog priorities for journald, and time stamps in a terminal."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

from edge_agent.logs import JournalFormatter

SCRIPT = """
import logging
from edge_agent.logs import setup_logging
log = setup_logging("info")
log.getChild("store").warning("disk nearly full")
log.debug("hidden")
"""


def test_journal_format_has_priority_prefix_on_every_line() -> None:
    record = logging.LogRecord("edge_agent.x", logging.ERROR, "", 0, "one\ntwo", None, None)
    assert JournalFormatter("%(message)s").format(record) == "<3>edge_agent.x: one\n<3>two"


def test_under_journald_when_journal_stream_names_stderr(tmp_path: object) -> None:
    # Start a process whose stderr is a file, and give it that file's dev:inode as systemd does.
    log_path = os.path.join(str(tmp_path), "stderr")
    with open(log_path, "w") as err:
        st = os.fstat(err.fileno())
        env = {**os.environ, "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
        subprocess.run([sys.executable, "-c", SCRIPT], stderr=err, env=env, check=True)
    with open(log_path) as f:
        assert f.read() == "<4>edge_agent.store: disk nearly full\n"


def test_terminal_format_otherwise() -> None:
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, check=True
    )
    line = out.stderr.strip()
    assert line.endswith("WARNING edge_agent.store: disk nearly full")
    assert line[2] == ":" and line[5] == ":"  # HH:MM:SS
