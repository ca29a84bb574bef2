"""Tests of the BLE advertisement decoders."""
