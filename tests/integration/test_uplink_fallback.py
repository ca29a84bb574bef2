"""MQTT 5 falls back to 3.1.1 when the broker refuses 5, as older brokers do.

mosquitto always speaks MQTT 5, so this test talks to a broker that speaks only the 3.1.1 it
needs, over a real TCP socket: it answers a CONNECT of protocol level 5 with the 3.1.1 refusal
"unacceptable protocol version" (CONNACK return code 1, MQTT 3.1.1 section 3.1.2.2), accepts
level 4, acknowledges QoS 1 PUBLISHes and keeps what it received.
"""

from __future__ import annotations

import socket
import threading
import tomllib
from pathlib import Path

from edge_agent.config import parse_config
from edge_agent.uplink.senml import decode_pack

from .mosquitto import RunningUplink, agent_config, committed_ids, prefill, wait_until


class Mqtt311Broker:
    """A broker that speaks only MQTT 3.1.1: CONNECT, PUBLISH (QoS 0/1), PINGREQ, DISCONNECT."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.connects: list[tuple[int, bool]] = []
        """(protocol level, clean session) of every CONNECT."""
        self.published: list[tuple[str, bytes, bool]] = []
        """(topic, payload, retain) of every PUBLISH, in arrival order."""
        self._closing = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closing = True
        self._thread.join(5)
        self.listener.close()

    def _accept(self) -> None:
        while not self._closing:
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(10)
            with conn:
                self._serve(conn)

    @staticmethod
    def _read(conn: socket.socket, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = conn.recv(size - len(data))
            if not chunk:
                raise ConnectionError("peer closed")
            data += chunk
        return data

    def _packet(self, conn: socket.socket) -> tuple[int, bytes]:
        header = self._read(conn, 1)[0]
        length, shift = 0, 0
        while True:
            byte = self._read(conn, 1)[0]
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        return header, self._read(conn, length)

    def _serve(self, conn: socket.socket) -> None:
        try:
            while True:
                header, body = self._packet(conn)
                kind = header >> 4
                if kind == 1:  # CONNECT: name length (2), "MQTT", level, flags
                    level, flags = body[6], body[7]
                    self.connects.append((level, bool(flags & 0x02)))
                    if level != 4:
                        conn.sendall(b"\x20\x02\x00\x01")  # unacceptable protocol version
                        return
                    conn.sendall(b"\x20\x02\x00\x00")
                elif kind == 3:  # PUBLISH
                    qos = (header >> 1) & 0x03
                    size = int.from_bytes(body[:2], "big")
                    topic = body[2 : 2 + size].decode()
                    rest = body[2 + size :]
                    if qos:
                        packet_id, rest = rest[:2], rest[2:]
                        conn.sendall(b"\x40\x02" + packet_id)
                    self.published.append((topic, rest, bool(header & 0x01)))
                elif kind == 12:  # PINGREQ
                    conn.sendall(b"\xd0\x00")
                elif kind == 14:  # DISCONNECT
                    return
        except (ConnectionError, OSError):
            return


def test_auto_falls_back_to_mqtt_311_and_delivers(tmp_path: Path) -> None:
    broker = Mqtt311Broker()
    try:
        path = agent_config(
            tmp_path / "agent.toml",
            tmp_path / "data",
            f'[uplink]\nhost = "127.0.0.1"\nport = {broker.port}\ntls = false\n'
            'reconnect_min = "100ms"\nreconnect_max = "500ms"\n',
            sensors=False,
        )
        config = parse_config(tomllib.loads(path.read_text()))
        last = prefill(config.store.data_dir, 1200)
        with RunningUplink(config) as run:
            wait_until(lambda: run.uplink.acked_row >= last, 20, lambda: run.uplink.last_error)
            status = run.status()
    finally:
        broker.close()
    assert broker.connects[:2] == [(5, False), (4, False)]  # 5 refused; 3.1.1, session kept
    assert status.protocol == "3.1.1" and status.backlog == 0
    base = "digitallabor/teststadt/lab-1/test-pi"
    assert broker.published[0] == (f"{base}/status", b"online", True)
    ids = [
        r.id
        for topic, payload, _ in broker.published
        if topic == f"{base}/readings"
        for r in decode_pack(payload, now=0.0)
    ]
    assert ids == [rid for rid, _ in committed_ids(config.store.data_dir)]
    assert broker.published[-1] == (f"{base}/status", b"offline", True)
