"""On-device inference: ``.tflite`` models run by LiteRT, described by a model card beside them.

::

    from edge_agent.inference import Model

    model = Model(folder / "model" / "occupancy.tflite")      # reads and checks the card
    probabilities = await ctx.run_in_thread(model.classify, patches)

| module | what it holds |
|---|---|
| :mod:`~edge_agent.inference.model` | :class:`Model`: lazy loading, quantisation, batching |
| :mod:`~edge_agent.inference.card` | :class:`ModelCard`: the card's tables and their checks |
| :mod:`~edge_agent.inference.runtime` | LiteRT, else tflite-runtime, imported on first use |
| :mod:`~edge_agent.inference.errors` | :class:`ModelError`, :class:`ModelCardError`, ... |

Times are in milliseconds (``last_invoke_ms``); pixels are uint8 0..255.
"""

from __future__ import annotations

from .card import InputSpec, ModelCard, ModelInfo, OutputSpec, Quantisation, find_card
from .errors import ModelCardError, ModelError, ModelInputError
from .model import Batching, Model
from .runtime import Runtime, find_runtime

__all__ = [
    "Batching",
    "InputSpec",
    "Model",
    "ModelCard",
    "ModelCardError",
    "ModelError",
    "ModelInfo",
    "ModelInputError",
    "OutputSpec",
    "Quantisation",
    "Runtime",
    "find_card",
    "find_runtime",
]
