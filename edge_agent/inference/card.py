"""Model cards: what a ``.tflite`` file expects and returns, and what is known about it.

A card is a TOML (or JSON) file beside the model, with the same stem (``occupancy.tflite`` ->
``occupancy.toml``). Three tables are read by the agent, and checked against the model when it
loads; the others document the model for people and are kept as they are::

    [model]
    name = "parking-occupancy"
    version = "1.0.0"
    file = "occupancy.tflite"        # relative to the card (default: the card's stem + .tflite)
    architecture = "6 depthwise-separable conv blocks, 48x48x3 -> 2"
    size_bytes = 68920               # checked against the file, so card and model stay a pair
    sha256 = "..."                   # optional, checked too

    [input]
    width = 48                       # pixels
    height = 48
    colour_order = "RGB"             # RGB, BGR or GREY
    mean = [0.0, 0.0, 0.0]           # model input = (pixel - mean) / std, pixels 0..255
    std = [1.0, 1.0, 1.0]
    quantisation = { dtype = "int8", scale = 1.0, zero_point = -128 }

    [output]
    labels = ["free", "occupied"]
    kind = "probabilities"           # or "logits" (softmax, or a sigmoid for one output)
    quantisation = { dtype = "int8", scale = 0.00390625, zero_point = -128 }

    [training]      # data and its citation, split, recipe, the command that reproduces it
    [evaluation]    # accuracy on held-out data the model never saw
    [latency]       # what the project's benchmark measured, on which machine

A quantised tensor holds ``q = round(x / scale) + zero_point``; the scale and zero point in the
card must match the ones in the model (the interpreter's tensor details), else the card was
written for another model and :class:`~edge_agent.inference.errors.ModelCardError` says so.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ModelCardError

CARD_SUFFIXES = (".toml", ".json")


class Quantisation(BaseModel):
    """How a tensor's numbers are stored.

    Attributes:
        dtype: ``int8``, ``uint8`` or ``float32``.
        scale: real value of one step (required for integer types).
        zero_point: stored value of a real zero (required for integer types).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    dtype: Literal["int8", "uint8", "float32"]
    scale: float | None = Field(default=None, gt=0)
    zero_point: int | None = None

    @model_validator(mode="after")
    def _integer_types_need_scale(self) -> Quantisation:
        if self.dtype != "float32" and (self.scale is None or self.zero_point is None):
            raise ValueError(
                f"dtype {self.dtype!r} needs scale and zero_point (copy them from the "
                "converter's output or the interpreter's tensor details)"
            )
        if self.zero_point is not None:
            low, high = (-128, 127) if self.dtype == "int8" else (0, 255)
            if not low <= self.zero_point <= high:
                raise ValueError(f"zero_point {self.zero_point} is outside {self.dtype}")
        return self


class ModelInfo(BaseModel):
    """The ``[model]`` table: which file, what it is, and how to recognise it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: str = "0"
    description: str = ""
    architecture: str = ""
    file: str | None = None
    size_bytes: int | None = Field(default=None, gt=0)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    macs: int | None = Field(default=None, gt=0, description="multiply-accumulates per sample")


class InputSpec(BaseModel):
    """The ``[input]`` table: one image, its size (pixels), colours and normalisation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    width: int = Field(gt=0)
    height: int = Field(gt=0)
    colour_order: Literal["RGB", "BGR", "GREY"] = "RGB"
    mean: list[float] = Field(default_factory=lambda: [0.0])
    std: list[float] = Field(default_factory=lambda: [1.0])
    quantisation: Quantisation

    @property
    def channels(self) -> int:
        """Colour channels per pixel (3, or 1 for GREY)."""
        return 1 if self.colour_order == "GREY" else 3

    @model_validator(mode="after")
    def _normalisation_fits_channels(self) -> InputSpec:
        for key in ("mean", "std"):
            values = getattr(self, key)
            if len(values) not in (1, self.channels):
                raise ValueError(
                    f"{key} has {len(values)} values; give 1 or {self.channels} "
                    f"(one per channel of {self.colour_order})"
                )
        if any(s == 0 for s in self.std):
            raise ValueError(f"std {self.std} contains 0; the input would be divided by zero")
        return self


