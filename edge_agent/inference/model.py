"""An image classifier in a ``.tflite`` file, run through LiteRT with the help of its card.

::

    model = Model("experiments/parking/model/occupancy.tflite", num_threads=1)
    probabilities = await asyncio.to_thread(model.classify, patches)   # (N, labels) float32

``patches`` are uint8 pixels, shape (N, height, width, channels) as the card's ``[input]``
says. The model turns them into the input tensor with the card's normalisation and the
tensor's quantisation (a 256-entry table per channel, so int8 input costs one lookup per byte,
or a bit flip when the table is ``pixel - 128``), runs them in batches, and returns
dequantised probabilities in the order of the card's labels.

Loading is lazy: the card is read and checked when the :class:`Model` is made (cheap, so a bad
card fails at start-up), the runtime and the model file on the first :meth:`Model.load` or
:meth:`Model.classify`, in whichever thread calls first. The agent calls :meth:`Model.classify`
from a worker thread, never on its event loop; one lock serialises loading and inference, so
several threads may share a model (they take turns; use one model per thread to run in
parallel).

Batching: a model whose batch dimension is dynamic (``shape_signature[0] == -1``, what the
TFLite converter makes of a Keras model) is resized to the whole batch, split into equal chunks
of at most ``max_batch`` so that the tensor keeps one size frame after frame (resizing costs a
re-allocation). A model exported with a fixed batch is run chunk by chunk at that size (the
last chunk padded): resizing such a model can silently break ops that captured the batch size.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from ..errors import ConfigError
from .card import CARD_SUFFIXES, ModelCard, Quantisation, find_card
from .errors import ModelCardError, ModelError, ModelInputError
from .runtime import INTEGER_RANGES, NUMPY_TYPES, Interpreter, find_runtime

Batching = Literal["resizable", "fixed"]


@dataclass
class _Loaded:
    """What exists once the model is loaded."""

    interpreter: Interpreter
    runtime: str
    input_index: int
    output_index: int
    batching: Batching
    batch: int  # the input tensor's current batch size
    tensor_dtype: type[np.generic]
    output_width: int


class Model:
    """A ``.tflite`` image classifier and its model card.

    Args:
        path: the ``.tflite`` file (its card is the ``.toml`` or ``.json`` beside it), or the
            card itself (its ``model.file`` names the model).
        num_threads: threads the interpreter may use for one inference (1 on a Pi that runs
            the agent and other work; the agent's own event loop never runs inference).
        max_batch: most samples per ``invoke``; larger requests are cut into equal chunks.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, num_threads: int = 1, max_batch: int = 256
    ) -> None:
        path = Path(path)
        if num_threads < 1:
            raise ConfigError(f"num_threads={num_threads}: give 1 or more threads")
        if max_batch < 1:
            raise ConfigError(f"max_batch={max_batch}: give 1 or more samples per batch")
        if path.suffix in CARD_SUFFIXES:
            self.card = ModelCard.load(path)
            self.path = self.card.model_path
        else:
            self.card = ModelCard.load(find_card(path))
            self.path = path
        self.num_threads = num_threads
        self.max_batch = max_batch
        self.last_invoke_ms = 0.0
        """Time (ms, wall clock) spent in the interpreter by the last :meth:`infer`."""
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None
        self._lut = _input_table(self.card)

    def __repr__(self) -> str:
        state = f"loaded with {self._loaded.runtime}" if self._loaded else "not loaded"
        return f"Model({str(self.path)!r}, {state})"

    # --- what the card says ---------------------------------------------------------------

    @property
    def labels(self) -> list[str]:
        """The classes, in the order of :meth:`classify`'s columns."""
        return list(self.card.output.labels)

    @property
    def input_size(self) -> tuple[int, int]:
        """(width, height) of one input image, pixels."""
        return self.card.input.width, self.card.input.height

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(height, width, channels) of one input image."""
        return self.card.input.height, self.card.input.width, self.card.input.channels

    # --- loading ---------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """Whether the runtime and the model file have been loaded."""
        return self._loaded is not None

    @property
    def runtime(self) -> str:
        """The runtime running the model (``ai-edge-litert`` or ``tflite-runtime``); loads it."""
        return self._ensure_loaded().runtime

    @property
    def batching(self) -> Batching:
        """``resizable`` (one invoke per chunk of any size) or ``fixed``; loads the model."""
        return self._ensure_loaded().batching

    def load(self) -> None:
        """Import the runtime, read the model and check it against its card (idempotent).

        Raises:
            ModelError: the file is missing or not a TFLite model, or no runtime is installed.
            ModelCardError: the model's tensors contradict the card.
        """
        self._ensure_loaded()

    def _ensure_loaded(self) -> _Loaded:
        loaded = self._loaded
        if loaded is not None:
            return loaded
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded

    def _load(self) -> _Loaded:
        try:
            content = self.path.read_bytes()
        except FileNotFoundError:
            raise ModelError(
                f"{self.path}: no such model file (its card is {self.card.path}); check the "
                "path, or train it with the experiment's training script"
            ) from None
        except OSError as exc:
            raise ModelError(f"{self.path}: cannot read the model: {exc.strerror}") from exc
        self.card.check_file(content, self.path)
        runtime = find_runtime()
        try:
            interpreter = runtime.interpreter(model_content=content, num_threads=self.num_threads)
            interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(
                f"{self.path}: {runtime.name} cannot load it as a TensorFlow Lite model "
                f"({exc}); re-export it with the TFLite converter"
            ) from exc
        inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelError(
                f"{self.path}: has {len(inputs)} inputs and {len(outputs)} outputs; this "
                "wrapper runs image classifiers with one input and one output"
            )
        inp, out = inputs[0], outputs[0]
        self._check_tensors(inp, out)
        signature = [int(n) for n in inp.get("shape_signature", inp["shape"])]
        batching: Batching = "resizable" if signature[0] == -1 else "fixed"
        return _Loaded(
            interpreter=interpreter,
            runtime=runtime.name,
            input_index=int(inp["index"]),
            output_index=int(out["index"]),
            batching=batching,
            batch=int(inp["shape"][0]),
            tensor_dtype=np.dtype(inp["dtype"]).type,
            output_width=int(out["shape"][-1]),
        )

    def _check_tensors(self, inp: dict[str, Any], out: dict[str, Any]) -> None:
        """Compare the model's tensors with the card; ModelCardError on any difference."""
        card = self.card
        where = card.path
        problems: list[str] = []
        shape = tuple(int(n) for n in inp["shape"])
        expected = (card.input.height, card.input.width, card.input.channels)
        if len(shape) != 4 or shape[1:] != expected:
            problems.append(
                f"the model's input is {list(shape)} (batch, height, width, channels) but the "
                f"card says height {expected[0]}, width {expected[1]}, {card.input.colour_order}"
            )
        problems += _quantisation_problems("input", inp, card.input.quantisation)
        out_shape = tuple(int(n) for n in out["shape"])
        labels = len(card.output.labels)
        widths = (labels, 1) if labels == 2 else (labels,)
        if len(out_shape) != 2 or out_shape[1] not in widths:
            problems.append(
                f"the model's output is {list(out_shape)} but the card lists {labels} labels "
                f"{card.output.labels}"
            )
        problems += _quantisation_problems("output", out, card.output.quantisation)
        if problems:
            raise ModelCardError(
                "\n".join(f"{where}: {p}" for p in problems)
                + f"\nthe card does not describe {self.path}: fix the card from the model's "
                "tensor details (above) or put the model's own card beside it"
            )

    # --- inference -------------------------------------------------------------------------

    def prepare(self, pixels: NDArray[np.uint8]) -> NDArray[Any]:
        """The input tensor for uint8 ``pixels`` (N, height, width, channels): normalised and
        quantised as the card says. Pure NumPy, no lock: callers may prepare in parallel."""
        if pixels.dtype != np.uint8:
            raise ModelInputError(
                f"pixels of type {pixels.dtype}: {self.path.name} takes uint8 values 0..255 "
                "(convert with np.clip(x, 0, 255).astype(np.uint8))"
            )
        expected = self.input_shape
        if pixels.ndim == 3 and expected[2] == 1 and pixels.shape[1:] == expected[:2]:
            pixels = pixels[..., None]  # grey images without a channel axis
        if pixels.ndim != 4 or pixels.shape[1:] != expected:
            raise ModelInputError(
                f"pixels of shape {pixels.shape}: {self.path.name} takes (N, {expected[0]}, "
                f"{expected[1]}, {expected[2]}) {self.card.input.colour_order} images; resize "
                "the patches to the card's input size first"
            )
        lut = self._lut
        if isinstance(lut, str):  # int8 input with the table pixel - 128: flip the top bit
            return (pixels ^ np.uint8(0x80)).view(np.int8)
        if lut.shape[0] == 1:
            return np.take(lut[0], pixels)
        tensor = np.empty(pixels.shape, dtype=lut.dtype)
        for channel in range(pixels.shape[-1]):
            tensor[..., channel] = np.take(lut[channel], pixels[..., channel])
        return tensor

    def infer(self, tensor: NDArray[Any]) -> NDArray[np.float32]:
        """Run a prepared input tensor (N, height, width, channels); the dequantised outputs.

        Sets :attr:`last_invoke_ms`. Thread-safe: concurrent callers take turns.
        """
        count = len(tensor)
        loaded = self._ensure_loaded()
        if count == 0:
            return np.zeros((0, loaded.output_width), dtype=np.float32)
        if tensor.dtype != loaded.tensor_dtype:
            raise ModelInputError(
                f"tensor of type {tensor.dtype}: {self.path.name} takes "
                f"{np.dtype(loaded.tensor_dtype)}; make it with Model.prepare()"
            )
        if tensor.shape[1:] != self.input_shape:
            raise ModelInputError(
                f"tensor of shape {tensor.shape}: {self.path.name} takes (N, "
                f"{', '.join(map(str, self.input_shape))}); make it with Model.prepare()"
            )
        if loaded.batching == "resizable":
            chunks = math.ceil(count / self.max_batch)
            size = math.ceil(count / chunks)
        else:
            size = loaded.batch
            chunks = math.ceil(count / size)
        padded = chunks * size
        if padded != count:
            pad = np.zeros((padded - count, *tensor.shape[1:]), dtype=tensor.dtype)
            tensor = np.concatenate([tensor, pad])
        parts: list[NDArray[Any]] = []
        interpreter = loaded.interpreter
        with self._lock:
            started = time.perf_counter()
            if size != loaded.batch:
                interpreter.resize_tensor_input(loaded.input_index, [size, *tensor.shape[1:]])
                interpreter.allocate_tensors()
                loaded.batch = size
            for start in range(0, padded, size):
                interpreter.set_tensor(loaded.input_index, tensor[start : start + size])
                interpreter.invoke()
                parts.append(interpreter.get_tensor(loaded.output_index))
            self.last_invoke_ms = (time.perf_counter() - started) * 1000.0
        raw = np.concatenate(parts)[:count]
        return _dequantise(raw, self.card.output.quantisation)

    def classify(self, pixels: NDArray[np.uint8]) -> NDArray[np.float32]:
        """Class probabilities of each image: shape (N, len(labels)), rows sum to 1.

        Args:
            pixels: uint8, (N, height, width, channels) or one (height, width, channels)
                image, channels in the card's colour order.
        """
        if pixels.ndim == 3 and pixels.shape == self.input_shape:
            pixels = pixels[None]
        scores = self.infer(self.prepare(pixels)).astype(np.float64)
        if self.card.output.kind == "logits":
            if scores.shape[1] == 1:
                scores = 1.0 / (1.0 + np.exp(-scores))
            else:
                shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
                scores = shifted / shifted.sum(axis=1, keepdims=True)
        if scores.shape[1] == 1:  # one output for two labels: the probability of the second
            scores = np.concatenate([1.0 - scores, scores], axis=1)
        return scores.astype(np.float32)


