"""Simulated sensors: deterministic sources for demos, tests and each family's simulated backend.

Given the same seed and the same sampling times they produce the same values. See README.md.
"""
