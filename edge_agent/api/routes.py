"""The API's endpoints: what each one answers, built from the agent's live objects and the
read-only store (queried in the store's own thread, never on the event loop).

``GET /v1`` lists them; ``README.md`` in this folder shows each with an example.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import os
import re
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, cast

from .. import __version__
from ..driver import load_driver
from ..errors import ConfigError, unknown_choice
from ..store import Store, StoredReading
from ..store.database import StreamStats
from ..supervisor import ServiceState
from ..uplink.health import cpu_temperature, disk_space
from ..uplink.region_status import MAX_DEVICES, RegionSnapshot
from ..uplink.state import read_status
from .configapply import ApplyRefused, backup_path, prepare_apply, read_record, validate_text
from .http import HttpError, Request, Response, StreamResponse
from .live import LiveSession
from .logbuffer import level_number
from .models import (
    ApplyRecord,
    ApplyReply,
    BackupInfo,
    ConfigInfo,
    DeviceInfo,
    ExperimentAction,
    ExperimentInfo,
    History,
    LogEntry,
    PeersReply,
    ReadingDict,
    RegionDeviceInfo,
    RegionHealth,
    RegionInfo,
    SensorDetail,
    SensorInfo,
    ServiceInfo,
    StreamStatsDict,
    SyncInfo,
)

if TYPE_CHECKING:
    from ..agent import Agent
    from ..config import ExperimentConfig, SensorConfig
    from .service import ApiService

Endpoint = Callable[[Request, re.Match[str]], Awaitable[Response | StreamResponse]]

DAY = 86400.0
HOUR = 3600.0


def service_info(state: ServiceState | None) -> ServiceInfo | None:
    """A supervised service's state as JSON (monotonic start time turned into epoch)."""
    if state is None:
        return None
    since = None
    if state.started_at is not None:
        since = time.time() - (time.monotonic() - state.started_at)
    return {
        "name": state.name,
        "state": state.state,
        "restarts": state.restarts,
        "last_error": state.last_error,
        "since": since,
        "next_start_in": state.next_start_in,
    }


def reading_dict(reading: StoredReading) -> ReadingDict:
    """A committed reading as JSON."""
    return reading.as_dict()  # type: ignore[return-value]


def stats_dict(stats: StreamStats) -> StreamStatsDict:
    """Statistics of one stream as JSON."""
    return {
        "stream": stats.stream,
        "unit": stats.unit,
        "count": stats.count,
        "flagged": stats.flagged,
        "first": stats.first,
        "last": stats.last,
        "minimum": stats.minimum,
        "maximum": stats.maximum,
        "mean": stats.mean,
    }


def region_info(agent: Agent) -> RegionInfo:
    """``GET /v1/region`` from the running uplink's region table (or: no uplink)."""
    config, uplink = agent.config.uplink, agent.uplink
    if config is not None and not config.region_table:
        config = uplink = None  # switched off: nothing is subscribed, so nothing to say
    if uplink is None:
        snapshot = RegionSnapshot((), "waiting", None, None, None, 0, 0, MAX_DEVICES)
    else:
        snapshot = uplink.region.snapshot()
    devices: list[RegionDeviceInfo] = [
        {
            "device": d.device,
            "city": d.city,
            "lab": d.lab,
            "status": d.status,
            "status_at": d.status_at,
            "health": None if d.health is None else cast(RegionHealth, asdict(d.health)),
            "health_at": d.health_at,
            "last_seen": d.last_seen,
        }
        for d in snapshot.devices
    ]
    connected = uplink is not None and uplink.state == "connected"
    error = snapshot.error
    if uplink is not None and not connected and uplink.last_error:
        error = uplink.last_error  # the uplink's newest try says more than the first loss
    return {
        "configured": config is not None,
        "broker": None if config is None else f"{config.host}:{config.port}",
        "connected": connected,
        "uplink_state": None if uplink is None else uplink.state,
        "subscription": None if uplink is None else snapshot.subscription,
        "error": error,
        "subscribed_at": snapshot.subscribed_at,
        "stale_since": snapshot.stale_since,
        "device": agent.config.device.id,
        "devices": devices,
        "online": sum(d.status == "online" for d in snapshot.devices),
        "offline": sum(d.status == "offline" for d in snapshot.devices),
        "ignored_devices": snapshot.ignored_devices,
        "rejected": snapshot.rejected,
        "max_devices": snapshot.max_devices,
    }


