"""Encrypted BTHome v2, built here with AES-CCM from the nonce layout bthome.io documents.

https://bthome.io/encryption/: key 231d39c1d7cc1ab1aee224cd096db932, MAC 54:48:E6:8F:80:A5,
counter bytes 00 11 22 33, plaintext 02ca09 03bf13 (25.06 °C, 50.55 %). The nonce is
MAC (6, most significant first) + UUID d2 fc + device information byte + counter (4); the
MIC is 4 bytes. The service data is device information byte (+ MAC, least significant first,
when included) + ciphertext + counter + MIC.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from drivers.ble import BTHOME_UUID, bind_key_from_hex, decode_advertisement, decode_bthome
from edge_agent.errors import ConfigError, ParseError

KEY = bind_key_from_hex("231d39c1d7cc1ab1aee224cd096db932")
MAC = "54:48:E6:8F:80:A5"
COUNTER = bytes.fromhex("00112233")
PLAINTEXT = bytes.fromhex("02ca0903bf13")
SPEC_SERVICE_DATA = bytes.fromhex("41a47266c95f730011223378237214")
"""The encrypted service data bthome.io publishes for these inputs."""


def encrypt(
    plaintext: bytes,
    *,
    key: bytes = KEY,
    mac: str = MAC,
    counter: bytes = COUNTER,
    info: int = 0x41,
) -> bytes:
    """BTHome v2 service data for ``plaintext``, encrypted as bthome.io describes."""
    mac_bytes = bytes.fromhex(mac.replace(":", ""))
    nonce = mac_bytes + bytes.fromhex("d2fc") + bytes((info,)) + counter
    sealed = AESCCM(key, tag_length=4).encrypt(nonce, plaintext, None)
    ciphertext, mic = sealed[:-4], sealed[-4:]
    mac_field = mac_bytes[::-1] if info & 0x02 else b""
    return bytes((info,)) + mac_field + ciphertext + counter + mic


def test_documented_nonce_layout_reproduces_the_published_bytes() -> None:
    assert encrypt(PLAINTEXT) == SPEC_SERVICE_DATA


def test_published_example_decrypts() -> None:
    sample = decode_advertisement(MAC, {BTHOME_UUID: SPEC_SERVICE_DATA}, {}, bind_key=KEY)
    assert sample is not None
    assert (sample.temperature_c, sample.humidity_pct) == (25.06, 50.55)
    assert sample.encrypted
    assert sample.encryption_counter == int.from_bytes(COUNTER, "little")


def test_mac_from_the_payload_is_used_when_the_address_is_random() -> None:
    payload = encrypt(PLAINTEXT + bytes.fromhex("0161"), info=0x43)
    sample = decode_bthome("7A:11:22:33:44:55", payload, bind_key=KEY)
    assert sample.payload_mac == MAC
    assert sample.address == "7A:11:22:33:44:55"
    assert (sample.temperature_c, sample.humidity_pct, sample.battery_pct) == (25.06, 50.55, 97)


def test_mac_not_in_payload_must_come_from_the_address() -> None:
    with pytest.raises(ParseError, match="does not decrypt"):
        decode_bthome("7A:11:22:33:44:55", SPEC_SERVICE_DATA, bind_key=KEY)
    with pytest.raises(ParseError, match="needs the device's MAC"):
        decode_bthome("0D6A2A3B-1111-2222-3333-444455556666", SPEC_SERVICE_DATA, bind_key=KEY)


@pytest.mark.parametrize("index", range(1, len(SPEC_SERVICE_DATA)))
def test_any_flipped_bit_after_the_header_fails_authentication(index: int) -> None:
    tampered = bytearray(SPEC_SERVICE_DATA)
    tampered[index] ^= 0x01
    with pytest.raises(ParseError):
        decode_bthome(MAC, bytes(tampered), bind_key=KEY)


def test_counter_is_reported_for_replay_checks() -> None:
    later = decode_bthome(MAC, encrypt(PLAINTEXT, counter=bytes.fromhex("01000000")), bind_key=KEY)
    earlier = decode_bthome(
        MAC, encrypt(PLAINTEXT, counter=bytes.fromhex("00000000")), bind_key=KEY
    )
    assert later.encryption_counter == 1
    assert earlier.encryption_counter == 0


def test_too_short_for_counter_and_mic() -> None:
    with pytest.raises(ParseError, match="too short"):
        decode_bthome(MAC, bytes.fromhex("4102ca09112233"), bind_key=KEY)


def test_bind_key_must_be_16_bytes() -> None:
    with pytest.raises(ConfigError, match="16 bytes"):
        decode_advertisement(MAC, {BTHOME_UUID: SPEC_SERVICE_DATA}, {}, bind_key=KEY[:15])


@pytest.mark.parametrize(
    "text",
    [
        "231d39c1d7cc1ab1aee224cd096db932",
        "231D39C1 D7CC1AB1 AEE224CD 096DB932",
        "23:1d:39:c1:d7:cc:1a:b1:ae:e2:24:cd:09:6d:b9:32",
    ],
)
def test_bind_key_spellings(text: str) -> None:
    assert bind_key_from_hex(text) == KEY


@pytest.mark.parametrize(
    "text", ["", "231d39c1d7cc1ab1aee224cd096db9", "231d39c1d7cc1ab1aee224cd096db93z"]
)
def test_bad_bind_key_text_names_the_fix(text: str) -> None:
    with pytest.raises(ConfigError, match="32 hexadecimal characters"):
        bind_key_from_hex(text)
