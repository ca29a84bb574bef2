"""``edge-agent image customize`` on real disk images, checked with the file-system tools.

The images are built like Raspberry Pi OS Lite images, only small: an MBR partition table made
by sfdisk, a FAT32 boot partition made by mkfs.vfat (36 MiB, the least FAT32 allows with
512-byte clusters) and copied in at its offset, and an ext4 root made by ``mke2fs -d`` from a
directory. Files are sparse, so each image takes about 1 MB on disk.

The boot partitions hold each release's file layout as found in the official Raspberry Pi OS
Lite (64-bit) images: firmware (bootcode.bin, start*.elf, fixup*.dat), kernels (kernel8.img,
kernel_2712.img for the Pi 5, from Bookworm on), initramfs files, device trees, overlays/,
issue.txt (pi-gen's build stamp), LICENCE.broadcom, config.txt and cmdline.txt as those images
ship them (cmdline.txt with the PARTUUID root and the raspberrypi-sys-mods first-boot init);
Trixie images (2025-10 on) also carry the cloud-init seeds user-data, meta-data and
network-config. File contents other than cmdline.txt, config.txt and the seeds are short
placeholders: the customiser only looks at names. The root holds /usr/lib/os-release with the
release's codename and the aarch64 library directory.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from edge_agent.image.inputs import wifi_psk
from edge_agent.image.partitions import parse_mbr, read_partitions

TOOLS = ("sfdisk", "mkfs.vfat", "mke2fs", "mcopy", "mdir", "mtype", "debugfs")
missing_tools = [tool for tool in TOOLS if shutil.which(tool) is None]
pytestmark = pytest.mark.skipif(
    bool(missing_tools),
    reason=f"needs {', '.join(missing_tools)} (apt install mtools dosfstools fdisk e2fsprogs)",
)

SECTOR = 512
BOOT_START = 8192  # 4 MiB in: Raspberry Pi OS aligns its partitions to 4 MiB
ROOT_SECTORS = 8 * 2048
DISK_ID = "0x5a6b7c8d"
MTOOLS = {"MTOOLS_SKIP_CHECK": "1", "MTOOLSRC": "/dev/null"}

FIRMWARE = (
    "bootcode.bin", "start.elf", "fixup.dat", "start4.elf", "fixup4.dat", "start_cd.elf",
    "fixup_cd.dat", "kernel8.img", "kernel_2712.img", "initramfs8", "initramfs_2712",
    "bcm2710-rpi-3-b-plus.dtb", "bcm2710-rpi-zero-2-w.dtb", "bcm2711-rpi-4-b.dtb",
    "bcm2711-rpi-400.dtb", "bcm2712-rpi-5-b.dtb", "bcm2712d0-rpi-5-b.dtb", "LICENCE.broadcom",
)  # fmt: skip
OVERLAYS = ("overlay_map.dtb", "README", "w1-gpio.dtbo", "vc4-kms-v3d.dtbo", "disable-bt.dtbo")
CMDLINE = (
    f"console=serial0,115200 console=tty1 root=PARTUUID={DISK_ID[2:]}-02 rootfstype=ext4 "
    "fsck.repair=yes rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot\n"
)
CONFIG_TXT = """\
# Raspberry Pi firmware settings (the settings of the Lite image, comments shortened)
dtparam=audio=on
camera_auto_detect=1
display_auto_detect=1
auto_initramfs=1
dtoverlay=vc4-kms-v3d
max_framebuffers=2
disable_fw_kms_setup=1
arm_64bit=1
disable_overscan=1
arm_boost=1

[cm4]
otg_mode=1

[cm5]
dtoverlay=dwc2,dr_mode=host

