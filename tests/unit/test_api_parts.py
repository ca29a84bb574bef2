"""The API's parts without an agent: peer credentials and policy, the log buffer, socket
paths, the HTTP layer over a real socket pair, and config validation, apply and trial."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import stat
import threading
import time
import tomllib
from pathlib import Path

import h11
import pytest

from edge_agent.api import configapply
from edge_agent.api.configapply import (
    ApplyRefused,
    ApplyTrial,
    backup_path,
    failed_path,
    prepare_apply,
    read_record,
    record_path,
    validate_text,
)
from edge_agent.api.credentials import PeerCredentials, PeerPolicy, peer_credentials, process_groups
from edge_agent.api.http import HttpError, Request, Response, serve_connection
from edge_agent.api.logbuffer import LogBuffer
from edge_agent.api.paths import SOCKET_ENV, find_socket, server_socket_path
from edge_agent.discovery.txt import build_txt, parse_txt

LOG = logging.getLogger("edge_agent.test.api")

GOOD = """
[device]
id = "unit-pi"
trust_clock = true

[store]
data_dir = "{data}"

[[sensor]]
name = "air"
driver = "simulated.air"
interval = "1s"
"""


# -- credentials ------------------------------------------------------------------------------


def test_peer_credentials_name_the_process_on_the_other_end():
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        peer = peer_credentials(left)
    assert (peer.pid, peer.uid, peer.gid) == (os.getpid(), os.getuid(), os.getgid())


def test_policy_admits_listed_users_and_group_members_and_explains_refusals():
    someone = PeerCredentials(pid=1, uid=4242, gid=4242)
    member = PeerCredentials(pid=2, uid=4343, gid=100)
    groups = {4242: {4242}, 4343: {100, 990}}
    policy = PeerPolicy(
        frozenset({0, 1000}), group="edge-agent", group_gid=990, groups_of=lambda p: groups[p.uid]
    )
    assert policy(PeerCredentials(pid=3, uid=0, gid=0)) is None
    assert policy(member) is None
    refusal = policy(someone)
    assert refusal is not None
    assert "uid 4242" in refusal
    assert "usermod -aG edge-agent" in refusal
    no_group = PeerPolicy(frozenset({0}), group="edge-agent", group_gid=None)
    assert "groupadd --system edge-agent" in (no_group(someone) or "")


def test_process_groups_come_from_proc_status(tmp_path):
    (tmp_path / "77").mkdir()
    (tmp_path / "77" / "status").write_text("Name:\tx\nUid:\t5\t5\t5\t5\nGroups:\t20 990 \n")
    assert process_groups(PeerCredentials(pid=77, uid=5, gid=5), proc=tmp_path) == {5, 20, 990}
    # Our own process, through the real /proc.
    me = PeerCredentials(pid=os.getpid(), uid=os.getuid(), gid=os.getgid())
    assert set(os.getgroups()) | {os.getgid()} <= process_groups(me)


# -- paths ------------------------------------------------------------------------------------


def test_socket_paths(tmp_path, monkeypatch):
    monkeypatch.delenv("RUNTIME_DIRECTORY", raising=False)
    assert server_socket_path(tmp_path / "a.sock") == tmp_path / "a.sock"
    monkeypatch.setenv("RUNTIME_DIRECTORY", str(tmp_path / "run"))
    assert server_socket_path(None) == tmp_path / "run" / "api.sock"
    monkeypatch.setenv(SOCKET_ENV, str(tmp_path / "env.sock"))
    (tmp_path / "env.sock").touch()
    assert find_socket(None) == tmp_path / "env.sock"
    assert find_socket(tmp_path / "x.sock") == tmp_path / "x.sock"


# -- log buffer -------------------------------------------------------------------------------


def test_log_buffer_keeps_the_newest_records_and_filters_them():
    logger = logging.getLogger("edge_agent.test.logbuffer")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    buffer = LogBuffer(5)
    loop = asyncio.new_event_loop()
    try:
        buffer.attach(logger, loop)
        for i in range(7):
            logger.info("info %d", i)
        logger.getChild("driver.air").warning("bad %s", "thing")
        thread = threading.Thread(target=lambda: logger.error("from a thread"))
        thread.start()
        thread.join()
        records = buffer.records()
        assert len(records) == 5
        assert [r["message"] for r in records][-2:] == ["bad thing", "from a thread"]
        assert [r["level"] for r in buffer.records(level=logging.WARNING)] == ["warning", "error"]
        warning = buffer.records(level=logging.WARNING)[0]
        assert warning["logger"] == "edge_agent.test.logbuffer.driver.air"
        assert buffer.records(after_seq=warning["seq"])[0]["message"] == "from a thread"
        assert buffer.records(limit=2) == records[-2:]
        assert buffer.records(since=time.time() + 60) == []
        assert buffer.records(match=lambda e: "driver" in e["logger"]) == [warning]
    finally:
        buffer.detach(logger)
        loop.close()


# -- TXT record -------------------------------------------------------------------------------


def test_txt_record_round_trip_and_length_limit():
    txt = build_txt(
        device_id="rastatt-lab-01",
        city="Rastatt",
        lab="digitallabor-rastatt",
        version="0.1.0",
        extra={"health": "ok", "note": "x" * 400},
    )
    assert txt["txtvers"] == "1"
    assert txt["id"] == "rastatt-lab-01"
    assert len(b"note=" + txt["note"].encode()) == 255
    wire = {k.encode(): v.encode() for k, v in txt.items()}
    wire[b"Flag"] = None
    back = parse_txt(wire)
    assert back["health"] == "ok"
    assert back["flag"] == ""
    assert not {"password", "user", "key", "token"} & set(back)


# -- HTTP layer -------------------------------------------------------------------------------


async def _serve_pair(handler, requests: bytes, *, refusal=None) -> bytes:
    """Serve one connection of a socket pair; send ``requests`` raw, return all bytes back."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    reader, writer = await asyncio.open_unix_connection(sock=theirs)
    peer = PeerCredentials(os.getpid(), os.getuid(), os.getgid())
    server = asyncio.create_task(
        serve_connection(reader, writer, handler, peer=peer, refusal=refusal, log=LOG)
    )
    ours.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_sendall(ours, requests)
    ours.shutdown(socket.SHUT_WR)
    out = b""
    while chunk := await loop.sock_recv(ours, 65536):
        out += chunk
    await server
    ours.close()
    return out


