"""A real mosquitto for the uplink tests, and what the tests need around it.

The broker listens on a free loopback port with TLS (a throwaway CA and server certificate made
here with ``cryptography``), a password file written by ``mosquitto_passwd`` and an ACL that
lets each device write only below its own topics and read every device's status and health (the
region table of ``GET /v1/region``), and the region user read everything. A second
listener asks for client certificates and takes the certificate's CN as the user name.
Persistence is on, so a broker stopped and started again keeps the messages it queued for the
collector's persistent session.

Tests skip (with the reason) only when mosquitto is not installed; ``bootstrap.sh`` installs it.
"""

from __future__ import annotations

import datetime as dt
import getpass
import ipaddress
import logging
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edge_agent.config import AgentConfig
from edge_agent.readings import Reading
from edge_agent.store import BatchWriter, Store
from edge_agent.uplink.collector import Collector
from edge_agent.uplink.connection import BrokerSettings
from edge_agent.uplink.forwarder import Uplink
from edge_agent.uplink.state import SyncStatus, read_status

PREFIX = "digitallabor"
DEVICE = "test-pi"
CITY = "Teststadt"
LAB = "lab-1"
SECOND_DEVICE = "test-pi-2"
"""Another device of the region (its own login), for the region table's tests."""
USERS = {
    DEVICE: "pi-secret-1",
    "region": "region-secret-2",
    "stranger": "stranger-secret-3",
    SECOND_DEVICE: "pi-secret-4",
}
ACL = f"""\
user region
topic read {PREFIX}/#

pattern write {PREFIX}/+/+/%u/#
pattern read {PREFIX}/+/+/+/status
pattern read {PREFIX}/+/+/+/health
"""


def mosquitto_binary() -> str | None:
    """Path of the mosquitto broker, or None."""
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)),
        None,
    )


def require_mosquitto() -> str:
    """The broker's path; skips the test when mosquitto or mosquitto_passwd is missing."""
    binary = mosquitto_binary()
    if binary is None or shutil.which("mosquitto_passwd") is None:
        pytest.skip(
            "mosquitto is not installed (Debian package 'mosquitto'; ./bootstrap.sh test "
            "installs it)"
        )
    return binary


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- certificates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    """Throwaway certificates: the broker's CA, and another CA that never signed anything here."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    other_ca_cert: Path
    client_cert: Path
    client_key: Path
    """Client certificate with CN = the device id, signed by the broker's CA."""


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    server: bool = False,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def make_pki(directory: Path) -> Pki:
    """Write a CA, a server certificate for 127.0.0.1/localhost, a client certificate and an
    unrelated CA into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)

    def pem(cert: x509.Certificate, path: Path) -> Path:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return path

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("Edge Kit Test CA", ca_key, _name("Edge Kit Test CA"), ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _certificate("127.0.0.1", server_key, ca.subject, ca_key, ca=False, server=True)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _certificate(DEVICE, client_key, ca.subject, ca_key, ca=False)
    other_key = ec.generate_private_key(ec.SECP256R1())
    other = _certificate(
        "Somebody Else's CA", other_key, _name("Somebody Else's CA"), other_key, ca=True
    )
    _write_key(server_key, directory / "server.key")
    _write_key(client_key, directory / "client.key")
    return Pki(
        ca_cert=pem(ca, directory / "ca.pem"),
        server_cert=pem(server, directory / "server.pem"),
        server_key=directory / "server.key",
        other_ca_cert=pem(other, directory / "other-ca.pem"),
        client_cert=pem(client, directory / "client.pem"),
        client_key=directory / "client.key",
    )


def password_file(
    directory: Path, user: str, password: str | None = None, *, name: str | None = None
) -> Path:
    """A password file for ``user`` with mode 0600 (``password`` defaults to the right one),
    named ``<name or user>.password``."""
    path = directory / f"{name or user}.password"
    path.write_text((USERS[user] if password is None else password) + "\n")
    path.chmod(0o600)
    return path


# -- the broker ---------------------------------------------------------------------------------


class Broker:
    """One mosquitto process with TLS, passwords, an ACL and persistence under ``directory``."""

    def __init__(self, directory: Path, pki: Pki) -> None:
        self.binary = require_mosquitto()
        self.directory = directory
        self.pki = pki
        self.port = free_port()
        """TLS with user name and password."""
        self.cert_port = free_port()
        """TLS with a client certificate (its CN is the user name)."""
        self.proc: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)
        passwd = directory / "passwd"
        for index, (user, secret) in enumerate(USERS.items()):
            create = ["-c"] if index == 0 else []
            subprocess.run(
                ["mosquitto_passwd", *create, "-b", str(passwd), user, secret],
                check=True,
                capture_output=True,
            )
        passwd.chmod(0o600)
        acl = directory / "acl"
        acl.write_text(ACL)
        acl.chmod(0o600)
        self.log_file = directory / "mosquitto.log"
        self.config = directory / "mosquitto.conf"
        tls = f"cafile {pki.ca_cert}\ncertfile {pki.server_cert}\nkeyfile {pki.server_key}\n"
        self.config.write_text(
            f"""\
