"""The shipped model on real CNRPark patches it never saw (needs the shared dataset).

The shipped model was trained on cameras A and B up to 15:55; the patches taken from 16:00 on
were held out (see ``model/occupancy.toml``). This test classifies 200 of camera B's held-out
patches through the same code path as ``edge-agent parking classify``. JPEG needs OpenCV.
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
def test_held_out_camera_b_patches_are_classified_well() -> None:
    pytest.importorskip("cv2", reason="reading JPEG needs OpenCV (the camera extra)")
    patches = held_out_patches("B", 200)
    assert len(patches) == 200
    probabilities = classify_patches([read_rgb(path) for path, _ in patches], Model(MODEL_PATH))
    right = sum((p >= 0.5) == busy for p, (_, busy) in zip(probabilities, patches, strict=True))
    assert right / len(patches) >= 0.9, f"{right} of {len(patches)}"
