"""The training script's data side (numpy only; TensorFlow is not needed for these) and --help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments.parking import train

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def patches() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (20, train.STORE, train.STORE, 3), dtype=np.uint8)
    sizes = np.array([[150, 150]] * 18 + [[113, 150], [150, 143]], dtype=np.int32)
    return pixels, sizes


def test_plain_quads_cut_each_patch_whole(patches: tuple[np.ndarray, np.ndarray]) -> None:
    pixels, sizes = patches
    cut = train.cut(pixels, train.plain_quads(sizes), 50)
    # Samples at 0.25 and 0.75 of each 3 x 3 px footprint: its pixels 0 and 2 on each axis.
    block = pixels[0].astype(int).reshape(50, 3, 50, 3, 3)[:, ::2, :, ::2].sum(axis=(1, 3))
    np.testing.assert_array_equal(cut[0], (block + 2) // 4)


def test_jittered_quads_stay_within_the_mirrored_margin(
    patches: tuple[np.ndarray, np.ndarray],
) -> None:
    _, sizes = patches
    quads = train.jittered_quads(np.repeat(sizes, 50, axis=0), np.random.default_rng(1), 0.5)
    limit = np.repeat(sizes, 50, axis=0)[:, None, :] + train.MARGIN
    assert (quads >= -train.MARGIN).all()
    assert (quads <= limit).all()
    spans = quads.max(axis=1) - quads.min(axis=1)
    assert spans.min() > 50  # a bay stays a bay, not a sliver


def test_augmented_patches_are_valid_pixels_without_warnings(
    patches: tuple[np.ndarray, np.ndarray],
) -> None:
    """Heavy occlusion and every light and weather effect give uint8 patches; the run is under
    -W error, so numpy's warnings about invalid values (a NaN cast to uint8) fail it."""
    pixels, sizes = patches
    rng = np.random.default_rng(2)
    for _ in range(5):
        cut = train.cut(pixels, train.jittered_quads(sizes, rng, 0.5), 48)
        out = train.photometric(cut, rng, occlusion=3.0)
        assert out.dtype == np.uint8
        assert out.shape == (20, 48, 48, 3)
        assert 0 < out.mean() < 255


def test_scores_count_both_classes() -> None:
    label = np.array([1, 1, 0, 0], dtype=np.int32)
    busy = np.array([0.9, 0.2, 0.1, 0.6], dtype=np.float32)
    result = train.scores(label, busy)
    assert result == {
        "patches": 4,
        "accuracy": 0.5,
        "balanced_accuracy": 0.5,
        "busy_recall": 0.5,
        "free_recall": 0.5,
    }


@pytest.mark.parametrize(
    "command",
    [
        ["experiments/parking/train.py", "--help"],
        ["-m", "experiments.parking.evaluate", "--help"],
        ["-m", "experiments.parking.cli", "parking", "classify", "--help"],
        ["bench/inference.py", "--help"],
    ],
    ids=["train", "evaluate", "cli", "bench"],
)
def test_scripts_explain_themselves(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, *command], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
