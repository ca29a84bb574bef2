"""Which TensorFlow Lite interpreter runs the models: LiteRT, else tflite-runtime.

LiteRT (``ai-edge-litert``) is the runtime: wheels for Python 3.11 to 3.13 on aarch64 and
x86-64, and it works with NumPy 2. ``tflite-runtime`` (2.14, needs NumPy < 2) is the fallback
where LiteRT has no wheel. Both offer the same ``Interpreter`` class; the part of it the kit
uses is :class:`Interpreter` below. The runtime is imported only when a model is first loaded,
so the agent starts on machines without either.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from .errors import ModelError

RUNTIMES = (
    ("ai-edge-litert", "ai_edge_litert.interpreter"),
    ("tflite-runtime", "tflite_runtime.interpreter"),
)
"""(distribution, module) of each runtime, in the order they are tried."""


class Interpreter(Protocol):
    """The methods of ``Interpreter`` that the kit calls (same in LiteRT and tflite-runtime)."""

    def allocate_tensors(self) -> None: ...
    def get_input_details(self) -> list[dict[str, Any]]: ...
    def get_output_details(self) -> list[dict[str, Any]]: ...
    def resize_tensor_input(
        self, input_index: int, tensor_size: Sequence[int], strict: bool = False
    ) -> None: ...
    def set_tensor(self, tensor_index: int, value: NDArray[Any]) -> None: ...
    def invoke(self) -> None: ...
    def get_tensor(self, tensor_index: int) -> NDArray[Any]: ...


class InterpreterFactory(Protocol):
    """``Interpreter(model_content=..., num_threads=...)``."""

    def __call__(self, *, model_content: bytes, num_threads: int) -> Interpreter: ...


@dataclass(frozen=True)
class Runtime:
    """An importable runtime.

    Attributes:
        name: its distribution (``ai-edge-litert`` or ``tflite-runtime``), for logs and cards.
        interpreter: its ``Interpreter`` class.
    """

    name: str
    interpreter: InterpreterFactory


def find_runtime() -> Runtime:
    """The first runtime that imports; :class:`ModelError` naming both when neither does."""
    reasons: list[str] = []
    for distribution, module_name in RUNTIMES:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            reasons.append(f"{distribution}: {exc}")
            continue
        return Runtime(distribution, module.Interpreter)
    raise ModelError(
        "no TensorFlow Lite runtime is installed ("
        + "; ".join(reasons)
        + "). Install LiteRT with 'pip install ai-edge-litert' (Python 3.11-3.13 on x86-64 or "
        "aarch64; the kit's own dependency there), or on other machines "
        "'pip install tflite-runtime' (needs numpy<2)"
    )


NUMPY_TYPES: dict[str, type[np.generic]] = {
    "int8": np.int8,
    "uint8": np.uint8,
    "float32": np.float32,
}
"""The NumPy type of each dtype name a card may give."""

INTEGER_RANGES: dict[str, tuple[int, int]] = {"int8": (-128, 127), "uint8": (0, 255)}
"""Smallest and largest value of each integer dtype name."""