[all]
"""
TRIXIE_SEEDS = {
    "user-data": "#cloud-config\n# Raspberry Pi Imager fills this in.\n",
    "meta-data": "instance-id: rpios-image\n",
    "network-config": "# network:\n#   version: 2\n",
}
OS_RELEASE = {
    release: f'PRETTY_NAME="Debian GNU/Linux {number} ({release})"\nVERSION_ID="{number}"\n'
    f"VERSION_CODENAME={release}\nID=debian\n"
    for release, number in (("bookworm", 12), ("trixie", 13))
}

WIFI_PASSWORD = "Winterdienst-2025!"
REGION_PASSWORD = "mqtt-secret-7f3a91c2e4"
SSID = "Digitallabor Gast"
SSH_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB0mK5Cw4lqg3kM0m0y2tW1lYvJ8Yq3bS1jv0T2f5r6x "
    "technik@laptop"
)
LAB_CONFIG = """\
# The lab's agent config, shared by its devices.
[device]
city = "Rastatt"
lab = "digitallabor-rastatt"

[store]
data_dir = "/var/lib/edge-agent"

[[sensor]]
name = "road-surface"
driver = "onewire.ds18b20"
interval = "30s"
options = { backend = "simulated" }

[uplink]
host = "mqtt.region.example"
username = "rastatt-lab-01"
password_file = "/etc/edge-agent/credentials/password"
ca_file = "/etc/edge-agent/credentials/ca.crt"
"""


def run(*argv: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    merged = {**os.environ, **MTOOLS, **(env or {})}
    return subprocess.run(argv, capture_output=True, check=True, env=merged, **kwargs)


def copy_sparse(part: Path, disk: Path, offset: int) -> None:
    """Copy a partition image into the disk at ``offset``, skipping zero blocks (holes stay)."""
    block = 64 * 1024
    zeros = bytes(block)
    with part.open("rb") as src, disk.open("r+b") as dst:
        position = offset
        while chunk := src.read(block):
            if chunk != zeros[: len(chunk)]:
                dst.seek(position)
                dst.write(chunk)
            position += len(chunk)


def build_disk(directory: Path, release: str, *, boot_mib: int = 36) -> Path:
    """A small Raspberry Pi OS-shaped disk image of ``release`` (see the module docstring)."""
    directory.mkdir(parents=True, exist_ok=True)
    disk = directory / f"{release}.img"
    boot_sectors = boot_mib * 2048
    total = BOOT_START + boot_sectors + ROOT_SECTORS
    with disk.open("wb") as file:
        file.truncate(total * SECTOR)
    table = (
        f"label: dos\nlabel-id: {DISK_ID}\nunit: sectors\n\n"
        f"start={BOOT_START}, size={boot_sectors}, type=c\n"
        f"start={BOOT_START + boot_sectors}, size={ROOT_SECTORS}, type=83\n"
    )
    run("sfdisk", "--quiet", str(disk), input=table.encode())

    boot = directory / f"{release}-boot.part"
    with boot.open("wb") as file:
        file.truncate(boot_sectors * SECTOR)
    run("mkfs.vfat", "-F", "32", "-S", "512", "-s", "1", "-n", "bootfs", str(boot))
    tree = directory / f"{release}-boot"
    (tree / "overlays").mkdir(parents=True)
    for name in FIRMWARE:
        (tree / name).write_bytes(f"{name} placeholder\n".encode())
    for name in OVERLAYS:
        (tree / "overlays" / name).write_bytes(f"{name} placeholder\n".encode())
    (tree / "issue.txt").write_text(
        "Raspberry Pi reference 2025-05-13\nGenerated using pi-gen, stage2\n"
    )
    (tree / "cmdline.txt").write_text(CMDLINE)
    (tree / "config.txt").write_text(CONFIG_TXT)
    if release == "trixie":
        for name, text in TRIXIE_SEEDS.items():
            (tree / name).write_text(text)
    run("mcopy", "-s", "-i", str(boot), *[str(p) for p in sorted(tree.iterdir())], "::")
    copy_sparse(boot, disk, BOOT_START * SECTOR)

    root = directory / f"{release}-root"
    (root / "usr/lib/aarch64-linux-gnu").mkdir(parents=True)
    (root / "usr/lib/aarch64-linux-gnu/libc.so.6").write_bytes(b"placeholder\n")
    (root / "usr/lib/os-release").write_text(OS_RELEASE[release])
    (root / "etc").mkdir()
    (root / "etc/os-release").symlink_to("../usr/lib/os-release")
    (root / "etc/hostname").write_text("raspberrypi\n")
    root_part = directory / f"{release}-root.part"
    with root_part.open("wb") as file:
        file.truncate(ROOT_SECTORS * SECTOR)
    run("mke2fs", "-q", "-t", "ext4", "-L", "rootfs", "-d", str(root), str(root_part))
    copy_sparse(root_part, disk, (BOOT_START + boot_sectors) * SECTOR)
    boot.unlink()
    root_part.unlink()
    return disk


# -- helpers that look at a result with the file-system tools themselves ----------------------


def boot_offset(image: Path) -> int:
    return read_partitions(image)[0].offset


def mtype(image: Path, path: str) -> str:
    """A file of the boot partition, read with mtools' mtype."""
    target = f"{image}@@{boot_offset(image)}"
    return run("mtype", "-i", target, f"::{path}").stdout.decode()