def _responses(raw: bytes) -> list[tuple[int, bytes]]:
    """Parse the server's bytes as answers to the requests sent, in order."""
    conn = h11.Connection(h11.CLIENT)
    conn.receive_data(raw)
    out: list[tuple[int, bytes]] = []
    while True:
        conn.send(h11.Request(method="GET", target="/", headers=[("host", "t")]))
        conn.send(h11.EndOfMessage())
        status, body = 0, b""
        while True:
            try:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(b"")  # the server closed after what it sent
                    event = conn.next_event()
            except h11.RemoteProtocolError:  # closed before another answer: all read
                return out
            if isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                out.append((status, body))
                break
            else:
                return out
        if conn.their_state is not h11.DONE or conn.our_state is not h11.DONE:
            return out
        conn.start_next_cycle()


def _get(path: str, *, body: bytes = b"", method: str = "GET", close: bool = False) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n"
    if close:
        head += "Connection: close\r\n"
    return head.encode() + b"\r\n" + body


async def _echo(request: Request) -> Response:
    if request.path == "/fail":
        raise HttpError(409, "it conflicts", "do the other thing")
    if request.path == "/crash":
        raise RuntimeError("boom")
    return Response.json({"path": request.path, "query": request.query, "len": len(request.body)})


def test_keep_alive_requests_errors_and_crashes_get_json_answers():
    raw = (
        _get("/a%2Fb?x=1&y=")
        + _get("/post", method="POST", body=b"hello")
        + _get("/fail")
        + _get("/crash", close=True)
    )
    answers = _responses(asyncio.run(_serve_pair(_echo, raw)))
    assert [status for status, _ in answers] == [200, 200, 409, 500]
    assert json.loads(answers[0][1]) == {"path": "/a/b", "query": {"x": "1", "y": ""}, "len": 0}
    assert json.loads(answers[1][1])["len"] == 5
    assert json.loads(answers[2][1]) == {"error": "it conflicts", "fix": "do the other thing"}
    assert "RuntimeError: boom" in json.loads(answers[3][1])["error"]


def test_an_answer_s_after_hook_runs_once_it_is_sent():
    calls = []

    async def restart_after(request: Request) -> Response:
        response = Response.json({"status": "restarting"}, 202)
        response.after = lambda: calls.append(request.path)
        return response

    answers = _responses(asyncio.run(_serve_pair(restart_after, _get("/apply", close=True))))
    assert answers == [(202, b'{"status":"restarting"}\n')]
    assert calls == ["/apply"]


def test_refused_peers_get_403_with_the_reason():
    answers = _responses(asyncio.run(_serve_pair(_echo, _get("/x"), refusal="not you")))
    assert answers[0][0] == 403
    assert json.loads(answers[0][1])["error"] == "not you"


def test_oversized_and_malformed_requests_are_refused():
    big = _get("/post", method="POST", body=b"x" * 1_000_001)
    assert _responses(asyncio.run(_serve_pair(_echo, big)))[0][0] == 413
    garbage = b"THIS IS NOT HTTP\r\n\r\n"
    assert _responses(asyncio.run(_serve_pair(_echo, garbage)))[0][0] == 400


