"""Options every serial driver takes: the port, its character format and the backend.

They are validated when the config is loaded, without touching the port. The port is needed
by the ``pyserial`` backend only; the ``simulated`` backend makes its own pseudo-terminal.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from edge_agent.driver import HardwareOptions

Parity = Literal["N", "E", "O", "M", "S"]
"""None, even, odd, mark, space."""

STOP_BITS = (1, 1.5, 2)


@dataclass(frozen=True)
class PortSettings:
    """How to talk to the port: baud rate and character format (``8N1`` is 8, ``N``, 1)."""

    baudrate: int
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1

    def describe(self) -> str:
        """``19200 8N1``."""
        stop = int(self.stopbits) if float(self.stopbits).is_integer() else self.stopbits
        return f"{self.baudrate} {self.bytesize}{self.parity}{stop}"


class SerialPortOptions(HardwareOptions):
    """Where the device hangs and how it talks.

    Attributes:
        port: path of the port; prefer the stable ``/dev/serial/by-id/...`` link over
            ``/dev/ttyUSB0``, whose number depends on plug order. Needed by the ``pyserial``
            backend, ignored by ``simulated``.
        baudrate: bits per second (each driver has its protocol's usual default).
        bytesize: data bits, 5 to 8.
        parity: ``N`` (none), ``E`` (even), ``O`` (odd), ``M`` (mark) or ``S`` (space).
        stopbits: 1, 1.5 or 2.
    """

    port: str | None = None
    baudrate: int = Field(default=9600, gt=0, le=4_000_000)
    bytesize: Literal[5, 6, 7, 8] = 8
    parity: Parity = "N"
    stopbits: float = 1

    @field_validator("port")
    @classmethod
    def _absolute_port(cls, value: str | None) -> str | None:
        if value is not None and not os.path.isabs(value):
            raise ValueError(
                f"port {value!r} is not a path; write the full path, for example "
                "'/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A1B2C3D4-if00-port0' "
                f"(or '/dev/{value}')"
            )
        return value

    @field_validator("stopbits")
    @classmethod
    def _known_stopbits(cls, value: float) -> float:
        if value not in STOP_BITS:
            raise ValueError(f"stopbits {value} is not one of 1, 1.5 or 2")
        return value

    @model_validator(mode="after")
    def _port_for_pyserial(self) -> Self:
        if self.backend == "pyserial" and self.port is None:
            raise ValueError(
                "backend 'pyserial' needs a port: set port = '/dev/serial/by-id/...' "
                "(list them with `ls -l /dev/serial/by-id/`)"
            )
        return self

    def port_settings(self) -> PortSettings:
        """The character format as the connection takes it."""
        return PortSettings(self.baudrate, self.bytesize, self.parity, self.stopbits)


__all__ = ["STOP_BITS", "Parity", "PortSettings", "SerialPortOptions"]