def mdir(image: Path) -> set[str]:
    """Every path on the boot partition (lower case; directories end in /)."""
    target = f"{image}@@{boot_offset(image)}"
    out = run("mdir", "-/", "-b", "-i", target, "::").stdout.decode()
    return {line.strip().removeprefix("::/").lower() for line in out.splitlines() if line.strip()}


def root_file(image: Path, path: str) -> str:
    offset = read_partitions(image)[1].offset
    return run("debugfs", "-R", f"cat {path}", f"{image}?offset={offset}").stdout.decode()


def yaml_load(text: str):
    """Parse YAML with PyYAML, the parser cloud-init uses (the system's python3-yaml)."""
    python = shutil.which("python3", path="/usr/bin:/bin") or ""
    probe = subprocess.run([python, "-c", "import yaml"], capture_output=True, check=False)
    if not python or probe.returncode != 0:
        pytest.skip("PyYAML (apt install python3-yaml) is needed to parse the cloud-init files")
    code = "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))"
    result = subprocess.run(
        [python, "-c", code], input=text.encode(), capture_output=True, check=True
    )
    return json.loads(result.stdout)


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def disks(tmp_path_factory) -> dict[str, Path]:
    """Pristine images of both releases, built once; tests copy them."""
    base = tmp_path_factory.mktemp("disks")
    return {release: build_disk(base, release) for release in ("bookworm", "trixie")}


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    """A lab's inputs: config, SSH key, Wi-Fi password file, a device's region credentials."""
    (tmp_path / "agent.toml").write_text(LAB_CONFIG)
    (tmp_path / "technik.pub").write_text(SSH_KEY + "\n")
    (tmp_path / "wifi-password").write_text(WIFI_PASSWORD + "\n")
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "password").write_text(REGION_PASSWORD + "\n")
    (creds / "ca.crt").write_text(
        "-----BEGIN CERTIFICATE-----\nMIIBregionCA\n-----END CERTIFICATE-----\n"
    )
    return tmp_path


def customize_args(lab: Path, image: Path, out: Path, *extra: str) -> list[str]:
    return [
        "image", "customize", "--image", str(image), "--out", str(out),
        "--config", str(lab / "agent.toml"), "--hostname", "rastatt-lab-01",
        "--ssh-key", str(lab / "technik.pub"), "--wifi-ssid", SSID,
        "--wifi-password-file", str(lab / "wifi-password"),
        "--region-credentials", str(lab / "credentials"),
        "--locale", "de_DE.UTF-8", "--timezone", "Europe/Berlin",
        "--index-url", "https://packages.region.example/simple",
        *extra,
    ]  # fmt: skip


class Ran:
    """What one ``edge-agent`` command printed."""

    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = code, stdout, stderr


def edge_agent(capsys, *args: str, check: bool = True) -> Ran:
    """Run ``edge-agent ARGS`` in this process (the console script's own ``main``)."""
    from edge_agent.cli import main

    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    ran = Ran(code, captured.out, captured.err)
    if check:
        assert code == 0, ran.stderr
    return ran


