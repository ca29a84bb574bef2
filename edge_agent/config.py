"""The agent's config: one TOML file, validated into typed models.

The file is ``--config FILE``, else ``$EDGE_AGENT_CONFIG``, else ``/etc/edge-agent/agent.toml``.
Every error names the file, the key path (``sensor[2].interval``) and what is accepted; unknown
keys and driver names come with the nearest valid one. Driver options are validated by each
driver's own :class:`~edge_agent.driver.DriverOptions` model, without touching hardware.

An annotated example is ``edge_agent/configs/example.toml``; the demo runs on
``edge_agent/configs/demo.toml``.
"""

from __future__ import annotations

import difflib
import os
import socket
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .driver import DriverOptions, available_drivers, load_driver
from .durations import Duration, Size
from .errors import ConfigError, unknown_choice
from .experiments.catalog import find_experiments
from .experiments.manifest import Manifest
from .readings import check_name

DEFAULT_CONFIG_PATH = Path("/etc/edge-agent/agent.toml")
CONFIG_ENV = "EDGE_AGENT_CONFIG"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceConfig(_Section):
    """Who this device is. ``id`` defaults to the host name."""

    id: str = Field(default_factory=lambda: socket.gethostname().lower())
    city: str = ""
    lab: str = ""
    trust_clock: bool = False
    """Treat the clock as synchronised even when the kernel does not say so (containers)."""

    @field_validator("id")
    @classmethod
    def _id_is_a_name(cls, value: str) -> str:
        return check_name("device", value)


class StoreConfig(_Section):
    """Where and how readings are kept."""

    data_dir: Path = Path("/var/lib/edge-agent")
    flush_interval: Duration = 1.0
    flush_count: int = Field(default=1000, ge=1, le=1_000_000)
    max_age: Duration | None = 365 * 86400.0
    max_size: Size | None = 2_000_000_000
    retention_interval: Duration = 300.0


class SensorConfig(_Section):
    """One ``[[sensor]]`` entry: a named sensor read by a driver."""

    name: str
    driver: str
    interval: Duration = 30.0
    enabled: bool = True
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name_is_a_name(cls, value: str) -> str:
        return check_name("sensor", value)

    @field_validator("driver")
    @classmethod
    def _driver_is_known(cls, value: str) -> str:
        if value not in available_drivers():
            raise ConfigError(unknown_choice("driver", value, available_drivers()))
        return value


class ExperimentConfig(_Section):
    """One ``[[experiment]]`` entry: a bundled or user experiment, enabled with parameters."""

    name: str
    enabled: bool = True
    timer: Duration | None = None
    """How often ``on_timer`` runs, overriding the manifest's ``timer``."""
    hook_timeout: Duration | None = None
    """Seconds a hook may take before the experiment counts as hung and is restarted
    (default: the agent's, 30 s)."""
    params: dict[str, Any] = Field(default_factory=dict)


