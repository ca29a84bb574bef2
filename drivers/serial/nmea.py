"""NMEA 0183 from GNSS receivers: GGA (fix), RMC (recommended minimum) and VTG (course, speed).

Winter-service vehicles carry a USB GNSS receiver; its position and speed tell where salt was
spread and how fast the vehicle was going. A receiver talks lines like::

    $GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\\r\\n

``$``, a five-letter address (two-letter talker id such as ``GP`` GPS, ``GL`` GLONASS, ``GA``
Galileo, ``GB``/``BD`` BeiDou or ``GN`` for a multi-constellation solution, then the sentence
type), comma-separated fields, ``*`` and the XOR of every byte between ``$`` and ``*`` in two
hex digits.

Choices made here (the standard leaves them open or receivers bend it):

- A checksum is required by default: on a noisy line a sentence without one cannot be trusted.
  ``require_checksum=False`` accepts them (some old receivers omit it on some sentences).
- A sentence ends at CR, LF or the next ``$`` (a receiver that lost the line ending); a
  missing CR is fine.
- The standard caps a sentence at 82 characters including ``$`` and CR LF; receivers exceed
  that (NMEA 4.x GSV, proprietary sentences), so the stream parser accepts up to
  ``max_line_bytes`` (default 128) and drops longer lines.
- Empty fields become ``None``. Minutes of ``60`` are accepted (MediaTek receivers report
  ``8960.000000,N`` before their first fix), anything above is rejected.
- A leap second (``235960``) is reported as 23:59:59.999999 because :class:`datetime.time`
  cannot hold second 60.
- Two-digit years are 1980-2079 (GPS time starts in 1980).
- Sentences other than GGA, RMC and VTG (GSA, GSV, ZDA, proprietary ``$P...``) are valid but
  not decoded: the stream parser counts them in ``unsupported`` and skips them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from edge_agent.errors import ParseError

from .need_data import NEED_DATA, NeedData
from .stream_parser import StreamParser

KNOT_IN_KMH: Final = 1.852
"""One knot (nautical mile per hour) in km/h."""

MAX_SENTENCE_BYTES: Final = 82
"""The standard's limit for one sentence, ``$`` and CR LF included."""

DEFAULT_MAX_LINE_BYTES: Final = 128
"""The stream parser's default limit for ``$`` up to the line ending; longer lines are dropped."""

DECODED_TYPES: Final = ("GGA", "RMC", "VTG")
"""Sentence types this module decodes."""


@dataclass(frozen=True, slots=True)
class GgaFix:
    """GGA, global positioning system fix data.

    Attributes:
        talker: two-letter talker id (``GP``, ``GN``, ``GL``, ``GA``, ...).
        utc_time: time of the fix in UTC.
        latitude_deg: WGS 84 latitude in degrees, north positive.
        longitude_deg: WGS 84 longitude in degrees, east positive.
        fix_quality: 0 no fix, 1 GNSS, 2 differential, 4 RTK fixed, 5 RTK float,
            6 dead reckoning, 7 manual, 8 simulator.
        satellites_used: number of satellites in the solution.
        hdop: horizontal dilution of precision (unitless, lower is better).
        altitude_m: antenna altitude above mean sea level in metres.
        geoid_separation_m: height of the geoid above the WGS 84 ellipsoid in metres.
        dgps_age_s: seconds since the last differential correction.
        dgps_station: differential reference station id.
    """

    talker: str
    utc_time: dt.time | None
    latitude_deg: float | None
    longitude_deg: float | None
    fix_quality: int | None
    satellites_used: int | None
    hdop: float | None
    altitude_m: float | None
    geoid_separation_m: float | None
    dgps_age_s: float | None
    dgps_station: str | None

    @property
    def has_fix(self) -> bool:
        """Whether the receiver reports a position fix (quality present and not 0)."""
        return bool(self.fix_quality)


