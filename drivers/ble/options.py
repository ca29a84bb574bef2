"""The options of a ``ble.tag`` sensor, validated when the config is read (no radio touched).

::

    [[sensor]]
    name = "lab-window"
    driver = "ble.tag"
    interval = "30s"        # least time between two published measurements
    [sensor.options]
    address = "A4:C1:38:8D:18:B2"
    format = "pvvx"         # auto | bthome | ruuvi | atc1441 | pvvx
    bind_key = "231d39c1d7cc1ab1aee224cd096db932"   # encrypted BTHome only
    stale_after = "5m"      # optional; else learnt from the tag
    adapter = "hci0"

The bind key is a secret: it is kept as a :class:`pydantic.SecretStr`, so ``edge-agent config
check``, ``repr`` and every error message show ``**********`` instead of it.
"""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal

from pydantic import BeforeValidator, SecretStr, field_validator, model_validator

from edge_agent.driver import HardwareOptions
from edge_agent.durations import Duration

TagFormat = Literal["auto", "bthome", "ruuvi", "atc1441", "pvvx"]
"""Which advertisement format a tag sends; ``auto`` takes the first one present."""

BIND_KEY_FORMATS: Final = frozenset({"auto", "bthome"})

_MAC: Final = re.compile(r"^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$")
_ADAPTER: Final = re.compile(r"^hci[0-9]{1,3}$")
_KEY_SEPARATORS: Final = re.compile(r"[\s:-]")
_HEX32: Final = re.compile(r"^[0-9a-f]{32}$")


def normalise_address(value: str) -> str:
    """``a4-c1-38-8d-18-b2`` -> ``A4:C1:38:8D:18:B2``; :class:`ValueError` names the fix."""
    if not _MAC.match(value):
        raise ValueError(
            f"address {value!r} is not a Bluetooth MAC address; write six hex bytes separated by "
            "':' (for example 'A4:C1:38:8D:18:B2'). 'bluetoothctl scan on' on the Pi lists the "
            "tags it hears"
        )
    return value.replace("-", ":").upper()


def _bind_key(value: object) -> SecretStr:
    """Check a bind key without ever putting it (or a near miss of it) into a message."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if not isinstance(value, str):
        raise ValueError(  # noqa: TRY004 - pydantic reports ValueError, not TypeError, as config errors
            f"bind_key must be a string of 32 hexadecimal characters, not a {type(value).__name__}"
        )
    cleaned = _KEY_SEPARATORS.sub("", value).lower()
    if not _HEX32.match(cleaned):
        raise ValueError(
            f"bind_key must be 16 bytes written as 32 hexadecimal characters (spaces, ':' and '-' "
            f"are allowed); the value given has {len(cleaned)} characters after removing those"
            f"{'' if cleaned.isalnum() else ' and others that are not hex digits'}. Copy the key "
            "from the device's flasher or vendor app"
        )
    return SecretStr(cleaned)


BindKey = Annotated[SecretStr, BeforeValidator(_bind_key)]
"""A BTHome bind key: 32 hex characters in lower case, hidden in dumps and reprs."""


class BleTagOptions(HardwareOptions):
    """Options of one BLE tag.

    Attributes:
        address: the tag's MAC address as the scanner reports it; upper case with ``:``.
        format: the advertisement format to decode; ``auto`` tries BTHome, then the ATC1441/pvvx
            custom formats, then RuuviTag, and takes the first present.
        bind_key: the 16-byte AES key of an encrypted BTHome tag, as 32 hex characters. With a
            key, plaintext BTHome advertisements from the tag are refused (they could be spoofed).
        stale_after: how long the tag may stay silent before its readings are flagged stale;
            unset means three times its learnt measurement interval, at least one minute.
        adapter: the BlueZ adapter to scan with (``hci0``); every tag on one adapter shares one
            scanner.
    """

    address: str
    format: TagFormat = "auto"
    bind_key: BindKey | None = None
    stale_after: Duration | None = None
    adapter: str = "hci0"

    @field_validator("address")
    @classmethod
    def _address_is_a_mac(cls, value: str) -> str:
        return normalise_address(value)

    @field_validator("adapter")
    @classmethod
    def _adapter_is_a_bluez_name(cls, value: str) -> str:
        if not _ADAPTER.match(value):
            raise ValueError(
                f"adapter {value!r} is not a BlueZ adapter name; use 'hci0', 'hci1', ... "
                "('bluetoothctl list' shows the adapters)"
            )
        return value

    @model_validator(mode="after")
    def _bind_key_only_for_bthome(self) -> BleTagOptions:
        if self.bind_key is not None and self.format not in BIND_KEY_FORMATS:
            raise ValueError(
                f"bind_key is only used by encrypted BTHome, but format is {self.format!r}; set "
                "format = 'bthome' (or 'auto'), or remove bind_key"
            )
        return self

    def bind_key_bytes(self) -> bytes | None:
        """The bind key as the 16 bytes the decoder takes, or ``None``."""
        if self.bind_key is None:
            return None
        return bytes.fromhex(self.bind_key.get_secret_value())


__all__ = ["BIND_KEY_FORMATS", "BindKey", "BleTagOptions", "TagFormat", "normalise_address"]
