"""``parking classify`` and ``parking preview`` as a maker and a technician run them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert.interpreter", reason="LiteRT (ai-edge-litert) not installed")

from drivers.camera.scene import ParkingScene
from experiments.parking.cli import main, register
from experiments.parking.images import read_rgb, write_png

PATCHES = sorted((Path(__file__).parent / "testcases" / "patches").glob("*.png"))
SAMPLE_BAYS = Path(__file__).parents[1] / "sample-bays.toml"


def test_register_adds_parking_with_both_subcommands() -> None:
    parser = argparse.ArgumentParser(prog="edge-agent")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["parking", "classify", "a.png", "--threshold", "0.7"])
    assert args.images == [Path("a.png")]
    assert args.threshold == 0.7
    args = parser.parse_args(
        ["parking", "preview", "--image", "f.png", "--bays", "b.toml", "--out", "o.png"]
    )
    assert (args.image, args.bays, args.out) == (Path("f.png"), Path("b.toml"), Path("o.png"))
    assert callable(args.handler)


def test_classify_prints_one_json_line_per_patch(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parking", "classify", *map(str, PATCHES)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["path"] for line in lines] == [str(p) for p in PATCHES]
    for line in lines:
        assert set(line) == {"path", "occupied_probability", "verdict"}
        assert 0.0 <= line["occupied_probability"] <= 1.0
        assert line["verdict"] == ("occupied" if line["occupied_probability"] >= 0.5 else "free")


def test_the_threshold_moves_the_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    """The int8 output tops out at 255/256 = 0.996, so 0.999 is never reached."""
    car = next(p for p in PATCHES if p.name.startswith("occupied"))
    main(["parking", "classify", str(car), "--threshold", "0.001"])
    low = json.loads(capsys.readouterr().out)
    main(["parking", "classify", str(car), "--threshold", "0.999"])
    high = json.loads(capsys.readouterr().out)
    assert 0.001 < low["occupied_probability"] == high["occupied_probability"] < 0.999
    assert (low["verdict"], high["verdict"]) == ("occupied", "free")


def test_unreadable_files_are_reported_and_the_rest_still_classified(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nrubbish")
    code = main(["parking", "classify", str(PATCHES[0]), str(broken), str(tmp_path / "gone.png")])
    captured = capsys.readouterr()
    assert code == 1
    assert len(captured.out.splitlines()) == 1
    assert "broken.png" in captured.err
    assert "gone.png: no such image file" in captured.err


def test_a_bad_threshold_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parking", "classify", str(PATCHES[0]), "--threshold", "1.5"]) == 2
    assert "threshold 1.5: give a probability between 0 and 1" in capsys.readouterr().err


def test_preview_draws_every_bay_on_the_frame(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scene = ParkingScene(width=640, height=480, bays=6, seed=11)
    now = 12 * 3600.0
    frame = scene.render(now)
    write_png(tmp_path / "frame.png", frame)
    out, patches = tmp_path / "overlay.png", tmp_path / "patches.png"
    code = main(
        [
            "parking",
            "preview",
            "--image",
            str(tmp_path / "frame.png"),
            "--bays",
            str(SAMPLE_BAYS),
            "--out",
            str(out),
            "--patches",
            str(patches),
        ]
    )
    assert code == 0
    assert f"{out}: 6 bays" in capsys.readouterr().out
    overlay = read_rgb(out)
    assert overlay.shape == frame.shape
    changed = np.any(overlay != frame, axis=2)
    for box in scene.boxes:  # every bay is tinted, so most of its pixels changed
        assert changed[box.y : box.y + box.height, box.x : box.x + box.width].mean() > 0.5
    assert not changed[400:, 300:340].any()  # the lane between labels is left alone
    assert read_rgb(patches).shape[:2] == (2 + 48 + 2, 6 * 50 + 2)


def test_preview_with_a_broken_bays_file_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_png(tmp_path / "frame.png", np.zeros((48, 64, 3), np.uint8))
    (tmp_path / "bays.toml").write_text('[[bay]]\nid = "a"\n')
    frame, bays, out = (str(tmp_path / name) for name in ("frame.png", "bays.toml", "o.png"))
    code = main(["parking", "preview", "--image", frame, "--bays", bays, "--out", out])
    assert code == 2
    assert "bays.toml: bay.0: give either polygon" in capsys.readouterr().err
