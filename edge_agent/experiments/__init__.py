"""The experiments SDK: what makers write, and how the agent finds and runs it.

An experiment is a folder with an ``experiment.toml`` manifest (:mod:`.manifest`), a module
with an :class:`Experiment` subclass (:mod:`.base`), a README and tests. The agent finds them
(:mod:`.catalog`), validates their parameters with the config, and runs each enabled one under
the supervisor (:mod:`.runner`). ``edge-agent experiment run`` replays a recorded trace
(:mod:`.trace`) through the same runner.
"""

from __future__ import annotations

from .base import Context, Experiment
from .catalog import find_experiments, load_experiment_class
from .manifest import Manifest, load_manifest
from .runner import ExperimentRunner

__all__ = [
    "Context",
    "Experiment",
    "ExperimentRunner",
    "Manifest",
    "find_experiments",
    "load_experiment_class",
    "load_manifest",
]