def _input_table(card: ModelCard) -> NDArray[Any] | str:
    """Per channel, the input tensor value of each pixel value 0..255: shape (1 or C, 256).

    Returns the marker ``"flip"`` when the table is ``pixel - 128`` as int8 (the usual full
    integer model whose input range is 0..255), which :meth:`Model.prepare` does with a XOR.
    """
    spec = card.input
    channels = max(len(spec.mean), len(spec.std))
    mean = np.broadcast_to(np.asarray(spec.mean, dtype=np.float64), (channels,))
    std = np.broadcast_to(np.asarray(spec.std, dtype=np.float64), (channels,))
    pixel = np.arange(256, dtype=np.float64)
    real = (pixel[None, :] - mean[:, None]) / std[:, None]
    q = spec.quantisation
    if q.dtype == "float32":
        return real.astype(np.float32)
    assert q.scale is not None  # the card's validator ensures both
    assert q.zero_point is not None
    low, high = INTEGER_RANGES[q.dtype]
    quantised = np.clip(np.rint(real / q.scale) + q.zero_point, low, high)
    table: NDArray[Any] = quantised.astype(NUMPY_TYPES[q.dtype])
    if q.dtype == "int8" and np.array_equal(table, np.broadcast_to(pixel - 128, table.shape)):
        return "flip"
    if channels > 1 and (table == table[0]).all():
        return table[:1]
    return table


def _dequantise(raw: NDArray[Any], quantisation: Quantisation) -> NDArray[np.float32]:
    if quantisation.dtype == "float32":
        return raw.astype(np.float32, copy=False)
    assert quantisation.scale is not None
    assert quantisation.zero_point is not None
    return ((raw.astype(np.float32) - quantisation.zero_point) * quantisation.scale).astype(
        np.float32
    )


def _quantisation_problems(which: str, details: dict[str, Any], card: Quantisation) -> list[str]:
    """Differences between a tensor's type, scale and zero point and the card's."""
    dtype = np.dtype(details["dtype"]).name
    if dtype != card.dtype:
        return [f"{which}.quantisation.dtype = {card.dtype!r} but the model's {which} is {dtype}"]
    if card.dtype == "float32":
        return []
    scale, zero_point = details["quantization"]
    assert card.scale is not None
    if not math.isclose(float(scale), card.scale, rel_tol=1e-6) or int(zero_point) != (
        card.zero_point
    ):
        return [
            f"{which}.quantisation says scale {card.scale}, zero_point {card.zero_point} but "
            f"the model's {which} has scale {float(scale)!r}, zero_point {int(zero_point)}"
        ]
    return []
