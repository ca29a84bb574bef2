"""The device ``edge-agent doctor`` looks at: its config, its kernel files, the time, limits.

Kernel files (``/proc``, ``/sys``, ``/etc``) are read below :attr:`Device.root`, so that tests
point the doctor at a directory tree of captured files, as the ``system.health`` driver's tests
do. Paths named in the config (data directory, secrets, API socket) are used as they are.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from drivers.system.health import HealthOptions
from drivers.system.sources import LinuxSources, RawHealth

from ..clock import kernel_clock_synchronized
from ..config import AgentConfig


@dataclass
class Device:
    """What the checks need to know.

    Attributes:
        config: the agent's config, or None when it could not be read.
        config_path: where the config was looked for.
        config_error: why it could not be read (None when it was).
        root: where ``/proc``, ``/sys`` and ``/etc`` are (``/``; a tree in tests).
        connect_timeout: seconds a TCP connection to the broker may take.
        allowed_ports: TCP ports that may listen on other than loopback (SSH, mDNS).
        now: the wall clock.
        clock_synchronized: asks the kernel whether the clock is synchronised.
    """

    config: AgentConfig | None
    config_path: Path
    config_error: str | None = None
    root: Path = Path("/")
    connect_timeout: float = 5.0
    allowed_ports: frozenset[int] = frozenset({22, 5353})
    now: Callable[[], float] = time.time
    clock_synchronized: Callable[[], bool] = kernel_clock_synchronized
    _raw: RawHealth | None = field(default=None, repr=False)

    def path(self, absolute: str) -> Path:
        """A kernel or system file below :attr:`root` (``device.path("/proc/uptime")``)."""
        return self.root / absolute.lstrip("/")

    def health_options(self) -> HealthOptions | None:
        """The options of the first ``system.health`` sensor of the config, if any."""
        if self.config is None:
            return None
        for sensor in self.config.sensors:
            options = self.config.driver_options.get(sensor.name)
            if sensor.driver == "system.health" and isinstance(options, HealthOptions):
                return options
        return None

    def raw_health(self) -> RawHealth:
        """One read of the health sources (thermal zone, throttling, /proc, disk space)."""
        if self._raw is None:
            options = self.health_options()
            self._raw = LinuxSources(
                root=self.root,
                disk_path=self.data_dir() or Path("/"),
                thermal_zone=options.thermal_zone if options else "auto",
                vcgencmd=shutil.which("vcgencmd"),
                vcgencmd_timeout=options.vcgencmd_timeout if options else 2.0,
            ).read()
        return self._raw

    def data_dir(self) -> Path | None:
        """The store's data directory from the config (None without a config)."""
        return None if self.config is None else self.config.store.data_dir

    def model(self) -> str | None:
        """The device-tree model (``Raspberry Pi 4 Model B Rev 1.5``), None off ARM boards."""
        for name in ("/proc/device-tree/model", "/sys/firmware/devicetree/base/model"):
            try:
                return self.path(name).read_bytes().rstrip(b"\0\n").decode(errors="replace")
            except OSError:
                continue
        return None

    def is_raspberry_pi(self) -> bool:
        """Whether the device tree says this is a Raspberry Pi."""
        model = self.model()
        return model is not None and model.startswith("Raspberry Pi")
