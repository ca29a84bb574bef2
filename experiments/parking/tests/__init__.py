"""Tests of the parking experiment's model, classifier, commands and training data side."""