per_listener_settings false
allow_anonymous false
password_file {passwd}
acl_file {acl}
persistence true
persistence_location {directory}/
persistence_file mosquitto.db
autosave_interval 3600
max_queued_messages 0
user {getpass.getuser()}
log_dest file {self.log_file}
log_type error
log_type warning
log_type notice
log_type information
connection_messages true

listener {self.port} 127.0.0.1
{tls}
listener {self.cert_port} 127.0.0.1
{tls}require_certificate true
use_identity_as_username true
"""
        )

    def start(self, timeout: float = 10.0) -> None:
        """Start mosquitto and wait until it accepts connections."""
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                pytest.fail(f"mosquitto exited with {self.proc.returncode}: {err}{self.log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        pytest.fail(f"mosquitto did not listen on {self.port} within {timeout} s:\n{self.log}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop mosquitto (SIGTERM: it saves its persistent state first)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.proc.wait(10)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None

    @property
    def log(self) -> str:
        """mosquitto's log so far."""
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def settings(self, user: str, *, client_id: str, **overrides: object) -> BrokerSettings:
        """Settings to log in as ``user`` (password file written on demand)."""
        values: dict[str, object] = {
            "host": "127.0.0.1",
            "port": self.port,
            "client_id": client_id,
            "ca_file": self.pki.ca_cert,
            "username": user,
            "password_file": password_file(self.directory, user),
            "connect_timeout": 5.0,
        }
        values.update(overrides)
        return BrokerSettings(**values)  # type: ignore[arg-type]


# -- the collector in a thread ------------------------------------------------------------------


class CollectorThread:
    """The real :class:`Collector` in a thread of the test process, logged in as ``region``."""

    def __init__(self, broker: Broker, db: Path, *, client_id: str = "test-collector") -> None:
        settings = broker.settings("region", client_id=client_id)
        assert settings.password_file is not None
        self.db = db
        self.collector = Collector(
            settings,
            db,
            prefix=PREFIX,
            password=settings.password_file.read_text().strip(),
            logger=logging.getLogger("edge_agent.test.collector"),
            reconnect_min=0.1,
            reconnect_max=0.5,
        )
        self.thread = threading.Thread(target=self.collector.run, name="collector", daemon=True)

    def start(self, timeout: float = 15.0) -> CollectorThread:
        """Start collecting and wait until the subscription is granted."""
        self.thread.start()
        if not self.collector.ready.wait(timeout):
            pytest.fail(f"the collector did not subscribe: {self.collector.last_error}")
        return self

    def stop(self) -> None:
        """Disconnect and close the database."""
        self.collector.stop()
        self.thread.join(15)
        self.collector.close()


