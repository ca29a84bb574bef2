"""Tests of the 1-Wire w1_slave parser."""