@dataclass(frozen=True, slots=True)
class RmcFix:
    """RMC, recommended minimum specific GNSS data.

    Attributes:
        talker: two-letter talker id.
        utc_time: time of the fix in UTC.
        valid: ``True`` for status ``A`` (data valid), ``False`` for ``V`` (warning).
        latitude_deg: WGS 84 latitude in degrees, north positive.
        longitude_deg: WGS 84 longitude in degrees, east positive.
        speed_knots: speed over ground in knots, as sent.
        speed_kmh: the same speed in km/h.
        course_true_deg: course over ground in degrees from true north.
        date: UTC date of the fix.
        magnetic_variation_deg: magnetic variation in degrees, east positive.
        mode: FAA mode indicator (NMEA 2.3+): ``A`` autonomous, ``D`` differential,
            ``E`` estimated, ``M`` manual, ``S`` simulator, ``N`` not valid.
        nav_status: navigational status (NMEA 4.1+): ``S`` safe, ``C`` caution,
            ``U`` unsafe, ``V`` not valid.
    """

    talker: str
    utc_time: dt.time | None
    valid: bool | None
    latitude_deg: float | None
    longitude_deg: float | None
    speed_knots: float | None
    speed_kmh: float | None
    course_true_deg: float | None
    date: dt.date | None
    magnetic_variation_deg: float | None
    mode: str | None
    nav_status: str | None

    @property
    def utc_datetime(self) -> dt.datetime | None:
        """Date and time of the fix as an aware UTC datetime, if both were sent."""
        if self.date is None or self.utc_time is None:
            return None
        return dt.datetime.combine(self.date, self.utc_time, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class VtgVelocity:
    """VTG, course over ground and ground speed.

    Attributes:
        talker: two-letter talker id.
        course_true_deg: course over ground in degrees from true north.
        course_magnetic_deg: course over ground in degrees from magnetic north.
        speed_knots: speed over ground in knots.
        speed_kmh: speed over ground in km/h (sent, or converted from knots if only those were).
        mode: FAA mode indicator (NMEA 2.3+), see :class:`RmcFix`.
    """

    talker: str
    course_true_deg: float | None
    course_magnetic_deg: float | None
    speed_knots: float | None
    speed_kmh: float | None
    mode: str | None


NmeaEvent = GgaFix | RmcFix | VtgVelocity
"""What the parsers return for a decoded sentence."""

# Between "$" and "*": printable ASCII without the delimiters "$" and "*".
_SENTENCE: Final = re.compile(rb"\$([\x20-\x23\x25-\x29\x2b-\x7e]*)(?:\*([0-9A-Fa-f]{2}))?")
_ADDRESS: Final = re.compile(r"[A-Z][A-Z0-9]{4}")
_UNSIGNED: Final = re.compile(r"(?:\d+\.?\d*|\.\d+)")
_SIGNED: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
_INTEGER: Final = re.compile(r"\d+")
_COORDINATE: Final = re.compile(r"(\d*)(\d\d(?:\.\d*)?)")
_TIME: Final = re.compile(r"(\d\d)(\d\d)(\d\d)(\.\d*)?")
_DATE: Final = re.compile(r"(\d\d)(\d\d)(\d\d)")
_MODE: Final = re.compile(r"[A-Z]")
_LINE_ENDINGS: Final = b"\r\n"


def checksum(body: bytes) -> int:
    """The NMEA checksum of ``body`` (the bytes between ``$`` and ``*``): all bytes XORed."""
    # Folding the bytes as one big integer is several times faster than a Python loop.
    folded = int.from_bytes(body, "little")
    width = len(body)
    while width > 1:
        half = (width + 1) // 2
        folded = (folded & ((1 << (8 * half)) - 1)) ^ (folded >> (8 * half))
        width = half
    return folded


def encode_sentence(address: str, fields: Sequence[str]) -> bytes:
    """Build one sentence with checksum and CR LF, e.g. ``encode_sentence("GPVTG", [...])``.

    Raises :class:`ValueError` if the address is not a talker id plus sentence type (or a
    proprietary ``P...`` address), or a field holds non-ASCII or reserved characters (``$``,
    ``*``, CR, LF), so that simulators cannot produce what a receiver never would.
    """
    if not _ADDRESS.fullmatch(address) and not (address.startswith("P") and address.isalnum()):
        raise ValueError(
            f"NMEA address {address!r} is not valid: use a two-letter talker id and a "
            "three-letter sentence type, such as 'GPGGA'"
        )
    text = ",".join([address, *fields])
    body = text.encode("ascii", errors="replace")
    match = _SENTENCE.fullmatch(b"$" + body)
    if not text.isascii() or match is None or match.group(2) is not None:
        raise ValueError(
            f"NMEA fields {list(fields)!r} hold a character a sentence cannot carry: use "
            "printable ASCII without '$' and '*'"
        )
    return b"$%s*%02X\r\n" % (body, checksum(body))


def parse_sentence(line: bytes, *, require_checksum: bool = True) -> NmeaEvent:
    """Decode one GGA, RMC or VTG sentence; a trailing CR LF (or either) is allowed.

    Raises:
        ParseError: the message names what is wrong: no ``$``, a bad checksum, a sentence
            type other than GGA/RMC/VTG, or the field that does not parse.
    """
    candidate = line.rstrip(_LINE_ENDINGS)
    result = _decode(candidate, require_checksum=require_checksum)
    if isinstance(result, _Rejection):
        raise ParseError(result.message)
    return result


class NmeaStreamParser(StreamParser[NmeaEvent]):
    """Reassembles sentences from a byte stream split anywhere, skipping noise.

    ``feed()`` bytes as they arrive, then call :meth:`next_event` until it returns
    :data:`~drivers.serial.need_data.NEED_DATA`. Nothing raises for bad input: each rejected
    line is counted in one of the attributes below, and parsing resumes at the next ``$``.

    Attributes:
        frames_ok: sentences decoded into events.
        bad_checksum: sentences whose checksum did not match.
        missing_checksum: sentences without ``*hh`` (only when a checksum is required).
        malformed: sentences with a good checksum whose fields did not parse, or with bytes
            NMEA does not allow.
        unsupported: valid sentences of types not decoded here (GSA, GSV, proprietary, ...).
        overlong: lines dropped for exceeding ``max_line_bytes``.
        garbage_bytes: bytes outside any sentence (CR and LF excepted), including dropped
            overlong lines.
    """

    COUNTERS = (
        "frames_ok",
        "bad_checksum",
        "missing_checksum",
        "malformed",
        "unsupported",
        "overlong",
        "garbage_bytes",
    )

    def __init__(
        self, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, require_checksum: bool = True
    ) -> None:
        if max_line_bytes < MAX_SENTENCE_BYTES - 2:
            raise ValueError(
                f"max_line_bytes={max_line_bytes} is below the standard's "
                f"{MAX_SENTENCE_BYTES - 2} bytes per sentence; use at least that"
            )
        super().__init__()
        self.max_line_bytes = max_line_bytes
        self.require_checksum = require_checksum
        self.frames_ok = 0
        self.bad_checksum = 0
        self.missing_checksum = 0
        self.malformed = 0
        self.unsupported = 0
        self.overlong = 0
        self.garbage_bytes = 0

    def next_event(self) -> NmeaEvent | NeedData:
        """The next decoded sentence, or ``NEED_DATA`` when no complete one is buffered."""
        buffer = self._buffer
        limit = self.max_line_bytes
        while True:
            start = buffer.find(b"$")
            if start < 0:
                self._count_garbage(buffer)
                buffer.clear()
                return NEED_DATA
            if start:
                self._count_garbage(buffer[:start])
                del buffer[:start]
            end = _line_end(buffer, limit + 1)
            if end < 0:
                if len(buffer) > limit:
                    # Too long: drop it up to its end, or all of it if the end has not come
                    # yet (its rest then holds no "$" and is skipped as garbage).
                    cut = _line_end(buffer, len(buffer))
                    cut = len(buffer) if cut < 0 else cut
                    self.overlong += 1
                    self.last_rejection = (
                        f"line longer than {limit} bytes: {bytes(buffer[:40])!r}..."
                    )
                    self.garbage_bytes += cut
                    del buffer[:cut]
                    continue
                return NEED_DATA
            candidate = bytes(buffer[:end])
            del buffer[:end]
            if end > limit:
                self.overlong += 1
                self.last_rejection = f"line of {end} bytes, limit {limit}: {candidate[:40]!r}..."
                self.garbage_bytes += end
                continue
            result = _decode(candidate, require_checksum=self.require_checksum)
            if not isinstance(result, _Rejection):
                self.frames_ok += 1
                return result
            self.last_rejection = result.message
            match result.reason:
                case "bad_checksum":
                    self.bad_checksum += 1
                case "missing_checksum":
                    self.missing_checksum += 1
                case "unsupported":
                    self.unsupported += 1
                case _:
                    self.malformed += 1

    def _count_garbage(self, chunk: bytes | bytearray) -> None:
        self.garbage_bytes += len(chunk) - chunk.count(b"\r") - chunk.count(b"\n")


def _line_end(buffer: bytearray, window: int) -> int:
    """Index of the first CR, LF or second ``$`` in ``buffer[1:window]``, or -1."""
    ends = (
        buffer.find(b"\r", 1, window),
        buffer.find(b"\n", 1, window),
        buffer.find(b"$", 1, window),
    )
    found = [i for i in ends if i >= 0]
    return min(found) if found else -1


@dataclass(frozen=True, slots=True)
class _Rejection:
    reason: str
    message: str


def _decode(candidate: bytes, *, require_checksum: bool) -> NmeaEvent | _Rejection:
    """Check and decode ``$...*hh`` (no line ending); never raises."""
    shown = candidate[:100]
    match = _SENTENCE.fullmatch(candidate)
    if match is None:
        return _Rejection(
            "malformed",
            f"not an NMEA sentence: {shown!r}; expected '$', printable ASCII fields and "
            "'*' with two hex digits",
        )
    body, sent = match.group(1), match.group(2)
    if sent is None:
        if require_checksum:
            return _Rejection(
                "missing_checksum",
                f"NMEA sentence {shown!r} has no '*hh' checksum; pass require_checksum=False "
                "to accept such sentences",
            )
    else:
        computed = checksum(body)
        if int(sent, 16) != computed:
            return _Rejection(
                "bad_checksum",
                f"NMEA checksum mismatch in {shown!r}: sent {sent.decode()}, computed "
                f"{computed:02X}",
            )
    fields = body.decode("ascii").split(",")
    address = fields[0]
    if address.startswith("P") and address.isalnum():
        return _Rejection(
            "unsupported",
            f"NMEA sentence {address!r} is proprietary; decoded types: {', '.join(DECODED_TYPES)}",
        )
    if not _ADDRESS.fullmatch(address):
        return _Rejection(
            "malformed",
            f"NMEA address {address[:20]!r} is not a two-letter talker id and a sentence type",
        )
    talker, kind = address[:2], address[2:]
    try:
        match kind:
            case "GGA":
                return _decode_gga(talker, fields[1:])
            case "RMC":
                return _decode_rmc(talker, fields[1:])
            case "VTG":
                return _decode_vtg(talker, fields[1:])
            case _:
                return _Rejection(
                    "unsupported",
                    f"NMEA sentence type {kind!r} is not decoded; decoded types: "
                    f"{', '.join(DECODED_TYPES)}",
                )
    except ParseError as exc:
        return _Rejection("malformed", f"{address}: {exc}")


def _padded(fields: list[str], required: int, total: int, kind: str) -> list[str]:
    if len(fields) < required:
        raise ParseError(f"{kind} has {len(fields)} fields, at least {required} are required")
    return fields + [""] * (total - len(fields))


def _decode_gga(talker: str, fields: list[str]) -> GgaFix:
    f = _padded(fields, 12, 14, "GGA")
    _unit(f[9], "M", "altitude unit")
    _unit(f[11], "M", "geoid separation unit")
    return GgaFix(
        talker=talker,
        utc_time=_time(f[0]),
        latitude_deg=_coordinate(f[1], f[2], "latitude", signs=("N", "S"), limit=90),
        longitude_deg=_coordinate(f[3], f[4], "longitude", signs=("E", "W"), limit=180),
        fix_quality=_integer(f[5], "fix quality"),
        satellites_used=_integer(f[6], "satellites used"),
        hdop=_number(f[7], "HDOP", _UNSIGNED),
        altitude_m=_number(f[8], "altitude", _SIGNED),
        geoid_separation_m=_number(f[10], "geoid separation", _SIGNED),
        dgps_age_s=_number(f[12], "DGPS age", _UNSIGNED),
        dgps_station=f[13] or None,
    )


def _decode_rmc(talker: str, fields: list[str]) -> RmcFix:
    f = _padded(fields, 11, 13, "RMC")
    match f[1]:
        case "A":
            valid: bool | None = True
        case "V":
            valid = False
        case "":
            valid = None
        case other:
            raise ParseError(f"status {other!r} is not 'A' (valid) or 'V' (warning)")
    speed_knots = _number(f[6], "speed", _UNSIGNED)
    variation = _number(f[9], "magnetic variation", _UNSIGNED)
    if variation is not None:
        match f[10]:
            case "E":
                pass
            case "W":
                variation = -variation
            case other:
                raise ParseError(f"magnetic variation direction {other!r} is not 'E' or 'W'")
    return RmcFix(
        talker=talker,
        utc_time=_time(f[0]),
        valid=valid,
        latitude_deg=_coordinate(f[2], f[3], "latitude", signs=("N", "S"), limit=90),
        longitude_deg=_coordinate(f[4], f[5], "longitude", signs=("E", "W"), limit=180),
        speed_knots=speed_knots,
        speed_kmh=None if speed_knots is None else speed_knots * KNOT_IN_KMH,
        course_true_deg=_number(f[7], "course", _UNSIGNED),
        date=_date(f[8]),
        magnetic_variation_deg=variation,
        mode=_mode(f[11], "mode"),
        nav_status=_mode(f[12], "navigational status"),
    )


def _decode_vtg(talker: str, fields: list[str]) -> VtgVelocity:
    f = _padded(fields, 8, 9, "VTG")
    for index, letter in ((1, "T"), (3, "M"), (5, "N"), (7, "K")):
        _unit(f[index], letter, f"field {index + 1} letter")
    speed_knots = _number(f[4], "speed (knots)", _UNSIGNED)
    speed_kmh = _number(f[6], "speed (km/h)", _UNSIGNED)
    if speed_kmh is None and speed_knots is not None:
        speed_kmh = speed_knots * KNOT_IN_KMH
    return VtgVelocity(
        talker=talker,
        course_true_deg=_number(f[0], "course (true)", _UNSIGNED),
        course_magnetic_deg=_number(f[2], "course (magnetic)", _UNSIGNED),
        speed_knots=speed_knots,
        speed_kmh=speed_kmh,
        mode=_mode(f[8], "mode"),
    )


def _unit(value: str, expected: str, what: str) -> None:
    if value not in ("", expected):
        raise ParseError(f"{what} {value!r} is not {expected!r}")


def _number(value: str, what: str, pattern: re.Pattern[str]) -> float | None:
    if not value:
        return None
    if not pattern.fullmatch(value):
        raise ParseError(f"{what} {value!r} is not a decimal number")
    return float(value)


def _integer(value: str, what: str) -> int | None:
    if not value:
        return None
    if not _INTEGER.fullmatch(value):
        raise ParseError(f"{what} {value!r} is not a whole number")
    return int(value)


def _mode(value: str, what: str) -> str | None:
    if not value:
        return None
    if not _MODE.fullmatch(value):
        raise ParseError(f"{what} {value!r} is not one upper-case letter")
    return value


def _coordinate(
    value: str, hemisphere: str, what: str, *, signs: tuple[str, str], limit: int
) -> float | None:
    """``ddmm.mmmm`` (or ``dddmm.mmmm``) plus hemisphere letter -> signed degrees."""
    if not value:
        return None
    match = _COORDINATE.fullmatch(value)
    if match is None:
        raise ParseError(f"{what} {value!r} is not degrees and minutes (ddmm.mmmm)")
    degrees = int(match.group(1) or "0")
    minutes = float(match.group(2))
    if minutes > 60:
        raise ParseError(f"{what} {value!r} has {minutes} minutes; at most 60 are possible")
    # Nine decimals (0.1 mm) keep every digit a receiver sends (1e-7 minutes is 1.7e-9 degrees
    # ... less than that), without the float noise of the division in the last digits.
    result = round(degrees + minutes / 60, 9)
    if result > limit:
        raise ParseError(f"{what} {value!r} is {result:.6f} degrees, beyond {limit}")
    positive, negative = signs
    if hemisphere == positive:
        return result
    if hemisphere == negative:
        return -result
    raise ParseError(f"{what} hemisphere {hemisphere!r} is not {positive!r} or {negative!r}")


def _time(value: str) -> dt.time | None:
    if not value:
        return None
    match = _TIME.fullmatch(value)
    if match is None:
        raise ParseError(f"UTC time {value!r} is not hhmmss or hhmmss.ss")
    hours, minutes, seconds = int(match.group(1)), int(match.group(2)), int(match.group(3))
    fraction = match.group(4)
    micros = min(999_999, round(float("0" + fraction) * 1_000_000)) if fraction else 0
    if hours > 23 or minutes > 59 or seconds > 60:
        raise ParseError(f"UTC time {value!r} is not a time of day")
    if seconds == 60:
        seconds, micros = 59, 999_999
    return dt.time(hours, minutes, seconds, micros)


def _date(value: str) -> dt.date | None:
    if not value:
        return None
    match = _DATE.fullmatch(value)
    if match is None:
        raise ParseError(f"date {value!r} is not ddmmyy")
    day, month, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
    year += 2000 if year < 80 else 1900
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise ParseError(f"date {value!r} is not a calendar date: {exc}") from exc
