"""Parking occupancy from a camera: bays, rectification, the occupancy model and its tools."""
