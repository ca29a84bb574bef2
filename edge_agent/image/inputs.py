"""The customiser's inputs, checked before the image is touched.

Secrets (the Wi-Fi password, the region credentials) come from files, never from the command
line (where ``ps`` and the shell history would show them), and are never printed. The Wi-Fi
password does not even reach the card: like Raspberry Pi Imager, the customiser stores the
WPA pre-shared key derived from it (PBKDF2-HMAC-SHA1 of passphrase and SSID, 4096 rounds, 32
bytes; IEEE 802.11i), which NetworkManager and netplan accept in place of the passphrase.
"""

from __future__ import annotations

import base64
import hashlib
import re
import string
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from ..errors import ConfigError

_HOSTNAME: Final = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_USER: Final = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_LOCALE: Final = re.compile(r"^[a-z]{2,3}_[A-Z]{2}(?:@[a-z]+)?\.UTF-8$")
_KEYBOARD: Final = re.compile(r"^[a-z]{2,8}$")
_COUNTRY: Final = re.compile(r"^[A-Z]{2}$")
_CREDENTIAL_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SSH_KEY_TYPES: Final = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
RESERVED_USERS: Final = ("root", "edge-agent", "daemon", "bin", "sys", "nobody", "systemd-network")
MAX_CREDENTIAL_BYTES: Final = 1 << 20


def check_hostname(value: str) -> str:
    """A host name label (RFC 1123): lower-case letters, digits, hyphens; 1 to 63 characters."""
    name = value.strip().lower()
    if not _HOSTNAME.match(name):
        raise ConfigError(
            f"host name {value!r} is not usable: give 1 to 63 letters, digits or hyphens, not "
            "starting or ending with a hyphen, without dots (e.g. 'rastatt-lab-01'); the Pi is "
            "then reachable as <name>.local"
        )
    return name


def check_user(value: str) -> str:
    """A Linux user name for the technicians' login."""
    if not _USER.match(value) or value in RESERVED_USERS:
        raise ConfigError(
            f"user name {value!r} is not usable: give a lower-case name of up to 32 letters, "
            f"digits, '-' or '_' (e.g. 'lab'), not one of {', '.join(RESERVED_USERS)}"
        )
    return value


def check_locale(value: str) -> str:
    """A UTF-8 locale name such as ``de_DE.UTF-8``."""
    if not _LOCALE.match(value):
        raise ConfigError(
            f"locale {value!r} is not a UTF-8 locale name; give e.g. 'de_DE.UTF-8' or 'en_GB.UTF-8'"
        )
    return value


def check_timezone(value: str) -> str:
    """An IANA time zone (``Europe/Berlin``), checked against this machine's zone database."""
    known = zoneinfo.available_timezones()
    if known and value not in known:
        raise ConfigError(
            f"time zone {value!r} is not known; give an IANA name such as 'Europe/Berlin' "
            "(list them with: timedatectl list-timezones)"
        )
    if not known and not re.match(r"^[A-Za-z_]+(?:/[A-Za-z0-9_+-]+)*$", value):
        raise ConfigError(f"time zone {value!r} is not an IANA name such as 'Europe/Berlin'")
    return value


def check_keyboard(value: str) -> str:
    """An X keyboard layout (``de``, ``gb``, ``us``)."""
    if not _KEYBOARD.match(value):
        raise ConfigError(f"keyboard layout {value!r} is not usable; give e.g. 'de', 'gb' or 'us'")
    return value


