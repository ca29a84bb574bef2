"""``edge-agent image customize``, ``image batch`` and ``image inspect``: SD images for labs.

The participant's guide is ``images/README.md``; the design is in :mod:`edge_agent.image`.
Secrets come from files only and are never printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from ..errors import ConfigError
from ..image.agent_config import needs_of, prepare_config
from ..image.batch import DeviceRow, customize_all, read_devices
from ..image.customize import Device, Install, Result, customize, open_boot
from ..image.inputs import (
    Wifi,
    check_hostname,
    check_keyboard,
    check_locale,
    check_timezone,
    check_user,
    read_credentials,
    read_ssh_keys,
)
from ..image.partitions import boot_and_root, read_partitions
from ..image.release import RELEASES


def register(commands: Any) -> None:
    """Add ``image`` and its subcommands."""
    image = commands.add_parser(
        "image",
        help="make SD card images that come up as a configured agent",
        description=(
            "Customise an official Raspberry Pi OS Lite (64-bit) image, Bookworm or Trixie, so "
            "that a Pi booted from it joins its lab: host name, SSH-key login, Wi-Fi, locale, "
            "the agent and its config. No root needed (mtools). Guide: images/README.md."
        ),
    )
    sub = image.add_subparsers(dest="image_command", metavar="SUBCOMMAND", required=True)

    one = sub.add_parser(
        "customize",
        help="write one ready-to-flash image for one device",
        description="Write OUT, a ready-to-flash image for one device, from the downloaded IMAGE.",
    )
    one.add_argument(
        "--image",
        type=Path,
        required=True,
        metavar="IMAGE",
        help="Raspberry Pi OS Lite (64-bit) .img or .img.xz as downloaded",
    )
    one.add_argument(
        "--out", type=Path, required=True, metavar="OUT.img", help="the image to write"
    )
    one.add_argument(
        "--hostname", required=True, help="the Pi's host name; reachable as NAME.local"
    )
    one.add_argument(
        "--device-id", metavar="ID", help="[device] id in the config (default: the host name)"
    )
    one.add_argument(
        "--region-credentials",
        type=Path,
        metavar="DIR",
        help="folder of this device's region credentials (password, ca.crt, ...)",
    )
    _common_options(one)
    one.set_defaults(handler=cmd_customize)

    many = sub.add_parser(
        "batch",
        help="write one image per device of a CSV or TOML table",
        description=(
            "Write OUT_DIR/<hostname>.img for every device of TABLE (columns: hostname, "
            "device_id, lab, city, credentials). Every row is checked before the first image "
            "is written."
        ),
    )
    many.add_argument("--image", type=Path, required=True, metavar="IMAGE")
    many.add_argument("--devices", type=Path, required=True, metavar="TABLE", help=".csv or .toml")
    many.add_argument("--out-dir", type=Path, required=True, metavar="DIR")
    _common_options(many)
    many.set_defaults(handler=cmd_batch)

    inspect = sub.add_parser(
        "inspect",
        help="show an image's partitions, release and boot files",
        description="Show what the customiser sees in IMAGE (a .img, not .xz).",
    )
    inspect.add_argument("image", type=Path, metavar="IMAGE")
    inspect.set_defaults(handler=cmd_inspect)


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        required=True,
        metavar="FILE",
        help="the lab's agent config (agent.toml); checked before writing",
    )
    parser.add_argument(
        "--ssh-key",
        type=Path,
        required=True,
        metavar="FILE",
        help="public key file(s) of the technicians (authorized_keys format)",
    )
    parser.add_argument("--user", default="lab", help="the technicians' login (default: lab)")
    parser.add_argument("--wifi-ssid", metavar="SSID", help="the lab's Wi-Fi (omit for Ethernet)")
    parser.add_argument(
        "--wifi-password-file",
        type=Path,
        metavar="FILE",
        help="file whose first line is the Wi-Fi password",
    )
    parser.add_argument(
        "--wifi-country", default="DE", metavar="CC", help="Wi-Fi regulatory domain (default: DE)"
    )
    parser.add_argument("--wifi-hidden", action="store_true", help="the SSID is not broadcast")
    parser.add_argument("--locale", default="de_DE.UTF-8", help="default: de_DE.UTF-8")
    parser.add_argument("--timezone", default="Europe/Berlin", help="default: Europe/Berlin")
    parser.add_argument("--keyboard", default="de", help="keyboard layout (default: de)")
    parser.add_argument("--lab", help="[device] lab in the config")
    parser.add_argument("--city", help="[device] city in the config")
    parser.add_argument(
        "--wheels",
        type=Path,
        metavar="DIR",
        help="aarch64 wheels to embed for an offline install (images/build-wheels.sh)",
    )
    parser.add_argument(
        "--index-url",
        metavar="URL",
        help="package index the Pi installs from when no --wheels (default: PyPI)",
    )
    parser.add_argument(
        "--extras",
        metavar="LIST",
        help="extras to install, comma-separated (default: what the config needs)",
    )
    parser.add_argument(
        "--release", choices=sorted(RELEASES), help="skip detection (default: from the image)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing output images")


class _Progress:
    """One self-updating line on a terminal, a line per 10 % elsewhere."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream, self.label, self.shown = stream, label, -1

    def __call__(self, done: int, total: int) -> None:
        percent = 100 * done // total if total else 100
        if self.stream.isatty():
            if percent != self.shown:
                self.stream.write(f"\r{self.label}: {percent:3d} % of {total / 1e6:.0f} MB")
                if percent == 100:
                    self.stream.write("\n")
                self.stream.flush()
        elif percent // 10 != self.shown // 10 or (percent == 100 and self.shown != 100):
            self.stream.write(f"{self.label}: {percent} % of {total / 1e6:.0f} MB\n")
        self.shown = percent


