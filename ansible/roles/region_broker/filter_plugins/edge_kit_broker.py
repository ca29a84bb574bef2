"""Filters of the region_broker role: mosquitto password hashes and the devices' topics.

``mosquitto_password_hash`` writes the ``$7$`` format of ``mosquitto_passwd`` (mosquitto 2.0):
``$7$<iterations>$<base64 salt>$<base64 PBKDF2-HMAC-SHA512(password, salt)>`` with a 12-byte
salt. mosquitto_passwd draws a random salt, so its file would change on every run; here the salt
is derived from the user name and the password (HMAC-SHA512), so the same credentials give the
same line and a second run changes nothing. The passwords come from the vault and are random
(README.md, "Secrets"), so a deterministic salt costs no strength against guessing.

``edge_kit_device_topic`` is the agent's own rule (``edge_agent.uplink.topics``), imported from
the kit that the controller runs Ansible from (``pip install digitallabor-edge-kit[ops]``), so
the broker's ACL and the agent's topics can never disagree.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from ansible.errors import AnsibleFilterError

SALT_BYTES = 12
ITERATIONS = 101
"""What mosquitto_passwd 2.0 writes; mosquitto reads the count from each line."""


def mosquitto_password_hash(password: str, user: str, iterations: int = ITERATIONS) -> str:
    """The ``$7$`` hash of ``password`` for ``user`` (without the ``user:`` in front)."""
    if not password:
        raise AnsibleFilterError(
            f"mosquitto user {user!r} has an empty password; add it to the vault (README.md)"
        )
    secret = str(password).encode()
    salt = hmac.new(secret, b"edge-kit mosquitto salt\0" + str(user).encode(), "sha512").digest()
    salt = salt[:SALT_BYTES]
    digest = hashlib.pbkdf2_hmac("sha512", secret, salt, int(iterations))
    encode = base64.b64encode
    return f"$7${int(iterations)}${encode(salt).decode()}${encode(digest).decode()}"


def edge_kit_device_topic(device: str, prefix: str, city: str, lab: str) -> str:
    """``<prefix>/<city>/<lab>/<device>``, the base of every topic the device writes."""
    try:
        from edge_agent.errors import ConfigError  # noqa: PLC0415 (a clear error without the kit)
        from edge_agent.uplink.topics import DeviceTopics  # noqa: PLC0415
    except ImportError as exc:
        raise AnsibleFilterError(
            "the region_broker role needs the Digitallabor Edge Kit on the controller to name "
            "the devices' topics exactly as the agent does; run Ansible from the kit's virtual "
            f"environment (pip install 'digitallabor-edge-kit[ops]'): {exc}"
        ) from exc
    try:
        return DeviceTopics.build(prefix, city, lab, device).base
    except ConfigError as exc:
        raise AnsibleFilterError(f"device {device!r}: {exc}") from exc


class FilterModule:
    """The filters of this file, by name."""

    def filters(self) -> dict[str, Any]:
        return {
            "mosquitto_password_hash": mosquitto_password_hash,
            "edge_kit_device_topic": edge_kit_device_topic,
        }
