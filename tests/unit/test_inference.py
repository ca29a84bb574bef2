"""The inference wrapper: cards, quantisation, batching, lazy loading, threads, runtime choice.

The models are one-layer ``.tflite`` files written by :mod:`edge_agent.inference.builder`, so
every expected output is computed here by hand from the weights; they run through the real
LiteRT interpreter.
"""

from __future__ import annotations

import hashlib
import sys
import threading
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert.interpreter", reason="LiteRT (ai-edge-litert) not installed")

from edge_agent.errors import ConfigError
from edge_agent.inference import Model, ModelCard, ModelCardError, ModelError, ModelInputError
from edge_agent.inference.builder import TensorQuantisation, dense_classifier

SHAPE = (4, 4, 3)  # height, width, channels of the test images
FEATURES = 4 * 4 * 3
INT8_IN = TensorQuantisation("int8", 1.0, -128)
INT8_PROBS = TensorQuantisation("int8", 1 / 256, -128)


def card_text(
    *,
    width: int = 4,
    height: int = 4,
    labels: tuple[str, ...] = ("free", "occupied"),
    input_q: str = "{ dtype = 'float32' }",
    output_q: str = "{ dtype = 'float32' }",
    mean: str = "[0.0]",
    std: str = "[1.0]",
    kind: str = "probabilities",
    extra: str = "",
) -> str:
    label_list = ", ".join(f'"{label}"' for label in labels)
    return f"""
[model]
name = "test"
{extra}

[input]
width = {width}
height = {height}
mean = {mean}
std = {std}
quantisation = {input_q}

[output]
labels = [{label_list}]
kind = "{kind}"
quantisation = {output_q}

[evaluation]
accuracy = 0.5
"""


def write_model(folder: Path, content: bytes, card: str, name: str = "m") -> Path:
    path = folder / f"{name}.tflite"
    path.write_bytes(content)
    (folder / f"{name}.toml").write_text(card)
    return path


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture
def images() -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, (10, *SHAPE), dtype=np.uint8)


@pytest.fixture
def float_model(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """A float softmax classifier over normalised pixels: mean 127.5, std 127.5."""
    rng = np.random.default_rng(1)
    weights = rng.normal(0, 0.5, (2, FEATURES))
    bias = np.array([0.25, -0.25])
    content = dense_classifier(weights, bias, SHAPE, softmax=True)
    card = card_text(mean="[127.5]", std="[127.5]")
    return write_model(tmp_path, content, card), weights, bias


def int8_model(tmp_path: Path, **options: Any) -> tuple[Path, np.ndarray]:
    """A full-integer softmax classifier whose int8 weights are exact multiples of 1/1024."""
    rng = np.random.default_rng(2)
    weights = rng.integers(-3, 4, (2, FEATURES)) / 1024
    content = dense_classifier(
        weights,
        np.zeros(2),
        SHAPE,
        input_q=INT8_IN,
        output_q=INT8_PROBS,
        weight_scale=1 / 1024,
        softmax=True,
        **options,
    )
    card = card_text(
        input_q="{ dtype = 'int8', scale = 1.0, zero_point = -128 }",
        output_q="{ dtype = 'int8', scale = 0.00390625, zero_point = -128 }",
    )
    return write_model(tmp_path, content, card), weights


# --- the card ------------------------------------------------------------------------------


def test_card_is_found_beside_the_model_and_the_model_through_the_card(
    float_model: tuple[Path, np.ndarray, np.ndarray],
) -> None:
    path, _, _ = float_model
    by_model = Model(path)
    by_card = Model(path.with_suffix(".toml"))
    assert by_model.path == by_card.path == path
    assert by_model.labels == ["free", "occupied"]
    assert by_model.input_size == (4, 4)
    assert by_model.card.evaluation == {"accuracy": 0.5}
    assert not by_model.loaded  # nothing imported or read until first use


def test_a_json_card_works_like_a_toml_one(tmp_path: Path) -> None:
    content = dense_classifier(np.zeros((2, FEATURES)), np.zeros(2), SHAPE, softmax=True)
    (tmp_path / "m.tflite").write_bytes(content)
    (tmp_path / "m.json").write_text(
        '{"model": {"name": "j"}, "input": {"width": 4, "height": 4, "quantisation": '
        '{"dtype": "float32"}}, "output": {"labels": ["a", "b"], "quantisation": '
        '{"dtype": "float32"}}}'
    )
    probabilities = Model(tmp_path / "m.tflite").classify(np.zeros((1, *SHAPE), np.uint8))
    np.testing.assert_allclose(probabilities, [[0.5, 0.5]])


def test_missing_card_names_the_expected_file(tmp_path: Path) -> None:
    (tmp_path / "lonely.tflite").write_bytes(b"x")
    with pytest.raises(ModelCardError, match=r"lonely\.toml: no such model card"):
        Model(tmp_path / "lonely.tflite")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"extra": "sise_bytes = 3"}, r"model\.sise_bytes: unknown key .*size_bytes"),
        ({"input_q": "{ dtype = 'int8' }"}, r"input\.quantisation: .*needs scale and zero_point"),
        ({"mean": "[1.0, 2.0]"}, r"input: mean has 2 values; give 1 or 3"),
        ({"std": "[0.0]"}, r"std \[0\.0\] contains 0"),
        ({"kind": "odds"}, r"output\.kind: .*'probabilities' or 'logits'"),
        ({"input_q": "{ dtype = 'int8', scale = 1.0, zero_point = 300 }"}, r"outside int8"),
    ],
)
def test_card_errors_name_the_file_and_key(
    tmp_path: Path, change: dict[str, str], message: str
) -> None:
    path = tmp_path / "m.toml"
    path.write_text(card_text(**change))
    with pytest.raises(ModelCardError, match=message) as caught:
        ModelCard.load(path)
    assert str(path) in str(caught.value)
    assert isinstance(caught.value, ConfigError)  # the CLI reports it as a config error


