"""Customise one Raspberry Pi OS Lite image for one device: the whole job, start to end.

1. copy (``.img``) or decompress (``.img.xz``) the downloaded image to ``OUT.partial``; the
   input is never changed;
2. read the MBR partition table, open the FAT boot partition at its byte offset with mtools;
3. decide the release (:mod:`.release`) and refuse an image that was customised before;
4. write the boot files of :class:`BootPlan` (Bookworm: ``firstrun.sh`` and the
   ``cmdline.txt`` hook; Trixie: the cloud-init seeds), the ``edge-agent/`` folder (installer,
   settings, agent config, credentials, wheels) and ``config.txt`` lines for the interfaces the
   config needs (1-Wire, UART);
5. rename ``OUT.partial`` to ``OUT``. On any error the partial file is deleted: secrets never
   stay behind in a half-written image.

Everything secret lands in files that first boot wipes (:attr:`BootPlan.secrets`).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from .. import __version__
from ..errors import ConfigError
from . import cloudinit, firstrun
from .agent_config import Needs
from .errors import ImageError
from .ext4 import read_root_file, root_has
from .fat import FatPartition
from .inputs import Wifi
from .partitions import boot_and_root, read_partitions
from .release import Release, detect_release, release_named
from .source import Progress, write_image
from .wheels import WheelFolder, check_wheels

GENERATOR: Final = f"edge-agent image customize {__version__}"
AGENT_DIR: Final = "edge-agent"
SPACE_MARGIN: Final = 4 << 20
"""Bytes left free on the boot partition beyond what is written (FAT directory growth)."""


@dataclass(frozen=True)
class Device:
    """Everything that goes onto one card (validated by :mod:`.inputs` and :mod:`.agent_config`)."""

    hostname: str
    user: str
    ssh_keys: tuple[str, ...]
    locale: str
    timezone: str
    keyboard: str | None
    wifi: Wifi | None
    config_text: str
    needs: Needs
    credentials: dict[str, bytes] = field(default_factory=dict, repr=False)
    extras: tuple[str, ...] | None = None
    """Extras to install; None: what the config needs (:attr:`Needs.extras`)."""


@dataclass(frozen=True)
class Install:
    """Where the Pi gets the agent: embedded wheels (checked once the release is known), else
    a package index (None: PyPI)."""

    wheels_dir: Path | None = None
    index_url: str | None = None


def agent_version(wheels: WheelFolder | None) -> str:
    """The agent version the Pi installs: the embedded wheel's, else this one's."""
    if wheels is not None:
        return wheels.kit_version
    if "+" in __version__ or __version__.startswith("0.0.0"):
        raise ConfigError(
            f"this edge-agent ({__version__}) was not installed from a release, so the Pi "
            "could not find it on a package index; embed wheels with --wheels DIR "
            "(images/build-wheels.sh makes them)"
        )
    return __version__


@dataclass
class BootPlan:
    """The files to write onto the boot partition."""

    release: Release
    files: dict[str, bytes]
    """Path on the partition -> content (directories are made as needed)."""
    wheels: tuple[Path, ...]
    """Copied into ``edge-agent/wheels/``."""
    secrets: tuple[str, ...]
    """The files holding secrets; first boot wipes every one of them."""


@dataclass(frozen=True)
class Result:
    """What :func:`customize` did, for the report."""

    out: Path
    release: Release
    reason: str
    files: tuple[str, ...]
    secrets: tuple[str, ...]
    image_bytes: int
    boot_free_bytes: int


def firstboot_env(
    device: Device, install: Install, wheels: WheelFolder | None, release: Release
) -> str:
    """``edge-agent/firstboot.env``: the installer's settings (no secrets)."""
    version = agent_version(wheels)
    extras = device.needs.extras if device.extras is None else device.extras
    requirement = (
        "digitallabor-edge-kit" + (f"[{','.join(extras)}]" if extras else "") + f"=={version}"
    )
    values = {
        "EDGE_KIT_VERSION": version,
        "EDGE_KIT_REQUIREMENT": requirement,
        "EDGE_KIT_INDEX_URL": install.index_url or "",
        "EDGE_KIT_ADMIN_USER": device.user,
        "EDGE_KIT_APT_PACKAGES": " ".join(device.needs.apt_packages),
        "EDGE_KIT_RELEASE": release.name,
    }
    lines = [f"# Settings of firstboot.sh, written by {GENERATOR}. No secrets."]
    lines += [f"{key}={shlex.quote(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def config_txt_lines(needs: Needs) -> list[str]:
    """Lines for ``config.txt`` that switch on the interfaces the config needs."""
    lines = []
    if needs.onewire:
        lines.append("dtoverlay=w1-gpio")
    if needs.uart:
        lines.append("enable_uart=1")
    return lines


def with_config_lines(config_txt: str, lines: list[str]) -> str:
    """``config.txt`` with ``lines`` appended in an ``[all]`` section, unless already there."""
    present = {line.strip() for line in config_txt.splitlines()}
    new = [line for line in lines if line not in present]
    if not new:
        return config_txt
    block = ["", f"# Added by {GENERATOR} for the agent's sensors", "[all]", *new]
    return config_txt.rstrip("\n") + "\n" + "\n".join(block) + "\n"


_README: Final = """This folder was put here by {generator}.

At the first boot of the Raspberry Pi, the agent's config and credentials are moved into the
system (/etc/edge-agent) and this folder is deleted; every secret is overwritten first. What
happened is written to edge-agent-setup.txt next to this folder.

Do not copy this card's files to another card: they belong to device {hostname}.
"""


def plan_boot(
    device: Device,
    *,
    install: Install,
    wheels: WheelFolder | None,
    release: Release,
    cmdline: str,
    config_txt: str,
) -> BootPlan:
    """The boot partition's new files for ``device`` on ``release``."""
    files: dict[str, bytes] = {}
    secrets: list[str] = []
    agent = AGENT_DIR
    script = (Path(__file__).parent / "firstboot.sh").read_bytes()
    files[f"{agent}/firstboot.sh"] = script
    files[f"{agent}/firstboot.env"] = firstboot_env(device, install, wheels, release).encode()
    files[f"{agent}/README.txt"] = _README.format(
        generator=GENERATOR, hostname=device.hostname
    ).encode()
    files[f"{agent}/agent.toml"] = device.config_text.encode()
    secrets.append(f"{agent}/agent.toml")
    for name, data in sorted(device.credentials.items()):
        files[f"{agent}/credentials/{name}"] = data
        secrets.append(f"{agent}/credentials/{name}")
    serial_console = not device.needs.uart
    country = device.wifi.country if device.wifi else None
    if release.first_boot == "firstrun":
        files["firstrun.sh"] = firstrun.firstrun_script(
            hostname=device.hostname,
            user=device.user,
            ssh_keys=device.ssh_keys,
            wifi=device.wifi,
            locale=device.locale,
            timezone=device.timezone,
            keyboard=device.keyboard,
            generator=GENERATOR,
        ).encode()
        secrets.append("firstrun.sh")
        files["cmdline.txt"] = firstrun.add_hook(
            cmdline, country=country, serial_console=serial_console
        ).encode()
    else:
        files["user-data"] = cloudinit.user_data(
            hostname=device.hostname,
            user=device.user,
            ssh_keys=device.ssh_keys,
            locale=device.locale,
            timezone=device.timezone,
            keyboard=device.keyboard,
            generator=GENERATOR,
        ).encode()
        files["meta-data"] = cloudinit.meta_data(device.hostname).encode()
        if device.wifi is not None:
            files["network-config"] = cloudinit.network_config(
                device.wifi, generator=GENERATOR
            ).encode()
            files[f"{agent}/network-config.clean"] = cloudinit.network_config_clean(
                device.wifi
            ).encode()
            secrets.append("network-config")
        new_cmdline = firstrun.set_regdom(cmdline, country=country, serial_console=serial_console)
        if new_cmdline != cmdline:
            files["cmdline.txt"] = new_cmdline.encode()
    extra_lines = config_txt_lines(device.needs)
    if extra_lines:
        new_config = with_config_lines(config_txt, extra_lines)
        if new_config != config_txt:
            files["config.txt"] = new_config.encode()
    return BootPlan(release, files, wheels.wheels if wheels else (), tuple(secrets))


def open_boot(image: Path, release_name: str | None) -> tuple[FatPartition, Release, str, int]:
    """The boot partition of ``image``, its release and why; and the image size."""
    partitions = read_partitions(image)
    boot, root = boot_and_root(partitions, name=str(image))
    fat = FatPartition(image, boot.offset)
    try:
        names = [name.rstrip("/") for name in fat.files().values() if "/" not in name.rstrip("/")]
        if release_name is not None:
            release, reason = release_named(release_name), "given with --release"
        else:
            os_release = None
            arm64 = None
            if root is not None:
                raw = read_root_file(image, root.offset, "/usr/lib/os-release")
                if raw is None:
                    raw = read_root_file(image, root.offset, "/etc/os-release")
                os_release = raw.decode(errors="replace") if raw else None
                if root_has(image, root.offset, "/usr/lib/aarch64-linux-gnu") is False and (
                    root_has(image, root.offset, "/usr/lib/arm-linux-gnueabihf") is True
                ):
                    arm64 = False
            release, reason = detect_release(names, os_release, arm64=arm64)
    except BaseException:
        fat.close()
        raise
    return fat, release, reason, image.stat().st_size


def apply_plan(fat: FatPartition, plan: BootPlan) -> None:
    """Write the plan's files onto the boot partition, after checking the space."""
    needed = sum(len(data) for data in plan.files.values()) + sum(
        w.stat().st_size for w in plan.wheels
    )
    free = fat.free_bytes()
    if needed + SPACE_MARGIN > free:
        raise ImageError(
            f"the boot partition has {free / 1e6:.1f} MB free but the files need "
            f"{(needed + SPACE_MARGIN) / 1e6:.1f} MB; embed fewer wheels (leave out extras "
            "the lab does not use) or install from a package index instead of --wheels"
        )
    directories = {str(Path(path).parent) for path in plan.files} - {"."}
    if plan.wheels:
        directories.add(f"{AGENT_DIR}/wheels")
    for directory in sorted(directories):
        fat.mkdir(directory)
    for path, data in plan.files.items():
        fat.write(path, data)
    for wheel in plan.wheels:
        fat.copy_in(wheel, f"{AGENT_DIR}/wheels/{wheel.name}")


def refuse_customised(image: Path, names: dict[str, str]) -> None:
    """An image that carries our files already is refused: settings would pile up."""
    found = [name for name in (f"{AGENT_DIR}/", "firstrun.sh") if name in names]
    if found:
        raise ImageError(
            f"{image}: the image was customised before (it has {found[0]}); start from the "
            "image as downloaded"
        )


def customize(
    image: Path,
    out: Path,
    device: Device,
    install: Install,
    *,
    release_name: str | None = None,
    progress: Progress | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> Result:
    """Make ``out``, a ready-to-flash image for ``device``, from the downloaded ``image``."""
    if out.resolve() == image.resolve():
        raise ConfigError(f"--out {out} is the input image; give a new file name")
    partial = out.with_name(out.name + ".partial")
    try:
        log(f"{'decompressing' if image.suffix == '.xz' else 'copying'} {image} to {partial}")
        write_image(image, partial, progress)
        fat, release, reason, size = open_boot(partial, release_name)
        with fat:
            log(f"release {release.name}: {reason}")
            refuse_customised(image, fat.files())
            cmdline = fat.read("cmdline.txt").decode(errors="replace")
            config_txt = fat.read("config.txt").decode(errors="replace")
            wheels = None
            if install.wheels_dir is not None:
                wheels = check_wheels(install.wheels_dir, release.python)
            plan = plan_boot(
                device,
                install=install,
                wheels=wheels,
                release=release,
                cmdline=cmdline,
                config_txt=config_txt,
            )
            apply_plan(fat, plan)
            free = fat.free_bytes()
        partial.replace(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Result(out, release, reason, tuple(plan.files), plan.secrets, size, free)
