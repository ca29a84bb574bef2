"""The customiser's decisions, one function at a time: release detection, wheel tags, the
config edit, the YAML writer (parsed back with PyYAML, cloud-init's parser) and cmdline.txt."""

from __future__ import annotations

import pytest

from edge_agent.errors import ConfigError
from edge_agent.image.agent_config import set_device_fields
from edge_agent.image.cloudinit import to_yaml
from edge_agent.image.errors import ImageError
from edge_agent.image.firstrun import HOOK, add_hook, set_regdom
from edge_agent.image.release import detect_release
from edge_agent.image.wheels import wheel_fits

from .test_image_customize import CMDLINE, OS_RELEASE, yaml_load

BULLSEYE = 'PRETTY_NAME="Raspbian GNU/Linux 11 (bullseye)"\nVERSION_CODENAME=bullseye\n'
BOOT = ["bootcode.bin", "start4.elf", "kernel8.img", "config.txt", "cmdline.txt", "overlays/"]


def test_release_from_os_release_wins_over_boot_files():
    release, why = detect_release([*BOOT, "user-data"], OS_RELEASE["bookworm"])
    assert release.name == "bookworm" and "os-release" in why


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["kernel_2712.img"], "bookworm"),
        (["kernel_2712.img", "user-data", "meta-data", "network-config"], "trixie"),
        (["META-DATA"], "trixie"),  # FAT names compare without case
    ],
)
def test_release_from_boot_files(extra, expected):
    release, why = detect_release([*BOOT, *extra], None)
    assert release.name == expected and why.startswith("boot partition")


@pytest.mark.parametrize(
    ("files", "os_release", "arm64", "message"),
    [
        (BOOT, None, None, "older than Bookworm"),
        (["kernel8.img"], None, None, "not a Raspberry Pi OS image"),
        (BOOT, BULLSEYE, None, "bullseye"),
        (BOOT, OS_RELEASE["bookworm"], False, "32-bit"),
    ],
)  # fmt: skip
def test_release_refusals_say_what_to_download(files, os_release, arm64, message):
    with pytest.raises(ImageError, match=message) as info:
        detect_release(files, os_release, arm64=arm64)
    assert "64-bit" in str(info.value) or "Raspberry Pi OS" in str(info.value)


@pytest.mark.parametrize(
    ("name", "python", "fits"),
    [
        ("numpy-2.2.6-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", "3.11", True),
        ("numpy-2.2.6-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", "3.13", False),
        ("numpy-2.2.6-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "3.11", False),
        ("numpy-2.2.6-cp311-cp311-musllinux_1_2_aarch64.whl", "3.11", False),
        ("protobuf-7.36.2-cp310-abi3-manylinux2014_aarch64.whl", "3.13", True),
        ("pyserial-3.5-py2.py3-none-any.whl", "3.13", True),
        ("not-a-wheel.whl", "3.11", False),
    ],
)
def test_wheel_tags(name, python, fits):
    assert wheel_fits(name, python) is fits


def test_device_keys_are_set_in_place_keeping_comments():
    text = (
        "# lab config\n[device] # who\ncity = 'Rastatt'  # the city\n\n[store]\nmax_age = '30d'\n"
    )
    result = set_device_fields(text, {"id": "rastatt-01", "city": "Baden-Baden"})
    assert result == (
        '# lab config\n[device] # who\nid = "rastatt-01"\ncity = "Baden-Baden"\n\n'
        "[store]\nmax_age = '30d'\n"
    )
    assert set_device_fields("[store]\n", {"id": "a"}) == '[store]\n\n[device]\nid = "a"\n'


def test_device_keys_refused_when_device_is_an_inline_table():
    with pytest.raises(ConfigError, match="write it as a \\[device\\] table"):
        set_device_fields('device = { city = "Rastatt" }\n', {"id": "rastatt-01"})


def test_yaml_writer_round_trips_awkward_values_through_pyyaml():
    data = {
        "ssid": 'Café "Lab": #1 🚀',
        "yes": "yes",
        "number": "0123",
        "padded": "  leading and trailing  ",
        "nested": {"list": [["sh", "-c", "echo 'a: b'"], []], "empty": {}, "flag": False, "n": 7},
        "key with spaces": "null",
    }
    assert yaml_load(to_yaml(data)) == data


def test_cmdline_hook_is_added_once_and_can_drop_the_serial_console():
    hooked = add_hook(CMDLINE, country="DE", serial_console=True)
    assert hooked.split()[-3:] == list(HOOK)
    with pytest.raises(ImageError, match="customised before"):
        add_hook(hooked, country=None, serial_console=True)
    no_console = set_regdom(CMDLINE, country=None, serial_console=False)
    assert "console=serial0" not in no_console and "console=tty1" in no_console
