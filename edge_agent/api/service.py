"""The API's place in the agent: the socket server, the log buffer, the read-only store, the
live event feed, and the trial of a newly applied config.

``Agent.run`` calls :meth:`ApiService.begin` first (logs are collected from the start, and a
pending config apply is taken up or rolled back before anything else runs),
:meth:`ApiService.start` once sensors and experiments are started, :meth:`ApiService.stop`
first when stopping, and :meth:`ApiService.finish` last, which restarts the process when a
config apply or a rollback asked for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import StoreError
from ..store import Store
from .configapply import ApplyTrial, RestartMode, restart_mode, restart_process
from .credentials import PeerCheck, PeerPolicy
from .http import HttpError
from .live import EventFeed
from .logbuffer import LogBuffer
from .models import AgentStatsDict, ApplyRecord, Health
from .paths import server_socket_path
from .routes import Routes
from .server import ApiServer, ApiSocketError

if TYPE_CHECKING:
    from ..agent import Agent

T = TypeVar("T")

HEALTHY_STATES = frozenset({"running", "finished"})


class StoreReader:
    """A read-only store used from one thread of its own, so queries never block the loop."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="api-store")
        self._store: Store | None = None

    def _call(self, fn: Callable[[Store], T]) -> T:
        if self._store is not None and self._store.is_replaced():
            self._store.close()  # the writer set a damaged file aside: read the new one
            self._store = None
        if self._store is None:
            self._store = Store(self.data_dir, readonly=True)
        return fn(self._store)

    async def run(self, fn: Callable[[Store], T]) -> T:
        """Run ``fn(store)`` in the store's thread; 503 when the store cannot be read."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._call, fn)
        except StoreError as exc:
            raise HttpError(
                503,
                f"the readings database cannot be read: {exc}",
                "wait until the agent has committed its first readings, or check the agent's log",
            ) from exc

    def _close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    async def close(self) -> None:
        """Close the store and end the thread."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        await asyncio.to_thread(self._executor.shutdown, True)


def stats_dict(agent: Agent) -> AgentStatsDict:
    """The agent's counters as JSON."""
    stats = asdict(agent.stats())
    stats["uptime_s"] = round(stats["uptime_s"], 3)
    return stats  # type: ignore[return-value]


