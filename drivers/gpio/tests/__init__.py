"""Tests of the GPIO drivers, driven through gpiozero's own MockFactory (pytest)."""
