"""Choosing a hardware family's backend: option > config > environment > probe.

Each hardware family (``gpio``, ``onewire``, ``ble``, ``serial``, ``camera``, ``system``) has
one or more real backends and a ``simulated`` one. A sensor's backend is chosen in this order,
the way gpiozero chooses its pin factory:

1. the sensor's own ``options.backend``;
2. the config file's ``[backends]`` table (``gpio = "lgpio"``), for every sensor of the family;
3. the environment variable ``EDGE_AGENT_<FAMILY>_BACKEND`` (``EDGE_AGENT_GPIO_BACKEND=simulated``);
4. probing the backends in order (real ones first, ``simulated`` last), with a warning that says
   which one was chosen and why the ones before it were not.

Probing only looks (a device node, an importable library); it never opens a device. A name
that is not a backend of the family is a :class:`~edge_agent.errors.ConfigError` that lists
the known ones.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .errors import ConfigError, unknown_choice

Probe = Callable[[], str | None]
"""Looks whether a backend can work here: ``None`` if it can, else the reason it cannot."""

Source = Literal["option", "config", "environment", "probe"]


@dataclass(frozen=True)
class Backend:
    """One backend of a family.

    Attributes:
        name: what configs and the environment call it (``lgpio``, ``sysfs``, ``simulated``).
        summary: one line for ``edge-agent drivers``.
        probe: whether it can work on this machine.
    """

    name: str
    summary: str
    probe: Probe

    @property
    def simulated(self) -> bool:
        """Whether this is the family's simulated backend."""
        return self.name == SIMULATED


@dataclass(frozen=True)
class BackendChoice:
    """The backend chosen for one sensor, and how it was chosen (for logs and status)."""

    family: str
    name: str
    source: Source
    reason: str

    def describe(self) -> str:
        """``gpio backend 'lgpio' (from [backends] gpio)``."""
        return f"{self.family} backend {self.name!r} ({self.reason})"


SIMULATED = "simulated"


def always() -> str | None:
    """A probe for backends that work everywhere (the simulated ones)."""
    return None


def needs_module(module: str, package: str) -> Probe:
    """A probe that passes when ``module`` can be imported (without importing it)."""

    def probe() -> str | None:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        return None if found else f"Python module {module!r} is missing (install {package})"

    return probe


def needs_path(pattern: str, what: str) -> Probe:
    """A probe that passes when a file matching the glob ``pattern`` exists."""

    def probe() -> str | None:
        root = Path(pattern).anchor or "."
        found = any(Path(root).glob(pattern.removeprefix(root)))
        return None if found else f"no {what} ({pattern})"

    return probe


def all_of(*probes: Probe) -> Probe:
    """A probe that passes when every one of ``probes`` passes; reports the first failure."""

    def probe() -> str | None:
        for check in probes:
            reason = check()
            if reason is not None:
                return reason
        return None

    return probe


def environment_variable(family: str) -> str:
    """``EDGE_AGENT_GPIO_BACKEND`` for ``gpio``."""
    return f"EDGE_AGENT_{family.upper()}_BACKEND"


def check_backend_name(family: str, name: str, backends: Sequence[Backend]) -> str:
    """``name`` if it is one of ``backends``, else :class:`ConfigError` naming the choices."""
    names = [b.name for b in backends]
    if name not in names:
        raise ConfigError(unknown_choice(f"{family} backend", name, names))
    return name


def choose_backend(
    family: str,
    backends: Sequence[Backend],
    *,
    option: str | None,
    configured: Mapping[str, str],
    sensor: str,
    logger: logging.Logger,
    environ: Mapping[str, str] | None = None,
) -> BackendChoice:
    """Choose the backend of ``sensor`` (see the module docstring for the order).

    Args:
        family: the hardware family.
        backends: the family's backends in probing order (simulated last).
        option: the sensor's ``options.backend``.
        configured: the config file's ``[backends]`` table.
        sensor: the sensor's name, for messages.
        logger: where the warning about a probed choice goes.
        environ: the environment (``os.environ`` unless given).

    Raises:
        ConfigError: a named backend is unknown, or probing found none that works.
    """
    env = os.environ if environ is None else environ
    variable = environment_variable(family)
    given: list[tuple[str | None, Source, str]] = [
        (option, "option", f"options.backend of sensor {sensor!r}"),
        (configured.get(family), "config", f"[backends] {family} in the config"),
        (env.get(variable) or None, "environment", f"${variable}"),
    ]
    for name, source, where in given:
        if name is not None:
            try:
                check_backend_name(family, name, backends)
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc}") from exc
            logger.info("sensor %r: %s backend %r from %s", sensor, family, name, where)
            return BackendChoice(family, name, source, f"from {where}")

    skipped: list[str] = []
    for backend in backends:
        reason = backend.probe()
        if reason is None:
            why = "; ".join(skipped) if skipped else "the first backend that works here"
            logger.warning(
                "sensor %r: no %s backend set (options.backend, [backends] %s or $%s); "
                "probed and chose %r (%s)",
                sensor,
                family,
                family,
                variable,
                backend.name,
                why,
            )
            return BackendChoice(family, backend.name, "probe", f"probed; {why}")
        skipped.append(f"{backend.name}: {reason}")
    raise ConfigError(
        f"sensor {sensor!r}: no {family} backend works here ({'; '.join(skipped)}); "
        f"set options.backend or [backends] {family}"
    )


__all__ = [
    "SIMULATED",
    "Backend",
    "BackendChoice",
    "Probe",
    "all_of",
    "always",
    "check_backend_name",
    "choose_backend",
    "environment_variable",
    "needs_module",
    "needs_path",
]