def collected_ids(db: Path, device: str = DEVICE) -> list[tuple[str, str]]:
    """(reading id, stream) of ``device`` in the collector's database, in arrival order."""
    if not db.exists():
        return []
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return [
            (rid, stream)
            for rid, stream in conn.execute(
                "SELECT id, stream FROM readings WHERE device = ? ORDER BY seq", (device,)
            )
        ]
    finally:
        conn.close()


def collected_count(db: Path, device: str = DEVICE) -> int:
    """How many distinct readings of ``device`` the collector holds."""
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT count(*) FROM readings WHERE device = ?", (device,)).fetchone()
    except sqlite3.OperationalError:  # the collector is creating its tables
        return 0
    finally:
        conn.close()
    return int(row[0])


def collector_counter(db: Path, name: str) -> int:
    """A counter of the collector database (``duplicates``, ``readings``, ...)."""
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (name,)).fetchone()
    finally:
        conn.close()
    return 0 if row is None else int(row[0])


def committed_ids(data_dir: Path) -> list[tuple[str, str]]:
    """(reading id, stream) of every reading committed in ``data_dir``, in commit order."""
    with Store(data_dir, readonly=True) as store:
        return [(r.id, r.stream) for r in store.after(0, limit=10**9)]


def wait_until(condition, timeout: float, message) -> None:  # type: ignore[no-untyped-def]
    """Poll ``condition()`` until true; fail with ``message()`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(message() if callable(message) else str(message))


def wait_for_everything(data_dir: Path, db: Path, timeout: float = 30) -> None:
    """Wait until the collector holds as many readings of the device as the store committed."""
    expected = len(committed_ids(data_dir))
    wait_until(
        lambda: collected_count(db) >= expected,
        timeout,
        lambda: f"the collector has {collected_count(db)} of {expected} readings",
    )


def assert_exactly_once_in_order(data_dir: Path, db: Path) -> int:
    """Every committed reading is in the collector once, and each stream arrived in commit
    order; returns how many readings that is."""
    expected = committed_ids(data_dir)
    got = collected_ids(db)
    got_ids = [rid for rid, _ in got]
    assert len(got_ids) == len(set(got_ids)), "the collector stored a reading twice"
    missing = {rid for rid, _ in expected} - set(got_ids)
    extra = set(got_ids) - {rid for rid, _ in expected}
    assert not missing, (
        f"{len(missing)} committed readings never arrived, e.g. {sorted(missing)[:3]}"
    )
    assert not extra, f"{len(extra)} readings arrived that were never committed"
    rows_by_stream: dict[str, list[int]] = defaultdict(list)
    for rid, stream in got:
        rows_by_stream[stream].append(int(rid.rsplit("-", 1)[1]))
    for stream, rows in rows_by_stream.items():
        assert rows == sorted(rows), f"stream {stream} arrived out of order"
    return len(expected)


# -- store helpers ------------------------------------------------------------------------------

BACKLOG_STREAMS = ("archive/temperature", "archive/humidity", "archive/level", "archive/door")
BACKLOG_T0 = 1_767_250_800.0


def backlog_reading(i: int) -> Reading:
    """The ``i``-th reading of a synthetic backlog (four streams, 10 ms apart)."""
    stream = BACKLOG_STREAMS[i % len(BACKLOG_STREAMS)]
    t = BACKLOG_T0 + i * 0.01
    if stream == "archive/door":
        return Reading(stream, t, i % 3 == 0, "")
    unit = {"archive/humidity": "%RH", "archive/level": "mm"}.get(stream, "Cel")
    return Reading(stream, t, round(i * 0.01, 2), unit)


def prefill(data_dir: Path, count: int, start: int = 0) -> int:
    """Commit ``count`` backlog readings to the store of ``data_dir``; the last row id."""
    with Store(data_dir) as store:
        last = 0
        for first in range(start, start + count, 5000):
            last = store.write(
                [backlog_reading(i) for i in range(first, min(first + 5000, start + count))]
            )
        return last


def uplink_meta(data_dir: Path) -> dict[str, object]:
    """The uplink's state as ``sync status`` reads it ({} while the store cannot be read)."""
    try:
        with Store(data_dir, readonly=True) as store:
            return read_status(store).as_dict()
    except Exception:  # the agent may be creating the database right now
        return {}


