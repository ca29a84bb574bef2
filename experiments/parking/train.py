"""Train the parking-bay occupancy model and convert it to a full-integer int8 ``.tflite``.

Needs the ``train`` extra (TensorFlow, Pillow), never the agent's runtime. Run it with a Python
that has them, from the repository root::

    python experiments/parking/train.py --train A --eval B           # cross-camera A -> B
    python experiments/parking/train.py --train B --eval A           # cross-camera B -> A
    python experiments/parking/train.py --train A B --out experiments/parking/model

Data: the CNRPark patches (Amato et al. 2017, see ``model/occupancy.toml``) in
``../shared/datasets/cnrpark-patches`` (``<camera>/<busy|free>/*.jpg``). The split is by camera:
the frames of one camera repeat the same slots every five minutes, so a random split inside a
camera would leak. The images are decoded once and cached as ``.npy`` under ``--cache-dir``
(outside the repository; the images must never be copied into it).

Patches reach the network through :mod:`experiments.parking.rectify`, the same code the agent
uses on camera frames. Viewpoint augmentation is done there too: each epoch every patch is cut
along a randomly rotated, scaled, sheared, shifted, perspective-jittered and mirrored
quadrilateral, like a bay drawn a little differently on another camera. Light (brightness,
contrast, gamma, white balance, grey) and weather (blur, noise, haze) are applied to the pixels.

Outputs in ``--out``: ``occupancy.tflite`` (int8 in and out, calibrated on training patches
only) and ``metrics.json`` (the recipe, timings and the int8 model's accuracy on every
``--eval`` camera, through the TFLite interpreter).
"""

# ruff: noqa: PLC0415 - TensorFlow and Pillow load only when needed, so that --help is instant

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from experiments.parking.rectify import BayRectifier  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "datasets" / "cnrpark-patches"
CLASSES = ("free", "busy")  # label 0 = free, 1 = occupied ("busy" in CNRPark)
STORE = 150  # cached patches are padded to STORE x STORE pixels
MARGIN = 24  # mirrored border around each patch, so a bay can be drawn larger than the patch


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- data ----------------------------------------------------------------------------------


def load_camera(data: Path, camera: str, cache_dir: Path) -> dict[str, NDArray[Any]]:
    """Every patch of one camera at full resolution, padded to 150 x 150, with its true size.

    Returns ``pixels`` (N, 150, 150, 3) uint8, ``size`` (N, 2) width/height, ``label`` (N,)
    0 free / 1 busy, ``name`` (N,) file names. Cached in ``cache_dir`` after the first call.
    """
    cache = cache_dir / f"cnrpark-{camera}-full.npz"
    if cache.exists():
        loaded = np.load(cache)
        return {key: loaded[key] for key in loaded.files}
    from PIL import Image

    files: list[tuple[Path, int]] = []
    for label, cls in enumerate(CLASSES):
        folder = data / camera / cls
        if not folder.is_dir():
            raise SystemExit(f"{folder}: no such folder; point --data at cnrpark-patches")
        files += [(path, label) for path in sorted(folder.glob("*.jpg"))]
    log(f"decoding {len(files)} patches of camera {camera} (cached in {cache})")
    pixels = np.empty((len(files), STORE, STORE, 3), dtype=np.uint8)
    size = np.empty((len(files), 2), dtype=np.int32)
    for i, (path, _) in enumerate(files):
        with Image.open(path) as image:
            rgb = np.asarray(image.convert("RGB"))
        h, w = min(rgb.shape[0], STORE), min(rgb.shape[1], STORE)
        pixels[i] = np.pad(rgb[:h, :w], ((0, STORE - h), (0, STORE - w), (0, 0)), mode="edge")
        size[i] = (w, h)
    result = {
        "pixels": pixels,
        "size": size,
        "label": np.array([label for _, label in files], dtype=np.int32),
        "name": np.array([path.name for path, _ in files]),
    }
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **result)
    return result


