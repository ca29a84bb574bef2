"""Lufft UMB binary protocol: frames, online-data requests and their responses.

Road weather sensors of the UMB family (IRS31Pro-UMB road sensor, ARS31, WS weather stations)
answer a master on a 2-wire RS-485 bus. Every message is one frame::

    SOH  ver  to(2)  from(2)  len  STX  cmd  verc  payload...  ETX  crc(2)  EOT
    01   10   LE     LE       n    02                          03   LE      04

``len`` counts the bytes between STX and ETX (``cmd``, ``verc`` and the payload). The CRC is
CRC-CCITT as UMB uses it (polynomial 0x1021 processed LSB first, i.e. 0x8408 reflected, start
value 0xFFFF, no final XOR) over every byte from SOH to ETX, sent low byte first; all
multi-byte values are little-endian. An address is ``class_id << 12 | device_id``: class 9 is
the IRS31Pro-UMB, class 15 a master (a PC or this agent).

This module decodes command 0x23 (online data request, one channel) and 0x2F (multi-channel
online data request, up to :data:`MAX_CHANNELS_PER_REQUEST` channels), in both directions,
and returns other commands (and other command versions than 1.0) as undecoded
:class:`UmbFrame` events. Frames from a class-15
(master) address are requests, all others responses; decoding requests matters because many
USB RS-485 adapters echo what the agent sends.

Sources: the framing, CRC, addressing and both example frames are from the "Communication in
Binary Protocol" appendix of the Lufft IRS31Pro-UMB operating manual V10 (01.2020) and the
WS-series "Smart Weather Sensor" manual; the multi-channel layout follows the UMB protocol
description (status, channel count, then per channel a length byte and a sub-telegram).
"""

from __future__ import annotations

import binascii
import enum
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from edge_agent.errors import ParseError

from .need_data import NEED_DATA, NeedData
from .stream_parser import StreamParser

SOH: Final = 0x01
STX: Final = 0x02
ETX: Final = 0x03
EOT: Final = 0x04
HEADER_VERSION: Final = 0x10
"""Frame header version 1.0, the only one in use."""
COMMAND_VERSION: Final = 0x10
"""Version 1.0 of commands 0x23 and 0x2F."""
CMD_ONLINE_DATA: Final = 0x23
CMD_MULTI_CHANNEL: Final = 0x2F
MASTER_CLASS_ID: Final = 15
DEFAULT_MASTER_ADDRESS: Final = 0xF001
"""Class 15 (master), device 1: the address this agent sends from unless told otherwise."""
MAX_CHANNELS_PER_REQUEST: Final = 20
MAX_PAYLOAD_BYTES: Final = 210
"""The protocol's limit for the payload (``len`` minus ``cmd`` and ``verc``)."""
FRAME_OVERHEAD: Final = 12
"""Bytes of a frame besides ``len``: SOH, ver, to, from, len, STX, ETX, CRC and EOT."""


class DataType(enum.IntEnum):
    """Type byte that precedes a measurement value."""

    UCHAR = 0x10
    CHAR = 0x11
    USHORT = 0x12
    SHORT = 0x13
    ULONG = 0x14
    LONG = 0x15
    FLOAT = 0x16
    DOUBLE = 0x17


_VALUE_FORMATS: Final[Mapping[DataType, struct.Struct]] = MappingProxyType(
    {
        DataType.UCHAR: struct.Struct("<B"),
        DataType.CHAR: struct.Struct("<b"),
        DataType.USHORT: struct.Struct("<H"),
        DataType.SHORT: struct.Struct("<h"),
        DataType.ULONG: struct.Struct("<I"),
        DataType.LONG: struct.Struct("<i"),
        DataType.FLOAT: struct.Struct("<f"),
        DataType.DOUBLE: struct.Struct("<d"),
    }
)


