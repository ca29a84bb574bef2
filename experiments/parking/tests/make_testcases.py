"""Render the test patches in ``testcases/patches/`` from the camera driver's synthetic scene.

    .venv/bin/python -m experiments.parking.tests.make_testcases

Writes 16 PNG patches (8 with a car, 8 without), each the pixel box of one bay of
:class:`drivers.camera.scene.ParkingScene` (320 x 240 frames, 4 bays) in daylight. The file
name carries the scene's ground truth (``occupied-...`` or ``free-...``). Nothing here comes
from CNRPark, so the repository may carry the files. Deterministic: same files every run.
"""

from __future__ import annotations

from pathlib import Path

from drivers.camera.scene import ParkingScene
from experiments.parking.images import encode_png

FOLDER = Path(__file__).parent / "testcases" / "patches"
PER_CLASS = 8


def main() -> int:
    FOLDER.mkdir(parents=True, exist_ok=True)
    for old in FOLDER.glob("*.png"):
        old.unlink()
    counts = {True: 0, False: 0}
    seed = 0
    while min(counts.values()) < PER_CLASS:
        scene = ParkingScene(width=320, height=240, bays=4, seed=seed)
        now = 12 * 3600.0 + seed * 4111.0  # around midday local time, a different moment each
        frame = scene.render(now)
        for box in scene.boxes:
            occupied = scene.visit(int(box.bay.split("-")[1]) - 1, now) is not None
            if counts[occupied] >= PER_CLASS:
                continue
            counts[occupied] += 1
            name = f"{'occupied' if occupied else 'free'}-{counts[occupied]:02d}.png"
            patch = frame[box.y : box.y + box.height, box.x : box.x + box.width]
            (FOLDER / name).write_bytes(encode_png(patch))
        seed += 1
    print(f"wrote {sum(counts.values())} patches to {FOLDER}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
