"""Channel tables for UMB devices: what a channel measures, in which unit, with which factor.

A UMB device answers with a channel number and a raw value; only the device's channel list
says what that value is. :class:`ChannelSpec` is one row of such a list, and
:func:`channel_value` applies it: factor, "error" sentinel, code table, physical range and the
channel's status, giving a value and the :class:`~edge_agent.readings.Quality` flags that go
with it. The IRS31 road sensor's table is in :mod:`drivers.serial.irs31`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from edge_agent.readings import Quality, Value

from .umb import RANGE_STATUSES, ChannelValue, Status


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """One row of a device's channel list.

    Attributes:
        channel: UMB channel number.
        quantity: the reading's quantity name (``surface_temperature``); unique per table.
        unit: SenML unit of the converted value (:mod:`edge_agent.units`), ``""`` for codes.
        factor: converted value = raw value x factor (0.01 for a value sent in 1/100 mm).
        minimum: lowest physically valid converted value, ``None`` for no limit.
        maximum: highest physically valid converted value, ``None`` for no limit.
        invalid_raw: raw value the device sends for "no valid value" (``0x7FFF``), if any.
        codes: raw value -> text for coded channels (road condition); empty for numbers.
        description: what the manual calls the channel.
    """

    channel: int
    quantity: str
    unit: str
    factor: float = 1.0
    minimum: float | None = None
    maximum: float | None = None
    invalid_raw: int | None = None
    codes: Mapping[int, str] = field(default_factory=lambda: MappingProxyType({}))
    description: str = ""


def channel_value(spec: ChannelSpec, value: ChannelValue) -> tuple[Value, Quality]:
    """Convert ``value`` with ``spec``: the reading's value and its quality flags.

    - A status other than OK, or no value sent: ``None`` flagged ``CHECKSUM_FAILED`` (the
      frame decoded, but the sensor says the value is not valid), except the over/underflow
      and over/underrange statuses, which keep the value and flag ``OUT_OF_RANGE``.
    - The channel's ``invalid_raw`` sentinel: ``None`` flagged ``CHECKSUM_FAILED``.
    - A code channel: the code's text; an unknown code becomes ``code_<n>``, ``OUT_OF_RANGE``.
    - A number: raw x factor; outside ``minimum`` ..
      ``maximum`` (or not finite) it is flagged ``OUT_OF_RANGE`` (not finite: value ``None``).
    """
    quality = Quality.GOOD
    raw = value.value
    if value.status != Status.OK:
        if value.status not in RANGE_STATUSES or raw is None:
            return None, Quality.CHECKSUM_FAILED
        quality |= Quality.OUT_OF_RANGE
    if raw is None or (spec.invalid_raw is not None and raw == spec.invalid_raw):
        return None, Quality.CHECKSUM_FAILED
    if spec.codes:
        if isinstance(raw, int) and raw in spec.codes:
            return spec.codes[raw], quality
        return f"code_{raw}", quality | Quality.OUT_OF_RANGE
    if not math.isfinite(raw):
        return None, quality | Quality.OUT_OF_RANGE
    number: float | int = raw
    if spec.factor != 1:
        # Integer raw values are exact: rounding to the factor's decimals removes the binary
        # noise of the multiplication (123 x 0.01 -> 1.23, not 1.2300000000000002).
        number = raw * spec.factor
        if isinstance(raw, int):
            number = round(number, _decimals(spec.factor))
    if (spec.minimum is not None and number < spec.minimum) or (
        spec.maximum is not None and number > spec.maximum
    ):
        quality |= Quality.OUT_OF_RANGE
    return number, quality


def table(*specs: ChannelSpec) -> Mapping[int, ChannelSpec]:
    """A read-only channel -> spec mapping; raises :class:`ValueError` on duplicates."""
    rows: dict[int, ChannelSpec] = {}
    quantities: set[str] = set()
    for spec in specs:
        if spec.channel in rows or spec.quantity in quantities:
            raise ValueError(
                f"channel {spec.channel} ({spec.quantity}) appears twice in a channel table; "
                "channel numbers and quantity names must be unique"
            )
        rows[spec.channel] = spec
        quantities.add(spec.quantity)
    return MappingProxyType(rows)


def _decimals(factor: float) -> int:
    """Decimal places a factor introduces: 0.01 -> 2, 0.1 -> 1, 1 -> 0."""
    return max(0, -math.floor(math.log10(abs(factor)))) if factor else 0