class Status(enum.IntEnum):
    """Status codes of UMB responses (``OK`` is 0; the rest say why there is no valid value).

    The codes from ``UNKNOWN_COMMAND`` to ``INVALID_CHANNEL``, ``DEVICE_BUSY``,
    ``MEASUREMENT_ERROR``, ``CHANNEL_OFF`` and 0x50-0x55 appear in the status-code extract of
    the IRS31Pro-UMB manual; the others follow the UMB protocol description and only make
    messages readable. Codes missing here still decode (``status`` is a plain ``int``).
    """

    OK = 0x00
    UNKNOWN_COMMAND = 0x10
    INVALID_PARAMETER = 0x11
    INVALID_HEADER_VERSION = 0x12
    INVALID_COMMAND_VERSION = 0x13
    INVALID_PASSWORD = 0x14
    READ_ERROR = 0x20
    WRITE_ERROR = 0x21
    TOO_LONG = 0x22
    INVALID_ADDRESS = 0x23
    INVALID_CHANNEL = 0x24
    COMMAND_NOT_POSSIBLE = 0x25
    UNKNOWN_CALIBRATION_COMMAND = 0x26
    CALIBRATION_ERROR = 0x27
    DEVICE_BUSY = 0x28
    LOW_VOLTAGE = 0x29
    HARDWARE_ERROR = 0x2A
    MEASUREMENT_ERROR = 0x2B
    INIT_ERROR = 0x2C
    OS_ERROR = 0x2D
    CHANNEL_OFF = 0x36
    VALUE_OVERFLOW = 0x50
    VALUE_UNDERFLOW = 0x51
    CHANNEL_OVERRANGE = 0x52
    CHANNEL_UNDERRANGE = 0x53
    DATA_ERROR = 0x54
    UNABLE_TO_MEASURE = 0x55


RANGE_STATUSES: Final = frozenset(
    {
        Status.VALUE_OVERFLOW,
        Status.VALUE_UNDERFLOW,
        Status.CHANNEL_OVERRANGE,
        Status.CHANNEL_UNDERRANGE,
    }
)
"""Statuses that mean "outside the display or measuring range" rather than "no value"."""


def describe_status(code: int) -> str:
    """``"0x28 DEVICE_BUSY"`` for a known code, ``"0x77 (unknown status)"`` otherwise."""
    try:
        return f"0x{code:02X} {Status(code).name}"
    except ValueError:
        return f"0x{code:02X} (unknown status)"


def make_address(class_id: int, device_id: int) -> int:
    """The 16-bit UMB address of ``device_id`` (0-255) in ``class_id`` (0-15); 0 is broadcast."""
    if not 0 <= class_id <= 15 or not 0 <= device_id <= 255:
        raise ValueError(
            f"UMB class id {class_id} / device id {device_id} out of range: class ids are "
            "0-15, device ids 0-255"
        )
    return class_id << 12 | device_id


def split_address(address: int) -> tuple[int, int]:
    """``(class_id, device_id)`` of a 16-bit UMB address."""
    return address >> 12 & 0xF, address & 0xFF


_FLOAT32: Final = _VALUE_FORMATS[DataType.FLOAT]
_BIT_REVERSED: Final = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def crc16(data: bytes | bytearray) -> int:
    """The UMB CRC of ``data`` (SOH up to and including ETX).

    CRC-CCITT with the reflected polynomial 0x8408 and start value 0xFFFF. Computed with the C
    routine :func:`binascii.crc_hqx` (the unreflected variant) on bit-reversed bytes, which
    gives the same result much faster than a Python loop.
    """
    unreflected = binascii.crc_hqx(bytes(data).translate(_BIT_REVERSED), 0xFFFF)
    return _BIT_REVERSED[unreflected & 0xFF] << 8 | _BIT_REVERSED[unreflected >> 8]


@dataclass(frozen=True, slots=True)
class UmbFrame:
    """A frame whose framing and CRC checked out; its payload is not interpreted.

    Returned as an event for commands this module does not decode.
    """

    to_address: int
    from_address: int
    command: int
    command_version: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class ChannelValue:
    """One channel's answer.

    Attributes:
        channel: UMB channel number (see :mod:`drivers.serial.irs31` for the IRS31's).
        status: :class:`Status` code for this channel; 0 means the value is valid.
        data_type: type of ``value`` as sent, ``None`` if no value was sent.
        value: the raw value in the channel's own unit, before any factor; ``None`` if the
            device sent none (usually together with an error status).
    """

    channel: int
    status: int
    data_type: DataType | None
    value: int | float | None

    @property
    def ok(self) -> bool:
        """Whether the device marked this value valid (status 0)."""
        return self.status == Status.OK


