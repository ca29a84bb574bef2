"""An experiment's manifest (``experiment.toml``): what it is, reads, writes and takes.

::

    name = "road-icing"
    version = "1.0.0"
    description = "Frost and ice risk on the road surface, with alerts"
    entry = "experiment:RoadIcing"     # module (a .py file in the folder) and class
    reads = ["{surface}", "{air}/*"]   # stream patterns; {param} is replaced by the parameter
    writes = ["dew_point", "risk"]     # quantities it publishes as <experiment>/<quantity>
    events = ["icing-alert"]           # kinds of events it records
    cameras = ["{camera}"]             # camera sensors whose frames it wants ({param} too)
    models = ["model/forecast.npz"]    # files it loads, relative to the folder
    timer = "1m"                       # how often on_timer runs (none if unset)

    [params.surface]
    type = "str"
    default = "road-surface/temperature"
    description = "stream of the road-surface temperature"

Parameter types: ``float``, ``int``, ``str``, ``bool``, ``duration`` (``"5m"`` -> seconds),
``list`` (of strings), ``path`` (a file: a relative path set in the config is relative to the
config file's folder, a relative default to the experiment's folder; the experiment gets an
absolute path as a string). ``min``/``max`` bound numbers; ``choices`` bounds strings. The
``[[experiment]]`` entry of the agent's config sets them, checked against this manifest with
the same messages as the rest of the config.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from ..durations import Duration
from ..errors import ConfigError
from ..readings import check_name

MANIFEST_NAME = "experiment.toml"

ParamType = Literal["float", "int", "str", "bool", "duration", "list", "path"]

_PYTHON_TYPES: dict[str, Any] = {
    "float": float,
    "int": int,
    "str": str,
    "bool": bool,
    "duration": Duration,
    "list": list[str],
    "path": str,
}

_ENTRY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*:[A-Za-z_][A-Za-z0-9_]*$")
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


class ParamSpec(BaseModel):
    """One parameter an experiment takes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ParamType
    default: Any = None
    description: str = ""
    min: float | None = None
    max: float | None = None
    choices: list[str] | None = None
    unit: str = ""
    """The unit of a number, for the README and ``experiment list`` (``Cel``, ``s``)."""

    @property
    def required(self) -> bool:
        """A parameter without a default must be set in the config."""
        return self.default is None


class Manifest(BaseModel):
    """The validated ``experiment.toml`` of one experiment folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: str = "0.1.0"
    description: str = ""
    entry: str = "experiment:Experiment"
    reads: list[str] = Field(default_factory=list)
    writes: list[str] = Field(default_factory=list)
    events: list[str] = Field(default_factory=list)
    cameras: list[str] = Field(default_factory=list)
    models: list[str] = Field(default_factory=list)
    timer: Duration | None = None
    params: dict[str, ParamSpec] = Field(default_factory=dict)

    folder: Path = Field(default=Path(), exclude=True)
    """The folder the manifest was read from."""

    @field_validator("name")
    @classmethod
    def _name_is_a_name(cls, value: str) -> str:
        return check_name("experiment", value)

    @field_validator("writes")
    @classmethod
    def _writes_are_quantities(cls, value: list[str]) -> list[str]:
        return [check_name("quantity", q) for q in value]

    @field_validator("entry")
    @classmethod
    def _entry_is_module_and_class(cls, value: str) -> str:
        if not _ENTRY.match(value):
            raise ValueError(
                f"entry {value!r} must be 'module:Class', e.g. 'experiment:RoadIcing' for the "
                "class RoadIcing in experiment.py"
            )
        return value

    def params_model(self) -> type[BaseModel]:
        """A pydantic model that validates this experiment's ``params`` table."""
        fields: dict[str, Any] = {}
        for key, spec in self.params.items():
            constraints: dict[str, Any] = {
                "description": spec.description,
                "validate_default": True,
            }
            if spec.min is not None:
                constraints["ge"] = spec.min
            if spec.max is not None:
                constraints["le"] = spec.max
            annotation: Any = _PYTHON_TYPES[spec.type]
            if spec.choices is not None:
                annotation = Literal[tuple(spec.choices)]
            default = ... if spec.required else spec.default
            fields[key] = (annotation, Field(default, **constraints))
        return create_model(
            f"{self.name.title().replace('-', '')}Params",
            __config__=ConfigDict(extra="forbid", frozen=True),
            **fields,
        )

    def validate_params(
        self, values: dict[str, Any], *, base: Path | None = None
    ) -> dict[str, Any]:
        """Check ``values`` against the parameters; :class:`ValidationError` on problems.

        ``path`` parameters come back absolute: a value from ``values`` relative to ``base``
        (the config file's folder; the working directory if None), a default relative to the
        experiment's folder.
        """
        checked: dict[str, Any] = self.params_model().model_validate(values).model_dump()
        for key, spec in self.params.items():
            if spec.type == "path" and checked[key]:
                folder = (base or Path.cwd()) if key in values else self.folder
                checked[key] = str((folder / Path(checked[key]).expanduser()).absolute())
        return checked

    def read_patterns(self, params: dict[str, Any]) -> list[str]:
        """``reads`` with ``{param}`` placeholders filled in from ``params``."""
        return [self._fill("reads pattern", pattern, params) for pattern in self.reads]

    def camera_names(self, params: dict[str, Any]) -> list[str]:
        """``cameras`` with ``{param}`` placeholders filled in; empty names are left out."""
        names = [self._fill("cameras entry", name, params) for name in self.cameras]
        return [name for name in names if name]

    def _fill(self, what: str, template: str, params: dict[str, Any]) -> str:
        for key in _PLACEHOLDER.findall(template):
            if key not in params:
                raise ConfigError(
                    f"experiment {self.name!r}: {what} {template!r} uses {{{key}}}, "
                    f"which is not a parameter; parameters: {', '.join(params) or '(none)'}"
                )
        return _PLACEHOLDER.sub(lambda m: str(params[m.group(1)]), template)


def load_manifest(folder: Path) -> Manifest:
    """Read and check ``folder/experiment.toml``; :class:`ConfigError` names file and key."""
    path = folder / MANIFEST_NAME
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{folder}: no {MANIFEST_NAME}; an experiment folder needs one") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{path}: {'.'.join(str(p) for p in e['loc']) or '(top level)'}: "
            + str(e["msg"]).removeprefix("Value error, ")
            for e in exc.errors()
        ]
        raise ConfigError("\n".join(problems)) from exc
    defaults = {k: spec.default for k, spec in manifest.params.items() if not spec.required}
    try:
        manifest.params_model().model_validate(defaults)
    except ValidationError as exc:
        bad = [
            f"{path}: params.{e['loc'][0]}.default: " + str(e["msg"]).removeprefix("Value error, ")
            for e in exc.errors()
            if e["type"] != "missing"
        ]
        if bad:
            raise ConfigError("\n".join(bad)) from exc
    return manifest.model_copy(update={"folder": folder})


__all__ = ["MANIFEST_NAME", "Manifest", "ParamSpec", "load_manifest"]