# --- float and quantised inference ---------------------------------------------------------


def test_float_model_normalises_pixels_as_the_card_says(
    float_model: tuple[Path, np.ndarray, np.ndarray], images: np.ndarray
) -> None:
    path, weights, bias = float_model
    expected = softmax((images.reshape(10, -1) - 127.5) / 127.5 @ weights.T + bias)
    np.testing.assert_allclose(Model(path).classify(images), expected, atol=1e-5)


def test_int8_model_quantises_input_and_dequantises_output(
    tmp_path: Path, images: np.ndarray
) -> None:
    path, weights = int8_model(tmp_path)
    model = Model(path)
    expected = softmax(images.reshape(10, -1).astype(float) @ weights.T)
    # Logits are stored in steps of 0.1, probabilities in steps of 1/256.
    np.testing.assert_allclose(model.classify(images), expected, atol=0.02)
    tensor = model.prepare(images)
    assert tensor.dtype == np.int8
    np.testing.assert_array_equal(tensor.astype(int), images.astype(int) - 128)


def test_uint8_input_with_its_own_normalisation_uses_a_lookup_table(tmp_path: Path) -> None:
    """Input uint8 with scale 2/255, zero point 128, normalisation (pixel - 127.5) / 127.5."""
    q = TensorQuantisation("uint8", 2 / 255, 128)
    weights = np.zeros((2, FEATURES))
    content = dense_classifier(
        weights,
        np.zeros(2),
        SHAPE,
        input_q=q,
        output_q=TensorQuantisation("uint8", 1 / 256, 0),
        weight_scale=1 / 64,
        softmax=True,
    )
    card = card_text(
        mean="[127.5, 127.5, 127.5]",
        std="[127.5, 127.5, 127.5]",
        input_q=f"{{ dtype = 'uint8', scale = {2 / 255!r}, zero_point = 128 }}",
        output_q="{ dtype = 'uint8', scale = 0.00390625, zero_point = 0 }",
    )
    model = Model(write_model(tmp_path, content, card))
    pixels = np.array([0, 1, 127, 128, 200, 255], dtype=np.uint8)
    patch = np.resize(pixels, (1, *SHAPE)).astype(np.uint8)
    tensor = model.prepare(patch)
    real = (patch.astype(float) - 127.5) / 127.5
    np.testing.assert_array_equal(tensor, np.clip(np.rint(real / (2 / 255)) + 128, 0, 255))
    np.testing.assert_allclose(model.classify(patch), [[0.5, 0.5]], atol=1 / 256)


