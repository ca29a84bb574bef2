"""Finding experiments: the bundled ones and those in a user directory, and loading their code.

Bundled experiments are the folders of the top-level ``experiments`` package that hold an
``experiment.toml``. A lab adds its own by copying a folder into the user directory
(``experiments_dir`` in the config, ``<data_dir>/experiments`` unless set). A user experiment
with the name of a bundled one replaces it, so a lab can adapt a bundled experiment; the log
says so.

Each experiment folder becomes a package of its own (``experiments.<folder>`` for bundled ones,
``edge_user_experiments.<folder>`` for user ones), so its modules may import each other with
relative imports.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import types
from collections.abc import Iterable
from pathlib import Path

from ..errors import ConfigError
from .base import Experiment
from .manifest import MANIFEST_NAME, Manifest, load_manifest

USER_PACKAGE = "edge_user_experiments"


def bundled_dir() -> Path:
    """The folder of the experiments shipped with the kit."""
    spec = importlib.util.find_spec("experiments")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the bundled 'experiments' package is missing; reinstall the kit")
    return Path(next(iter(spec.submodule_search_locations)))


def experiment_folders(directory: Path) -> list[Path]:
    """The folders in ``directory`` that hold an ``experiment.toml``, by name."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if (p / MANIFEST_NAME).is_file())


def find_experiments(
    user_dirs: Iterable[Path] = (), *, logger: logging.Logger | None = None
) -> dict[str, Manifest]:
    """Every experiment by name: bundled first, then each user directory (which may replace).

    Raises:
        ConfigError: a manifest is invalid, or one directory has two experiments of one name.
    """
    found: dict[str, Manifest] = {}
    for directory in [bundled_dir(), *user_dirs]:
        here: dict[str, Path] = {}
        for folder in experiment_folders(directory):
            manifest = load_manifest(folder)
            if manifest.name in here:
                raise ConfigError(
                    f"{folder}: experiment name {manifest.name!r} is also used by "
                    f"{here[manifest.name]}; rename one of them in its {MANIFEST_NAME}"
                )
            here[manifest.name] = folder
            if manifest.name in found and logger is not None:
                logger.info(
                    "experiment %r in %s replaces the one in %s",
                    manifest.name,
                    folder,
                    found[manifest.name].folder,
                )
            found[manifest.name] = manifest
    return found


def _package_for(folder: Path) -> str:
    """The package name the folder's modules are imported under (created if needed)."""
    bundled = bundled_dir().resolve()
    if folder.resolve().parent == bundled:
        return f"experiments.{folder.name}"
    if USER_PACKAGE not in sys.modules:
        root = types.ModuleType(USER_PACKAGE)
        root.__path__ = []
        sys.modules[USER_PACKAGE] = root
    name = f"{USER_PACKAGE}.{folder.name.replace('-', '_')}"
    package = sys.modules.get(name)
    if package is None or list(getattr(package, "__path__", [])) != [str(folder)]:
        # Another folder of the same name was loaded before: forget its modules.
        for stale in [m for m in sys.modules if m.startswith(name + ".")]:
            del sys.modules[stale]
        package = types.ModuleType(name)
        package.__path__ = [str(folder)]
        sys.modules[name] = package
    return name


def load_experiment_class(manifest: Manifest) -> type[Experiment]:
    """Import the class named by the manifest's ``entry``; errors name the file and the fix."""
    module_name, class_name = manifest.entry.split(":")
    folder = manifest.folder
    source = folder / f"{module_name}.py"
    if not source.is_file():
        raise ConfigError(
            f"{folder / MANIFEST_NAME}: entry {manifest.entry!r} needs {source}, which is missing"
        )
    qualified = f"{_package_for(folder)}.{module_name}"
    try:
        module = importlib.import_module(qualified)
    except Exception as exc:
        raise ConfigError(
            f"{source}: importing the experiment failed: {type(exc).__name__}: {exc}"
        ) from exc
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Experiment)):
        raise ConfigError(
            f"{source}: entry {manifest.entry!r} must name a subclass of "
            "edge_agent.experiments.Experiment"
        )
    return cls


__all__ = [
    "bundled_dir",
    "experiment_folders",
    "find_experiments",
    "load_experiment_class",
]