def time_param(request: Request, name: str, *, now: float) -> float | None:
    """A time query parameter: epoch seconds, ISO 8601, or an age such as ``2h``."""
    text = request.param(name)
    if text is None or text == "":
        return None
    # Imported here: the CLI package imports the agent, which imports this module.
    from ..cli.readings_cmds import parse_time  # noqa: PLC0415

    try:
        value = float(text)
    except ValueError:
        try:
            return parse_time(text, now=now)
        except ConfigError as exc:
            raise HttpError(
                400,
                f"{name}: {exc}",
                "give epoch seconds, an ISO 8601 time or an age such as '2h'",
            ) from None
    if not math.isfinite(value):
        raise HttpError(400, f"{name}: {text!r} is not a time", "give epoch seconds")
    return value


def int_param(request: Request, name: str, default: int, *, low: int, high: int) -> int:
    """An integer query parameter within ``low..high``."""
    text = request.param(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise HttpError(
            400, f"{name}: {text!r} is not a whole number", f"give {low} to {high}"
        ) from None
    if not low <= value <= high:
        raise HttpError(400, f"{name}: {value} is out of range", f"give {low} to {high}")
    return value


def flag_param(request: Request, name: str, default: bool) -> bool:
    """A yes/no query parameter (``1``/``0``, ``true``/``false``, ``yes``/``no``)."""
    text = request.param(name)
    if text is None or text == "":
        return default
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise HttpError(400, f"{name}: {text!r} is not yes or no", "give 1 or 0")


class Routes:
    """Dispatches requests to the endpoints of one :class:`ApiService`."""

    def __init__(self, service: ApiService) -> None:
        self.s = service
        # One change at a time: two restarts of one experiment must not start two instances,
        # two applies must not both find no apply on trial.
        self._changing = asyncio.Lock()
        self.table: list[tuple[str, re.Pattern[str], Endpoint, str]] = []
        entries: list[tuple[str, str, Endpoint, str]] = [
            ("GET", "/v1", self.index, "this list"),
            ("GET", "/v1/device", self.device, "identity, version, uptime, health, disk"),
            ("GET", "/v1/sensors", self.sensors, "every sensor: config, backend, state, latest"),
            ("GET", "/v1/sensors/(?P<name>[^/]+)", self.sensor, "one sensor with statistics"),
            ("GET", "/v1/streams", self.streams, "every stored stream with its latest reading"),
            (
                "GET",
                "/v1/streams/(?P<stream>.+)/history",
                self.history,
                "readings of a stream: ?since=&until=&limit=",
            ),
            ("GET", "/v1/experiments", self.experiments, "every experiment: state, figures"),
            ("GET", "/v1/experiments/(?P<name>[^/]+)", self.experiment, "one experiment"),
            (
                "POST",
                "/v1/experiments/(?P<name>[^/]+)/(?P<action>start|stop|restart)",
                self.experiment_action,
                "start, stop or restart an experiment",
            ),
            (
                "GET",
                "/v1/experiments/(?P<name>[^/]+)/log",
                self.experiment_log,
                "an experiment's recent log: ?level=&since=&limit=",
            ),
            ("GET", "/v1/sync", self.sync, "outbox backlog and the uplink's status"),
            ("GET", "/v1/region", self.region, "every device's status on the region broker"),
            ("GET", "/v1/logs", self.logs, "recent log records: ?level=&since=&after=&logger="),
            ("GET", "/v1/events", self.events, "stored events: ?after=&limit="),
            ("GET", "/v1/config", self.config, "the config file, effective config, last apply"),
            ("POST", "/v1/config/validate", self.config_validate, "problems of a TOML body"),
            ("POST", "/v1/config/apply", self.config_apply, "apply a TOML body, roll back if bad"),
            ("GET", "/v1/peers", self.peers, "agents and MQTT brokers seen by mDNS"),
            (
                "GET",
                "/v1/live",
                self.live,
                "NDJSON stream: ?streams=PATTERN,...&events=1&logs=LEVEL&heartbeat=5",
            ),
        ]
        for method, pattern, endpoint, summary in entries:
            self.table.append((method, re.compile(pattern), endpoint, summary))

    async def __call__(self, request: Request) -> Response | StreamResponse:
        """Answer ``request`` (404 and 405 name what exists)."""
        path = request.path.rstrip("/") or "/"
        allowed = []
        for method, pattern, endpoint, _ in self.table:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if method == request.method:
                return await endpoint(request, match)
            allowed.append(method)
        if allowed:
            raise HttpError(
                405,
                f"{request.method} is not allowed on {path}",
                f"use {' or '.join(sorted(set(allowed)))}",
            )
        raise HttpError(404, f"no endpoint {path}", "GET /v1 lists the endpoints")

    # -- helpers -----------------------------------------------------------------------------

    @property
    def agent(self) -> Agent:
        """The agent served."""
        return self.s.agent

    def _sensor_config(self, name: str) -> SensorConfig:
        for sensor in self.agent.config.sensors:
            if sensor.name == name:
                return sensor
        names = [s.name for s in self.agent.config.sensors]
        raise HttpError(404, unknown_choice("sensor", name, names), "GET /v1/sensors lists them")

    def _experiment_config(self, name: str) -> ExperimentConfig:
        for entry in self.agent.config.experiments:
            if entry.name == name:
                return entry
        names = [e.name for e in self.agent.config.experiments]
        raise HttpError(
            404,
            unknown_choice("experiment", name, names),
            "GET /v1/experiments lists the configured ones; add others with [[experiment]]",
        )

    def _sensor_info(self, sensor: SensorConfig, latest: list[StoredReading]) -> SensorInfo:
        agent = self.agent
        driver = agent.drivers.get(sensor.name)
        cls = load_driver(sensor.driver)
        backend = None
        if driver is not None and driver.backend is not None:
            choice = driver.backend
            backend = {
                "family": choice.family,
                "name": choice.name,
                "source": choice.source,
                "reason": choice.reason,
            }
        return {
            "name": sensor.name,
            "driver": sensor.driver,
            "summary": cls.summary,
            "enabled": sensor.enabled,
            "interval_s": sensor.interval,
            "options": agent.config.driver_options[sensor.name].model_dump(mode="json"),
            "family": cls.family,
            "backend": backend,  # type: ignore[typeddict-item]
            "service": service_info(agent.supervisor.services.get(f"sensor:{sensor.name}")),
            "input_errors": dict(driver.input_errors) if driver is not None else {},
            "emitted": driver.emitted if driver is not None else 0,
            "latest": [reading_dict(r) for r in latest],
        }

    # -- endpoints ---------------------------------------------------------------------------

    async def index(self, request: Request, match: re.Match[str]) -> Response:
        """``GET /v1``."""
        return Response.json(
            {
                "endpoints": [
                    {"method": method, "path": pattern.pattern, "summary": summary}
                    for method, pattern, _, summary in self.table
                ]
            }
        )

    async def device(self, request: Request, match: re.Match[str]) -> Response:
        """``GET /v1/device``."""
        agent, s = self.agent, self.s
        config = agent.config
        data_dir: Path = config.store.data_dir
        space, temperature = await asyncio.to_thread(
            lambda: (disk_space(data_dir), cpu_temperature())
        )
        try:
            store_bytes = await s.store.run(lambda store: store.file_bytes())
        except HttpError:
            store_bytes = 0
        health = s.health()
        discovery = getattr(agent, "discovery", None)
        info: DeviceInfo = {
            "id": config.device.id,
            "city": config.device.city,
            "lab": config.device.lab,
            "version": __version__,
            "hostname": socket.gethostname(),
            "instance": s.instance,
            "pid": os.getpid(),
            "started": s.started,
            "uptime_s": health["stats"]["uptime_s"],
            "health": health,
            "disk": {
                "path": str(data_dir),
                "free_bytes": space["free_bytes"] if space else None,
                "total_bytes": space["total_bytes"] if space else None,
                "store_bytes": store_bytes,
            },
            "cpu_temperature_c": temperature,
            "config_path": str(config.source.absolute()) if config.source else None,
            "api_socket": str(s.socket_path),
            "discovery": bool(discovery is not None and discovery.enabled),
            "uplink": config.uplink is not None,
        }
        return Response.json(info)

    async def sensors(self, request: Request, match: re.Match[str]) -> Response:
        """``GET /v1/sensors``."""
        sensors = list(self.agent.config.sensors)
        latest = await self.s.store.run(
            lambda store: {s.name: store.latest(f"{s.name}/*") for s in sensors}
        )
        return Response.json({"sensors": [self._sensor_info(s, latest[s.name]) for s in sensors]})

    async def sensor(self, request: Request, match: re.Match[str]) -> Response:
        """``GET /v1/sensors/{name}``: with each stream's statistics of the last day."""
        sensor = self._sensor_config(match["name"])
        since = time.time() - DAY

        def read(store: Store) -> tuple[list[StoredReading], list[StreamStats]]:
            pattern = f"{sensor.name}/*"
            return store.latest(pattern), store.stats(pattern, since=since)

        latest, stats = await self.s.store.run(read)
        detail: SensorDetail = {
            **self._sensor_info(sensor, latest),
            "stats": [stats_dict(st) for st in stats],
            "stats_since": since,
        }
        return Response.json(detail)

    async def streams(self, request: Request, match: re.Match[str]) -> Response:
        """``GET /v1/streams``."""
        pattern = request.param("pattern") or "*"
        latest = await self.s.store.run(lambda store: store.latest(pattern))
        return Response.json({"streams": [reading_dict(r) for r in latest]})

    async def history(self, request: Request, match: re.Match[str]) -> Response:
        """``GET /v1/streams/{stream}/history``: oldest first, ``limit`` at most."""
        stream = match["stream"]
        if any(c in stream for c in "*?[]"):
            raise HttpError(
                400, f"{stream!r} is a pattern, not a stream", "name one stream, e.g. air/humidity"
            )
        now = time.time()
        since = time_param(request, "since", now=now)
        since = now - HOUR if since is None else since
        until = time_param(request, "until", now=now)
        limit = int_param(request, "limit", 1000, low=1, high=100_000)

        def read(store: Store) -> tuple[list[StoredReading], list[StreamStats]]:
            known = store.streams()
            if stream not in known:
                raise HttpError(
                    404, unknown_choice("stream", stream, known), "GET /v1/streams lists them"
                )
            rows = list(store.query(stream, since=since, until=until, limit=limit + 1))
            return rows, store.stats(stream, since=since, until=until)

        rows, stats = await self.s.store.run(read)
        truncated = len(rows) > limit
        rows = rows[:limit]
        history: History = {
            "stream": stream,
            "unit": stats[0].unit if stats else "",
            "since": since,
            "until": until,
            "count": len(rows),
            "truncated": truncated,
            "readings": [
                {"id": r.id, "time": r.time, "value": r.value, "quality": r.quality.names()}
                for r in rows
            ],
            "stats": stats_dict(stats[0]) if stats else None,
        }
        return Response.json(history)

    def _experiment_info(self, entry: ExperimentConfig) -> ExperimentInfo:
        agent = self.agent
        config = agent.config
        manifest = config.experiment_manifests.get(entry.name)
        runner = agent.experiments.get(entry.name)
        service = agent.supervisor.services.get(f"experiment:{entry.name}")
        params = config.experiment_params.get(entry.name, {})
        reads = manifest.read_patterns(params) if manifest else []
        if service is not None:
            state = service.state
        else:
            state = "disabled" if not entry.enabled else "not started"
        return {
            "name": entry.name,
            "enabled": entry.enabled,
            "version": manifest.version if manifest else "",
            "description": manifest.description if manifest else "",
            "folder": str(manifest.folder) if manifest else "",
            "reads": list(dict.fromkeys(p for p in (runner.patterns if runner else reads) if p)),
            "writes": list(manifest.writes) if manifest else [],
            "timer_s": manifest.timer if manifest else None,
            "params": params,
            "state": state,
            "service": service_info(service),
            "stats": runner.stats() if runner else {},
        }

    async def experiments(self, request: Request, match: re.Match[str]) -> Response:
        """``GET /v1/experiments``."""
        entries = self.agent.config.experiments
        return Response.json({"experiments": [self._experiment_info(e) for e in entries]})

    async def experiment(self, request: Request, match: re.Match[str]) -> Response:
        """``GET /v1/experiments/{name}``."""
        return Response.json(self._experiment_info(self._experiment_config(match["name"])))

    async def experiment_action(self, request: Request, match: re.Match[str]) -> Response:
        """``POST /v1/experiments/{name}/start|stop|restart``."""
        agent = self.agent
        entry = self._experiment_config(match["name"])
        action = match["action"]
        name = entry.name
        if not entry.enabled:
            raise HttpError(
                409,
                f"experiment {name!r} is disabled in the config",
                "set enabled = true in its [[experiment]] entry and apply the config",
            )
        runner = agent.experiments.get(name)
        if runner is None:
            raise HttpError(503, f"experiment {name!r} is not set up yet", "try again in a moment")
        supervisor = agent.supervisor
        key = f"experiment:{name}"
        async with self._changing:
            current = supervisor.services.get(key)
            active = current is not None and current.task is not None and not current.task.done()
            changed = False
            if active and action in ("stop", "restart"):
                await supervisor.stop(key)
                changed = True
            if action in ("start", "restart") and (action == "restart" or not active):
                previous = supervisor.services.pop(key, None)
                fresh = supervisor.start(key, functools.partial(runner.run, agent.hub))
                if previous is not None:
                    fresh.restarts = previous.restarts
                changed = True
        logging.getLogger(f"{agent.log.name}.experiment.{name}").warning(
            "%s through the API by %s",
            {"start": "started", "stop": "stopped"}.get(action, "restarted"),
            request.peer.user_name(),
        )
        reply: ExperimentAction = {
            "name": name,
            "action": action,  # type: ignore[typeddict-item]
            "changed": changed,
            "state": supervisor.services[key].state,
        }
        return Response.json(reply)

    def _log_query(
        self, request: Request, match_entry: Callable[[LogEntry], bool] | None
    ) -> Response:
        now = time.time()
        try:
            level = level_number(request.param("level") or "debug")
        except ValueError as exc:
            raise HttpError(400, str(exc), "give debug, info, warning, error or critical") from None
        capacity = self.s.settings.log_buffer
        records = self.s.logs.records(
            level=level,
            since=time_param(request, "since", now=now),
            after_seq=int_param(request, "after", 0, low=0, high=2**62),
            match=match_entry,
            limit=int_param(request, "limit", 500, low=0, high=capacity),
        )
        return Response.json({"records": records, "capacity": capacity})

    async def experiment_log(self, request: Request, match: re.Match[str]) -> Response:
        """``GET /v1/experiments/{name}/log``: the experiment's logger and its restarts."""
        name = self._experiment_config(match["name"]).name
        root = self.agent.log.name
        own = f"{root}.experiment.{name}"
        supervisor = f"{root}.supervisor"

        def belongs(entry: LogEntry) -> bool:
            logger = entry["logger"]
            return (
                logger == own
                or logger.startswith(own + ".")
                or (logger == supervisor and entry["message"].startswith(f"experiment:{name} "))
            )

        return self._log_query(request, belongs)

    async def logs(self, request: Request, match: re.Match[str]) -> Response:
        """``GET /v1/logs``."""
        prefix = request.param("logger")
        if not prefix:
            return self._log_query(request, None)
        return self._log_query(
            request,
            lambda e: e["logger"] == prefix or e["logger"].startswith(prefix + "."),
        )

    async def events(self, request: Request, match: re.Match[str]) -> Response:
        """``GET /v1/events``: after a row id, or the newest ``limit``."""
        limit = int_param(request, "limit", 100, low=1, high=10_000)
        after = request.param("after")
        if after:
            row = int_param(request, "after", 0, low=0, high=2**62)
            events = await self.s.store.run(lambda store: store.events(after=row, limit=limit))
        else:
            events = await self.s.store.run(lambda store: store.recent_events(limit))
        return Response.json({"events": events})

    async def sync(self, request: Request, match: re.Match[str]) -> Response:
        """``GET /v1/sync``."""
        agent = self.agent
        status = await self.s.store.run(read_status)
        uplink = agent.uplink
        config = agent.config.uplink
        info: SyncInfo = {
            "configured": config is not None,
            "broker": f"{config.host}:{config.port}" if config is not None else None,
            "status": status.as_dict(),
            "live": None
            if uplink is None
            else {
                "state": uplink.state,
                "protocol": uplink.protocol,
                "last_error": uplink.last_error,
                "acked_row": uplink.acked_row,
                "acked_readings": uplink.acked_readings,
                "packs_sent": uplink.packs_sent,
            },
        }
        return Response.json(info)

    async def region(self, request: Request, match: re.Match[str]) -> Response:
        """``GET /v1/region``: ``configured`` False without an uplink (not an error)."""
        return Response.json(region_info(self.agent))

    async def config(self, request: Request, match: re.Match[str]) -> Response:
        """``GET /v1/config``."""
        agent = self.agent
        path = self.s.config_path

        def read() -> tuple[str | None, BackupInfo | None, ApplyRecord | None]:
            if path is None:
                return None, None, None
            try:
                text = path.read_text(encoding="utf-8")
            except OSError:
                text = None
            backup = backup_path(path)
            try:
                modified: float | None = backup.stat().st_mtime
            except OSError:
                modified = None
            info: BackupInfo = {
                "path": str(backup),
                "exists": modified is not None,
                "modified": modified,
            }
            return text, info, read_record(path)

        text, backup, record = await asyncio.to_thread(read)
        info: ConfigInfo = {
            "path": str(path.absolute()) if path else None,
            "text": text,
            "effective": agent.config.model_dump(mode="json", by_alias=True),
            "apply": record,
            "backup": backup,
        }
        return Response.json(info)

    async def config_validate(self, request: Request, match: re.Match[str]) -> Response:
        """``POST /v1/config/validate``: always 200; ``ok`` and ``problems`` say the result."""
        text = request.text()
        return Response.json(await asyncio.to_thread(validate_text, text))

    async def config_apply(self, request: Request, match: re.Match[str]) -> Response:
        """``POST /v1/config/apply``: 202 and a restart, or 422 with the problems."""
        s = self.s
        text = request.text()
        who = request.peer.user_name()
        async with self._changing:
            if s.restart_requested:
                raise HttpError(409, "the agent is restarting", "apply again once it is back")
            try:
                record = await asyncio.to_thread(
                    prepare_apply,
                    s.config_path,
                    text,
                    requested_by=who,
                    timeout=s.settings.apply_timeout,
                    settle=s.settings.apply_settle,
                )
            except ApplyRefused as exc:
                extra = {"problems": exc.problems} if exc.problems else None
                raise HttpError(exc.status, str(exc), exc.fix, extra=extra) from None
            if record is not None:
                s.restart_requested = True  # the restart itself follows the answer
        reply: ApplyReply = {
            "status": "unchanged" if record is None else "restarting",
            "timeout_s": s.settings.apply_timeout,
            "backup": record["backup"] if record else None,
            "instance": s.instance,
        }
        if record is None:
            return Response.json(reply)
        s.log.warning(
            "new config written to %s by %s (backup %s); restarting to try it",
            s.config_path,
            who,
            record["backup"],
        )
        response = Response.json(reply, 202)
        response.after = s.request_restart
        return response

    async def peers(self, request: Request, match: re.Match[str]) -> Response:
        """``GET /v1/peers``."""
        discovery = getattr(self.agent, "discovery", None)
        if discovery is None or not discovery.enabled:
            reply: PeersReply = {"enabled": False, "announced_as": None, "peers": [], "brokers": []}
        else:
            reply = discovery.snapshot()
        return Response.json(reply)

    async def live(self, request: Request, match: re.Match[str]) -> StreamResponse:
        """``GET /v1/live``."""
        s = self.s
        patterns = [p.strip() for p in (request.param("streams") or "*").split(",") if p.strip()]
        logs = request.param("logs")
        try:
            log_level = level_number(logs) if logs else 0
        except ValueError as exc:
            raise HttpError(400, f"logs: {exc}", "give debug, info, warning or error") from None
        heartbeat_text = request.param("heartbeat") or "5"
        try:
            heartbeat = float(heartbeat_text)
        except ValueError:
            heartbeat = math.nan
        if not 0.1 <= heartbeat <= 300:
            raise HttpError(
                400, f"heartbeat: {heartbeat_text!r} is out of range", "give 0.1 to 300 (seconds)"
            )
        session = LiveSession(
            self.agent.hub,
            patterns,
            queue=s.settings.live_queue,
            events=s.events if flag_param(request, "events", True) else None,
            logs=s.logs if logs else None,
            log_level=log_level,
            heartbeat=heartbeat,
            health=s.health,
            hello={
                "type": "hello",
                "device": self.agent.config.device.id,
                "instance": s.instance,
                "streams": patterns,
                "time": time.time(),
            },
        )
        return StreamResponse(session.chunks)
