"""One entry point for every supported advertisement format: :func:`decode_advertisement`."""

from __future__ import annotations

from collections.abc import Mapping

from .bthome import check_bind_key, decode_bthome
from .custom_firmware import decode_custom_firmware
from .ruuvi import decode_ruuvi
from .sample import BleSample
from .uuids import BTHOME_UUID, ENVIRONMENTAL_SENSING_UUID, RUUVI_COMPANY_ID


def decode_advertisement(
    address: str,
    service_data: Mapping[str, bytes],
    manufacturer_data: Mapping[int, bytes],
    *,
    bind_key: bytes | None = None,
) -> BleSample | None:
    """Decode an advertisement of any supported format.

    The arguments are what bleak's ``AdvertisementData`` holds (and what
    :func:`~drivers.ble.parse_hci_le_advertising_report` returns). Formats are tried in this
    order, the first present one wins:

    ========================  =====================================  ===========================
    key                       format                                  decoded by
    ========================  =====================================  ===========================
    service data 0xFCD2       BTHome v2, plain or encrypted          ``bthome-ble``
    service data 0x181A       ATC1441 (13 bytes), pvvx (15 bytes)    :mod:`.custom_firmware`
    manufacturer id 0x0499    RuuviTag data format 5                 ``ruuvitag-ble``
    ========================  =====================================  ===========================

    Args:
        address: the advertiser's address as the scanner reports it (``AA:BB:CC:DD:EE:FF``).
        service_data: service data by 128-bit UUID in lower case, as bleak spells it
            (``0000181a-0000-1000-8000-00805f9b34fb``); see :func:`~drivers.ble.uuid16`.
        manufacturer_data: manufacturer data by company id, without the id bytes.
        bind_key: the 16-byte BTHome bind key of this device, if it encrypts. Only BTHome uses
            it; with a key set, plaintext BTHome advertisements are refused.

    Returns:
        The decoded sample, or ``None`` when the advertisement is in no known format (most
        advertisements a scanner hears: phones, beacons, other sensors).

    Raises:
        ParseError: the advertisement is in a known format but does not decode; the message
            names the device and says what is wrong.
        ConfigError: ``bind_key`` is not 16 bytes long.
    """
    check_bind_key(address, bind_key)
    payload = service_data.get(BTHOME_UUID)
    if payload is not None:
        return decode_bthome(address, payload, bind_key=bind_key)
    payload = service_data.get(ENVIRONMENTAL_SENSING_UUID)
    if payload is not None:
        sample = decode_custom_firmware(address, payload)
        if sample is not None:
            return sample
    payload = manufacturer_data.get(RUUVI_COMPANY_ID)
    if payload is not None:
        return decode_ruuvi(address, payload)
    return None