def _install(args: argparse.Namespace) -> Install:
    if args.wheels is not None and args.index_url is not None:
        raise ConfigError("give --wheels or --index-url, not both")
    if args.wheels is not None and not args.wheels.is_dir():
        raise ConfigError(
            f"--wheels {args.wheels}: not a directory (images/build-wheels.sh makes one)"
        )
    return Install(wheels_dir=args.wheels, index_url=args.index_url)


def _device(
    args: argparse.Namespace, hostname: str, fields: dict[str, str], credentials_dir: Path | None
) -> Device:
    wifi = None
    if args.wifi_ssid is not None:
        if args.wifi_password_file is None:
            raise ConfigError(
                "--wifi-ssid needs --wifi-password-file FILE (the password's first line)"
            )
        wifi = Wifi.from_files(
            args.wifi_ssid, args.wifi_password_file, args.wifi_country, args.wifi_hidden
        )
    elif args.wifi_password_file is not None:
        raise ConfigError("--wifi-password-file needs --wifi-ssid")
    credentials = read_credentials(credentials_dir) if credentials_dir is not None else {}
    try:
        text = args.config.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"config {args.config}: cannot read: {exc.strerror}") from exc
    final, config = prepare_config(
        text, source=args.config, fields=fields, credential_names=set(credentials)
    )
    extras = None
    if args.extras is not None:
        extras = tuple(e.strip() for e in args.extras.split(",") if e.strip())
    return Device(
        hostname=hostname,
        user=check_user(args.user),
        ssh_keys=read_ssh_keys(args.ssh_key),
        locale=check_locale(args.locale),
        timezone=check_timezone(args.timezone),
        keyboard=check_keyboard(args.keyboard) if args.keyboard else None,
        wifi=wifi,
        config_text=final,
        needs=needs_of(config),
        credentials=credentials,
        extras=extras,
    )


def _fields(device_id: str | None, lab: str | None, city: str | None) -> dict[str, str]:
    values = {"id": device_id, "lab": lab, "city": city}
    return {key: value for key, value in values.items() if value}


def _check_out(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise ConfigError(f"{path} exists; give another --out or add --force to overwrite it")


def _report(result: Result, out: TextIO) -> None:
    print(f"{result.out}: ready to flash ({result.image_bytes / 1e9:.2f} GB)", file=out)
    print(f"  release    {result.release.name} ({result.reason})", file=out)
    print(
        "  first boot "
        + (
            "firstrun.sh via cmdline.txt"
            if result.release.first_boot == "firstrun"
            else "cloud-init user-data, network-config, meta-data"
        ),
        file=out,
    )
    print(f"  written    {', '.join(result.files)}", file=out)
    print(f"  secrets in {', '.join(result.secrets)} (wiped at first boot)", file=out)
    print(f"  boot partition free afterwards: {result.boot_free_bytes / 1e6:.0f} MB", file=out)


def cmd_customize(args: argparse.Namespace) -> int:
    """One image."""
    hostname = check_hostname(args.hostname)
    _check_out(args.out, args.force)
    # The device id is always written: the config must not depend on the host name at run time.
    fields = _fields(args.device_id or hostname, args.lab, args.city)
    device = _device(args, hostname, fields, args.region_credentials)
    install = _install(args)
    result = customize(
        args.image,
        args.out,
        device,
        install,
        release_name=args.release,
        progress=_Progress(
            sys.stderr, "decompressing" if args.image.suffix == ".xz" else "copying"
        ),
        log=lambda line: print(line, file=sys.stderr),
    )
    _report(result, sys.stdout)
    print(
        f"\nNext: write {result.out} to an SD card (Raspberry Pi Imager: 'Use custom', and "
        "no OS customisation there), boot the Pi, wait about 10 minutes, then:\n"
        f"  ssh {device.user}@{hostname}.local edge-agent status"
    )
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    """One image per row of the table."""
    rows: list[DeviceRow] = read_devices(args.devices)
    devices = []
    for row in rows:
        if not args.force:
            _check_out(args.out_dir / f"{row.hostname}.img", False)
        fields = row.fields()
        for key, value in (("lab", args.lab), ("city", args.city)):
            if value:
                fields.setdefault(key, value)
        try:
            devices.append((row, _device(args, row.hostname, fields, row.credentials)))
        except ConfigError as exc:
            raise ConfigError(f"{row.line}: {exc}") from exc
    install = _install(args)
    results = customize_all(
        args.image,
        args.out_dir,
        devices,
        install,
        release_name=args.release,
        progress=_Progress(sys.stderr, "decompressing"),
        log=lambda line: print(line, file=sys.stderr),
    )
    for result in results:
        _report(result, sys.stdout)
    print(f"\n{len(results)} images in {args.out_dir}: write each to its own card.")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    """Partitions, release, boot files."""
    partitions = read_partitions(args.image)
    for part in partitions:
        print(
            f"partition {part.number}  {part.kind:<10} offset {part.offset:>12}  "
            f"size {part.size / 1e6:>8.1f} MB{'  boot flag' if part.bootable else ''}"
        )
    boot, _root = boot_and_root(partitions, name=str(args.image))
    fat, release, reason, _size = open_boot(args.image, None)
    with fat:
        names = sorted(fat.files().values())
        print(f"release    {release.name} ({reason})")
        print(f"boot files {len(names)}: {', '.join(n for n in names if '/' not in n.rstrip('/'))}")
        customised = [n for n in ("firstrun.sh", "edge-agent/") if n in names]
        print(f"customised {'yes: ' + ', '.join(customised) if customised else 'no'}")
        print(
            f"free       {fat.free_bytes() / 1e6:.1f} MB on the boot partition "
            f"(offset {boot.offset})"
        )
    return 0