def check_country(value: str) -> str:
    """The Wi-Fi regulatory domain: an ISO 3166 country code (``DE``)."""
    code = value.strip().upper()
    if not _COUNTRY.match(code):
        raise ConfigError(f"Wi-Fi country {value!r} is not a two-letter country code such as 'DE'")
    return code


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{what} {path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{what} {path}: is a directory, give a file") from None
    except OSError as exc:
        raise ConfigError(f"{what} {path}: cannot read: {exc.strerror}") from exc


def read_ssh_keys(path: Path) -> tuple[str, ...]:
    """The public keys in an ``authorized_keys``-style file (one per line)."""
    text = _read(path, "SSH key file").decode("utf-8", errors="replace")
    if "PRIVATE KEY" in text:
        raise ConfigError(
            f"SSH key file {path} holds a private key; give the public key (the .pub file, "
            f"e.g. {path}.pub) and keep the private one on your computer"
        )
    keys = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) < 2 or fields[0] not in SSH_KEY_TYPES:
            raise ConfigError(
                f"{path}:{number}: not an SSH public key; expected '<type> <base64> [comment]' "
                f"with type one of {', '.join(SSH_KEY_TYPES)} (ssh-keygen -t ed25519 makes one)"
            )
        try:
            blob = base64.b64decode(fields[1], validate=True)
        except ValueError:
            raise ConfigError(f"{path}:{number}: the key data is not valid base64") from None
        name_length = int.from_bytes(blob[:4], "big")
        if blob[4 : 4 + name_length].decode(errors="replace") != fields[0]:
            raise ConfigError(
                f"{path}:{number}: the key data does not match its type {fields[0]!r}"
            )
        keys.append(line)
    if not keys:
        raise ConfigError(
            f"SSH key file {path} holds no public key; give the .pub file made by ssh-keygen"
        )
    return tuple(keys)


def read_secret_line(path: Path, what: str) -> str:
    """The first line of a secret file, without its line ending; never echoed."""
    data = _read(path, what)
    line = data.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {path}: the first line is not UTF-8 text") from None
    if not text:
        raise ConfigError(
            f"{what} {path}: the first line is empty; put the password on the first line"
        )
    return text


def wifi_psk(ssid: str, passphrase: str) -> str:
    """The WPA pre-shared key (64 hex digits) for ``passphrase`` on network ``ssid``."""
    if len(passphrase) == 64 and all(c in string.hexdigits for c in passphrase):
        return passphrase.lower()  # already a pre-shared key
    if not 8 <= len(passphrase) <= 63 or any(not 32 <= ord(c) <= 126 for c in passphrase):
        raise ConfigError(
            f"the Wi-Fi password has {len(passphrase)} characters; WPA needs 8 to 63 printable "
            "ASCII characters (or the 64 hex digits of a pre-shared key)"
        )
    return hashlib.pbkdf2_hmac("sha1", passphrase.encode(), ssid.encode(), 4096, 32).hex()


@dataclass(frozen=True)
class Wifi:
    """The lab's Wi-Fi network."""

    ssid: str
    psk: str = field(repr=False)
    """The 64-hex-digit pre-shared key: a secret."""
    country: str
    hidden: bool = False

    @classmethod
    def from_files(cls, ssid: str, password_file: Path, country: str, hidden: bool = False) -> Wifi:
        """Check the SSID, read the password file and derive the key."""
        if not 1 <= len(ssid.encode()) <= 32:
            raise ConfigError(f"Wi-Fi SSID {ssid!r} must be 1 to 32 bytes long")
        passphrase = read_secret_line(password_file, "Wi-Fi password file")
        return cls(ssid, wifi_psk(ssid, passphrase), check_country(country), hidden)


def read_credentials(directory: Path) -> dict[str, bytes]:
    """The region credential files of ``directory`` (MQTT password, CA, client cert and key).

    Every regular file at the top of the directory is taken, by name; they land in
    ``/etc/edge-agent/credentials/`` on the Pi, readable by root and the agent only.
    """
    if not directory.is_dir():
        raise ConfigError(
            f"region credentials {directory}: not a directory; give the folder the region "
            "handed out for this device (password, ca.crt, client.crt, client.key)"
        )
    found: dict[str, bytes] = {}
    for path in sorted(directory.iterdir()):
        if path.name.startswith("."):
            continue
        if not path.is_file():
            raise ConfigError(
                f"region credentials: {path} is not a file; the folder holds files only"
            )
        if not _CREDENTIAL_NAME.match(path.name):
            raise ConfigError(
                f"region credentials: file name {path.name!r} is not usable on the boot "
                "partition; use letters, digits, '.', '_' and '-'"
            )
        data = _read(path, "region credential")
        if len(data) > MAX_CREDENTIAL_BYTES:
            raise ConfigError(
                f"region credentials: {path} has {len(data)} bytes; credentials are small "
                "files (< 1 MiB)"
            )
        found[path.name] = data
    if not found:
        raise ConfigError(f"region credentials {directory}: the folder is empty")
    return found