def partition_digest(image: Path, number: int) -> str:
    part = read_partitions(image)[number - 1]
    digest = hashlib.sha256()
    with image.open("rb") as file:
        file.seek(part.offset)
        remaining = part.size
        while remaining:
            chunk = file.read(min(remaining, 1 << 20))
            digest.update(chunk)
            remaining -= len(chunk)
    return digest.hexdigest()


# -- tests -----------------------------------------------------------------------------------


def test_mbr_reader_finds_the_partitions_sfdisk_wrote(disks):
    boot, root = read_partitions(disks["bookworm"])
    assert (boot.type_id, boot.offset, boot.kind) == (0x0C, BOOT_START * SECTOR, "FAT32 LBA")
    assert (root.type_id, root.kind) == (0x83, "Linux")
    assert root.offset == boot.end
    assert root.size == ROOT_SECTORS * SECTOR


def test_mbr_reader_refuses_gpt_archives_and_truncated_images(disks, tmp_path):
    from edge_agent.image.errors import ImageError

    gpt = bytearray(512)
    gpt[446 + 4] = 0xEE
    gpt[446 + 12] = 1
    gpt[510:512] = b"\x55\xaa"
    with pytest.raises(ImageError, match="GPT"):
        parse_mbr(bytes(gpt))
    with pytest.raises(ImageError, match="55 AA"):
        parse_mbr(b"PK\x03\x04" + bytes(508))
    cut = tmp_path / "cut.img"
    cut.write_bytes(disks["bookworm"].read_bytes()[: 20 << 20])
    with pytest.raises(ImageError, match="truncated"):
        read_partitions(cut)


def test_wifi_key_is_the_ieee_802_11i_pre_shared_key():
    # Test vector of IEEE 802.11i-2004, annex H.4.1: passphrase "password", SSID "IEEE".
    assert wifi_psk("IEEE", "password") == (
        "f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e"
    )


@pytest.mark.parametrize("compressed", [False, True], ids=["img", "img.xz"])
def test_bookworm_image_gets_firstrun_hook_and_agent_files(
    disks, lab, tmp_path, capsys, compressed
):
    image = disks["bookworm"]
    if compressed:
        image = tmp_path / "2025-05-13-raspios-bookworm-arm64-lite.img.xz"
        image.write_bytes(lzma.compress(disks["bookworm"].read_bytes(), preset=0))
    out = tmp_path / "rastatt-lab-01.img"
    root_before = partition_digest(disks["bookworm"], 2)

    result = edge_agent(capsys, *customize_args(lab, image, out, "--device-id", "rastatt-01"))

    assert "bookworm (root file system: os-release says VERSION_CODENAME=bookworm)" in result.stdout
    assert not out.with_name(out.name + ".partial").exists()
    files = mdir(out)
    assert {
        "firstrun.sh",
        "edge-agent/",
        "edge-agent/firstboot.sh",
        "edge-agent/firstboot.env",
        "edge-agent/agent.toml",
        "edge-agent/credentials/password",
        "edge-agent/credentials/ca.crt",
        "kernel_2712.img",
        "overlays/w1-gpio.dtbo",
    } <= files
    assert not {"user-data", "network-config", "meta-data"} & files

    cmdline = mtype(out, "cmdline.txt")
    assert cmdline.count("\n") == 1 and cmdline.endswith("\n"), "cmdline.txt must stay one line"
    assert cmdline == CMDLINE.rstrip("\n") + (
        " cfg80211.ieee80211_regdom=DE systemd.run=/boot/firmware/firstrun.sh"
        " systemd.run_success_action=reboot systemd.unit=kernel-command-line.target\n"
    )
    firstrun = mtype(out, "firstrun.sh")
    assert firstrun.startswith("#!/bin/sh\n")
    assert "NEW_HOSTNAME=rastatt-lab-01\n" in firstrun
    assert f"WIFI_PSK={wifi_psk(SSID, WIFI_PASSWORD)}\n" in firstrun
    assert SSH_KEY in firstrun
    # The config is the lab's file with this device's id; the 1-Wire sensor switched on w1-gpio.
    config = mtype(out, "edge-agent/agent.toml")
    assert config.startswith("# The lab's agent config")
    assert 'id = "rastatt-01"' in config and 'city = "Rastatt"' in config
    assert mtype(out, "config.txt").endswith("[all]\ndtoverlay=w1-gpio\n")
    env = mtype(out, "edge-agent/firstboot.env")
    assert "EDGE_KIT_REQUIREMENT=digitallabor-edge-kit==" in env
    assert "EDGE_KIT_INDEX_URL=https://packages.region.example/simple" in env
    assert "EDGE_KIT_ADMIN_USER=lab" in env
    assert mtype(out, "edge-agent/credentials/password") == REGION_PASSWORD + "\n"
    # The root file system is untouched: everything happens on the boot partition.
    assert partition_digest(out, 2) == root_before
    assert "VERSION_CODENAME=bookworm" in root_file(out, "/usr/lib/os-release")
    # The output is sparse: far less on disk than its size.
    assert out.stat().st_blocks * 512 < out.stat().st_size / 4


