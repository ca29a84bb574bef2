"""Parking inference per frame: crop + classify 50 and 164 bays on one thread.

Prints, for a 1920 x 1080 frame of the simulated parking scene with 50 and with 164 bays, the
median milliseconds per frame of

- crop: rectifying every bay to the model's input (numpy, :mod:`experiments.parking.rectify`);
- classify, batched: all bays in one ``invoke`` (the agent's way);
- classify, per patch: one ``invoke`` per bay (what a fixed-batch model would cost);
- crop + classify batched: the whole frame, the figure the 15 ms target is about;

and the share of the model's multiply-accumulate bound reached: the model's MACs per patch are
counted from its layer shapes (convolutions, depthwise convolutions, fully connected), and the
bound is the int8 MAC rate this machine reaches through the same runtime on one thread on an
ideal layer (a 1 x 1 convolution, 256 -> 256 channels on 32 x 32 pixels: one big GEMM, from
:func:`edge_agent.inference.builder.conv1x1`). ``share = achieved MAC/s / reference MAC/s``.

Times are medians of CPU time of the measuring thread (``time.thread_time``): with one
interpreter thread LiteRT computes in the caller's thread, so this is the work of one core,
unaffected by other processes taking turns on it; wall times are printed beside them.

Run: ``.venv/bin/python bench/inference.py`` (``--quick`` for fewer repetitions, ``--json``
for ``bench/run``). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from drivers.camera.scene import ParkingScene  # noqa: E402
from edge_agent.inference import Model  # noqa: E402
from edge_agent.inference.builder import conv1x1  # noqa: E402
from experiments.parking.bays import Bay, Lot  # noqa: E402
from experiments.parking.classifier import MODEL_PATH, LotClassifier  # noqa: E402
from experiments.parking.rectify import rect_quad  # noqa: E402

WIDTH, HEIGHT = 1920, 1080
NOON = 12.5 * 3600.0  # a busy time of the simulated day (UTC+1 13:30)


def lot_frame(bays: int, rows: int) -> tuple[NDArray[np.uint8], Lot]:
    """A WIDTH x HEIGHT frame of ``rows`` stacked scene strips holding ``bays`` bays in all."""
    strips: list[NDArray[np.uint8]] = []
    lot: list[Bay] = []
    strip_h = HEIGHT // rows
    for row in range(rows):
        count = bays // rows + (1 if row < bays % rows else 0)
        scene = ParkingScene(width=WIDTH, height=strip_h, bays=count, seed=row)
        strips.append(scene.render(NOON))
        for box in scene.boxes:
            quad = rect_quad(box.x, box.y + row * strip_h, box.width, box.height)
            lot.append(Bay(f"r{row}-{box.bay}", quad))
    frame = np.ascontiguousarray(np.concatenate(strips))
    full = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    full[: len(frame)] = frame
    return full, Lot(tuple(lot), (WIDTH, HEIGHT))


@dataclass(frozen=True)
class Timing:
    """Medians of one measured action, in milliseconds."""

    wall: float
    cpu: float
    """CPU time of the calling thread: the one core's work, without the time spent waiting
    while other processes had the core (LiteRT with one thread computes in this thread)."""


def measure(action: Callable[[], object], repeats: int) -> Timing:
    """Median wall and CPU time of ``action`` in milliseconds, after one warm-up call."""
    action()
    wall, cpu = [], []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.thread_time()
        action()
        cpu.append((time.thread_time() - started_cpu) * 1000.0)
        wall.append((time.perf_counter() - started) * 1000.0)
    return Timing(statistics.median(wall), statistics.median(cpu))


# --- MAC counting and the reference layer ----------------------------------------------------


def _schema() -> Any:
    import ai_edge_litert.schema_py_generated as schema

    return schema


def count_macs(model_file: Path) -> dict[str, int]:
    """Multiply-accumulates per sample of each layer kind, from the model's tensor shapes."""
    schema = _schema()
    model = schema.ModelT.InitFromPackedBuf(model_file.read_bytes(), 0)
    graph = model.subgraphs[0]
    ops = schema.BuiltinOperator
    totals: dict[str, int] = {}
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        kind = max(code.builtinCode, code.deprecatedBuiltinCode)
        out = graph.tensors[op.outputs[0]].shape
        weights = graph.tensors[op.inputs[1]].shape if len(op.inputs) > 1 else None
        if kind == ops.CONV_2D:  # weights (c_out, kh, kw, c_in)
            name, macs = "conv", int(np.prod(out[1:3])) * int(np.prod(weights))
        elif kind == ops.DEPTHWISE_CONV_2D:  # weights (1, kh, kw, c_out)
            name, macs = "depthwise", int(np.prod(out[1:3])) * int(np.prod(weights))
        elif kind == ops.FULLY_CONNECTED:  # weights (out, in), per row of the batch
            name, macs = "fully connected", int(np.prod(weights))
        else:
            continue
        totals[name] = totals.get(name, 0) + macs
    return totals