def test_logits_get_a_softmax_and_a_single_logit_a_sigmoid(tmp_path: Path) -> None:
    weights = np.full((2, FEATURES), 0.01)
    weights[1] = -0.01
    two = dense_classifier(weights, np.zeros(2), SHAPE)
    model = Model(write_model(tmp_path, two, card_text(kind="logits"), "two"))
    patch = np.full((1, *SHAPE), 1, np.uint8)  # logits: ±48 features x 1 x 0.01
    np.testing.assert_allclose(model.classify(patch), softmax(np.array([[0.48, -0.48]])), 1e-5)

    one = dense_classifier(weights[:1], np.zeros(1), SHAPE)
    model = Model(write_model(tmp_path, one, card_text(kind="logits"), "one"))
    p = 1 / (1 + np.exp(-0.48))
    np.testing.assert_allclose(model.classify(patch), [[1 - p, p]], rtol=1e-5)


# --- the card must describe the model ------------------------------------------------------


@pytest.mark.parametrize(
    ("card", "message"),
    [
        (
            card_text(
                input_q="{ dtype = 'int8', scale = 1.0, zero_point = -127 }",
                output_q="{ dtype = 'int8', scale = 0.00390625, zero_point = -128 }",
            ),
            r"input\.quantisation says scale 1\.0, zero_point -127 but the model's input has "
            r"scale 1\.0, zero_point -128",
        ),
        (
            card_text(
                width=8,
                input_q="{ dtype = 'int8', scale = 1.0, zero_point = -128 }",
                output_q="{ dtype = 'int8', scale = 0.00390625, zero_point = -128 }",
            ),
            r"the model's input is \[1, 4, 4, 3\] .* but the card says height 4, width 8",
        ),
        (
            card_text(
                labels=("a", "b", "c"),
                input_q="{ dtype = 'int8', scale = 1.0, zero_point = -128 }",
                output_q="{ dtype = 'int8', scale = 0.00390625, zero_point = -128 }",
            ),
            r"the model's output is \[1, 2\] but the card lists 3 labels",
        ),
        (card_text(), r"input\.quantisation\.dtype = 'float32' but the model's input is int8"),
    ],
)
def test_a_card_that_contradicts_the_model_is_refused_on_load(
    tmp_path: Path, card: str, message: str
) -> None:
    path, _ = int8_model(tmp_path)
    path.with_suffix(".toml").write_text(card)
    model = Model(path)
    with pytest.raises(ModelCardError, match=message) as caught:
        model.load()
    assert "fix the card from the model's tensor details" in str(caught.value)


def test_size_and_hash_in_the_card_pair_it_with_one_model_file(tmp_path: Path) -> None:
    path, _ = int8_model(tmp_path)
    content = path.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    base = path.with_suffix(".toml").read_text()
    good = base.replace('name = "test"', f'name = "test"\nsize_bytes = {len(content)}')
    card = path.with_suffix(".toml")
    card.write_text(good.replace("\n\n[input]", f'\nsha256 = "{digest}"\n\n[input]'))
    Model(path).load()

    card.write_text(base.replace('name = "test"', 'name = "t"\nsize_bytes = 5'))
    with pytest.raises(ModelCardError, match=rf"size_bytes = 5 but .*m\.tflite has {len(content)}"):
        Model(path).load()
    card.write_text(base.replace('name = "test"', f'name = "t"\nsha256 = "{"0" * 64}"'))
    with pytest.raises(ModelCardError, match=rf"hashes to {digest}"):
        Model(path).load()


# --- loading -------------------------------------------------------------------------------


def test_loading_is_lazy_and_a_missing_model_fails_on_first_use(tmp_path: Path) -> None:
    (tmp_path / "gone.toml").write_text(card_text())
    model = Model(tmp_path / "gone.tflite")  # the card is fine; the file is read later
    with pytest.raises(ModelError, match=r"gone\.tflite: no such model file .*train it"):
        model.classify(np.zeros((1, *SHAPE), np.uint8))


def test_a_file_that_is_no_tflite_model_is_refused(tmp_path: Path) -> None:
    path = write_model(tmp_path, b"not a flatbuffer at all" * 10, card_text())
    with pytest.raises(ModelError, match=r"m\.tflite: ai-edge-litert cannot load it"):
        Model(path).load()


def test_bad_pixels_are_refused_with_the_expected_shape(
    float_model: tuple[Path, np.ndarray, np.ndarray],
) -> None:
    model = Model(float_model[0])
    with pytest.raises(ModelInputError, match=r"m\.tflite takes uint8"):
        model.classify(np.zeros((1, *SHAPE), np.float32))  # type: ignore[arg-type]
    with pytest.raises(ModelInputError, match=r"takes \(N, 4, 4, 3\) RGB images"):
        model.classify(np.zeros((2, 5, 4, 3), np.uint8))
    with pytest.raises(ModelInputError, match=r"tensor of type int8: m\.tflite takes float32"):
        model.infer(np.zeros((1, *SHAPE), np.int8))
    with pytest.raises(ModelInputError, match=r"tensor of shape \(1, 3, 4, 3\)"):
        model.infer(np.zeros((1, 3, 4, 3), np.float32))