def test_trixie_image_gets_cloud_init_seeds(disks, lab, tmp_path, capsys):
    out = tmp_path / "trixie-out.img"
    result = edge_agent(capsys, *customize_args(lab, disks["trixie"], out))
    assert "trixie (root file system: os-release says VERSION_CODENAME=trixie)" in result.stdout

    files = mdir(out)
    assert {"user-data", "meta-data", "network-config", "edge-agent/network-config.clean"} <= files
    assert "firstrun.sh" not in files
    # Without --device-id the id is the host name, written out (not left to the Pi's name).
    assert 'id = "rastatt-lab-01"' in mtype(out, "edge-agent/agent.toml")
    assert "systemd.run" not in mtype(out, "cmdline.txt")
    assert mtype(out, "cmdline.txt").rstrip("\n").endswith("cfg80211.ieee80211_regdom=DE")

    user_data_text = mtype(out, "user-data")
    assert user_data_text.startswith("#cloud-config\n")
    user_data = yaml_load(user_data_text)
    assert user_data["hostname"] == "rastatt-lab-01"
    assert user_data["locale"] == "de_DE.UTF-8" and user_data["timezone"] == "Europe/Berlin"
    assert user_data["ssh_pwauth"] is False
    (user,) = user_data["users"]
    assert user["name"] == "lab" and user["lock_passwd"] is True
    assert user["ssh_authorized_keys"] == [SSH_KEY]
    assert "passwd" not in user and "plain_text_passwd" not in user
    assert user_data["runcmd"] == [
        ["sh", "/boot/firmware/edge-agent/firstboot.sh", "stage"],
        ["sh", "/var/lib/edge-agent-setup/firstboot.sh", "enable-setup", "--start"],
    ]
    network = yaml_load(mtype(out, "network-config"))["network"]
    wlan = network["wifis"]["wlan0"]
    assert network["version"] == 2 and wlan["regulatory-domain"] == "DE"
    assert wlan["access-points"] == {SSID: {"password": wifi_psk(SSID, WIFI_PASSWORD)}}
    clean = yaml_load(mtype(out, "edge-agent/network-config.clean"))["network"]
    assert clean["wifis"]["wlan0"]["access-points"] == {SSID: {}}
    meta = yaml_load(mtype(out, "meta-data"))
    assert meta["local-hostname"] == "rastatt-lab-01"
    assert meta["instance-id"].startswith("edge-kit-rastatt-lab-01-")