@dataclass(frozen=True, slots=True)
class OnlineDataRequest:
    """Command 0x23 from a master: send the current value of ``channel``."""

    to_address: int
    from_address: int
    channel: int


@dataclass(frozen=True, slots=True)
class MultiChannelRequest:
    """Command 0x2F from a master: send the current values of ``channels``."""

    to_address: int
    from_address: int
    channels: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class OnlineDataResponse:
    """Answer to 0x23. ``value`` is ``None`` when the device sent only a status.

    The frame carries one status; ``value.status`` repeats it, and :func:`encode` sends
    ``status``.
    """

    to_address: int
    from_address: int
    status: int
    value: ChannelValue | None


@dataclass(frozen=True, slots=True)
class MultiChannelResponse:
    """Answer to 0x2F: an overall status and one :class:`ChannelValue` per channel.

    ``values`` is empty when the device sent only a status byte.
    """

    to_address: int
    from_address: int
    status: int
    values: tuple[ChannelValue, ...]


UmbEvent = (
    OnlineDataRequest | MultiChannelRequest | OnlineDataResponse | MultiChannelResponse | UmbFrame
)
"""What the parsers return for one good frame."""


def encode_frame(frame: UmbFrame) -> bytes:
    """Serialise a frame: header, ``cmd``, ``verc``, payload, ETX, CRC and EOT."""
    if len(frame.payload) > MAX_PAYLOAD_BYTES:
        raise ValueError(
            f"UMB payload of {len(frame.payload)} bytes is too long; at most "
            f"{MAX_PAYLOAD_BYTES} bytes fit in a frame"
        )
    for name in ("to_address", "from_address"):
        if not 0 <= getattr(frame, name) <= 0xFFFF:
            raise ValueError(f"UMB {name} {getattr(frame, name)} is not a 16-bit address")
    head = struct.pack(
        "<BBHHBBBB",
        SOH,
        HEADER_VERSION,
        frame.to_address,
        frame.from_address,
        len(frame.payload) + 2,
        STX,
        frame.command,
        frame.command_version,
    )
    body = head + frame.payload + bytes((ETX,))
    return body + struct.pack("<HB", crc16(body), EOT)


def encode(event: UmbEvent) -> bytes:
    """Serialise an event; for events from :func:`parse_frame`, ``encode`` gives the bytes back.

    Raises :class:`ValueError` for what a frame cannot carry (too many channels, a channel
    number or value out of range for its type).
    """
    match event:
        case OnlineDataRequest():
            payload = struct.pack("<H", _channel(event.channel))
            command = CMD_ONLINE_DATA
        case MultiChannelRequest():
            if not 1 <= len(event.channels) <= MAX_CHANNELS_PER_REQUEST:
                raise ValueError(
                    f"a multi-channel request asks for 1 to {MAX_CHANNELS_PER_REQUEST} "
                    f"channels, not {len(event.channels)}"
                )
            payload = bytes((len(event.channels),)) + b"".join(
                struct.pack("<H", _channel(c)) for c in event.channels
            )
            command = CMD_MULTI_CHANNEL
        case OnlineDataResponse():
            payload = bytes((event.status,))
            if event.value is not None:
                payload += _encode_value(event.value)[1:]
            command = CMD_ONLINE_DATA
        case MultiChannelResponse():
            # No values: a bare status (as a device answers a request it cannot serve).
            blocks = [_encode_value(v) for v in event.values]
            payload = bytes((event.status,))
            if blocks:
                payload += bytes((len(blocks),)) + b"".join(
                    bytes((len(block),)) + block for block in blocks
                )
            command = CMD_MULTI_CHANNEL
        case UmbFrame():
            return encode_frame(event)
    return encode_frame(
        UmbFrame(event.to_address, event.from_address, command, COMMAND_VERSION, payload)
    )


def online_data_request(
    to_address: int, channel: int, from_address: int = DEFAULT_MASTER_ADDRESS
) -> bytes:
    """The bytes of an online data request (0x23) for one channel."""
    return encode(OnlineDataRequest(to_address, from_address, channel))