class UplinkConfig(_Section):
    """The MQTT broker of the region. Without an ``[uplink]`` table the agent keeps data local.

    Topics, payloads and the TLS set-up are described in ``edge_agent/uplink/README.md``.
    """

    host: str
    tls: bool = True
    port: int = Field(default=0, validate_default=True)
    """Default 8883 (MQTT over TLS), or 1883 with ``tls = false``."""
    topic_prefix: str = "digitallabor"
    client_id: str | None = None
    """MQTT client id, unique on the broker; defaults to the device id."""
    protocol: Literal["auto", "5", "3.1.1"] = "auto"
    """``auto``: MQTT 5, and 3.1.1 when the broker refuses 5."""
    tls_verify: bool = True
    """Verify the broker's certificate and host name; turn off only to diagnose."""
    ca_file: Path | None = None
    """CA certificate (PEM) that signed the broker's certificate; default: the system's."""
    client_cert: Path | None = None
    client_key: Path | None = None
    username: str | None = None
    password_file: Path | None = None
    """File whose first line is the password; must not be readable by every user."""
    keepalive: Duration = 60.0
    session_expiry: Duration = 7 * 86400.0
    """How long the broker keeps this client's session while it is away (MQTT 5)."""
    connect_timeout: Duration = 10.0
    reconnect_min: Duration = 1.0
    """First delay before reconnecting; doubles (with jitter) up to ``reconnect_max``."""
    reconnect_max: Duration = 300.0
    pack_size: int = Field(default=500, ge=1, le=10_000)
    """Readings per SenML pack (one MQTT message)."""
    max_inflight: int = Field(default=16, ge=1, le=1000)
    """Packs sent but not yet acknowledged, at most."""
    max_bandwidth: Size | None = None
    """Bytes per second the uplink may use on average (``"20kB"``); default: no cap."""
    health_interval: Duration = 60.0
    region_table: bool = True
    """Also keep every device's retained status and health from the region broker, for
    ``GET /v1/region`` and the console's fleet screen (QoS 0; about 0.7 kB/s for 100 devices)."""

    @field_validator("port")
    @classmethod
    def _port_or_default(cls, value: int, info: Any) -> int:
        if value == 0:
            return 8883 if info.data.get("tls", True) else 1883
        if not 1 <= value <= 65535:
            raise ConfigError(f"port {value} is not a TCP port; give 1 to 65535 (MQTT: 8883)")
        return value

    @field_validator("topic_prefix")
    @classmethod
    def _prefix_is_topic_levels(cls, value: str) -> str:
        if not value or value[0] == "/" or value[-1] == "/" or "//" in value:
            raise ConfigError(
                f"topic prefix {value!r} is not usable: give one or more non-empty levels "
                "separated by '/', without a leading or trailing '/' (e.g. 'digitallabor')"
            )
        if any(c in value for c in "+#\x00"):
            raise ConfigError(f"topic prefix {value!r} must not contain the wildcards + or #")
        return value

    @field_validator("ca_file", "client_cert")
    @classmethod
    def _tls_files_need_tls(cls, value: Path | None, info: Any) -> Path | None:
        if value is not None and not info.data.get("tls", True):
            raise ConfigError(f"{info.field_name} is set but tls = false; remove one of them")
        return value

    @field_validator("client_key")
    @classmethod
    def _key_needs_cert(cls, value: Path | None, info: Any) -> Path | None:
        if value is not None and info.data.get("client_cert") is None:
            raise ConfigError("client_key is set without client_cert; set both, or neither")
        return value

    @field_validator("password_file")
    @classmethod
    def _password_needs_user(cls, value: Path | None, info: Any) -> Path | None:
        if value is not None and info.data.get("username") is None:
            raise ConfigError("password_file is set without username; set the broker user too")
        return value

    @field_validator("keepalive")
    @classmethod
    def _keepalive_in_range(cls, value: float) -> float:
        if not 5 <= value <= 65535:
            raise ConfigError(f"keepalive {value:g} s is out of range; give 5s to 18h (e.g. '60s')")
        return value

    @field_validator("reconnect_max")
    @classmethod
    def _max_not_below_min(cls, value: float, info: Any) -> float:
        low = info.data.get("reconnect_min")
        if low is not None and value < low:
            raise ConfigError(
                f"reconnect_max ({value:g} s) is shorter than reconnect_min ({low:g} s)"
            )
        return value


class LogConfig(_Section):
    """Logging; ``level`` can be overridden with ``--log-level``."""

    level: Literal["debug", "info", "warning", "error"] = "info"


class ApiConfig(_Section):
    """The control API: HTTP+JSON on a Unix socket (``edge_agent/api/README.md``)."""

    enabled: bool = True
    socket: Path | None = None
    """Socket path; default ``/run/edge-agent/api.sock`` (see :mod:`edge_agent.api.paths`)."""
    group: str = "edge-agent"
    """Members of this group may use the API (socket mode 0660, chgrp when the group exists)."""
    max_clients: int = Field(default=32, ge=1, le=1024)
    live_queue: int = Field(default=1000, ge=10, le=1_000_000)
    """Readings queued per live client; a slower client skips the oldest and is told so."""
    log_buffer: int = Field(default=2000, ge=10, le=1_000_000)
    """Log records kept in memory for ``GET /v1/logs``."""
    apply_timeout: Duration = 60.0
    """How long a newly applied config may take to become healthy before it is rolled back."""
    apply_settle: Duration = 10.0
    """How long every sensor and experiment must run without a failure to confirm a config."""
    restart: Literal["auto", "systemd", "exec"] = "auto"
    """How the agent restarts after a config apply: ``systemd`` exits with code 75 for the
    unit to restart it, ``exec`` replaces the process; ``auto`` picks systemd under systemd."""

    @field_validator("apply_settle")
    @classmethod
    def _settle_within_timeout(cls, value: float, info: Any) -> float:
        timeout = info.data.get("apply_timeout")
        if timeout is not None and value >= timeout:
            raise ConfigError(
                f"apply_settle ({value:g} s) must be shorter than apply_timeout ({timeout:g} s)"
            )
        return value


