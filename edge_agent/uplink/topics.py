"""The uplink's MQTT topics: ``<prefix>/<city>/<lab>/<device>/<kind>``.

=====================================  ==========================================================
topic                                  payload
=====================================  ==========================================================
``<base>/readings``                    SenML JSON packs of committed readings, QoS 1
``<base>/events``                      SenML JSON packs of events and alerts, QoS 1
``<base>/status``                      ``online`` (birth) or ``offline`` (last will), retained
``<base>/health``                      JSON health snapshot, retained, every ``health_interval``
=====================================  ==========================================================

City and lab become topic levels in lower case with spaces, ``/``, ``+`` and ``#`` replaced by
``-`` (``"Bad Schönborn"`` -> ``bad-schönborn``), so a broker ACL such as
``pattern write digitallabor/+/+/%u/#`` matches every device of the region.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from ..errors import ConfigError

KINDS: Final = ("readings", "events", "status", "health")
"""The last topic level of everything a device publishes."""

_NOT_IN_LEVEL: Final = re.compile(r"[\s/+#\x00]+")


def topic_level(text: str) -> str:
    """``text`` as one topic level: lower case, spaces and MQTT wildcards replaced by ``-``."""
    return _NOT_IN_LEVEL.sub("-", text.strip().lower()).strip("-")


def check_prefix(prefix: str) -> str:
    """Return ``prefix`` if it is a usable topic prefix (one or more levels, no wildcards)."""
    if not prefix or prefix.startswith("/") or prefix.endswith("/") or "//" in prefix:
        raise ConfigError(
            f"topic prefix {prefix!r} is not usable: give one or more non-empty levels "
            "separated by '/', without a leading or trailing '/' (for example 'digitallabor')"
        )
    if "+" in prefix or "#" in prefix or "\x00" in prefix:
        raise ConfigError(
            f"topic prefix {prefix!r} contains an MQTT wildcard ('+' or '#'); "
            "use plain names such as 'digitallabor'"
        )
    return prefix


@dataclass(frozen=True, slots=True)
class DeviceTopics:
    """The topics of one device."""

    base: str
    """``<prefix>/<city>/<lab>/<device>``."""

    @classmethod
    def build(cls, prefix: str, city: str, lab: str, device: str) -> DeviceTopics:
        """Topics of ``device``; city and lab must not be empty (they route data in the region)."""
        missing = [key for key, value in (("city", city), ("lab", lab)) if not topic_level(value)]
        if missing:
            keys = " and ".join(f"device.{key}" for key in missing)
            raise ConfigError(
                f"the uplink publishes under {prefix}/<city>/<lab>/{device}/...; set {keys} "
                'in the [device] table (for example city = "Rastatt", lab = "digitallabor-rastatt")'
            )
        return cls(f"{check_prefix(prefix)}/{topic_level(city)}/{topic_level(lab)}/{device}")

    @property
    def readings(self) -> str:
        """SenML packs of readings."""
        return f"{self.base}/readings"

    @property
    def events(self) -> str:
        """SenML packs of events and alerts."""
        return f"{self.base}/events"

    @property
    def status(self) -> str:
        """Retained ``online`` / ``offline``."""
        return f"{self.base}/status"

    @property
    def health(self) -> str:
        """Retained health snapshot (JSON)."""
        return f"{self.base}/health"


@dataclass(frozen=True, slots=True)
class TopicParts:
    """What a topic under a prefix names: the device and the kind of message."""

    city: str
    lab: str
    device: str
    kind: str


def parse_topic(prefix: str, topic: str) -> TopicParts | None:
    """Split ``<prefix>/<city>/<lab>/<device>/<kind>``; None for any other topic."""
    head = prefix + "/"
    if not topic.startswith(head):
        return None
    parts = topic[len(head) :].split("/")
    if len(parts) != 4 or parts[3] not in KINDS or not all(parts):
        return None
    return TopicParts(*parts)
