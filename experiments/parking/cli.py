"""``edge-agent parking classify`` and ``edge-agent parking preview``.

``classify IMAGE...`` prints one JSON line per patch image::

    {"path": "bay-07.png", "occupied_probability": 0.9843, "verdict": "occupied"}

so a maker can check the model on patches of their own lot. ``preview --image FRAME --bays
FILE --out overlay.png`` classifies every bay of one frame and draws the bays in their state on
it, so a technician can check the calibration (and ``--patches mosaic.png`` shows the rectified
patches exactly as the model sees them).

:func:`register` adds the commands to ``edge-agent``'s subcommands; until then they also run as
``python -m experiments.parking.cli ...``. Reading JPEG needs OpenCV (the ``camera`` extra);
PNG and PPM are read without it (see :mod:`experiments.parking.images`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edge_agent.errors import ConfigError, EdgeKitError
from edge_agent.inference import Model

from .bays import load_lot
from .classifier import MODEL_PATH, LotClassifier, check_threshold, classify_patches
from .images import ImageFileError, read_rgb, write_png
from .overlay import draw_lot, mosaic

CHUNK = 256
"""Patches classified per batch by ``classify`` (bounds memory for thousands of files)."""


def register(commands: Any) -> None:
    """Add ``parking`` and its subcommands to an ``add_subparsers()`` object."""
    parking = commands.add_parser(
        "parking",
        help="check the parking model on patches and the bay calibration on a frame",
        description="Tools of the parking experiment: classify patches, preview a lot's bays.",
    )
    sub = parking.add_subparsers(dest="parking_command", metavar="SUBCOMMAND", required=True)

    classify = sub.add_parser(
        "classify",
        help="print each patch's occupied probability and verdict (JSON lines)",
        description=(
            "Classify image files that each show one parking bay (any size; resized to the "
            "model's input). Prints one JSON line per file: path, occupied_probability, verdict."
        ),
    )
    classify.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    _add_model_options(classify)
    classify.set_defaults(handler=cmd_classify)

    preview = sub.add_parser(
        "preview",
        help="draw the bays and their state on a frame (check the calibration)",
        description=(
            "Classify every bay of the bays file in one frame and write the frame with each "
            "bay outlined in its state (red occupied, green free), its id and probability."
        ),
    )
    preview.add_argument("--image", type=Path, required=True, metavar="FRAME", help="a frame")
    preview.add_argument("--bays", type=Path, required=True, metavar="FILE", help="bays.toml")
    preview.add_argument("--out", type=Path, required=True, metavar="PNG", help="overlay file")
    preview.add_argument(
        "--patches", type=Path, metavar="PNG", help="also write the rectified patches"
    )
    _add_model_options(preview)
    preview.set_defaults(handler=cmd_preview)


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        type=Path,
        default=MODEL_PATH,
        metavar="FILE",
        help="a .tflite with its card beside it (default: the shipped occupancy model)",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.5,
        metavar="P",
        help="occupied probability from which a bay counts as occupied (default 0.5)",
    )
    parser.add_argument(
        "--threads", type=int, default=1, metavar="N", help="inference threads (default 1)"
    )


def cmd_classify(args: argparse.Namespace) -> int:
    """Classify patch files; exit 1 if some could not be read (the others are still printed)."""
    threshold = check_threshold(args.threshold)
    model = Model(args.model, num_threads=args.threads)
    failed = 0
    paths: list[Path] = list(args.images)
    for start in range(0, len(paths), CHUNK):
        readable, images = [], []
        for path in paths[start : start + CHUNK]:
            try:
                images.append(read_rgb(path))
            except ImageFileError as exc:
                print(f"edge-agent parking classify: {exc}", file=sys.stderr)
                failed += 1
                continue
            readable.append(path)
        for path, probability in zip(readable, classify_patches(images, model), strict=True):
            verdict = "occupied" if probability >= threshold else "free"
            line = {
                "path": str(path),
                "occupied_probability": round(probability, 4),
                "verdict": verdict,
            }
            print(json.dumps(line), flush=True)
    return 1 if failed else 0


def cmd_preview(args: argparse.Namespace) -> int:
    """Draw the lot's bays in their state on one frame."""
    lot = load_lot(args.bays)
    frame = read_rgb(args.image)
    model = Model(args.model, num_threads=args.threads)
    classifier = LotClassifier(lot, model, threshold=args.threshold)
    verdicts = classifier.classify(frame)
    height, width = frame.shape[:2]
    write_png(args.out, draw_lot(frame, lot.quads_for(width, height), verdicts))
    if args.patches is not None:
        write_png(args.patches, mosaic(classifier.patches(frame)))
    occupied = sum(v.occupied for v in verdicts)
    print(f"{args.out}: {len(verdicts)} bays, {occupied} occupied, {len(verdicts) - occupied} free")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m experiments.parking.cli parking ...`` with ``edge-agent``'s exit codes."""
    parser = argparse.ArgumentParser(prog="python -m experiments.parking.cli")
    register(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except ConfigError as exc:
        print(f"edge-agent: config error:\n{exc}", file=sys.stderr)
        return 2
    except EdgeKitError as exc:
        print(f"edge-agent: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    return code


if __name__ == "__main__":
    raise SystemExit(main())