# -- agent configs ------------------------------------------------------------------------------


def uplink_table(broker_port: int, pki: Pki, directory: Path, **overrides: object) -> str:
    """An ``[uplink]`` table for the test broker (fast reconnects for tests)."""
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": broker_port,
        "ca_file": str(pki.ca_cert),
        "username": DEVICE,
        "password_file": str(password_file(directory, DEVICE)),
        "reconnect_min": "100ms",
        "reconnect_max": "500ms",
        "connect_timeout": "5s",
        "health_interval": "1s",
    }
    values.update(overrides)
    lines = ["[uplink]"]
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, int):
            lines.append(f"{key} = {value}")
        else:
            lines.append(f'{key} = "{value}"')
    return "\n".join(lines) + "\n"


def agent_config(
    path: Path,
    data_dir: Path,
    uplink: str,
    *,
    sensors: bool = True,
    interval: str = "50ms",
) -> Path:
    """A complete agent config: fast simulated sensors (or none) and ``uplink``."""
    text = f"""\
[device]
id = "{DEVICE}"
city = "{CITY}"
lab = "{LAB}"
trust_clock = true

[store]
data_dir = "{data_dir}"
flush_interval = "100ms"
"""
    if sensors:
        text += f"""
[[sensor]]
name = "road-surface"
driver = "simulated.road_surface"
interval = "{interval}"

[[sensor]]
name = "air"
driver = "simulated.air"
interval = "{interval}"

[[sensor]]
name = "bay-1"
driver = "simulated.parking_bay"
interval = "{interval}"
"""
    path.write_text(text + "\n" + uplink)
    return path


# -- the uplink in a thread ---------------------------------------------------------------------


class RunningUplink:
    """The agent's :class:`Uplink` and store writer, in threads of the test process.

    ``with RunningUplink(config) as run:`` starts both; leaving stops the uplink (it says
    ``offline`` and writes its last position through the writer) and then the writer.
    """

    def __init__(self, config: AgentConfig) -> None:
        assert config.uplink is not None
        self.config = config
        data_dir = config.store.data_dir
        self.writer = BatchWriter(
            lambda: Store(data_dir),
            flush_interval=0.05,
            on_commit=lambda _row, _count: self.uplink.notify_commit(),
            logger=logging.getLogger("edge_agent.test.store"),
        )
        self.uplink = Uplink(
            config.uplink,
            config.device,
            data_dir,
            writer=self.writer,
            logger=logging.getLogger("edge_agent.test.uplink"),
        )
        self._thread = threading.Thread(target=self.uplink.run_blocking, name="uplink", daemon=True)

    def __enter__(self) -> RunningUplink:
        self.writer.start()
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.uplink.stop()
        self._thread.join(20)
        assert not self._thread.is_alive(), "the uplink thread did not stop"
        self.writer.stop()

    def status(self) -> SyncStatus:
        """What ``edge-agent sync status`` would show now (after the writer caught up)."""
        self.writer.flush(10)
        with Store(self.config.store.data_dir, readonly=True) as store:
            return read_status(store)


# -- fixtures (import them into a test module; the names below are what tests ask for) -----------


@pytest.fixture(name="pki", scope="session")
def pki_fixture(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Throwaway certificates, made once per test session."""
    require_mosquitto()
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(name="broker")
def broker_fixture(tmp_path: Path, pki: Pki) -> Iterator[Broker]:
    """A running mosquitto, stopped after the test."""
    broker = Broker(tmp_path / "broker", pki)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(name="collector")
def collector_fixture(broker: Broker, tmp_path: Path) -> Iterator[CollectorThread]:
    """The collector subscribed to the broker, storing into ``tmp_path / "region.db"``."""
    collector = CollectorThread(broker, tmp_path / "region.db").start()
    try:
        yield collector
    finally:
        collector.stop()