def multi_channel_request(
    to_address: int, channels: Sequence[int], from_address: int = DEFAULT_MASTER_ADDRESS
) -> bytes:
    """The bytes of a multi-channel online data request (0x2F)."""
    return encode(MultiChannelRequest(to_address, from_address, tuple(channels)))


def parse_frame(data: bytes) -> UmbEvent:
    """Decode exactly one frame.

    Raises:
        ParseError: naming the first problem: length, a missing control character, the
            header version, a CRC mismatch (with both values), or a payload that does not
            match its command.
    """
    size = _frame_size(data, 0)
    if size <= _INCOMPLETE:
        raise ParseError(_header_problem(data))
    if len(data) != size:
        raise ParseError(
            f"UMB frame is {len(data)} bytes but its length byte ({data[6]}) makes it {size}; "
            "pass exactly one frame"
        )
    problem = _trailer_problem(data, size)
    if problem is not None:
        raise ParseError(problem[1])
    return _interpret(_frame(data))


class UmbStreamParser(StreamParser[UmbEvent]):
    """Reassembles UMB frames from a byte stream split anywhere, skipping noise.

    ``feed()`` bytes as they arrive, then call :meth:`next_event` until it returns
    :data:`~drivers.serial.need_data.NEED_DATA`. Bad input never raises: a rejected frame is
    counted and the parser resynchronises on the next SOH after the rejected one's SOH, so a
    good frame that starts inside a damaged one is still found. A half-received frame does
    not hold back a complete good frame behind it (its SOH was noise).

    Attributes:
        frames_ok: frames decoded into events.
        bad_checksum: frames whose CRC did not match.
        bad_framing: candidates with a good header but no ETX or EOT where ``len`` puts them,
            or that broke off before a later complete frame.
        malformed: frames with a good CRC whose payload does not fit its command.
        garbage_bytes: every byte not delivered as part of an event.
    """

    COUNTERS = ("frames_ok", "bad_checksum", "bad_framing", "malformed", "garbage_bytes")

    def __init__(self) -> None:
        super().__init__()
        self.frames_ok = 0
        self.bad_checksum = 0
        self.bad_framing = 0
        self.malformed = 0
        self.garbage_bytes = 0

    def next_event(self) -> UmbEvent | NeedData:
        """The next decoded frame, or ``NEED_DATA`` when no complete one is buffered."""
        buffer = self._buffer
        while True:
            start = buffer.find(SOH)
            if start < 0:
                self.garbage_bytes += len(buffer)
                buffer.clear()
                return NEED_DATA
            if start:
                self.garbage_bytes += start
                del buffer[:start]
            size = _frame_size(buffer, 0)
            if size == _INVALID:
                self._skip_one()
                continue
            if size == _INCOMPLETE or size > len(buffer):
                later = _complete_frame_after(buffer)
                if later < 0:
                    return NEED_DATA
                # Frames do not overlap: a header whose frame has not come when a later
                # frame is complete was noise or the start of a frame that broke off.
                self.bad_framing += 1
                self.last_rejection = (
                    f"UMB frame broke off after {later} bytes: {bytes(buffer[:16]).hex(' ')}"
                )
                self.garbage_bytes += later
                del buffer[:later]
                continue
            problem = _trailer_problem(buffer, size)
            if problem is not None:
                self.last_rejection = problem[1]
                if problem[0] == "checksum":
                    self.bad_checksum += 1
                else:
                    self.bad_framing += 1
                self._skip_one()
                continue
            frame = _frame(buffer)
            del buffer[:size]
            try:
                event = _interpret(frame)
            except ParseError as exc:
                self.malformed += 1
                self.last_rejection = str(exc)
                self.garbage_bytes += size
                continue
            self.frames_ok += 1
            return event

    def _skip_one(self) -> None:
        self.garbage_bytes += 1
        del self._buffer[:1]


_INVALID: Final = -1
_INCOMPLETE: Final = 0


