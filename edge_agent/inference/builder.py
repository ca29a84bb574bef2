"""Small ``.tflite`` models written from NumPy arrays, for tests and benchmarks.

Two one-layer models whose outputs can be computed by hand: a fully connected classifier over
an image (``FULLY_CONNECTED`` flattens the image itself), optionally followed by a softmax, and
a 1 x 1 convolution (one big matrix multiply, the best case for an int8 kernel, which the
benchmark uses as this machine's reference MAC rate). Written with the flatbuffer schema that
LiteRT ships (``ai_edge_litert.schema_py_generated``) and the ``flatbuffers`` package it
depends on; nothing here is needed to run models.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from .errors import ModelError

DType = Literal["int8", "uint8", "float32"]


@dataclass(frozen=True)
class TensorQuantisation:
    """How a tensor stores numbers: ``real = (stored - zero_point) * scale``."""

    dtype: DType
    scale: float = 1.0
    zero_point: int = 0


FLOAT = TensorQuantisation("float32")


def _schema() -> Any:
    try:
        return importlib.import_module("ai_edge_litert.schema_py_generated")
    except ImportError as exc:
        raise ModelError(
            f"writing .tflite models needs LiteRT's schema ({exc}); pip install ai-edge-litert"
        ) from exc


class _Graph:
    """Collects tensors, buffers and operators of one subgraph."""

    def __init__(self) -> None:
        self.schema = _schema()
        self.tensors: list[Any] = []
        self.buffers: list[Any] = [self.schema.BufferT()]  # buffer 0: the empty sentinel
        self.operators: list[Any] = []
        self.codes: list[int] = []

    def tensor(
        self,
        name: str,
        shape: list[int],
        dtype: str,
        *,
        data: NDArray[Any] | None = None,
        scales: list[float] | None = None,
        zero_points: list[int] | None = None,
        dynamic_batch: bool = False,
    ) -> int:
        schema = self.schema
        t = schema.TensorT()
        t.name = name.encode()
        t.shape = shape
        if dynamic_batch:
            t.shapeSignature = [-1, *shape[1:]]
        t.type = {
            "float32": schema.TensorType.FLOAT32,
            "int8": schema.TensorType.INT8,
            "uint8": schema.TensorType.UINT8,
            "int32": schema.TensorType.INT32,
        }[dtype]
        if scales is not None:
            q = schema.QuantizationParametersT()
            q.scale = scales
            q.zeroPoint = zero_points if zero_points is not None else [0] * len(scales)
            q.quantizedDimension = 0
            t.quantization = q
        buffer = schema.BufferT()
        if data is not None:
            buffer.data = np.ascontiguousarray(data).view(np.uint8).ravel()
        self.buffers.append(buffer)
        t.buffer = len(self.buffers) - 1
        self.tensors.append(t)
        return len(self.tensors) - 1

    def activation(self, name: str, shape: list[int], q: TensorQuantisation, batch: bool) -> int:
        if q.dtype == "float32":
            return self.tensor(name, shape, "float32", dynamic_batch=batch)
        return self.tensor(
            name, shape, q.dtype, scales=[q.scale], zero_points=[q.zero_point], dynamic_batch=batch
        )

    def operator(
        self, code: int, inputs: list[int], outputs: list[int], kind: int, options: Any
    ) -> None:
        if code not in self.codes:
            self.codes.append(code)
        op = self.schema.OperatorT()
        op.opcodeIndex = self.codes.index(code)
        op.inputs, op.outputs = inputs, outputs
        op.builtinOptionsType, op.builtinOptions = kind, options
        self.operators.append(op)

    def finish(self, inputs: list[int], outputs: list[int]) -> bytes:
        flatbuffers = importlib.import_module("flatbuffers")
        schema = self.schema
        graph = schema.SubGraphT()
        graph.tensors, graph.operators = self.tensors, self.operators
        graph.inputs, graph.outputs = inputs, outputs
        codes = []
        for builtin in self.codes:
            code = schema.OperatorCodeT()
            code.builtinCode = builtin
            code.deprecatedBuiltinCode = min(builtin, 127)
            code.version = 1
            codes.append(code)
        model = schema.ModelT()
        model.version = 3
        model.operatorCodes, model.subgraphs, model.buffers = codes, [graph], self.buffers
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


def dense_classifier(
    weights: NDArray[np.float64],
    bias: NDArray[np.float64],
    image_shape: tuple[int, int, int],
    *,
    input_q: TensorQuantisation = FLOAT,
    output_q: TensorQuantisation = FLOAT,
    weight_scale: float = 1.0,
    softmax: bool = False,
    batch: int | None = None,
) -> bytes:
    """``softmax?(flatten(image) @ weights.T + bias)`` as a one-layer model.

    Args:
        weights: (classes, height * width * channels) real weights; for an integer model they
            are stored as ``round(w / weight_scale)`` int8, which the caller should make exact.
        bias: (classes,) real biases (int32 at scale ``input scale * weight_scale`` when
            quantised).
        image_shape: (height, width, channels) of one input image.
        input_q, output_q: the input and output tensors' storage (all float32, or both int8 /
            uint8 for a full-integer model).
        softmax: add a SOFTMAX after the layer (its output is then the model's output, and an
            integer ``output_q`` should be scale 1/256 with zero point -128 for int8).
        batch: a fixed batch size; ``None`` makes the batch dimension dynamic (size 1 at first).
    """
    g = _Graph()
    schema = g.schema
    ops = schema.BuiltinOperator
    classes = int(weights.shape[0])
    dynamic = batch is None
    rows = 1 if batch is None else batch
    image = g.activation("image", [rows, *image_shape], input_q, dynamic)
    integer = input_q.dtype != "float32"
    if integer:
        stored = np.rint(weights / weight_scale).astype(np.int8)
        w = g.tensor("weights", list(weights.shape), "int8", data=stored, scales=[weight_scale])
        bias_scale = input_q.scale * weight_scale
        b = g.tensor(
            "bias",
            [classes],
            "int32",
            data=np.rint(bias / bias_scale).astype(np.int32),
            scales=[bias_scale],
        )
    else:
        w = g.tensor("weights", list(weights.shape), "float32", data=weights.astype(np.float32))
        b = g.tensor("bias", [classes], "float32", data=bias.astype(np.float32))
    logits_q = output_q
    if softmax and integer:  # the layer's own output before the softmax
        logits_q = TensorQuantisation(output_q.dtype, 0.1, 0 if output_q.dtype == "int8" else 128)
    logits = g.activation("logits", [rows, classes], logits_q, dynamic)
    fc = schema.FullyConnectedOptionsT()
    kind = schema.BuiltinOptions.FullyConnectedOptions
    g.operator(ops.FULLY_CONNECTED, [image, w, b], [logits], kind, fc)
    output = logits
    if softmax:
        output = g.activation("probabilities", [rows, classes], output_q, dynamic)
        options = schema.SoftmaxOptionsT()
        options.beta = 1.0
        g.operator(ops.SOFTMAX, [logits], [output], schema.BuiltinOptions.SoftmaxOptions, options)
    return g.finish([image], [output])


def conv1x1(channels: int = 256, side: int = 32, seed: int = 0) -> tuple[bytes, int]:
    """An int8 1 x 1 convolution, ``channels`` -> ``channels`` on ``side`` x ``side`` pixels.

    Returns the model and its multiply-accumulates per invoke (``side² x channels²``).
    """
    g = _Graph()
    schema = g.schema
    rng = np.random.default_rng(seed)
    weights = rng.integers(-127, 128, (channels, 1, 1, channels), dtype=np.int8)
    image = g.tensor("input", [1, side, side, channels], "int8", scales=[0.05])
    w = g.tensor(
        "weights", [channels, 1, 1, channels], "int8", data=weights, scales=[0.01] * channels
    )
    b = g.tensor(
        "bias",
        [channels],
        "int32",
        data=np.zeros(channels, np.int32),
        scales=[0.0005] * channels,
    )
    out = g.tensor("output", [1, side, side, channels], "int8", scales=[0.5])
    options = schema.Conv2DOptionsT()
    options.padding, options.strideW, options.strideH = schema.Padding.VALID, 1, 1
    g.operator(
        schema.BuiltinOperator.CONV_2D,
        [image, w, b],
        [out],
        schema.BuiltinOptions.Conv2DOptions,
        options,
    )
    return g.finish([image], [out]), side * side * channels * channels
