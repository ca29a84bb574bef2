"""Tests of the camera driver: backends, frame pipeline, scene, crops, sample configs (pytest)."""