# -- config validation, apply and trial -------------------------------------------------------


def _config(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "agent.toml"
    text = GOOD.format(data=tmp_path / "data")
    path.write_text(text)
    os.chmod(path, 0o640)
    return path, text


def test_validate_text_lists_problems_like_config_check(tmp_path):
    _, text = _config(tmp_path)
    assert validate_text(text) == {"ok": True, "problems": []}
    bad = text.replace('interval = "1s"', 'interval = "soon"') + "\n[stroe]\n"
    reply = validate_text(bad)
    assert not reply["ok"]
    assert any(p.startswith("stroe: unknown key 'stroe'") for p in reply["problems"])
    assert any(p.startswith("sensor[0].interval: duration 'soon'") for p in reply["problems"])
    assert validate_text("[device\n")["problems"][0].startswith("not valid TOML")


def test_prepare_apply_backs_up_writes_and_records(tmp_path):
    path, old = _config(tmp_path)
    new = old.replace('interval = "1s"', 'interval = "2s"')
    record = prepare_apply(path, new, requested_by="tech", timeout=30, settle=5)
    assert record is not None
    assert path.read_text() == new
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # mode of the old file kept
    assert backup_path(path).read_text() == old
    stored = read_record(path)
    assert stored == record
    assert stored["state"] == "pending"
    assert stored["attempts"] == 0
    assert stored["requested_by"] == "tech"
    # A second apply while this one is on trial is refused.
    with pytest.raises(ApplyRefused, match="still on trial") as refused:
        prepare_apply(path, old, requested_by="tech", timeout=30, settle=5)
    assert refused.value.status == 409


def test_prepare_apply_refuses_invalid_text_and_changes_nothing(tmp_path):
    path, old = _config(tmp_path)
    with pytest.raises(ApplyRefused) as refused:
        prepare_apply(
            path, old + "\n[[sensor]]\nname = 'x'\n", requested_by="t", timeout=9, settle=1
        )
    assert refused.value.status == 422
    assert any("sensor[1].driver: required key is missing" in p for p in refused.value.problems)
    assert path.read_text() == old
    assert not backup_path(path).exists()
    assert not record_path(path).exists()
    assert prepare_apply(path, old, requested_by="t", timeout=9, settle=1) is None  # unchanged
    with pytest.raises(ApplyRefused, match="built-in config") as builtin:
        prepare_apply(None, old, requested_by="t", timeout=9, settle=1)
    assert builtin.value.status == 409


def _pending(tmp_path: Path, *, timeout: float = 2.0, settle: float = 0.3) -> tuple[Path, str, str]:
    path, old = _config(tmp_path)
    new = old.replace('interval = "1s"', 'interval = "3s"')
    prepare_apply(path, new, requested_by="tech", timeout=timeout, settle=settle)
    return path, old, new


def test_a_healthy_trial_confirms_the_new_config(tmp_path):
    path, _, new = _pending(tmp_path)
    trial = ApplyTrial.begin(path, mode="exec", logger=LOG, restart=pytest.fail)
    assert trial is not None
    assert read_record(path)["attempts"] == 1
    assert asyncio.run(trial.watch(lambda: [], poll=0.05)) is True
    record = read_record(path)
    assert record["state"] == "confirmed"
    assert path.read_text() == new
    assert ApplyTrial.begin(path, mode="exec", logger=LOG, restart=pytest.fail) is None


def test_an_unhealthy_trial_rolls_back_with_the_reason(tmp_path):
    path, old, new = _pending(tmp_path, timeout=0.6)
    trial = ApplyTrial.begin(path, mode="exec", logger=LOG, restart=pytest.fail)
    assert trial is not None
    problems = ["sensor:probe is backoff after DriverError: no DS18B20 in /x"]
    assert asyncio.run(trial.watch(lambda: problems, poll=0.05)) is False
    record = read_record(path)
    assert record["state"] == "rolled-back"
    assert "not healthy within 0.6 s" in record["reason"]
    assert "DriverError: no DS18B20" in record["reason"]
    assert path.read_text() == old
    assert failed_path(path).read_text() == new


def test_a_start_after_an_unconfirmed_one_rolls_back_before_running(tmp_path):
    path, old, _ = _pending(tmp_path)
    first = ApplyTrial.begin(path, mode="systemd", logger=LOG, restart=pytest.fail)
    assert first is not None
    first._disarm()  # the process "dies" here: no exit handler, no decision
    restarts: list[str] = []
    assert ApplyTrial.begin(path, mode="systemd", logger=LOG, restart=restarts.append) is None
    assert restarts == ["systemd"]
    record = read_record(path)
    assert record["state"] == "rolled-back"
    assert "before the new config was confirmed" in record["reason"]
    assert path.read_text() == old


def test_stopping_during_the_trial_restores_the_backup(tmp_path):
    path, old, _ = _pending(tmp_path)
    trial = ApplyTrial.begin(path, mode="exec", logger=LOG, restart=pytest.fail)
    assert trial is not None
    trial.on_stop()
    assert read_record(path)["state"] == "rolled-back"
    assert path.read_text() == old


def test_a_hand_edited_config_supersedes_the_trial(tmp_path):
    path, _, new = _pending(tmp_path)
    edited = new + "\n# fixed by hand\n"
    path.write_text(edited)
    assert ApplyTrial.begin(path, mode="exec", logger=LOG, restart=pytest.fail) is None
    assert read_record(path)["state"] == "superseded"
    assert path.read_text() == edited


def test_restart_mode_follows_systemd(monkeypatch):
    monkeypatch.setenv("INVOCATION_ID", "abc")
    assert configapply.restart_mode("auto") == "systemd"
    monkeypatch.delenv("INVOCATION_ID")
    assert configapply.restart_mode("auto") == "exec"
    assert configapply.restart_mode("systemd") == "systemd"
    assert tomllib.loads(GOOD.format(data="/x"))["device"]["id"] == "unit-pi"


# -- discovery helpers and the config sections ------------------------------------------------


def test_raspberry_pi_detection_and_auto_discovery(tmp_path):
    from edge_agent.config import DiscoveryConfig
    from edge_agent.discovery.service import discovery_enabled, on_raspberry_pi

    model = tmp_path / "model"
    model.write_bytes(b"Raspberry Pi 4 Model B Rev 1.5\x00")
    assert on_raspberry_pi(model) is True
    model.write_bytes(b"QEMU Virtual Machine\x00")
    assert on_raspberry_pi(model) is False
    assert on_raspberry_pi(tmp_path / "missing") is False
    assert discovery_enabled(DiscoveryConfig(enabled=True)) is True
    assert discovery_enabled(DiscoveryConfig(enabled=False)) is False


def test_interfaces_resolve_to_ipv4_addresses_and_unknown_names_are_explained():
    from edge_agent.discovery.interfaces import resolve_interfaces
    from edge_agent.errors import ConfigError

    assert resolve_interfaces(["lo"]) == ["127.0.0.1"]
    assert resolve_interfaces(["192.0.2.7"]) == ["192.0.2.7"]
    assert "127.0.0.1" not in resolve_interfaces([])
    with pytest.raises(ConfigError, match=r"unknown interface 'wlan9'; this device has: .*lo"):
        resolve_interfaces(["wlan9"])


def test_api_and_discovery_sections_are_validated(make_config):
    config = make_config('[api]\nsocket = "/tmp/x.sock"\n[discovery]\ninterfaces = ["eth0"]\n')
    assert config.api.socket == Path("/tmp/x.sock")
    assert config.api.group == "edge-agent"
    assert config.discovery.enabled == "auto"
    assert config.discovery.port == 22
    from edge_agent.errors import ConfigError

    with pytest.raises(ConfigError, match=r"apply_settle .* must be shorter than apply_timeout"):
        make_config('[api]\napply_timeout = "5s"\napply_settle = "10s"\n')
    with pytest.raises(ConfigError, match=r'discovery.enabled: .* give true, false or "auto"'):
        make_config('[discovery]\nenabled = "sometimes"\n')
    with pytest.raises(ConfigError, match=r"api\.restart"):
        make_config('[api]\nrestart = "reboot"\n')


def test_a_pending_config_that_no_longer_loads_is_rolled_back_before_the_start(tmp_path):
    from edge_agent.api.configapply import roll_back_unloadable_apply

    path, old = _config(tmp_path)
    users = tmp_path / "experiments" / "probe"
    users.mkdir(parents=True)
    (users / "experiment.toml").write_text('name = "probe"\nentry = "experiment:Probe"\n')
    new = (
        f'experiments_dir = "{tmp_path / "experiments"}"\n'
        + old
        + '\n[[experiment]]\nname = "probe"\n'
    )
    assert prepare_apply(path, new, requested_by="t", timeout=9, settle=1) is not None
    assert roll_back_unloadable_apply(path, LOG) is False  # it loads: the trial decides
    (users / "experiment.toml").unlink()  # the experiment is gone before the agent restarts
    assert roll_back_unloadable_apply(path, LOG) is True
    record = read_record(path)
    assert record["state"] == "rolled-back"
    assert "the new config does not load" in record["reason"]
    assert "unknown experiment 'probe'" in record["reason"]
    assert path.read_text() == old