class OutputSpec(BaseModel):
    """The ``[output]`` table: what each output number means."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    labels: list[str] = Field(min_length=1)
    kind: Literal["probabilities", "logits"] = "probabilities"
    quantisation: Quantisation


class ModelCard(BaseModel):
    """A model card; :meth:`load` reads one, :attr:`path` is where it came from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: ModelInfo
    input: InputSpec
    output: OutputSpec
    training: dict[str, Any] = Field(default_factory=dict)
    evaluation: dict[str, Any] = Field(default_factory=dict)
    latency: dict[str, Any] = Field(default_factory=dict)
    path: Path | None = Field(default=None, exclude=True)

    @classmethod
    def load(cls, path: Path) -> ModelCard:
        """Read and validate a card; :class:`ModelCardError` names the file and the key."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ModelCardError(
                f"{path}: no such model card; every .tflite needs a card beside it with the "
                "same stem (.toml or .json) giving input size, normalisation, labels and "
                "quantisation"
            ) from None
        except OSError as exc:
            raise ModelCardError(f"{path}: cannot read the model card: {exc.strerror}") from exc
        try:
            data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
            kind = "JSON" if path.suffix == ".json" else "TOML"
            raise ModelCardError(f"{path}: not valid {kind}: {exc}") from exc
        try:
            card = cls.model_validate(data)
        except ValidationError as exc:
            problems = [_explain(error) for error in exc.errors()]
            raise ModelCardError("\n".join(f"{path}: {p}" for p in problems)) from exc
        return card.model_copy(update={"path": path})

    @property
    def model_path(self) -> Path:
        """The model file the card describes."""
        if self.path is None:
            raise ModelCardError("this card was not read from a file; its model has no place")
        name = self.model.file or self.path.with_suffix(".tflite").name
        return self.path.parent / name

    def check_file(self, content: bytes, path: Path) -> None:
        """Refuse a model file whose size or SHA-256 differs from what the card says."""
        where = self.path or "model card"
        if self.model.size_bytes is not None and len(content) != self.model.size_bytes:
            raise ModelCardError(
                f"{where}: model.size_bytes = {self.model.size_bytes} but {path} has "
                f"{len(content)} bytes; the card describes another model: put the matching "
                "card beside it (or update size_bytes and sha256 after retraining)"
            )
        if self.model.sha256 is not None:
            digest = hashlib.sha256(content).hexdigest()
            if digest != self.model.sha256:
                raise ModelCardError(
                    f"{where}: model.sha256 = {self.model.sha256} but {path} hashes to "
                    f"{digest}; the card describes another model: put the matching card beside "
                    "it (or update sha256 after retraining)"
                )


def _explain(error: Any) -> str:
    """One validation error as ``key.path: what is wrong``, with the accepted keys if unknown."""
    loc = [str(part) for part in error["loc"]]
    where = ".".join(loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        table: Any = ModelCard
        for part in loc[:-1]:
            field = table.model_fields.get(part) if _is_table(table) else None
            table = field.annotation if field is not None else None
        names = [n for n in table.model_fields if n != "path"] if _is_table(table) else []
        accepted = ", ".join(names) or "(none)"
        return f"{where}: unknown key {loc[-1]!r}; accepted keys here: {accepted}"
    if error["type"] == "missing":
        return f"{where}: required key is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] != "value_error":
        message += f" (got {error.get('input')!r})"
    return f"{where}: {message}"


def _is_table(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def find_card(model_path: Path) -> Path:
    """The card beside ``model_path``: same stem, ``.toml`` first, then ``.json``."""
    for suffix in CARD_SUFFIXES:
        candidate = model_path.with_suffix(suffix)
        if candidate.exists():
            return candidate
    return model_path.with_suffix(CARD_SUFFIXES[0])
