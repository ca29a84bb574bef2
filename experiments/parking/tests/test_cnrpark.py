"""The shipped model on real CNRPark patches it never saw (needs the shared dataset).

The shipped model was trained on cameras A and B up to 15:55; the patches taken from 16:00 on
were held out (see ``model/occupancy.toml``). These tests classify 200 held-out patches of each
camera (a fixed sample) through the same code path as ``edge-agent parking classify``.

The bars sit a little below what the shipped model reaches on these samples (A 0.97, B 0.82;
on the whole held-out windows A 0.961, B 0.864), high enough that a broken input path fails
(with red and blue swapped the samples give A 0.935, B 0.695). Camera B's afternoon is the
hardest part of the data (its patches of free bays often show a neighbour's car); the 0.9 that
one would like there is not reached. JPEG needs OpenCV (the camera extra).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert.interpreter", reason="LiteRT (ai-edge-litert) not installed")

from edge_agent.inference import Model
from experiments.parking.classifier import MODEL_PATH, classify_patches
from experiments.parking.images import read_rgb

DATASET = Path(__file__).resolve().parents[3].parent / "shared" / "datasets" / "cnrpark-patches"


def held_out_patches(camera: str, count: int) -> list[tuple[Path, bool]]:
    card = tomllib.loads(MODEL_PATH.with_suffix(".toml").read_text())
    first = card["training"]["held_out_from"]  # "HHMM": patches from then on were not trained on
    chosen: list[tuple[Path, bool]] = []
    for label in ("busy", "free"):
        for path in sorted((DATASET / camera / label).glob("*.jpg")):
            if path.name.split("_")[1] >= first:
                chosen.append((path, label == "busy"))
    rng = np.random.default_rng(0)
    picks = rng.choice(len(chosen), size=min(count, len(chosen)), replace=False)
    return [chosen[i] for i in sorted(picks)]


@pytest.mark.skipif(
    not DATASET.is_dir(), reason=f"CNRPark patches not present at {DATASET} (research data set)"
)
@pytest.mark.parametrize(("camera", "bar"), [("A", 0.95), ("B", 0.8)])
def test_held_out_patches_are_classified_well(camera: str, bar: float) -> None:
    pytest.importorskip("cv2", reason="reading JPEG needs OpenCV (the camera extra)")
    patches = held_out_patches(camera, 200)
    assert len(patches) == 200
    probabilities = classify_patches([read_rgb(path) for path, _ in patches], Model(MODEL_PATH))
    right = sum((p >= 0.5) == busy for p, (_, busy) in zip(probabilities, patches, strict=True))
    assert right / len(patches) >= bar, f"{right} of {len(patches)}"
