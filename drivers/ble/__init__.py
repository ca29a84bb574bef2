"""BLE environmental sensors: the ``ble.tag`` driver and the sans-I/O decoders below it.

The decoders take bytes and return frozen dataclasses; no scanner, no clock, no asyncio. The
driver (:mod:`.driver`, with :mod:`.scanner`, :mod:`.tracking` and the backends
:mod:`.bleak_radio` and :mod:`.simulated_radio`) scans with bleak and publishes readings;
it is imported only when a ``ble.tag`` sensor is configured.

- :func:`decode_advertisement`: one entry point for every supported format, dispatching on the
  service-data UUID or manufacturer id: Xiaomi LYWSD03MMC custom firmware (ATC1441 and pvvx
  formats, decoded here), BTHome v2 incl. encryption (``bthome-ble``) and RuuviTag data
  format 5 (``ruuvitag-ble``). Returns a :class:`BleSample`, or ``None`` for advertisements of
  no known format.
- :func:`parse_hci_le_advertising_report` and :func:`parse_hex_dump`: turn an HCI capture (as
  ``hcidump -R`` prints it) into :class:`Advertisement` objects a technician can feed to
  :func:`decode_advertisement`.
- :func:`to_readings`: a :class:`BleSample` as :class:`~edge_agent.readings.Reading` objects.

Every decoder raises only :class:`~edge_agent.errors.ParseError` for malformed input of a
format it recognises (:func:`bind_key_from_hex` raises ``ConfigError`` for a bad key).
"""

from __future__ import annotations

from .advertisement import decode_advertisement
from .bthome import bind_key_from_hex, decode_bthome
from .custom_firmware import decode_custom_firmware
from .hci import Advertisement, parse_ad_structures, parse_hci_le_advertising_report, parse_hex_dump
from .readings import SensorReadings, to_readings
from .ruuvi import decode_ruuvi
from .sample import BleFormat, BleSample
from .uuids import BTHOME_UUID, ENVIRONMENTAL_SENSING_UUID, RUUVI_COMPANY_ID, uuid16

__all__ = [
    "BTHOME_UUID",
    "ENVIRONMENTAL_SENSING_UUID",
    "RUUVI_COMPANY_ID",
    "Advertisement",
    "BleFormat",
    "BleSample",
    "SensorReadings",
    "bind_key_from_hex",
    "decode_advertisement",
    "decode_bthome",
    "decode_custom_firmware",
    "decode_ruuvi",
    "parse_ad_structures",
    "parse_hci_le_advertising_report",
    "parse_hex_dump",
    "to_readings",
    "uuid16",
]
