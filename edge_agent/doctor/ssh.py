"""SSH: keys only. ``PasswordAuthentication`` and ``PermitRootLogin`` of the OpenSSH server.

sshd takes the first value it reads of a keyword, and reads ``sshd_config.d/*.conf`` where the
main file includes them (Debian's does, at its top). Both are read below the device's root.
"""

from __future__ import annotations

from pathlib import Path

from .device import Device
from .result import CheckResult, ok, warn


def _settings(main: Path) -> dict[str, str]:
    """Keyword (lower case) -> first value, following ``Include`` lines in ``sshd_config.d``."""
    found: dict[str, str] = {}
    root = main.parent.parent.parent  # <root>/etc/ssh/sshd_config

    def read(path: Path) -> None:
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            return
        for line in lines:
            words = line.split("#", 1)[0].split()
            if len(words) < 2:
                continue
            key, value = words[0].lower(), words[1]
            if key == "include":  # relative patterns are relative to /etc/ssh
                for pattern in words[1:]:
                    base = root if pattern.startswith("/") else main.parent
                    for included in sorted(base.glob(pattern.lstrip("/"))):
                        read(included)
            elif key == "match":
                return  # what follows applies to some connections only
            else:
                found.setdefault(key, value.lower())

    read(main)
    return found


def check_ssh(device: Device) -> CheckResult:
    """Password logins off; root logs in with a key at most."""
    name = "ssh"
    main = device.path("/etc/ssh/sshd_config")
    if not main.exists():
        return ok(name, "no OpenSSH server configured here")
    settings = _settings(main)
    problems = []
    if settings.get("passwordauthentication", "yes") != "no":
        problems.append("password logins are allowed (PasswordAuthentication)")
    if settings.get("permitrootlogin", "prohibit-password") == "yes":
        problems.append("root may log in with a password (PermitRootLogin yes)")
    if settings.get("permitemptypasswords", "no") == "yes":
        problems.append("empty passwords are allowed (PermitEmptyPasswords yes)")
    if problems:
        return warn(
            name,
            "; ".join(problems),
            "in /etc/ssh/sshd_config.d/10-edge-kit.conf write 'PasswordAuthentication no' and "
            "'PermitRootLogin prohibit-password', then systemctl reload ssh (keep a key-based "
            "session open while you try)",
        )
    return ok(name, "keys only (PasswordAuthentication no)")