def _frame_size(data: bytes | bytearray, at: int) -> int:
    """Size of the frame whose header starts at ``at``; ``_INVALID`` or ``_INCOMPLETE``.

    Only the header is checked (SOH, version, STX, ``len`` >= 2); the size may exceed what is
    buffered.
    """
    available = len(data) - at
    if available < 1 or data[at] != SOH:
        return _INVALID if available >= 1 else _INCOMPLETE
    if available >= 2 and data[at + 1] != HEADER_VERSION:
        return _INVALID
    if available >= 7 and data[at + 6] < 2:
        return _INVALID
    if available >= 8 and data[at + 7] != STX:
        return _INVALID
    if available < 8:
        return _INCOMPLETE
    return data[at + 6] + FRAME_OVERHEAD


def _header_problem(data: bytes) -> str:
    shown = data[:16].hex(" ")
    if data and data[0] != SOH:
        return f"UMB frame starts with 0x{data[0]:02X}, not SOH (0x01): {shown}"
    if len(data) >= 2 and data[1] != HEADER_VERSION:
        return f"UMB header version 0x{data[1]:02X} is not supported; only 0x10 (V1.0) is: {shown}"
    if len(data) >= 7 and data[6] < 2:
        return f"UMB length byte {data[6]} is below 2 (cmd and verc): {shown}"
    if len(data) >= 8 and data[7] != STX:
        return f"UMB frame has 0x{data[7]:02X} where STX (0x02) belongs, at byte 7: {shown}"
    return f"UMB frame of {len(data)} bytes ({shown}) is too short; frames have 14 or more"


def _trailer_problem(data: bytes | bytearray, size: int) -> tuple[str, str] | None:
    """Why the complete frame at ``data[0:size]`` is bad: ``("framing" | "checksum",
    message)``, or ``None`` if it is good."""
    if data[size - 4] != ETX:
        return (
            "framing",
            f"UMB frame has 0x{data[size - 4]:02X} where ETX (0x03) belongs, at byte {size - 4}",
        )
    if data[size - 1] != EOT:
        return (
            "framing",
            f"UMB frame has 0x{data[size - 1]:02X} where EOT (0x04) belongs, at byte {size - 1}",
        )
    sent = data[size - 3] | data[size - 2] << 8
    computed = crc16(data[: size - 3])
    if sent != computed:
        return (
            "checksum",
            f"UMB CRC mismatch: frame says 0x{sent:04X}, bytes give 0x{computed:04X}",
        )
    return None


def _complete_frame_after(buffer: bytearray) -> int:
    """Start of the first complete, good frame after position 0, or -1."""
    position = buffer.find(SOH, 1)
    while position >= 0:
        size = _frame_size(buffer, position)
        if (
            size > _INCOMPLETE
            and position + size <= len(buffer)
            and _trailer_problem(bytes(buffer[position : position + size]), size) is None
        ):
            return position
        position = buffer.find(SOH, position + 1)
    return -1


def _frame(data: bytes | bytearray) -> UmbFrame:
    to_address, from_address, length = struct.unpack_from("<HHB", data, 2)
    return UmbFrame(
        to_address=to_address,
        from_address=from_address,
        command=data[8],
        command_version=data[9],
        payload=bytes(data[10 : 8 + length]),
    )


def _interpret(frame: UmbFrame) -> UmbEvent:
    """Decode the payload of 0x23 and 0x2F frames; raises :class:`ParseError`."""
    if frame.command_version != COMMAND_VERSION:
        return frame  # another layout than V1.0 of the command: leave it undecoded
    is_request = split_address(frame.from_address)[0] == MASTER_CLASS_ID
    payload = frame.payload
    to_address, from_address = frame.to_address, frame.from_address
    # Literal patterns: a bare constant name in a case would be a capture pattern.
    match frame.command, is_request:
        case (0x23, True):
            if len(payload) != 2:
                raise ParseError(
                    f"online data request payload is {len(payload)} bytes; it must be the "
                    "2-byte channel"
                )
            return OnlineDataRequest(to_address, from_address, _u16(payload, 0))
        case (0x2F, True):
            if not payload or payload[0] == 0 or len(payload) != 1 + 2 * payload[0]:
                raise ParseError(
                    f"multi-channel request payload {payload.hex(' ')!r} is not a channel "
                    "count followed by that many 2-byte channels"
                )
            channels = tuple(_u16(payload, 1 + 2 * i) for i in range(payload[0]))
            return MultiChannelRequest(to_address, from_address, channels)
        case (0x23, False):
            if not payload:
                raise ParseError("online data response has no status byte")
            value = _decode_value(payload[1:], payload[0]) if len(payload) > 1 else None
            return OnlineDataResponse(to_address, from_address, payload[0], value)
        case (0x2F, False):
            return _decode_multi_response(frame)
    return frame


