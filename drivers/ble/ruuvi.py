"""RuuviTag data format 5 (RAWv2), decoded by the ``ruuvitag-ble`` library.

Manufacturer data of company 0x0499, 24 bytes, big-endian
(https://docs.ruuvi.com/communication/bluetooth-advertisements/data-format-5-rawv2)::

    offset  0  data format, 5
            1  temperature      int16   0.005 °C        0x8000 = not available
            3  humidity         uint16  0.0025 %        0xFFFF = not available
            5  pressure         uint16  1 Pa + 50000 Pa 0xFFFF = not available
            7  acceleration x, y, z, int16 each, mG     0x8000 = not available
           13  power info: 11 bits battery (mV above 1600), 5 bits tx power (2 dBm above
               -40 dBm); all ones = not available
           15  movement counter uint8                   0xFF = not available
           16  measurement sequence number uint16       0xFFFF = not available
           18  MAC, 6 bytes                              all 0xFF = not available

``ruuvitag-ble``'s public entry point (``RuuvitagBluetoothDeviceData``) reports neither the
measurement sequence number nor the sentinel of the movement counter, so its data format 5
decoder is used directly and those two sentinels are applied here. The library rounds
temperature and humidity to 0.01 °C and 0.01 %, coarser than the format's 0.005 °C and
0.0025 %, well below the sensor's accuracy (±0.2 °C, ±2 %RH).

Other Ruuvi data formats (3, 6, E1) are not decoded: :func:`decode_ruuvi` returns ``None``.
"""

from __future__ import annotations

from typing import Final

from ruuvitag_ble.df5_decoder import DataFormat5Decoder

from edge_agent.errors import ParseError

from .sample import BleFormat, BleSample

DATA_FORMAT_5: Final = 5
DF5_LENGTH: Final = 24
MOVEMENT_NOT_AVAILABLE: Final = 0xFF
SEQUENCE_NOT_AVAILABLE: Final = 0xFFFF
MAC_NOT_AVAILABLE: Final = "FF:FF:FF:FF:FF:FF"


def decode_ruuvi(address: str, payload: bytes) -> BleSample | None:
    """Decode RuuviTag manufacturer data (company 0x0499, without the company id).

    Args:
        address: the advertiser's address as the scanner reported it.
        payload: the manufacturer data after the company id, starting with the format byte.

    Returns:
        The sample (°C, %, hPa, mV, dBm, mG), or ``None`` for a data format other than 5.

    Raises:
        ParseError: empty, or data format 5 with a length other than 24 bytes.
    """
    if not payload:
        raise ParseError(f"RuuviTag advertisement from {address}: manufacturer data is empty")
    if payload[0] != DATA_FORMAT_5:
        return None
    if len(payload) != DF5_LENGTH:
        raise ParseError(
            f"RuuviTag data format 5 from {address} is {len(payload)} bytes long, expected 24: "
            f"{payload.hex()}"
        )
    decoder = DataFormat5Decoder(bytes(payload))
    acceleration = decoder.acceleration_vector_mg
    movement = decoder.movement_counter
    sequence = decoder.measurement_sequence_number
    mac = decoder.mac
    return BleSample(
        format=BleFormat.RUUVI_DF5,
        address=address.upper(),
        payload_mac=None if mac == MAC_NOT_AVAILABLE else mac,
        temperature_c=decoder.temperature_celsius,
        humidity_pct=decoder.humidity_percentage,
        pressure_hpa=decoder.pressure_hpa,
        battery_mv=decoder.battery_voltage_mv,
        tx_power_dbm=decoder.tx_power_dbm,
        acceleration_mg=None if acceleration[0] is None else acceleration,
        movement_count=None if movement == MOVEMENT_NOT_AVAILABLE else movement,
        packet_id=None if sequence == SEQUENCE_NOT_AVAILABLE else sequence,
    )