def reference_rate(repeats: int) -> float:
    """int8 MACs per CPU second of one thread on the ideal layer (median of ``repeats``)."""
    from ai_edge_litert.interpreter import Interpreter

    content, macs = conv1x1()
    interpreter = Interpreter(model_content=content, num_threads=1)
    interpreter.allocate_tensors()
    index = interpreter.get_input_details()[0]["index"]
    data = np.random.default_rng(1).integers(-128, 128, (1, 32, 32, 256), dtype=np.int8)
    interpreter.set_tensor(index, data)
    ms = measure(interpreter.invoke, repeats).cpu
    return macs / (ms / 1000.0)


# --- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a rough look)")
    parser.add_argument("--model", type=Path, default=MODEL_PATH, help="a .tflite with its card")
    parser.add_argument("--threads", type=int, default=1, help="inference threads (default 1)")
    parser.add_argument(
        "--json", action="store_true", help="figures as JSON on stdout (the table on stderr)"
    )
    args = parser.parse_args(argv)
    repeats = 5 if args.quick else 31
    stdout, figures = sys.stdout, []
    if args.json:
        sys.stdout = sys.stderr

    model = Model(args.model, num_threads=args.threads)
    per_patch_model = Model(args.model, num_threads=args.threads)
    macs = count_macs(model.path)
    patch_macs = sum(macs.values())
    reference = reference_rate(repeats)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.processor() or ''}")
    print(f"model: {model.path.name}, {model.path.stat().st_size} bytes, runtime {model.runtime}")
    print(
        f"MACs per patch: {patch_macs / 1e6:.2f} M ("
        + ", ".join(f"{k} {v / 1e6:.2f} M" for k, v in macs.items())
        + ")"
    )
    print(
        f"reference int8 rate (1x1 conv 256->256 on 32x32, 1 thread): {reference / 1e9:.1f} GMAC/s"
    )
    print(f"threads: {args.threads}; median of {repeats} runs; frame {WIDTH}x{HEIGHT}")
    print()
    print("ms per frame, CPU time of one core (wall time in brackets: includes waiting for a")
    print("core that other processes hold)")
    header = f"{'bays':>5} {'crop':>14} {'batched':>14} {'per patch':>14} {'crop+batched':>14}"
    print(header + f" {'ms/bay':>7} {'MAC share':>10}")
    for bays, rows in ((50, 5), (164, 8)):
        frame, lot = lot_frame(bays, rows)
        classifier = LotClassifier(lot, model)
        patches = classifier.patches(frame)
        crop = measure(lambda c=classifier, f=frame: c.patches(f), repeats)
        batched = measure(lambda p=patches: model.classify(p), repeats)
        per_patch = measure(
            lambda p=patches: [per_patch_model.classify(p[i : i + 1]) for i in range(len(p))],
            max(3, repeats // 3),
        )
        whole = measure(lambda c=classifier, f=frame: c.probabilities(f), repeats)
        share = bays * patch_macs / (batched.cpu / 1000.0) / reference
        cells = " ".join(
            f"{t.cpu:>6.2f} ({t.wall:>5.1f})" for t in (crop, batched, per_patch, whole)
        )
        print(f"{bays:>5} {cells} {whole.cpu / bays:>7.3f} {share:>10.0%}")
        target = 15.0 if bays == 50 else None
        figures += [
            (
                f"crop + classify {bays} bays, one core (CPU)",
                "ms/frame",
                whole.cpu,
                target,
                "lower",
            ),
            (f"crop + classify {bays} bays (wall)", "ms/frame", whole.wall, None, None),
            (f"classify {bays} bays batched (CPU)", "ms/frame", batched.cpu, None, None),
            (f"classify {bays} bays one by one (CPU)", "ms/frame", per_patch.cpu, None, None),
            (f"share of the int8 MAC bound, {bays} bays", "%", round(share * 100, 1), None, None),
        ]
    print()
    print("MAC share: the model's MACs per second in the batched classify (CPU time), as a share")
    print("of the reference rate. Target: crop+batched <= 15 ms for 50 bays on one core.")
    if args.json:
        keys = ("figure", "unit", "measured", "target", "better")
        document = {
            "benchmark": "inference",
            "figures": [dict(zip(keys, f, strict=True)) for f in figures],
        }
        print(json.dumps(document), file=stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
