"""Tests of the system health parsers and the system.health driver."""