class DiscoveryConfig(_Section):
    """mDNS/DNS-SD: announce ``_edge-agent._tcp``, browse for peers and ``_mqtt._tcp`` brokers."""

    enabled: bool | Literal["auto"] = "auto"
    """``auto``: on when running on a Raspberry Pi, off elsewhere (laptops, CI, the demo)."""
    interfaces: list[str] = Field(default_factory=list)
    """Interface names (``eth0``, ``wlan0``) or IPv4 addresses to use; empty: all."""
    announce: bool = True
    browse: bool = True
    port: int = Field(default=22, ge=1, le=65535)
    """Port in the announcement: SSH, through which the API is reached."""
    update_interval: Duration = 60.0
    """Shortest time between two changes of the announced TXT record (health, backlog)."""

    @field_validator("enabled", mode="before")
    @classmethod
    def _enabled_choice(cls, value: object) -> object:
        if isinstance(value, bool) or value == "auto":
            return value
        raise ConfigError(f'enabled = {value!r} is not understood; give true, false or "auto"')


class AgentConfig(_Section):
    """The whole config file."""

    device: DeviceConfig = Field(default_factory=DeviceConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    sensors: list[SensorConfig] = Field(default_factory=list, alias="sensor")
    experiments: list[ExperimentConfig] = Field(default_factory=list, alias="experiment")
    uplink: UplinkConfig | None = None
    log: LogConfig = Field(default_factory=LogConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    discovery: DiscoveryConfig = Field(default_factory=DiscoveryConfig)
    experiments_dir: Path | None = None
    """Where a lab's own experiments live (``<data_dir>/experiments`` unless set)."""
    backends: dict[str, str] = Field(default_factory=dict)
    """Backend per hardware family for every sensor of it (``gpio = "lgpio"``); see
    :mod:`edge_agent.backends`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    source: Path | None = Field(default=None, exclude=True)
    """The file this config was read from (None for one built in code)."""

    driver_options: dict[str, DriverOptions] = Field(default_factory=dict, exclude=True)
    """Each sensor's validated driver options, by sensor name."""

    experiment_manifests: dict[str, Manifest] = Field(default_factory=dict, exclude=True)
    """The manifest of each ``[[experiment]]``, by name."""

    experiment_params: dict[str, dict[str, Any]] = Field(default_factory=dict, exclude=True)
    """Each experiment's validated parameters, by name."""

    @property
    def user_experiments_dir(self) -> Path:
        """The directory of the lab's own experiments."""
        return self.experiments_dir or self.store.data_dir / "experiments"


def _key_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "(top level)"


def _fields_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The keys accepted at ``loc`` (for suggesting the nearest one to an unknown key)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        field = current.model_fields.get(part) or next(
            (f for f in current.model_fields.values() if f.alias == part), None
        )
        if field is None:
            return []
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [annotation, *args]
        current = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
    if current is None:
        return []
    return [f.alias or name for name, f in current.model_fields.items() if not f.exclude]


def _explain(error: Any, model: type[BaseModel], prefix: tuple[int | str, ...] = ()) -> str:
    loc = prefix + tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        accepted = _fields_at(model, tuple(error["loc"])[:-1])
        text = f"unknown key {key!r}; accepted keys here: {', '.join(accepted) or '(none)'}"
        close = difflib.get_close_matches(key, accepted, n=1, cutoff=0.6)
        if close:
            text += f"; did you mean {close[0]!r}?"
        return f"{_key_path(loc)}: {text}"
    if kind == "missing":
        return f"{_key_path(loc)}: required key is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind != "value_error" and "input" in error:  # our own messages already name the value
        message += f" (got {error['input']!r})"
    return f"{_key_path(loc)}: {message}"


def parse_config(data: dict[str, Any], *, source: Path | None = None) -> AgentConfig:
    """Validate parsed TOML ``data``; raises :class:`ConfigError` listing every problem."""
    where = f"{source}: " if source else ""
    try:
        config = AgentConfig.model_validate(data)
    except ValidationError as exc:
        problems = [_explain(e, AgentConfig) for e in exc.errors()]
        raise ConfigError("\n".join(where + p for p in problems)) from exc

    problems = []
    seen: set[str] = set()
    options: dict[str, DriverOptions] = {}
    families: set[str] = set()
    for index, sensor in enumerate(config.sensors):
        if sensor.name in seen:
            problems.append(f"sensor[{index}].name: sensor {sensor.name!r} is defined twice")
        seen.add(sensor.name)
        cls = load_driver(sensor.driver)
        try:
            options[sensor.name] = cls.Options.model_validate(sensor.options)
            cls.check_backends(options[sensor.name], config.backends)
        except ValidationError as exc:
            problems += [
                _explain(e, cls.Options, ("sensor", index, "options")) for e in exc.errors()
            ]
        except ConfigError as exc:
            problems.append(f"sensor[{index}].options.backend: {exc}")
        if cls.family is not None:
            families.add(cls.family)
    for family in config.backends:
        if family not in families:
            problems.append(
                f"backends.{family}: no configured sensor is of this family; "
                + unknown_choice("hardware family", family, families)
                + " (remove the key or fix its name)"
            )
    manifests: dict[str, Manifest] = {}
    params: dict[str, dict[str, Any]] = {}
    if config.experiments:
        catalog_ok = True
        try:
            catalog = find_experiments([config.user_experiments_dir])
        except ConfigError as exc:
            catalog, catalog_ok = {}, False
            problems.append(f"experiments_dir: {exc}")
        for index, experiment in enumerate(config.experiments):
            manifest = catalog.get(experiment.name)
            if manifest is None:
                if catalog_ok:
                    problems.append(
                        f"experiment[{index}].name: "
                        + unknown_choice("experiment", experiment.name, catalog)
                    )
                continue
            if experiment.name in manifests:
                problems.append(
                    f"experiment[{index}].name: experiment {experiment.name!r} is enabled twice"
                )
            if experiment.timer is not None:
                manifest = manifest.model_copy(update={"timer": experiment.timer})
            manifests[experiment.name] = manifest
            try:
                params[experiment.name] = manifest.validate_params(
                    experiment.params, base=source.parent if source else None
                )
            except ValidationError as exc:
                model = manifest.params_model()
                problems += [
                    _explain(e, model, ("experiment", index, "params")) for e in exc.errors()
                ]
                continue
            sensors = [s.name for s in config.sensors if s.enabled]
            for camera in manifest.camera_names(params[experiment.name]):
                if camera not in sensors:
                    problems.append(
                        f"experiment[{index}].params: the experiment wants the frames of "
                        + unknown_choice("camera sensor", camera, sensors)
                        + " (add a camera.frames [[sensor]] of that name or set the parameter)"
                    )
    if problems:
        raise ConfigError("\n".join(where + p for p in problems))
    return config.model_copy(
        update={
            "source": source,
            "driver_options": options,
            "experiment_manifests": manifests,
            "experiment_params": params,
        }
    )


def load_config(path: Path) -> AgentConfig:
    """Read and validate a config file; :class:`ConfigError` says what is wrong and where."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such config file; pass --config FILE, set ${CONFIG_ENV}, or copy "
            "edge_agent/configs/example.toml there"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return parse_config(data, source=path)


def resolve_config_path(arg: Path | None) -> Path:
    """``--config`` if given, else ``$EDGE_AGENT_CONFIG``, else the system default."""
    if arg is not None:
        return arg
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else DEFAULT_CONFIG_PATH


def bundled_config(name: str) -> str:
    """The text of a config shipped with the agent (``demo.toml``, ``example.toml``)."""
    return resources.files("edge_agent.configs").joinpath(name).read_text(encoding="utf-8")
