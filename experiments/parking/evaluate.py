"""Accuracy of an occupancy model on CNRPark patches, through the agent's own code path.

    .venv/bin/python -m experiments.parking.evaluate --camera B --from 1600
    .venv/bin/python -m experiments.parking.evaluate --model /tmp/a-to-b/occupancy.tflite --camera B

Reads the JPEG patches with OpenCV (the ``camera`` extra), resizes them with
:func:`~experiments.parking.classifier.patch_to_input` and runs them through
:class:`edge_agent.inference.Model` (LiteRT), exactly as ``edge-agent parking classify`` does,
and prints accuracy, balanced accuracy and the recall of each class as JSON. This is how the
figures of the shipped model in ``model/occupancy.toml`` were measured; the training script's
own figures come from TensorFlow's interpreter and agree with these.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from edge_agent.inference import Model

from .classifier import MODEL_PATH, classify_patches
from .images import read_rgb

DATASET = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "cnrpark-patches"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATASET, help="cnrpark-patches folder")
    parser.add_argument("--model", type=Path, default=MODEL_PATH, help="a .tflite with its card")
    parser.add_argument("--camera", required=True, help="A or B")
    parser.add_argument("--from", dest="first", default="0000", metavar="HHMM")
    parser.add_argument("--until", default="9999", metavar="HHMM", help="exclusive")
    args = parser.parse_args(argv)
    model = Model(args.model, num_threads=2)
    truth: list[bool] = []
    probabilities: list[float] = []
    for label in ("busy", "free"):
        paths = [
            path
            for path in sorted((args.data / args.camera / label).glob("*.jpg"))
            if args.first <= path.name.split("_")[1] < args.until
        ]
        for start in range(0, len(paths), 512):
            chunk = paths[start : start + 512]
            probabilities += classify_patches([read_rgb(path) for path in chunk], model)
            truth += [label == "busy"] * len(chunk)
    busy = np.array(truth)
    said = np.array(probabilities) >= 0.5
    busy_recall = float(np.mean(said[busy]))
    free_recall = float(np.mean(~said[~busy]))
    result = {
        "model": str(args.model),
        "camera": args.camera,
        "from": args.first,
        "until": args.until,
        "patches": len(busy),
        "accuracy": round(float(np.mean(said == busy)), 4),
        "balanced_accuracy": round((busy_recall + free_recall) / 2, 4),
        "busy_recall": round(busy_recall, 4),
        "free_recall": round(free_recall, 4),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