class ApiService:
    """The control API of one agent.

    Args:
        agent: the agent it serves.
        policy: who may connect (default: root, the agent's user, the ``[api] group``).
    """

    def __init__(self, agent: Agent, *, policy: PeerCheck | None = None) -> None:
        self.agent = agent
        self.settings = agent.config.api
        self.log = agent.log.getChild("api")
        self.instance = secrets.token_hex(8)
        """Changes with every start of the agent (also an ``exec`` restart with the same pid)."""
        self.started = time.time()
        self.logs = LogBuffer(self.settings.log_buffer)
        self.socket_path = server_socket_path(self.settings.socket)
        self.policy = policy
        self.server: ApiServer | None = None
        self.start_error: str | None = None
        """Why the socket is not served, when it is not."""
        self.store = StoreReader(agent.config.store.data_dir)
        self.events = EventFeed(self.store.run, logger=self.log)
        self.trial: ApplyTrial | None = None
        self.restart_mode: RestartMode = restart_mode(self.settings.restart)
        self.restart: Callable[[RestartMode], object] = restart_process
        """How :meth:`finish` restarts the process (replaceable in tests)."""
        self.restart_requested = False
        self.routes = Routes(self)
        self._trial_task: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def begin(self) -> None:
        """Collect the agent's log records; take up (or roll back) a pending config apply."""
        self.logs.attach(self.agent.log, asyncio.get_running_loop())
        self.trial = ApplyTrial.begin(
            self.agent.config.source, mode=self.restart_mode, logger=self.log, restart=self.restart
        )
        if self.trial is not None:
            self.trial.on_decided = self._record_apply

    async def start(self) -> None:
        """Serve the socket (a failure is logged, the agent runs on) and watch a trial."""
        if self.settings.enabled:
            server = ApiServer(
                self.socket_path,
                self.routes,
                policy=self.policy or PeerPolicy.for_agent(self.settings.group),
                group=self.settings.group,
                max_clients=self.settings.max_clients,
                logger=self.log,
            )
            try:
                await server.start()
            except ApiSocketError as exc:
                self.start_error = str(exc)
                self.log.error("control API not available: %s", exc)  # noqa: TRY400
            else:
                self.server = server
                self.log.info("control API on %s", self.socket_path)
        if self.trial is not None:
            self._trial_task = asyncio.get_running_loop().create_task(
                self._watch_trial(), name="config-trial"
            )

    async def _watch_trial(self) -> None:
        assert self.trial is not None
        if not await self.trial.watch(self.trial_problems):
            self.request_restart()

    async def stop(self) -> None:
        """Stop serving (first thing when the agent stops)."""
        if self._trial_task is not None:
            self._trial_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._trial_task
        if self.trial is not None:
            self.trial.on_stop()
        if self.server is not None:
            await self.server.stop()
        await self.events.close()
        await self.store.close()
        self.logs.detach(self.agent.log)

    def finish(self) -> None:
        """Last thing in ``Agent.run``: restart when an apply or a rollback asked for it."""
        if self.restart_requested:
            self.log.warning("restarting (%s) to load %s", self.restart_mode, self.config_path)
            self.restart(self.restart_mode)

    def request_restart(self) -> None:
        """Stop the agent and start it again (to load a new or restored config)."""
        self.restart_requested = True
        self.agent.request_stop()

    @property
    def config_path(self) -> Path | None:
        """The config file the agent was started with (None for a built-in config)."""
        return self.agent.config.source

    def _record_apply(self, record: ApplyRecord) -> None:
        severity = "info" if record["state"] == "confirmed" else "warning"
        message = f"config apply {record['state']}" + (
            f": {record['reason']}" if record["reason"] else ""
        )
        data: dict[str, Any] = {"state": record["state"], "requested_by": record["requested_by"]}
        with contextlib.suppress(Exception):  # the writer may be stopped already
            self.agent.writer.call(
                lambda store: store.record_event(
                    "config-apply", message, severity=severity, data=data
                )
            )

    # -- health ------------------------------------------------------------------------------

    def expected_services(self) -> list[str]:
        """The services the config asks for: each enabled sensor and experiment."""
        config = self.agent.config
        return [f"sensor:{s.name}" for s in config.sensors if s.enabled] + [
            f"experiment:{e.name}" for e in config.experiments if e.enabled
        ]

    def trial_problems(self) -> list[str]:
        """What keeps a config on trial from being confirmed right now (empty: healthy)."""
        problems = []
        services = self.agent.supervisor.services
        for name in self.expected_services():
            state = services.get(name)
            if state is None:
                problems.append(f"{name} did not start")
            elif state.state not in HEALTHY_STATES:
                problems.append(
                    f"{name} is {state.state}"
                    + (f" after {state.last_error}" if state.last_error else "")
                )
            elif state.restarts:
                problems.append(f"{name} failed {state.restarts} times ({state.last_error})")
        if self.agent.writer.write_errors:
            problems.append(f"{self.agent.writer.write_errors} store write errors")
        if self.settings.enabled and self.server is None:
            problems.append(f"the control API is not serving: {self.start_error}")
        return problems

    def health(self) -> Health:
        """``ok`` or ``degraded`` with the reasons; cheap (no I/O), for heartbeats too."""
        agent = self.agent
        stats = stats_dict(agent)
        problems = [
            f"{s.name} is restarting after a failure: {s.last_error}"
            for s in agent.supervisor.services.values()
            if s.state == "backoff"
        ]
        if stats["write_errors"]:
            problems.append(f"{stats['write_errors']} store write errors")
        # Only the store's own queue counts here: a slow live client skipping readings is not a
        # problem of the device (the hub's total in the stats includes those).
        dropped = stats["dropped_writer"] + sum(
            sub.dropped for sub in agent.hub.subscriptions if sub.name == "store"
        )
        if dropped:
            problems.append(f"{dropped} readings dropped because the store fell behind")
        uplink = agent.uplink
        if uplink is not None and uplink.state == "waiting" and uplink.last_error:
            problems.append(f"uplink: {uplink.last_error}")
        if self.trial is not None and not self.trial.decided:
            problems.append("a newly applied config is on trial")
        if self.settings.enabled and self.server is None and self.start_error:
            problems.append(f"control API: {self.start_error}")
        return {"status": "degraded" if problems else "ok", "problems": problems, "stats": stats}

    async def announcement(self) -> dict[str, str]:
        """What discovery puts in the TXT record besides the device's identity."""
        values: dict[str, str] = {"health": self.health()["status"]}
        if self.agent.uplink is not None:
            with contextlib.suppress(HttpError):
                values["backlog"] = str(await self.store.run(lambda store: store.backlog()))
        return values