def _decode_multi_response(frame: UmbFrame) -> MultiChannelResponse:
    payload = frame.payload
    if not payload:
        raise ParseError("multi-channel response has no status byte")
    if len(payload) == 1:
        return MultiChannelResponse(frame.to_address, frame.from_address, payload[0], ())
    count, position, values = payload[1], 2, []
    if count == 0:
        raise ParseError("multi-channel response announces 0 channels; at least 1 is needed")
    for index in range(count):
        if position >= len(payload):
            raise ParseError(
                f"multi-channel response announces {count} channels but ends after {index}"
            )
        length = payload[position]
        block = payload[position + 1 : position + 1 + length]
        if len(block) != length:
            raise ParseError(
                f"multi-channel response: channel block {index + 1} announces {length} bytes, "
                f"{len(block)} remain"
            )
        if not block:
            raise ParseError(f"multi-channel response: channel block {index + 1} is empty")
        values.append(_decode_value(block[1:], block[0]))
        position += 1 + length
    if position != len(payload):
        raise ParseError(
            f"multi-channel response has {len(payload) - position} bytes after its {count} "
            "channel blocks"
        )
    return MultiChannelResponse(frame.to_address, frame.from_address, payload[0], tuple(values))


def _decode_value(data: bytes, status: int) -> ChannelValue:
    """``channel(2) [type value]`` after a status byte."""
    if len(data) < 2:
        raise ParseError(f"channel value {data.hex(' ')!r} is too short for a channel number")
    channel = _u16(data, 0)
    if len(data) == 2:
        return ChannelValue(channel, status, None, None)
    try:
        data_type = DataType(data[2])
    except ValueError:
        known = ", ".join(f"0x{t:02X} {t.name}" for t in DataType)
        raise ParseError(
            f"channel {channel}: data type 0x{data[2]:02X} is unknown; known: {known}"
        ) from None
    layout = _VALUE_FORMATS[data_type]
    if len(data) != 3 + layout.size:
        raise ParseError(
            f"channel {channel}: a {data_type.name} value takes {layout.size} bytes, "
            f"{len(data) - 3} were sent"
        )
    (value,) = layout.unpack_from(data, 3)
    if data_type is DataType.FLOAT:
        value = _shortest_float32(value, data[3:7])
    return ChannelValue(channel, status, data_type, value)


def _shortest_float32(value: float, sent: bytes) -> float:
    """The shortest decimal that is the same float32 as ``sent``: 24.6186142, not
    24.618614196777344 (the float32's exact value, whose extra digits are noise)."""
    if not math.isfinite(value):
        return value
    for digits in range(6, 10):
        candidate = float(f"{value:.{digits}g}")
        if _FLOAT32.pack(candidate) == sent:
            return candidate
    return value


def _encode_value(value: ChannelValue) -> bytes:
    """``status channel(2) [type value]``: the inverse of :func:`_decode_value`."""
    head = struct.pack("<BH", value.status, _channel(value.channel))
    if value.data_type is None or value.value is None:
        return head
    layout = _VALUE_FORMATS[value.data_type]
    number = value.value
    if value.data_type not in (DataType.FLOAT, DataType.DOUBLE) and not isinstance(number, int):
        raise ValueError(f"channel {value.channel}: {value.data_type.name} needs an int")
    try:
        return head + bytes((value.data_type,)) + layout.pack(number)
    except struct.error as exc:
        raise ValueError(
            f"channel {value.channel}: {number!r} does not fit a {value.data_type.name}"
        ) from exc


def _channel(channel: int) -> int:
    if not 0 <= channel <= 0xFFFF:
        raise ValueError(f"UMB channel {channel} is not a 16-bit channel number (0-65535)")
    return channel


def _u16(data: bytes, at: int) -> int:
    return int(data[at] | data[at + 1] << 8)
