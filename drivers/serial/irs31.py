"""The Lufft IRS31Pro-UMB road sensor: its UMB channels and its road-surface state.

The IRS31Pro-UMB sits flush in the road surface and measures the surface temperature, the
water film on top of it, and the saline concentration from which it derives the freezing
temperature; from these it classifies the road condition. Its UMB class id is 9, so device
1 has the address ``0x9001``.

Channel numbers, types, ranges and codes are from the IRS31Pro-UMB operating manual V10
(01.2020), chapters 6.1 (measurements), 18.1 (channel list) and 18.2 (channels per TLS 2012
FG3, binary protocol only). Channels 1049-1129 are the TLS channels: integers in fixed steps
with an "error" value, which is why they carry a factor and ``invalid_raw``. The native
water-film channels are not in this table because the manual pages available when it was
written did not show their numbers; the TLS channel 1072 gives the water film in 0.01 mm.
Other channels decode all the same and become ``channel-<n>`` readings.

================  ==========================  ====  =======  ==============================
channel           quantity                    unit  factor   range / codes
================  ==========================  ====  =======  ==============================
101 (106 avg)     surface_temperature(_avg)   Cel   1        -40 .. 80
111 (116 avg)     ground_temperature_5cm      Cel   1        -40 .. 80 (external sensor 1)
121 (126 avg)     ground_temperature_30cm     Cel   1        -40 .. 80 (external sensor 2)
151 (156 avg)     freezing_temperature(_avg)  Cel   1        -40 .. 0 (NaCl)
900 (905 avg)     road_condition(_avg)        ""    code     10 dry ... 45 frost
1049              surface_temperature_tls     Cel   0.1      -30 .. 80, error 0x7FFF
1052              residual_salt               %     1        0 .. 100, error 0xFF
1065              freezing_temperature_tls    Cel   0.1      -30 .. 0, error 0x7FFF
1070              road_condition_tls          ""    code     0 dry ... 67 frost, 255 error
1072              water_film_height           mm    0.01     0 .. 10, error 0xFFFF
1075              snow_film_height            mm    1        0 .. 50, error 0xFF
1077              road_grip                   /     0.01     0 .. 1, error 0xFF
1079              winter_road_condition       ""    code     0 dry ... 64 icy
1129              ice_percentage              %     1        0 .. 100, error 0xFF
20001             measurement_counter         count 1        0 .. 65520
================  ==========================  ====  =======  ==============================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from edge_agent import units
from edge_agent.readings import Quality

from .umb import ChannelValue, make_address
from .umb_channels import ChannelSpec, channel_value, table

CLASS_ID: Final = 9
"""UMB class id of the IRS31Pro-UMB."""

DEFAULT_ADDRESS: Final = make_address(CLASS_ID, 1)
"""``0x9001``: an IRS31Pro-UMB with the factory device id 1."""

ROAD_CONDITIONS: Final[Mapping[int, str]] = MappingProxyType(
    {
        10: "dry",
        15: "moist",
        20: "wet",
        25: "moist_with_salt",
        30: "wet_with_salt",
        35: "ice",
        40: "snow",
        45: "frost",
    }
)
"""Codes of channels 900/905 (IRS31Pro-UMB native coding)."""

TLS_ROAD_CONDITIONS: Final[Mapping[int, str]] = MappingProxyType(
    {
        0: "dry",
        1: "moist_or_wet_or_covered",
        32: "wet",
        64: "frozen",
        65: "snow_or_slush",
        66: "ice",
        67: "frost",
    }
)
"""Codes of channel 1070 (TLS FBZ); 255 means the sensor cannot tell, and becomes ``None``."""

WINTER_ROAD_CONDITIONS: Final[Mapping[int, str]] = MappingProxyType(
    {0: "dry", 16: "moist", 32: "wet", 48: "extremely_wet", 64: "icy"}
)
"""Codes of channel 1079 (TLS FZW, road condition for winter services)."""

_C = units.CELSIUS

CHANNELS: Final[Mapping[int, ChannelSpec]] = table(
    ChannelSpec(
        101,
        "surface_temperature",
        _C,
        minimum=-40,
        maximum=80,
        description="road temperature, current",
    ),
    ChannelSpec(
        106,
        "surface_temperature_avg",
        _C,
        minimum=-40,
        maximum=80,
        description="road temperature, average",
    ),
    ChannelSpec(
        111,
        "ground_temperature_5cm",
        _C,
        minimum=-40,
        maximum=80,
        description="external temperature 1 (5 cm depth), current",
    ),
    ChannelSpec(
        116,
        "ground_temperature_5cm_avg",
        _C,
        minimum=-40,
        maximum=80,
        description="external temperature 1 (5 cm depth), average",
    ),
    ChannelSpec(
        121,
        "ground_temperature_30cm",
        _C,
        minimum=-40,
        maximum=80,
        description="external temperature 2 (30 cm depth), current",
    ),
    ChannelSpec(
        126,
        "ground_temperature_30cm_avg",
        _C,
        minimum=-40,
        maximum=80,
        description="external temperature 2 (30 cm depth), average",
    ),
    ChannelSpec(
        151,
        "freezing_temperature",
        _C,
        minimum=-40,
        maximum=0,
        description="freezing temperature NaCl, current",
    ),
    ChannelSpec(
        156,
        "freezing_temperature_avg",
        _C,
        minimum=-40,
        maximum=0,
        description="freezing temperature NaCl, average",
    ),
    ChannelSpec(
        900,
        "road_condition",
        units.NONE,
        codes=ROAD_CONDITIONS,
        description="road condition, current",
    ),
    ChannelSpec(
        905,
        "road_condition_avg",
        units.NONE,
        codes=ROAD_CONDITIONS,
        description="road condition, average",
    ),
    ChannelSpec(
        1049,
        "surface_temperature_tls",
        _C,
        factor=0.1,
        minimum=-30,
        maximum=80,
        invalid_raw=0x7FFF,
        description="TLS FBT road surface temperature",
    ),
    ChannelSpec(
        1052,
        "residual_salt",
        units.PERCENT,
        minimum=0,
        maximum=100,
        invalid_raw=0xFF,
        description="TLS RS residual salt (NaCl)",
    ),
    ChannelSpec(
        1065,
        "freezing_temperature_tls",
        _C,
        factor=0.1,
        minimum=-30,
        maximum=0,
        invalid_raw=0x7FFF,
        description="TLS GFT freezing temperature (NaCl)",
    ),
    ChannelSpec(
        1070,
        "road_condition_tls",
        units.NONE,
        codes=TLS_ROAD_CONDITIONS,
        invalid_raw=0xFF,
        description="TLS FBZ road surface condition",
    ),
    ChannelSpec(
        1072,
        "water_film_height",
        units.MILLIMETRE,
        factor=0.01,
        minimum=0,
        maximum=10,
        invalid_raw=0xFFFF,
        description="TLS WFD water film height",
    ),
    ChannelSpec(
        1075,
        "snow_film_height",
        units.MILLIMETRE,
        minimum=0,
        maximum=50,
        invalid_raw=0xFF,
        description="TLS SFD snow film height",
    ),
    ChannelSpec(
        1077,
        "road_grip",
        units.RATIO,
        factor=0.01,
        minimum=0,
        maximum=1,
        invalid_raw=0xFF,
        description="TLS GR road grip",
    ),
    ChannelSpec(
        1079,
        "winter_road_condition",
        units.NONE,
        codes=WINTER_ROAD_CONDITIONS,
        description="TLS FZW road surface condition for winter services",
    ),
    ChannelSpec(
        1129,
        "ice_percentage",
        units.PERCENT,
        minimum=0,
        maximum=100,
        invalid_raw=0xFF,
        description="TLS EP ice percentage",
    ),
    ChannelSpec(
        20001,
        "measurement_counter",
        units.COUNT,
        minimum=0,
        maximum=65520,
        description="measurement counter",
    ),
)
"""The IRS31Pro-UMB channel table, channel -> :class:`ChannelSpec`."""

DEFAULT_CHANNELS: Final = (101, 151, 1072, 900)
"""What winter service needs: surface and freezing temperature, water film, road condition."""


@dataclass(frozen=True, slots=True)
class RoadSurfaceState:
    """The road surface as one IRS31 answer describes it; ``None`` where no valid value came.

    Attributes:
        surface_temperature_c: road surface temperature in °C (channel 101, else 1049).
        freezing_temperature_c: freezing temperature of the water film in °C (151, else 1065).
        water_film_mm: water film height in mm (1072).
        road_condition: road condition text (900 codes, else 1070 codes), e.g. ``"wet"``.
        quality: the flags of the values above, combined; a value that is ``None`` because the
            sensor marked it invalid contributes its flag.
    """

    surface_temperature_c: float | None
    freezing_temperature_c: float | None
    water_film_mm: float | None
    road_condition: str | None
    quality: Quality

    @property
    def freezing_risk(self) -> bool | None:
        """Whether the surface is at or below the freezing temperature (``None`` if unknown)."""
        if self.surface_temperature_c is None or self.freezing_temperature_c is None:
            return None
        return self.surface_temperature_c <= self.freezing_temperature_c


def road_surface_state(values: Iterable[ChannelValue]) -> RoadSurfaceState:
    """Summarise channel values (from one or more responses) as a :class:`RoadSurfaceState`."""
    by_channel = {value.channel: value for value in values}
    quality = Quality.GOOD

    def pick(*channels: int) -> object:
        """The first valid value of ``channels``; flags of unused fallbacks do not count."""
        nonlocal quality
        failures = Quality.GOOD
        for channel in channels:
            if channel in by_channel:
                converted, flags = channel_value(CHANNELS[channel], by_channel[channel])
                if converted is not None:
                    quality |= flags
                    return converted
                failures |= flags
        quality |= failures
        return None

    surface = pick(101, 1049)
    freezing = pick(151, 1065)
    film = pick(1072)
    condition = pick(900, 1070)
    return RoadSurfaceState(
        surface_temperature_c=surface if isinstance(surface, float | int) else None,
        freezing_temperature_c=freezing if isinstance(freezing, float | int) else None,
        water_film_mm=film if isinstance(film, float | int) else None,
        road_condition=condition if isinstance(condition, str) else None,
        quality=quality,
    )