def clock_time(names: NDArray[Any]) -> NDArray[np.str_]:
    """Time of day ``HHMM`` of each patch, from its file name ``YYYYMMDD_HHMM_<slot>.jpg``."""
    return np.array([str(name).split("_")[1] for name in names])


def cut(
    pixels: NDArray[np.uint8], quads: NDArray[np.float64], size: int, chunk: int = 1000
) -> NDArray[np.uint8]:
    """Rectify ``quads[i]`` of patch ``i`` to ``size`` x ``size``, through the agent's code.

    Quads are in the patch's pixels and may reach ``MARGIN`` pixels beyond it: each patch is
    framed by a mirrored border (neighbouring bays look much like that). The framed patches are
    stacked into one tall frame, so one :class:`BayRectifier` cuts a whole chunk in one call.
    """
    out = np.empty((len(pixels), size, size, 3), dtype=np.uint8)
    side = STORE + 2 * MARGIN
    for start in range(0, len(pixels), chunk):
        block = np.pad(
            pixels[start : start + chunk],
            ((0, 0), (MARGIN, MARGIN), (MARGIN, MARGIN), (0, 0)),
            mode="reflect",
        )
        offsets = np.arange(len(block), dtype=np.float64) * side
        q = quads[start : start + chunk] + MARGIN
        q[:, :, 1] += offsets[:, None]
        rectifier = BayRectifier(
            q,
            frame_width=side,
            frame_height=side * len(block),
            patch_width=size,
            patch_height=size,
        )
        out[start : start + len(block)] = rectifier.crop(block.reshape(-1, side, 3))
    return out


def plain_quads(sizes: NDArray[np.int32]) -> NDArray[np.float64]:
    """Each patch's whole area, as a bay drawn exactly around it."""
    w, h = sizes[:, 0].astype(np.float64), sizes[:, 1].astype(np.float64)
    zero = np.zeros_like(w)
    corners = [(zero, zero), (w, zero), (w, h), (zero, h)]
    return np.stack([np.stack(corner, 1) for corner in corners], axis=1)


def jittered_quads(
    sizes: NDArray[np.int32], rng: np.random.Generator, turn: float = 0.0
) -> NDArray[np.float64]:
    """Viewpoint augmentation: the bay drawn rotated, scaled, sheared, shifted, in perspective.

    Mirrored half of the time; with probability ``turn`` also turned by 90, 180 or 270 degrees
    (the corners listed from another start), as a bay seen from another side, or drawn
    starting at another corner, comes out.
    """
    n = len(sizes)
    unit = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])
    angle = np.radians(rng.uniform(-12, 12, n))
    scale = np.exp(rng.uniform(np.log(0.75), np.log(1.3), n))  # > 1: the bay drawn larger
    aspect = np.exp(rng.uniform(-0.12, 0.12, n))
    shear = rng.uniform(-0.15, 0.15, n)
    cos, sin = np.cos(angle), np.sin(angle)
    # x' = R @ Shear @ Scale @ x, per patch
    sx, sy = scale * aspect, scale / aspect
    m = np.empty((n, 2, 2))
    m[:, 0, 0] = cos * sx
    m[:, 0, 1] = (cos * shear - sin) * sy
    m[:, 1, 0] = sin * sx
    m[:, 1, 1] = (sin * shear + cos) * sy
    corners = np.einsum("nij,kj->nki", m, unit)
    corners += rng.normal(0, 0.03, (n, 4, 2))  # perspective: each corner on its own
    corners += rng.uniform(-0.1, 0.1, (n, 1, 2)) + 0.5
    mirror = rng.random(n) < 0.5
    corners[mirror] = corners[mirror][:, [1, 0, 3, 2]]
    steps = np.where(rng.random(n) < turn, rng.integers(1, 4, n), 0)
    order = (np.arange(4)[None, :] + steps[:, None]) % 4
    corners = np.take_along_axis(corners, order[:, :, None], axis=1)
    quads = corners * sizes[:, None, :].astype(np.float64)
    return np.clip(quads, -MARGIN, sizes[:, None, :].astype(np.float64) + MARGIN)


