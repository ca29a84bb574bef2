"""``edge-agent image batch``: one image per row of a device table, every row checked first."""

from __future__ import annotations

import lzma
from pathlib import Path

import pytest

from .test_image_customize import (
    LAB_CONFIG,
    REGION_PASSWORD,
    SSH_KEY,
    disks,
    edge_agent,
    missing_tools,
    mtype,
)

__all__ = ["disks"]  # the fixture, shared with the customise tests

pytestmark = pytest.mark.skipif(bool(missing_tools), reason=f"needs {', '.join(missing_tools)}")


@pytest.fixture
def region(tmp_path: Path) -> Path:
    """A lab config, a key, and per-device credential folders beside the device table."""
    (tmp_path / "agent.toml").write_text(LAB_CONFIG)
    (tmp_path / "technik.pub").write_text(SSH_KEY + "\n")
    for device in ("bruchsal-01", "bruchsal-02"):
        creds = tmp_path / "credentials" / device
        creds.mkdir(parents=True)
        (creds / "password").write_text(f"{REGION_PASSWORD}-{device}\n")
        (creds / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n")
    return tmp_path


def batch_args(region: Path, image: Path, table: Path, out: Path) -> list[str]:
    return [
        "image", "batch", "--image", str(image), "--devices", str(table), "--out-dir", str(out),
        "--config", str(region / "agent.toml"), "--ssh-key", str(region / "technik.pub"),
        "--index-url", "https://packages.region.example/simple",
    ]  # fmt: skip


@pytest.mark.parametrize("table_format", ["csv", "toml"])
def test_one_image_per_device_with_its_identity_and_credentials(
    disks, region, capsys, table_format
):
    image = disks["bookworm"]
    if table_format == "csv":  # and an .img.xz, decompressed once for both devices
        image = region / "bookworm.img.xz"
        image.write_bytes(lzma.compress(disks["bookworm"].read_bytes(), preset=0))
    table = region / f"devices.{table_format}"
    if table_format == "csv":
        table.write_text(
            "hostname,device_id,lab,city,credentials\n"
            "bruchsal-01,bruchsal-lab-01,digitallabor-bruchsal,Bruchsal,credentials/bruchsal-01\n"
            "bruchsal-02,,digitallabor-bruchsal,Bruchsal,credentials/bruchsal-02\n"
        )
    else:
        table.write_text(
            '[[device]]\nhostname = "bruchsal-01"\ndevice_id = "bruchsal-lab-01"\n'
            'lab = "digitallabor-bruchsal"\ncity = "Bruchsal"\n'
            'credentials = "credentials/bruchsal-01"\n\n'
            '[[device]]\nhostname = "bruchsal-02"\nlab = "digitallabor-bruchsal"\n'
            'city = "Bruchsal"\ncredentials = "credentials/bruchsal-02"\n'
        )
    out = region / "images"
    result = edge_agent(capsys, *batch_args(region, image, table, out))

    assert sorted(p.name for p in out.iterdir()) == ["bruchsal-01.img", "bruchsal-02.img"]
    assert "2 images in" in result.stdout
    for host, device_id in (("bruchsal-01", "bruchsal-lab-01"), ("bruchsal-02", "bruchsal-02")):
        img = out / f"{host}.img"
        config = mtype(img, "edge-agent/agent.toml")
        assert f'id = "{device_id}"' in config
        assert 'lab = "digitallabor-bruchsal"' in config and 'city = "Bruchsal"' in config
        assert f"NEW_HOSTNAME={host}\n" in mtype(img, "firstrun.sh")
        password = mtype(img, "edge-agent/credentials/password")
        assert password == f"{REGION_PASSWORD}-{host}\n"
        other = "bruchsal-02" if host == "bruchsal-01" else "bruchsal-01"
        assert f"{REGION_PASSWORD}-{other}".encode() not in img.read_bytes()


def test_a_bad_row_stops_the_batch_before_any_image(disks, region, capsys):
    table = region / "devices.csv"
    table.write_text(
        "hostname,credentials\n"
        "bruchsal-01,credentials/bruchsal-01\n"
        "bruchsal-02,credentials/missing\n"
    )
    out = region / "images"
    result = edge_agent(capsys, *batch_args(region, disks["bookworm"], table, out), check=False)
    assert result.returncode == 2
    assert f"{table}:3" in result.stderr and "credentials/missing" in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_duplicate_hostnames_are_refused(disks, region, capsys):
    table = region / "devices.csv"
    table.write_text("hostname\nbruchsal-01\nBruchsal-01\n")
    result = edge_agent(
        capsys, *batch_args(region, disks["bookworm"], table, region / "o"), check=False
    )
    assert result.returncode == 2
    assert "hostname 'bruchsal-01' is used twice" in result.stderr
