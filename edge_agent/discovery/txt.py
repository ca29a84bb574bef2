"""The TXT record an agent announces, and reading it back (no I/O).

=============  =====================================================================
key            value
=============  =====================================================================
``txtvers``    ``1``: the layout of this record
``id``         the device id (``[device] id``)
``city``       ``[device] city``
``lab``        ``[device] lab``
``version``    the agent's version
``health``     ``ok`` or ``degraded`` (details: ``GET /v1/device`` over SSH)
``backlog``    readings waiting for the uplink (only with an ``[uplink]``)
=============  =====================================================================

Nothing secret goes into it: no user names, keys, broker credentials or addresses beyond what
mDNS announces anyway. DNS-SD limits each ``key=value`` to 255 bytes; longer values are cut.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

TXT_VERSION: Final = "1"
MAX_ENTRY: Final = 255


def build_txt(
    *, device_id: str, city: str, lab: str, version: str, extra: Mapping[str, str]
) -> dict[str, str]:
    """The TXT record of an agent: identity first, then ``extra`` (health, backlog)."""
    record = {
        "txtvers": TXT_VERSION,
        "id": device_id,
        "city": city,
        "lab": lab,
        "version": version,
        **extra,
    }
    out = {}
    for key, value in record.items():
        room = MAX_ENTRY - len(key.encode()) - 1
        data = value.encode("utf-8")[:room]
        out[key] = data.decode("utf-8", "ignore")
    return out


def parse_txt(properties: Mapping[bytes, bytes | None]) -> dict[str, str]:
    """A received TXT record as text (keys lower-cased, valueless keys as ``""``)."""
    out = {}
    for key, value in properties.items():
        name = key.decode("utf-8", "replace").lower()
        out[name] = "" if value is None else value.decode("utf-8", "replace")
    return out