def test_bad_options_are_config_errors(float_model: tuple[Path, np.ndarray, np.ndarray]) -> None:
    with pytest.raises(ConfigError, match="num_threads=0"):
        Model(float_model[0], num_threads=0)
    with pytest.raises(ConfigError, match="max_batch=0"):
        Model(float_model[0], max_batch=0)


# --- batching ------------------------------------------------------------------------------


def one_by_one(model: Model, images: np.ndarray) -> np.ndarray:
    return np.concatenate([model.classify(image[None]) for image in images])


@pytest.mark.parametrize("max_batch", [256, 3, 1])
def test_a_dynamic_batch_gives_what_single_images_give(
    tmp_path: Path, images: np.ndarray, max_batch: int
) -> None:
    path, _ = int8_model(tmp_path)
    batched = Model(path, max_batch=max_batch)
    assert batched.batching == "resizable"
    result = batched.classify(images)
    assert result.shape == (10, 2)
    np.testing.assert_array_equal(result, one_by_one(Model(path), images))
    assert batched.last_invoke_ms > 0


def test_a_fixed_batch_model_runs_in_chunks_with_the_last_one_padded(
    tmp_path: Path, images: np.ndarray
) -> None:
    path, _ = int8_model(tmp_path, batch=4)
    model = Model(path)
    assert model.batching == "fixed"
    result = model.classify(images)  # 10 images: chunks of 4, 4 and 2 + 2 padding
    (tmp_path / "dynamic").mkdir()
    reference, _ = int8_model(tmp_path / "dynamic")
    np.testing.assert_array_equal(result, one_by_one(Model(reference), images))


def test_an_empty_batch_gives_no_rows(float_model: tuple[Path, np.ndarray, np.ndarray]) -> None:
    assert Model(float_model[0]).classify(np.zeros((0, *SHAPE), np.uint8)).shape == (0, 2)


def test_one_model_serves_several_threads(tmp_path: Path) -> None:
    """Threads with different batch sizes share one interpreter; the lock keeps them apart.

    Switching threads every microsecond makes a switch between resizing, setting the input,
    invoking and reading the output likely, which without the lock mixes up the batches.
    """
    path, _ = int8_model(tmp_path)
    model = Model(path)
    rng = np.random.default_rng(3)
    work = [rng.integers(0, 256, (n, *SHAPE), dtype=np.uint8) for n in (1, 3, 7, 16)]
    expected = [Model(path).classify(batch) for batch in work]
    failures: list[str] = []
    start = threading.Barrier(len(work))

    def worker(index: int) -> None:
        start.wait(timeout=60)
        for _ in range(200):
            try:
                got = model.classify(work[index])
            except (ValueError, RuntimeError) as exc:  # what an unguarded interpreter raises
                failures.append(f"thread {index}: {exc}")
                continue
            if not np.array_equal(got, expected[index]):
                failures.append(f"thread {index}: wrong result of shape {got.shape}")

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(work))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        sys.setswitchinterval(previous)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []


# --- the runtime ---------------------------------------------------------------------------


def test_tflite_runtime_is_used_where_litert_is_missing(
    monkeypatch: pytest.MonkeyPatch, float_model: tuple[Path, np.ndarray, np.ndarray]
) -> None:
    """tflite-runtime offers the same Interpreter; here LiteRT's class stands in for it."""
    from ai_edge_litert.interpreter import Interpreter

    package = types.ModuleType("tflite_runtime")
    module = types.ModuleType("tflite_runtime.interpreter")
    module.Interpreter = Interpreter  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    monkeypatch.setitem(sys.modules, "tflite_runtime", package)
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", module)
    model = Model(float_model[0])
    assert model.runtime == "tflite-runtime"
    assert model.classify(np.zeros((1, *SHAPE), np.uint8)).shape == (1, 2)


def test_without_any_runtime_the_error_names_both_packages(
    monkeypatch: pytest.MonkeyPatch, float_model: tuple[Path, np.ndarray, np.ndarray]
) -> None:
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", None)
    model = Model(float_model[0])
    with pytest.raises(ModelError, match=r"pip install ai-edge-litert.*pip install tflite-runtime"):
        model.load()
