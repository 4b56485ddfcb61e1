"""``iso15118.serial_bridge``: the SECC module on a UART or USB serial port (pyserial).

Wire format: docs/iso15118-bridge.md (the CAN message set in length+CRC frames, 8N1).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Final

import serial  # type: ignore[import-untyped]  # pyserial ships no type information
from pydantic import Field, field_validator

from drivers.iso15118.bridge import LinkedBridge
from drivers.iso15118.link import ModuleLink, utc_now
from drivers.iso15118.params import DEFAULT_HEARTBEAT_MS, DEFAULT_TIMEOUT_MS, LinkTimingParams
from drivers.iso15118.serial_transport import ByteStream, SerialTransport

BAUD_RATES: Final = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
DEFAULT_BAUDRATE: Final = 115200
_WRITE_TIMEOUT_S: Final = 1.0


class SerialIso15118Bridge(LinkedBridge):
    """The station's bridge to an SECC module on a serial port; an :class:`~drivers.interfaces.Iso15118Bridge`."""

    class Params(LinkTimingParams):
        """Keys of ``iso15118: {driver: serial_bridge, ...}`` in the board YAML.

        ``port`` has no default: a guessed port could be the meter's, and a bridge talking to the meter
        is worse than a one-line configuration error.
        """

        port: str = Field(min_length=1, description="serial device, e.g. /dev/ttymxc2")
        baudrate: int = Field(DEFAULT_BAUDRATE, description="bit/s, 8N1")

        @field_validator("baudrate")
        @classmethod
        def _standard_rate(cls, value: int) -> int:
            if value not in BAUD_RATES:
                raise ValueError(f"baudrate {value} is not one of {', '.join(map(str, BAUD_RATES))}")
            return value

    def __init__(
        self,
        *,
        evse_id: int,
        port: str,
        baudrate: int = DEFAULT_BAUDRATE,
        heartbeat_ms: int = DEFAULT_HEARTBEAT_MS,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.evse_id = evse_id
        self.name = f"iso15118 {port} evse={evse_id}"
        self._port = port
        self._baudrate = baudrate
        transport = SerialTransport(
            open_stream=self._open_port, device=self.name, byte_time_s=10 / baudrate, clock=clock
        )
        self._link = ModuleLink(
            evse_id=evse_id,
            transport=transport,
            heartbeat_s=heartbeat_ms / 1000,
            timeout_s=timeout_ms / 1000,
            clock=clock,
            wall_clock=wall_clock,
        )

    def _open_port(self) -> ByteStream:
        # timeout=0: reads return what is there (the event loop tells us when); exclusive: a second
        # process on the same port would steal half of the frames.
        port: ByteStream = serial.Serial(
            self._port, self._baudrate, timeout=0, write_timeout=_WRITE_TIMEOUT_S, exclusive=True
        )
        return port
