"""How many advertisements per second the scanner's detection callback handles on one core.

Run: ``.venv/bin/python -m drivers.ble.benchmark``. Prints figures; asserts nothing.

Each scenario feeds pre-built bleak ``BLEDevice``/``AdvertisementData`` objects into
:meth:`Scanner.on_advertisement` (the callback bleak calls), with tags subscribed as in the
agent and readings published into a real :class:`~edge_agent.hub.Hub` with one subscriber:

- ``new``: every advertisement is a new measurement (decoded, deduplicated, published) - the
  worst case, since real tags repeat each measurement several times;
- ``repeat``: the same advertisement again (recognised by its bytes, nothing decoded);
- ``bystander``: an advertisement from an address no tag listens to (counted, dropped).
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections.abc import Callable

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from edge_agent.clock import SystemClock
from edge_agent.hub import Hub
from edge_agent.resources import Resources

from . import payloads
from .driver import BleTagDriver
from .options import BleTagOptions
from .payloads import Measurement
from .scanner import Scanner
from .uuids import BTHOME_UUID, ENVIRONMENTAL_SENSING_UUID, RUUVI_COMPANY_ID

Advert = tuple[BLEDevice, AdvertisementData]
ROUNDS = 3
PER_ROUND = 51_200
DISTINCT = 1024


def _advert(address: str, service: dict[str, bytes], manufacturer: dict[int, bytes]) -> Advert:
    return BLEDevice(address, None, None), AdvertisementData(
        local_name=None,
        manufacturer_data=manufacturer,
        service_data=service,
        service_uuids=[],
        tx_power=None,
        rssi=-65,
        platform_data=(),
    )


def adverts(fmt: str, address: str) -> list[Advert]:
    """:data:`DISTINCT` advertisements, each one a new measurement after the one before.

    More than the 256 BTHome decoding remembers (:data:`drivers.ble.bthome.DECODE_CACHE_SIZE`),
    so every BTHome advertisement is really decoded, as new measurements are in the field.
    """
    out = []
    for n in range(DISTINCT):
        m = Measurement(address, 20 + n / 100, 45.0, 80, 2900, n)
        if fmt == "atc1441":
            out.append(_advert(address, {ENVIRONMENTAL_SENSING_UUID: payloads.atc1441(m)}, {}))
        elif fmt == "pvvx":
            out.append(_advert(address, {ENVIRONMENTAL_SENSING_UUID: payloads.pvvx(m)}, {}))
        elif fmt == "ruuvi":
            out.append(_advert(address, {}, {RUUVI_COMPANY_ID: payloads.ruuvi_df5(m)}))
        else:
            out.append(_advert(address, {BTHOME_UUID: payloads.bthome(m)}, {}))
    return out


def rate(callback: Callable[[BLEDevice, AdvertisementData], None], batch: list[Advert]) -> float:
    """Advertisements per CPU second of this process, median of :data:`ROUNDS`."""
    rates = []
    for _ in range(ROUNDS):
        loops = PER_ROUND // len(batch)
        start = time.process_time()
        for _ in range(loops):
            for device, adv in batch:
                callback(device, adv)
        rates.append(loops * len(batch) / (time.process_time() - start))
    return statistics.median(rates)


async def main() -> None:
    """Print advertisements/s for each format and scenario."""
    hub = Hub()
    sub = hub.subscribe("*", name="store", maxlen=10_000_000)
    resources = Resources()
    log = logging.getLogger("edge_agent.bench.ble")
    tags = {
        "atc1441": "A4:C1:38:00:00:01",
        "pvvx": "A4:C1:38:00:00:02",
        "bthome": "A4:C1:38:00:00:03",
        "ruuvi": "CB:B8:33:00:00:04",
    }
    drivers = []
    sim = "simulated"
    for fmt, address in tags.items():
        driver = BleTagDriver(
            f"tag-{fmt}",
            BleTagOptions.model_validate({"address": address, "format": fmt, "backend": sim}),
            interval=0.0,
            publish=hub.publish,
            clock=SystemClock(trust=True),
            logger=log,
            resources=resources,
        )
        await driver.start()
        drivers.append(driver)
    scanner = drivers[0].scanner
    assert isinstance(scanner, Scanner)
    await scanner.radio.stop()  # only the benchmark's advertisements
    callback = scanner.on_advertisement
    print("advertisements/s through Scanner.on_advertisement (one core, median of 3):")
    for fmt, address in tags.items():
        batch = adverts(fmt, address)
        new = rate(callback, batch)
        repeat = rate(callback, batch[:1])
        print(f"  {fmt:<8} new {new:>10,.0f}   repeat {repeat:>10,.0f}")
    bystander = [_advert("5D:2A:91:0C:7E:13", {}, {0x004C: b"\x10\x05\x03\x1c"})]
    print(f"  bystander           {rate(callback, bystander):>10,.0f}")
    print(
        f"readings published: {hub.published:,}; input errors: "
        f"{sum(sum(d.input_errors.values()) for d in drivers)}"
    )
    sub.close()
    for driver in drivers:
        await driver.stop()


if __name__ == "__main__":
    asyncio.run(main())