def _blobs(rng: np.random.Generator, n: int, size: int, cells: int) -> NDArray[np.float32]:
    """Smooth random fields in [0, 1), shape (n, size, size): coarse noise, blown up, blurred."""
    coarse = rng.random((n, cells, cells)).astype(np.float32)
    step = -(-size // cells)
    field = np.repeat(np.repeat(coarse, step, axis=1), step, axis=2)[:, :size, :size]
    for axis in (1, 2):  # two box blurs of a cell each: roughly a Gaussian
        for _ in range(2):
            field = (np.roll(field, step // 2, axis) + field + np.roll(field, -step // 2, axis)) / 3
    return field


def occlude(x: NDArray[np.float32], rng: np.random.Generator, amount: float) -> None:
    """Things in front of or over a bay that do not change its state, in place.

    Foliage (a blob of leafy texture over part of the patch, entering from one side), a cast
    shadow (a soft-edged half-plane, darker) and a pole or trunk (a dark bar). ``amount``
    scales how often each happens (1.0: 30 %, 30 %, 10 % of the patches).
    """
    n, size = len(x), x.shape[1]
    foliage = rng.random(n) < 0.3 * amount
    if foliage.any():
        k = int(foliage.sum())
        blob = _blobs(rng, k, size, 6)
        ramp = np.linspace(1.0, -1.0, size, dtype=np.float32)
        side = rng.integers(0, 4, k)
        slope = np.stack([np.rot90(np.tile(ramp[:, None], (1, size)), s) for s in side])
        cover = rng.uniform(0.1, 0.65, k).astype(np.float32)
        score = blob + 0.6 * slope
        ranked = np.sort(score.reshape(k, -1), axis=1)
        cut_at = ranked[np.arange(k), ((1 - cover) * (size * size - 1)).astype(int)]
        mask = score >= cut_at[:, None, None]
        base = np.stack(
            [rng.uniform(0.2, 0.65, k), rng.uniform(0.3, 0.7, k), rng.uniform(0.1, 0.35, k)], 1
        ).astype(np.float32)
        fine = _blobs(rng, k, size, size // 4)[..., None]
        speckle = rng.normal(1.0, 0.2, (k, size, size, 1)).astype(np.float32)
        grain = (0.45 + 0.9 * fine) * speckle
        leaves = base[:, None, None, :] * grain
        x[foliage] = np.where(mask[..., None], leaves, x[foliage])
    shadow = rng.random(n) < 0.3 * amount
    if shadow.any():
        k = int(shadow.sum())
        angle = rng.uniform(0, 2 * np.pi, k)
        grid = np.linspace(-1, 1, size, dtype=np.float32)
        yy, xx = np.meshgrid(grid, grid, indexing="ij")
        distance = np.cos(angle)[:, None, None] * xx + np.sin(angle)[:, None, None] * yy
        distance = distance - rng.uniform(-0.7, 0.7, k)[:, None, None]
        soft = np.clip(distance * 8 + 0.5, 0, 1).astype(np.float32)
        depth = rng.uniform(0.35, 0.75, k).astype(np.float32)[:, None, None]
        x[shadow] *= (1 - soft * (1 - depth))[..., None]
    pole = rng.random(n) < 0.1 * amount
    for i in np.flatnonzero(pole):
        width = int(rng.integers(2, 6))
        left = int(rng.integers(0, size - width))
        top = int(rng.integers(0, size // 2))
        x[i, top:, left : left + width] = rng.uniform(0.1, 0.4, 3) * rng.uniform(0.6, 1.0)


def photometric(
    batch: NDArray[np.uint8], rng: np.random.Generator, occlusion: float = 1.0
) -> NDArray[np.uint8]:
    """Light and weather: brightness, contrast, gamma, white balance, grey, haze, blur, noise."""
    n = len(batch)
    x = batch.astype(np.float32) / 255.0
    if occlusion > 0:
        occlude(x, rng, occlusion)
        np.clip(x, 0.0, 1.0, out=x)  # leaf speckle can stray below 0, where gamma is undefined

    def pick(p: float) -> NDArray[np.bool_]:
        return rng.random(n) < p

    def per(values: NDArray[Any]) -> NDArray[np.float32]:
        return values.astype(np.float32).reshape(n, 1, 1, -1)

    x = x ** per(np.exp(rng.uniform(-0.5, 0.5, n)))  # gamma 0.6 .. 1.65
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    x = (x - mean) * per(rng.uniform(0.6, 1.4, n)) + mean  # contrast
    x = x + per(rng.uniform(-0.15, 0.15, n))  # brightness
    x = x * per(rng.uniform(0.88, 1.12, (n, 3)))  # white balance
    grey = pick(0.1)
    x[grey] = x[grey].mean(axis=3, keepdims=True)
    haze = pick(0.3)
    amount = per(rng.uniform(0.1, 0.5, n) * haze)
    x = x * (1 - amount) + amount * per(rng.uniform(0.6, 1.0, n))
    blur = pick(0.3)
    if blur.any():
        b = x[blur]
        padded = np.pad(b, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
        h, w = b.shape[1:3]
        kernel = (1.0, 2.0, 1.0)
        rows = sum(k * padded[:, i : i + h, :, :] for i, k in enumerate(kernel)) / 4
        x[blur] = sum(k * rows[:, :, i : i + w, :] for i, k in enumerate(kernel)) / 4
    x = x + rng.normal(0, 1, x.shape).astype(np.float32) * per(rng.uniform(0, 0.035, n))
    return np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)


# --- model ---------------------------------------------------------------------------------


def build_model(size: int, width: float) -> Any:
    """A small depthwise-separable CNN; input uint8-range RGB pixels as float, softmax out."""
    import keras
    from keras import layers

    def channels(c: int) -> int:
        return max(8, round(c * width / 8) * 8)

    def conv_bn(x: Any, filters: int, stride: int) -> Any:
        x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.ReLU(6.0)(x)

    def separable(x: Any, filters: int, stride: int) -> Any:
        x = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU(6.0)(x)
        x = layers.Conv2D(filters, 1, use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.ReLU(6.0)(x)

    inputs = keras.Input((size, size, 3), name="pixels")
    x = layers.Rescaling(1 / 127.5, offset=-1.0)(inputs)
    x = conv_bn(x, channels(16), 2)
    for filters, stride in ((32, 1), (64, 2), (64, 1), (128, 2), (128, 2)):
        x = separable(x, channels(filters), stride)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(2, activation="softmax", name="occupancy")(x)
    return keras.Model(inputs, outputs, name="parking_occupancy")


def convert_int8(model: Any, calibration: NDArray[np.uint8]) -> bytes:
    """Full-integer int8 conversion; input and output are int8 tensors."""
    import tensorflow as tf

    def representative() -> Any:
        # The extremes first, so the input range is exactly 0..255 (scale 1, zero point -128).
        extremes = np.zeros((1, *calibration.shape[1:]), dtype=np.float32)
        extremes[0, 0, 0, :] = 255.0
        yield [extremes]
        for patch in calibration:
            yield [patch[None].astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return bytes(converter.convert())


def tflite_busy_probability(
    model: bytes, patches: NDArray[np.uint8], batch: int = 256
) -> NDArray[np.float32]:
    """Occupied probability of each patch through the int8 model (TFLite interpreter)."""
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_content=model, num_threads=2)
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    in_scale, in_zero = inp["quantization"]
    out_scale, out_zero = out["quantization"]
    result = np.empty(len(patches), dtype=np.float32)
    for start in range(0, len(patches), batch):
        chunk = patches[start : start + batch].astype(np.float32)
        q = np.clip(np.rint(chunk / in_scale + in_zero), -128, 127).astype(np.int8)
        interpreter.resize_tensor_input(inp["index"], q.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(inp["index"], q)
        interpreter.invoke()
        raw = interpreter.get_tensor(out["index"]).astype(np.float32)
        result[start : start + len(chunk)] = (raw[:, 1] - out_zero) * out_scale
    return result


def scores(label: NDArray[np.int32], busy: NDArray[np.float32]) -> dict[str, float]:
    """Accuracy at 0.5, balanced accuracy, and the per-class recall."""
    verdict = busy >= 0.5
    tp = float(np.sum(verdict & (label == 1)))
    tn = float(np.sum(~verdict & (label == 0)))
    busy_recall = tp / max(1, int(np.sum(label == 1)))
    free_recall = tn / max(1, int(np.sum(label == 0)))
    return {
        "patches": len(label),
        "accuracy": round((tp + tn) / len(label), 4),
        "balanced_accuracy": round((busy_recall + free_recall) / 2, 4),
        "busy_recall": round(busy_recall, 4),
        "free_recall": round(free_recall, 4),
    }


# --- main ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Train the parking occupancy CNN on CNRPark patches of some cameras, convert it to "
            "int8 .tflite, and report its accuracy on the cameras it never saw."
        )
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="cnrpark-patches folder")
    parser.add_argument("--train", nargs="+", default=["A"], metavar="CAM", help="default A")
    parser.add_argument("--eval", nargs="*", default=None, metavar="CAM", help="default: others")
    parser.add_argument("--out", type=Path, default=None, help="default /tmp/parking-<train>")
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/cnrpark-cache"))
    parser.add_argument("--size", type=int, default=48, help="input pixels per side (48)")
    parser.add_argument("--width", type=float, default=1.0, help="channel multiplier (1.0)")
    parser.add_argument("--epochs", type=int, default=16, help="default 16")
    parser.add_argument("--batch", type=int, default=64, help="default 64")
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (3e-3)")
    parser.add_argument(
        "--occlusion", type=float, default=1.0, help="foliage/shadow/pole frequency (1.0)"
    )
    parser.add_argument(
        "--turn", type=float, default=0.5, help="share of patches turned by 90/180/270 (0.5)"
    )
    parser.add_argument(
        "--holdout-from",
        default="9999",
        metavar="HHMM",
        help="keep patches taken at or after this time of day out of training (default: none)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow threads (2)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cameras = sorted({path.name for path in args.data.iterdir() if path.is_dir()})
    for camera in args.train + (args.eval or []):
        if camera not in cameras:
            raise SystemExit(f"camera {camera!r} not in {args.data}; cameras: {cameras}")
    evaluate = args.eval if args.eval is not None else [c for c in cameras if c not in args.train]
    out = args.out or Path(f"/tmp/parking-{''.join(args.train)}")
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    started = time.process_time(), time.monotonic()

    data = {camera: load_camera(args.data, camera, args.cache_dir) for camera in cameras}
    # Patches taken at or after --holdout-from never reach training or calibration.
    held = {c: clock_time(data[c]["name"]) >= args.holdout_from for c in cameras}
    keep = {c: ~held[c] if c in args.train else np.zeros_like(held[c]) for c in cameras}
    train_pixels = np.concatenate([data[c]["pixels"][keep[c]] for c in args.train])
    train_size = np.concatenate([data[c]["size"][keep[c]] for c in args.train])
    train_label = np.concatenate([data[c]["label"][keep[c]] for c in args.train])
    counts = np.bincount(train_label, minlength=2)
    class_weight = {i: float(len(train_label) / (2 * counts[i])) for i in range(2)}
    log(f"train on {'+'.join(args.train)}: {len(train_label)} patches, free/busy {counts}")

    model = build_model(args.size, args.width)
    steps = args.epochs * int(np.ceil(len(train_label) / args.batch))
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, steps, warmup_target=args.lr, warmup_steps=steps // 20
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    log(f"model: {model.count_params()} parameters, input {args.size}x{args.size}x3")

    def augmented(epoch: int) -> NDArray[np.uint8]:
        """The epoch's training patches; its own generator, so threads do not change them."""
        epoch_rng = np.random.default_rng([args.seed, epoch])
        quads = jittered_quads(train_size, epoch_rng, args.turn)
        return photometric(cut(train_pixels, quads, args.size), epoch_rng, args.occlusion)

    # The next epoch's patches are made (numpy, one core) while Keras trains on these.
    with ThreadPoolExecutor(max_workers=1) as pool:
        upcoming = pool.submit(augmented, 0)
        for epoch in range(args.epochs):
            t0 = time.monotonic()
            patches = upcoming.result()
            wait = time.monotonic() - t0
            if epoch + 1 < args.epochs:
                upcoming = pool.submit(augmented, epoch + 1)
            history = model.fit(
                patches.astype(np.float32),
                train_label,
                batch_size=args.batch,
                epochs=1,
                shuffle=True,
                class_weight=class_weight,
                verbose=0,
            )
            log(
                f"epoch {epoch + 1}/{args.epochs}: loss {history.history['loss'][-1]:.4f} "
                f"accuracy {history.history['accuracy'][-1]:.4f} "
                f"({time.monotonic() - t0:.0f} s, {wait:.0f} s of it waiting for augmentation)"
            )

    clean = cut(train_pixels, plain_quads(train_size), args.size)
    calibration = clean[rng.choice(len(clean), size=min(500, len(clean)), replace=False)]
    log("converting to int8 .tflite")
    tflite = convert_int8(model, calibration)
    (out / "occupancy.tflite").write_bytes(tflite)
    results: dict[str, Any] = {}
    float_results: dict[str, Any] = {}
    parts: list[tuple[str, str, NDArray[np.bool_]]] = []
    for camera in args.train:
        parts.append((camera, f"{camera} (trained on)", keep[camera]))
        if held[camera].any():
            parts.append((camera, f"{camera} from {args.holdout_from} (held out)", held[camera]))
    parts += [(camera, camera, np.ones_like(held[camera])) for camera in evaluate]
    for camera, key, chosen in parts:
        sizes = data[camera]["size"][chosen]
        pixels = cut(data[camera]["pixels"][chosen], plain_quads(sizes), args.size)
        labels = data[camera]["label"][chosen]
        busy = tflite_busy_probability(tflite, pixels)
        results[key] = scores(labels, busy)
        log(f"int8 model on camera {key}: {results[key]}")
        floating = model.predict(pixels.astype(np.float32), batch_size=256, verbose=0)[:, 1]
        float_results[key] = scores(labels, floating)
        log(f"float model on camera {key}: {float_results[key]}")
    metrics = {
        "train_cameras": args.train,
        "holdout_from": args.holdout_from,
        "eval_cameras": evaluate,
        "recipe": {
            k: getattr(args, k)
            for k in ("size", "width", "epochs", "batch", "lr", "occlusion", "turn", "seed")
        },
        "parameters": model.count_params(),
        "tflite_bytes": len(tflite),
        "cpu_seconds": round(time.process_time() - started[0]),
        "wall_seconds": round(time.monotonic() - started[1]),
        "int8_accuracy": results,
        "float_accuracy": float_results,
        "command": "python experiments/parking/train.py " + " ".join(sys.argv[1:]),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    log(f"wrote {out / 'occupancy.tflite'} ({len(tflite)} bytes) and {out / 'metrics.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
