"""The JSON shapes of the API, as typed dictionaries for the server that builds them and the
clients (the TUI, ``edge-agent api``) that read them.

Times are epoch seconds (UTC) as floats; durations are seconds; sizes are bytes. Every error
body is an :class:`ErrorBody`.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict


class ErrorBody(TypedDict):
    """What went wrong, and how to fix it."""

    error: str
    fix: str


class ReadingDict(TypedDict):
    """A reading: the live stream's and ``latest``'s form (``id`` is None before commit)."""

    id: str | None
    stream: str
    time: float
    value: float | int | bool | str | None
    unit: str
    quality: list[str]


class ServiceInfo(TypedDict):
    """A supervised service (``sensor:<name>``, ``experiment:<name>``, ``uplink``)."""

    name: str
    state: str
    """``starting``, ``running``, ``backoff``, ``finished`` or ``stopped``."""
    restarts: int
    last_error: str | None
    since: float | None
    """When the current run started."""
    next_start_in: float | None


class AgentStatsDict(TypedDict):
    """:class:`edge_agent.agent.AgentStats` as JSON."""

    uptime_s: float
    published: int
    committed: int
    pending: int
    last_row: int
    dropped_hub: int
    dropped_writer: int
    write_errors: int
    services_running: int
    services_failing: int
    input_errors: int


class Health(TypedDict):
    """``ok`` or ``degraded``, the problems behind a ``degraded``, and the agent's counters."""

    status: Literal["ok", "degraded"]
    problems: list[str]
    stats: AgentStatsDict


class DiskInfo(TypedDict):
    """The file system of the data directory, and the database's share of it."""

    path: str
    free_bytes: int | None
    total_bytes: int | None
    store_bytes: int


class DeviceInfo(TypedDict):
    """``GET /v1/device``."""

    id: str
    city: str
    lab: str
    version: str
    hostname: str
    instance: str
    """Changes whenever the agent (re)starts, also after a restart that kept the pid."""
    pid: int
    started: float
    uptime_s: float
    health: Health
    disk: DiskInfo
    cpu_temperature_c: float | None
    config_path: str | None
    api_socket: str
    discovery: bool
    uplink: bool


class BackendInfo(TypedDict):
    """The backend a sensor's driver chose, and why."""

    family: str
    name: str
    source: str
    reason: str


class SensorInfo(TypedDict):
    """One ``[[sensor]]`` with its driver's and service's state (``GET /v1/sensors``)."""

    name: str
    driver: str
    summary: str
    enabled: bool
    interval_s: float
    options: dict[str, Any]
    family: str | None
    backend: BackendInfo | None
    service: ServiceInfo | None
    input_errors: dict[str, int]
    emitted: int
    latest: list[ReadingDict]


class StreamStatsDict(TypedDict):
    """Statistics of one stream over a time range."""

    stream: str
    unit: str
    count: int
    flagged: int
    first: float | None
    last: float | None
    minimum: float | None
    maximum: float | None
    mean: float | None


class SensorDetail(SensorInfo):
    """``GET /v1/sensors/{name}``: a sensor with its streams' statistics of the last day."""

    stats: list[StreamStatsDict]
    stats_since: float


class HistoryReading(TypedDict):
    """One committed reading of a stream's history."""

    id: str
    time: float
    value: float | int | bool | str | None
    quality: list[str]


class History(TypedDict):
    """``GET /v1/streams/{stream}/history``."""

    stream: str
    unit: str
    since: float
    until: float | None
    count: int
    truncated: bool
    """More readings lie in the range: ask again with ``since`` just after the last one."""
    readings: list[HistoryReading]
    stats: StreamStatsDict | None


class ExperimentInfo(TypedDict):
    """One ``[[experiment]]`` (``GET /v1/experiments``)."""

    name: str
    enabled: bool
    version: str
    description: str
    folder: str
    reads: list[str]
    writes: list[str]
    timer_s: float | None
    params: dict[str, Any]
    state: str
    """The service's state, or ``disabled``."""
    service: ServiceInfo | None
    stats: dict[str, Any]


class ExperimentAction(TypedDict):
    """The answer to ``POST /v1/experiments/{name}/start|stop|restart``."""

    name: str
    action: Literal["start", "stop", "restart"]
    changed: bool
    state: str


class UplinkLive(TypedDict):
    """The running uplink's own view (only while an uplink is configured)."""

    state: str
    protocol: str | None
    last_error: str | None
    acked_row: int
    acked_readings: int
    packs_sent: int


class SyncInfo(TypedDict):
    """``GET /v1/sync``: the outbox and the uplink's recorded status."""

    configured: bool
    broker: str | None
    status: dict[str, Any]
    """:class:`edge_agent.uplink.SyncStatus` as recorded in the store."""
    live: UplinkLive | None


class RegionHealth(TypedDict):
    """What ``GET /v1/region`` keeps of a device's health message (None: not sent, or of
    another type in that device's version)."""

    time: float | None
    """When the device sent it, by its own clock."""
    version: str | None
    uptime_s: float | None
    protocol: str | None
    backlog: int | None
    oldest_unsynced: float | None
    last_ack_time: float | None
    events_pending: int | None
    dropped_unsynced: int | None
    disk_free_bytes: int | None
    disk_total_bytes: int | None
    cpu_temperature_c: float | None