@pytest.mark.parametrize("release", ["bookworm", "trixie"])
def test_secrets_appear_only_in_files_that_first_boot_wipes(disks, lab, tmp_path, capsys, release):
    out = tmp_path / f"{release}-out.img"
    result = edge_agent(capsys, *customize_args(lab, disks[release], out))
    psk = wifi_psk(SSID, WIFI_PASSWORD).encode()
    wiped = {
        "bookworm": ["firstrun.sh", "edge-agent/credentials/password"],
        "trixie": ["network-config", "edge-agent/credentials/password"],
    }[release]
    data = out.read_bytes()
    # The Wi-Fi password itself never reaches the card, nor the program's output.
    assert WIFI_PASSWORD.encode() not in data
    for secret in (WIFI_PASSWORD, REGION_PASSWORD, psk.decode()):
        assert secret not in result.stdout + result.stderr
    # Every copy of the key and of the region password is inside one of the wiped files.
    for secret in (psk, REGION_PASSWORD.encode()):
        in_files = sum(mtype(out, path).encode().count(secret) for path in wiped)
        assert in_files >= 1
        assert data.count(secret) == in_files, f"a stray copy of a secret in {out}"
    # The report names those files as the ones wiped at first boot.
    for path in wiped:
        assert path in result.stdout.split("secrets in", 1)[1]
    root = read_partitions(out)[1]
    assert (
        psk not in data[root.offset : root.end]
        and REGION_PASSWORD.encode() not in data[root.offset : root.end]
    )


def test_release_is_told_by_boot_files_without_debugfs(disks, tmp_path, capsys, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("mdir", "mcopy", "mmd", "mdel", "mtype"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    monkeypatch.setenv("PATH", str(bin_dir))
    for release, marker in (("bookworm", "kernel_2712.img"), ("trixie", "cloud-init seed files")):
        result = edge_agent(capsys, "image", "inspect", str(disks[release]))
        assert f"release    {release} (boot partition: " in result.stdout
        assert marker in result.stdout


def test_refuses_an_image_customised_before(disks, lab, tmp_path, capsys):
    once = tmp_path / "once.img"
    edge_agent(capsys, *customize_args(lab, disks["bookworm"], once))
    twice = tmp_path / "twice.img"
    result = edge_agent(capsys, *customize_args(lab, once, twice), check=False)
    assert result.returncode == 1
    assert "customised before" in result.stderr
    assert not twice.exists() and not (tmp_path / "twice.img.partial").exists()


def _private_key(lab: Path) -> None:
    (lab / "technik.pub").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n")


def _short_wifi_password(lab: Path) -> None:
    (lab / "wifi-password").write_text("short\n")


def _missing_credential(lab: Path) -> None:
    (lab / "credentials" / "ca.crt").unlink()


def _bad_driver(lab: Path) -> None:
    (lab / "agent.toml").write_text(LAB_CONFIG.replace("onewire.ds18b20", "onewire.ds18b2O"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_private_key, "private key"),
        (_short_wifi_password, "8 to 63"),
        (_missing_credential, "no file 'ca.crt'"),
        (_bad_driver, "did you mean 'onewire.ds18b20'"),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(disks, lab, capsys, change, message):
    change(lab)
    out = lab / "never.img"
    result = edge_agent(capsys, *customize_args(lab, disks["bookworm"], out), check=False)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert not out.exists() and not (lab / "never.img.partial").exists()
    assert WIFI_PASSWORD not in result.stderr and REGION_PASSWORD not in result.stderr


def test_embedded_wheels_must_be_aarch64_for_the_image_python(disks, lab, tmp_path, capsys):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "digitallabor_edge_kit-0.1.0-py3-none-any.whl").write_bytes(b"PK\x05\x06" + bytes(18))
    (wheels / "numpy-2.2.6-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl").write_bytes(
        b"x"
    )
    args = customize_args(lab, disks["bookworm"], tmp_path / "w.img")
    args = [a for a in args if a not in ("--index-url", "https://packages.region.example/simple")]
    result = edge_agent(capsys, *args, "--wheels", str(wheels), check=False)
    assert result.returncode == 2
    assert "not for aarch64 with Python 3.11" in result.stderr and "x86_64" in result.stderr

    (wheels / "numpy-2.2.6-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl").unlink()
    (
        wheels / "numpy-2.2.6-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"
    ).write_bytes(b"x" * 1000)
    edge_agent(capsys, *args, "--wheels", str(wheels))
    out = tmp_path / "w.img"
    assert (
        "edge-agent/wheels/numpy-2.2.6-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"
        in mdir(out)
    )
    assert "EDGE_KIT_VERSION=0.1.0" in mtype(out, "edge-agent/firstboot.env")
