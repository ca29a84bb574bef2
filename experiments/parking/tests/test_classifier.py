"""The shipped occupancy model and the classifier around it, on data the repository carries.

The patches in ``testcases/patches/`` and the frames rendered here come from the camera
driver's synthetic scene (see ``make_testcases.py``), not from CNRPark, whose images may not be
copied into the repository. The model never saw this scene: these tests check the plumbing
(card, quantisation, cropping, batching, colour order) end to end, and that the model still
tells a car from empty asphalt on it.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert.interpreter", reason="LiteRT (ai-edge-litert) not installed")

from drivers.camera.scene import ParkingScene
from edge_agent.errors import ConfigError
from edge_agent.inference import Model
from experiments.parking.bays import Bay, Lot, load_lot
from experiments.parking.classifier import (
    MODEL_PATH,
    LotClassifier,
    classify_patches,
    patch_to_input,
)
from experiments.parking.images import read_rgb
from experiments.parking.rectify import rect_quad

PATCHES = sorted((Path(__file__).parent / "testcases" / "patches").glob("*.png"))
SAMPLE_BAYS = Path(__file__).parents[1] / "sample-bays.toml"
MIDDAY = 12.5 * 3600.0


@pytest.fixture(scope="module")
def model() -> Model:
    return Model(MODEL_PATH)


def test_the_card_describes_the_shipped_file(model: Model) -> None:
    content = MODEL_PATH.read_bytes()
    card = tomllib.loads(MODEL_PATH.with_suffix(".toml").read_text())
    assert card["model"]["size_bytes"] == len(content) < 1_000_000
    assert card["model"]["sha256"] == hashlib.sha256(content).hexdigest()
    model.load()  # checks shape, dtype, scale and zero point against the card
    assert model.labels == ["free", "occupied"]
    assert model.card.input.quantisation.dtype == "int8"
    assert model.card.output.quantisation.dtype == "int8"
    for direction in ("a_to_b", "b_to_a"):
        assert 0.5 < model.card.evaluation[direction]["accuracy"] <= 1.0
    assert "Amato" in model.card.training["citation"]


def test_the_repository_patches_are_classified_by_what_they_show(model: Model) -> None:
    assert len(PATCHES) == 16
    truth = [path.name.startswith("occupied") for path in PATCHES]
    probabilities = classify_patches([read_rgb(path) for path in PATCHES], model)
    verdicts = [p >= 0.5 for p in probabilities]
    right = sum(v == t for v, t in zip(verdicts, truth, strict=True))
    assert right >= 14, list(zip([p.name for p in PATCHES], probabilities, strict=True))


def test_a_batch_gives_what_single_patches_give(model: Model) -> None:
    images = [read_rgb(path) for path in PATCHES]
    batched = classify_patches(images, model)
    single = [classify_patches([image], model)[0] for image in images]
    assert batched == single


def test_patches_are_resized_to_the_model_input(model: Model) -> None:
    image = read_rgb(PATCHES[0])
    assert image.shape[:2] != (48, 48)
    assert patch_to_input(image, model).shape == (*model.input_shape[:2], 3)


def test_bays_of_a_frame_are_classified_like_the_same_bays_cut_by_hand(model: Model) -> None:
    scene = ParkingScene(width=640, height=480, bays=6, seed=11)
    frame = scene.render(MIDDAY)
    verdicts = LotClassifier(load_lot(SAMPLE_BAYS), model).classify(frame)
    by_hand = classify_patches(
        [frame[b.y : b.y + b.height, b.x : b.x + b.width] for b in scene.boxes], model
    )
    assert [v.id for v in verdicts] == [b.bay for b in scene.boxes]
    np.testing.assert_allclose([v.occupied_probability for v in verdicts], by_hand, atol=1e-4)
    assert [v.occupied for v in verdicts] == [p >= 0.5 for p in by_hand]


def test_cars_of_the_synthetic_scene_score_above_empty_bays(model: Model) -> None:
    """The model never saw this cartoon-like scene; it still ranks bays with cars higher."""
    scene = ParkingScene(width=640, height=480, bays=6, seed=11)
    classifier = LotClassifier(load_lot(SAMPLE_BAYS), model)
    with_car: list[float] = []
    empty: list[float] = []
    for hour in (9, 11, 13, 15, 17):
        truth = scene.occupancy(hour * 3600.0)
        for verdict in classifier.classify(scene.render(hour * 3600.0)):
            (with_car if truth[verdict.id] else empty).append(verdict.occupied_probability)
    assert with_car
    assert empty
    assert np.mean(with_car) > np.mean(empty) + 0.3, (with_car, empty)


def test_bgr_frames_give_the_same_answer_when_declared(model: Model) -> None:
    frame = ParkingScene(width=640, height=480, bays=6, seed=2).render(MIDDAY)
    lot = load_lot(SAMPLE_BAYS)
    rgb = LotClassifier(lot, model).probabilities(frame)
    bgr = LotClassifier(lot, model, frame_colour_order="BGR").probabilities(
        np.ascontiguousarray(frame[..., ::-1])
    )
    np.testing.assert_array_equal(rgb, bgr)


def test_a_downscaled_stream_uses_the_scaled_bays(model: Model) -> None:
    """The sample bays are drawn on 640 x 480 frames; a 320 x 240 stream gets them halved."""
    frame = ParkingScene(width=640, height=480, bays=6, seed=4).render(MIDDAY)
    half = frame.reshape(240, 2, 320, 2, 3).mean(axis=(1, 3)).round().astype(np.uint8)
    classifier = LotClassifier(load_lot(SAMPLE_BAYS), model)
    full_patches, half_patches = classifier.patches(frame), classifier.patches(half)
    difference = np.abs(full_patches.astype(int) - half_patches.astype(int))
    assert difference.mean() < 4, difference.mean()  # the same bays, sampled a little apart


def test_bays_outside_the_frame_are_a_config_error(model: Model) -> None:
    lot = Lot((Bay("far", rect_quad(600, 400, 100, 100)),), None, Path("bays.toml"))
    classifier = LotClassifier(lot, model)
    with pytest.raises(ConfigError, match=r"bays\.toml: bay 0: corner .* outside the 640 x 480"):
        classifier.classify(np.zeros((480, 640, 3), np.uint8))


def test_a_frame_of_another_aspect_names_the_bays_file_once(model: Model) -> None:
    classifier = LotClassifier(load_lot(SAMPLE_BAYS), model)
    with pytest.raises(
        ConfigError, match=r"drawn on 640 x 480 frames but this frame is 72 x 118"
    ) as caught:
        classifier.classify(np.zeros((118, 72, 3), np.uint8))
    assert str(caught.value).count(str(SAMPLE_BAYS)) == 1


def test_a_model_without_an_occupied_label_is_refused(tmp_path: Path) -> None:
    card = MODEL_PATH.with_suffix(".toml").read_text().replace('"occupied"', '"taken"')
    (tmp_path / "occupancy.toml").write_text(card)
    (tmp_path / "occupancy.tflite").write_bytes(MODEL_PATH.read_bytes())
    with pytest.raises(ConfigError, match=r"labels \['free', 'taken'\] have no 'occupied'"):
        LotClassifier(load_lot(SAMPLE_BAYS), Model(tmp_path / "occupancy.tflite"))
