"""Record the data set of the snapshot tests from a real agent: ``recorded/*.json``.

::

    .venv/bin/python -m tests.tui.record_dataset          # runs the test lab for 40 s

Starts the lab of ``rig.py`` (simulated sensors, road-icing, the ``lot`` parking experiment),
lets it run, asks its API through the real client for everything the screens ask, and writes
the answers with every time shifted so that the recording ends at :data:`RECORDED_NOW`. The
lab has no mDNS and no uplink, so two peers (an agent and a broker) are added to the peers
answer, marked as such in ``recorded/README.md``. Then regenerate the snapshots (see
``test_snapshots.py``).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from edge_agent.api.client import ApiClient

from .rig import remove, start_lab
from .static_agent import RECORDED, file_for

RECORDED_NOW = 1_767_275_400.0
"""2026-01-01 13:50:00 UTC: the fixed 'now' of the snapshots."""

TIME_KEYS = frozenset(
    {
        "time",
        "since",
        "until",
        "started",
        "seen",
        "first",
        "last",
        "state_since",
        "retry_at",
        "last_error_at",
        "last_ack_time",
        "last_ack_at",
        "updated",
        "oldest_unsynced",
        "requested_at",
        "decided_at",
        "modified",
        "stats_since",
    }
)


def shift(data: Any, offset: float) -> Any:
    """``data`` with every time moved by ``offset`` seconds."""
    if isinstance(data, dict):
        return {
            k: (
                round(v + offset, 3)
                if k in TIME_KEYS and isinstance(v, int | float)
                else shift(v, offset)
            )
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [shift(v, offset) for v in data]
    return data


async def record(socket: Path) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    async with ApiClient.unix(socket) as api:
        for path in (
            "/v1/device",
            "/v1/sensors",
            "/v1/experiments",
            "/v1/sync",
            "/v1/peers",
            "/v1/config",
            "/v1/streams",
        ):
            answers[path] = await api.get(path)
        answers["/v1/events"] = await api.get("/v1/events", limit=50)
        answers["/v1/logs"] = await api.get("/v1/logs", limit=200)
        for info in answers["/v1/experiments"]["experiments"]:
            path = f"/v1/experiments/{info['name']}/log"
            answers[path] = await api.get(path, limit=200)
        for reading in answers["/v1/streams"]["streams"]:
            path = f"/v1/streams/{reading['stream']}/history"
            answers[path] = await api.get(path, since="10m", limit=2000)
        async with api.live("*") as stream:
            answers["/v1/live"] = await anext(aiter(stream))
    return answers


def main() -> None:
    agent, root = start_lab()
    try:
        time.sleep(40)
        answers = asyncio.run(record(agent.socket))
    finally:
        agent.stop()
        remove(root)
    offset = RECORDED_NOW - time.time()
    answers = shift(answers, offset)
    answers["/v1/device"]["api_socket"] = "/run/edge-agent/api.sock"
    answers["/v1/device"]["config_path"] = "/etc/edge-agent/agent.toml"
    answers["/v1/device"]["hostname"] = "lab-pi"
    answers["/v1/device"]["disk"].update(
        path="/var/lib/edge-agent", free_bytes=21_474_836_480, total_bytes=31_138_512_896
    )
    config = answers["/v1/config"]
    config["path"] = "/etc/edge-agent/agent.toml"
    config["text"] = config["text"].replace(str(root), "/var/lib/edge-agent")
    config["effective"] = {}
    for info in answers["/v1/experiments"]["experiments"]:
        info["folder"] = f"/opt/edge-agent/experiments/{info['name']}"
    answers["/v1/peers"] = {
        "enabled": True,
        "announced_as": "tui-pi._edge-agent._tcp.local.",
        "peers": [
            {
                "kind": "agent",
                "name": "bruchsal-lab-02._edge-agent._tcp.local.",
                "host": "bruchsal-lab-02.local.",
                "addresses": ["192.0.2.12"],
                "port": 22,
                "txt": {
                    "id": "bruchsal-lab-02",
                    "city": "Bruchsal",
                    "lab": "digitallabor-test",
                    "version": "0.1.0",
                    "health": "degraded",
                },
                "seen": RECORDED_NOW - 12,
            },
        ],
        "brokers": [
            {
                "kind": "broker",
                "name": "lab-broker._mqtt._tcp.local.",
                "host": "lab-broker.local.",
                "addresses": ["192.0.2.2"],
                "port": 8883,
                "txt": {},
                "seen": RECORDED_NOW - 30,
            },
        ],
    }
    RECORDED.mkdir(exist_ok=True)
    for old in RECORDED.glob("*.json"):
        old.unlink()
    for path, data in answers.items():
        text = json.dumps(data, indent=1, ensure_ascii=False).replace(
            str(root), "/var/lib/edge-agent"
        )
        file_for(path).write_text(text + "\n")
    print(f"recorded {len(answers)} answers into {RECORDED}")


if __name__ == "__main__":
    main()