class RegionDeviceInfo(TypedDict):
    """One device of the region, from its retained messages on the region broker."""

    device: str
    city: str
    """The city as a topic level (lower case: ``bad-schönborn``)."""
    lab: str
    status: Literal["online", "offline"] | None
    """``offline`` is also the broker's last will for a device that vanished."""
    status_at: float | None
    """When this agent received the status."""
    health: RegionHealth | None
    health_at: float | None
    """When this agent received the health message."""
    last_seen: float | None
    """The health message's own time, else when the status arrived."""


class RegionInfo(TypedDict):
    """``GET /v1/region``: every device's retained status on the region broker."""

    configured: bool
    """False without an ``[uplink]``: then there is nothing else to say."""
    broker: str | None
    connected: bool
    """Whether the uplink is connected now; while it is not, ``devices`` is what it last knew."""
    uplink_state: str | None
    subscription: Literal["waiting", "pending", "granted", "refused"] | None
    error: str | None
    """Why the table is not current (the broker refused the subscription, the connection is
    lost), with what to do."""
    subscribed_at: float | None
    stale_since: float | None
    """When the connection that filled the table ended."""
    device: str
    """This device's id (it is in ``devices`` too, as the broker sees it)."""
    devices: list[RegionDeviceInfo]
    online: int
    offline: int
    ignored_devices: int
    """Devices left out: the table keeps ``max_devices`` at most."""
    rejected: int
    max_devices: int


class LogEntry(TypedDict):
    """One log record of the agent."""

    seq: int
    time: float
    level: str
    logger: str
    message: str


class LogsReply(TypedDict):
    """``GET /v1/logs`` and ``GET /v1/experiments/{name}/log``."""

    records: list[LogEntry]
    capacity: int


class EventDict(TypedDict):
    """A stored event (retention drops, experiment alerts, config applies)."""

    id: str
    row: int
    time: float
    kind: str
    severity: str
    message: str
    data: dict[str, Any] | None


class EventsReply(TypedDict):
    """``GET /v1/events``."""

    events: list[EventDict]


class ApplyRecord(TypedDict):
    """The state of the last config apply (``<config>.apply.json`` beside the config)."""

    state: Literal["pending", "confirmed", "rolled-back", "superseded"]
    requested_at: float
    requested_by: str
    decided_at: float | None
    reason: str | None
    timeout_s: float
    settle_s: float
    attempts: int
    backup: str
    failed_copy: str | None
    previous_sha256: str
    new_sha256: str


class BackupInfo(TypedDict):
    """The backup the last apply made."""

    path: str
    exists: bool
    modified: float | None


class ConfigInfo(TypedDict):
    """``GET /v1/config``."""

    path: str | None
    text: str | None
    effective: dict[str, Any]
    apply: ApplyRecord | None
    backup: BackupInfo | None


class ValidateReply(TypedDict):
    """``POST /v1/config/validate``: the problems of a config text, none when it is good."""

    ok: bool
    problems: list[str]


class ApplyReply(TypedDict):
    """``POST /v1/config/apply``."""

    status: Literal["restarting", "unchanged"]
    timeout_s: float
    backup: str | None
    instance: str
    """The instance that took the request: a new one answers once the agent restarted."""


class Peer(TypedDict):
    """Another agent, or an MQTT broker, seen by mDNS on the lab network."""

    kind: Literal["agent", "broker"]
    name: str
    host: str | None
    addresses: list[str]
    port: int | None
    txt: dict[str, str]
    seen: float


class PeersReply(TypedDict):
    """``GET /v1/peers``."""

    enabled: bool
    announced_as: str | None
    peers: list[Peer]
    brokers: list[Peer]


class LiveHello(TypedDict):
    """First line of ``GET /v1/live``."""

    type: Literal["hello"]
    device: str
    instance: str
    streams: list[str]
    time: float


class LiveReading(TypedDict):
    """A reading as it reaches the hub (not committed yet, so without id)."""

    type: Literal["reading"]
    stream: str
    time: float
    value: float | int | bool | str | None
    unit: str
    quality: list[str]


class LiveEvent(TypedDict):
    """A stored event."""

    type: Literal["event"]
    event: EventDict


class LiveLog(TypedDict):
    """A log record (with ``logs=LEVEL``)."""

    type: Literal["log"]
    record: LogEntry


class LiveSkipped(TypedDict):
    """The client read too slowly: ``count`` readings (or events, logs) were skipped."""

    type: Literal["skipped"]
    what: Literal["readings", "events", "logs"]
    count: int
    total: int


class LiveHeartbeat(TypedDict):
    """Sent every ``heartbeat`` seconds with the agent's health."""

    type: Literal["heartbeat"]
    time: float
    health: Health


LiveMessage = LiveHello | LiveReading | LiveEvent | LiveLog | LiveSkipped | LiveHeartbeat
"""One line of ``GET /v1/live``."""
