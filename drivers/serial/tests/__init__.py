"""Tests of the serial parsers, reading builders and simulators (pytest)."""
