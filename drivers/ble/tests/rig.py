"""What the driver tests share: tags on a real Resources, a ManualClock, bleak's own types.

Nothing here replaces project code: :class:`Rig` builds real :class:`BleTagDriver` objects
that share one real :class:`~edge_agent.resources.Resources` (so they share one scanner), with
a :class:`~edge_agent.clock.ManualClock` as both the wall clock and the monotonic time source,
and collects what they publish. :func:`advertisement` wraps bytes in bleak's ``BLEDevice`` and
``AdvertisementData``, as BlueZ would hand them over.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from drivers.ble import parse_ad_structures, parse_hci_le_advertising_report, parse_hex_dump, uuid16
from drivers.ble.driver import BleTagDriver
from drivers.ble.options import BleTagOptions
from drivers.ble.scanner import Scanner
from edge_agent.clock import ManualClock
from edge_agent.readings import Reading
from edge_agent.resources import Resources

CASES = Path(__file__).parent / "testcases"
_META = re.compile(r"^#\s*([a-z_]+):\s*(.*?)\s*$", re.MULTILINE)
LOG = logging.getLogger("edge_agent.test.ble")


def advertisement(
    address: str,
    *,
    service_data: Mapping[str, bytes] | None = None,
    manufacturer_data: Mapping[int, bytes] | None = None,
    rssi: int = -60,
    local_name: str | None = None,
) -> tuple[BLEDevice, AdvertisementData]:
    """bleak's objects for one advertisement."""
    return BLEDevice(address, local_name, None), AdvertisementData(
        local_name=local_name,
        manufacturer_data=dict(manufacturer_data or {}),
        service_data=dict(service_data or {}),
        service_uuids=[],
        tx_power=None,
        rssi=rssi,
        platform_data=(),
    )


@dataclass
class Case:
    """A captured test case as the radio would deliver it."""

    name: str
    meta: dict[str, str]
    expected: dict[str, Any]
    adverts: list[tuple[BLEDevice, AdvertisementData]] = field(default_factory=list)

    @property
    def address(self) -> str:
        return self.adverts[0][0].address


def load_case(name: str) -> Case:
    """A case of ``testcases/`` as bleak's ``BLEDevice`` and ``AdvertisementData``."""
    import json

    text = (CASES / name / "input.hex").read_text(encoding="ascii")
    expected = json.loads((CASES / name / "expected.json").read_text(encoding="utf-8"))
    meta = dict(_META.findall(text))
    packets = parse_hex_dump(text)
    case = Case(name, meta, expected)
    kind = meta["kind"]
    for packet in packets:
        if kind == "hci_event":
            for ad in parse_hci_le_advertising_report(packet):
                case.adverts.append(
                    advertisement(
                        ad.address,
                        service_data=ad.service_data,
                        manufacturer_data=ad.manufacturer_data,
                        rssi=-127 if ad.rssi_dbm is None else ad.rssi_dbm,
                        local_name=ad.local_name,
                    )
                )
        elif kind == "ad_structures":
            data = parse_ad_structures(packet)
            case.adverts.append(
                advertisement(
                    meta["address"],
                    service_data=data.service_data,
                    manufacturer_data=data.manufacturer_data,
                    local_name=data.local_name,
                )
            )
        elif kind == "service_data":
            uuid = uuid16(int(meta["uuid"], 16))
            case.adverts.append(advertisement(meta["address"], service_data={uuid: packet}))
        elif kind == "manufacturer_data":
            company = int(meta["company_id"], 16)
            case.adverts.append(advertisement(meta["address"], manufacturer_data={company: packet}))
        else:
            raise AssertionError(f"unknown case kind {kind!r}")
    return case


def case_names() -> list[str]:
    return sorted(path.name for path in CASES.iterdir() if path.is_dir())


class Rig:
    """Tags sharing one Resources and one ManualClock; ``readings`` collects what they publish."""

    def __init__(self, *, synchronized: bool = True) -> None:
        self.clock = ManualClock(1_767_222_000.0, synchronized=synchronized)
        self.resources = Resources()
        self.readings: list[Reading] = []
        self.drivers: list[BleTagDriver] = []

    def tag(
        self,
        name: str = "lab",
        *,
        interval: float = 0.0,
        configured: Mapping[str, str] | None = None,
        **options: Any,
    ) -> BleTagDriver:
        """A ``ble.tag`` driver (options validated as the config does); simulated by default.

        ``interval`` 0 publishes every new measurement (a config's smallest is 1 ms).
        """
        options.setdefault("backend", "simulated")
        driver = BleTagDriver(
            name,
            BleTagOptions.model_validate(options),
            interval=interval,
            publish=self.readings.append,
            clock=self.clock,
            logger=LOG.getChild(name),
            resources=self.resources,
            configured_backends=configured,
            monotonic=self.clock.now,
        )
        self.drivers.append(driver)
        return driver

    def scanner(self, adapter: str = "hci0") -> Scanner:
        driver = next(d for d in self.drivers if d.scanner is not None)
        assert driver.scanner is not None
        assert driver.scanner.adapter == adapter
        return driver.scanner

    def streams(self, prefix: str = "") -> list[str]:
        return [r.stream for r in self.readings if r.stream.startswith(prefix)]

    def values(self, stream: str) -> list[object]:
        return [r.value for r in self.readings if r.stream == stream]

    def take(self) -> list[Reading]:
        """The readings published since the last call."""
        out, self.readings[:] = list(self.readings), []
        return out
