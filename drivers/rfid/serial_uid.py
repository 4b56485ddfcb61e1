"""Generic serial RFID readers that print one card UID per line (many cheap USB readers).

Such readers print the UID as hex (``04A2B3C4``, sometimes with ``:`` or spaces) or as a 10-digit
decimal number of the 4-byte UID (``0077771716`` for ``04A2B3C4``); some wrap the line in STX/ETX,
end it with CR, LF or both, or print the bytes in reverse order. The board YAML says which; the
reader turns each line into an ISO 14443 idToken. A line that is not a UID is skipped with a warning: a reader that
prints a banner or noise must not stop the station from reading cards.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from typing import Final, Literal

from pydantic import Field

from drivers.errors import device_errors
from drivers.interfaces import ISO14443, CardPresented, DriverParams, EventSink, iso14443_id_token
from drivers.rfid.cards import TimedDedupe, shorten_uid
from drivers.rfid.serial_port import SerialPort
from drivers.rfid.supervision import supervise

log = logging.getLogger(__name__)

UidFormat = Literal["hex", "decimal", "pin"]
ByteOrder = Literal["msb_first", "lsb_first"]
SerialBaudrate = Literal[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200]

#: A line longer than this without an end is noise (or a reader at the wrong baud rate).
MAX_LINE: Final = 64
_SEPARATORS = re.compile(r"[\s:\-]")
_FRAMING = "\x02\x03"  # STX, ETX


def parse_uid_line(line: str, uid_format: UidFormat, byte_order: ByteOrder = "msb_first") -> str:
    """The idToken of one printed line; ValueError (saying why, without the line) when it is not a UID.

    ``hex``: 4 or 7 bytes as hex digits, separators ``:``, ``-`` or spaces allowed.
    ``decimal``: the 4-byte UID as a decimal number (at most 10 digits, below 2**32).
    ``lsb_first``: the reader prints the last UID byte first.
    ``pin``: a keypad sending the PIN the driver typed, 4 to 12 digits (an OCPP KeyCode token).
    """
    text = line.strip().strip(_FRAMING).strip()
    if uid_format == "pin":
        if not (text.isascii() and text.isdigit() and 4 <= len(text) <= 12):
            raise ValueError("not a PIN of 4 to 12 digits")
        return text
    if uid_format == "decimal":
        if not (text.isascii() and text.isdigit() and len(text) <= 10):
            raise ValueError("not a decimal UID of up to 10 digits")
        value = int(text)
        if value >= 1 << 32:
            raise ValueError("decimal UID larger than 4 bytes")
        uid = value.to_bytes(4, "big")
    else:
        digits = _SEPARATORS.sub("", text)
        try:
            uid = bytes.fromhex(digits)
        except ValueError:
            raise ValueError("not hex digits") from None
        if len(uid) not in (4, 7):
            raise ValueError(f"hex UID of {len(uid)} bytes, expected 4 or 7")
    if byte_order == "lsb_first":
        uid = uid[::-1]
    return iso14443_id_token(uid)


class LineSplitter:
    """Splits a byte stream into text lines at CR, LF or CRLF; drops empty and overlong lines."""

    def __init__(self) -> None:
        self._pending = bytearray()

    def feed(self, data: bytes) -> list[str]:
        self._pending += data
        *lines, rest = re.split(rb"[\r\n]", bytes(self._pending))
        self._pending = bytearray(rest)
        if len(self._pending) > MAX_LINE:
            log.warning("serial UID reader: discarded %d bytes without a line end", len(self._pending))
            self._pending.clear()
        return [text for raw in lines if (text := raw.decode("ascii", "replace").strip())]


class SerialUidReader:
    """RfidReader: a serial reader printing one UID per line; reports each presentation once."""

    class Params(DriverParams):
        """Board-YAML keys of ``rfid.serial_uid``."""

        port: str = Field(min_length=1, description="serial device, e.g. /dev/ttyACM0 or /dev/serial/by-id/...")
        baudrate: SerialBaudrate = 9600
        format: UidFormat = Field(default="hex", description="how the reader prints a UID")
        byte_order: ByteOrder = Field(default="msb_first", description="lsb_first when the reader prints it reversed")
        dedupe_ms: int = Field(
            default=1000, ge=0, le=60_000, description="the same UID within this time is the same presentation"
        )
        retry_interval_ms: int = Field(
            default=5000, ge=50, le=600_000, description="pause before reopening a port that failed"
        )

    def __init__(
        self,
        evse_id: int,
        *,
        port: str,
        baudrate: int = 9600,
        format: UidFormat = "hex",
        byte_order: ByteOrder = "msb_first",
        dedupe_ms: int = 1000,
        retry_interval_ms: int = 5000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.evse_id = evse_id
        self.name = f"rfid.serial_uid {port}"
        self._format: UidFormat = format
        self._byte_order: ByteOrder = byte_order
        self._port = SerialPort(port, baudrate)
        self._dedupe = TimedDedupe(dedupe_ms / 1000, clock)
        self._retry_interval_s = retry_interval_ms / 1000

    @property
    def connected(self) -> bool:
        """True while the port is open (lines printed before the open are lost: the port is flushed)."""
        return self._port.is_open

    async def run(self, sink: EventSink) -> None:
        """Read lines until cancelled; a missing or vanished port becomes ``rfid_failure`` faults."""
        await supervise(
            lambda ready: self._session(sink, ready),
            sink=sink,
            evse_id=self.evse_id,
            name=self.name,
            close=self._port.close,
            retry_interval_s=self._retry_interval_s,
        )

    async def _session(self, sink: EventSink, ready: Callable[[], None]) -> None:
        splitter = LineSplitter()
        with device_errors(self.name):
            await asyncio.to_thread(self._port.open)
            log.info("reader=%r evse=%d ready", self.name, self.evse_id)
            ready()
            while True:
                for line in splitter.feed(await asyncio.to_thread(self._port.read, 0.5)):
                    self._handle(sink, line)

    def _handle(self, sink: EventSink, line: str) -> None:
        try:
            token = parse_uid_line(line, self._format, self._byte_order)
        except ValueError as exc:
            # The line itself may be a UID in another format: log its length, not its text.
            log.warning("reader=%r evse=%d ignored a %d-character line: %s", self.name, self.evse_id, len(line), exc)
            return
        if not self._dedupe.is_new(token):
            return
        if self._format == "pin":
            log.info("reader=%r evse=%d PIN entered", self.name, self.evse_id)  # never the PIN itself
            sink(CardPresented(self.evse_id, token, "KeyCode"))
            return
        log.info("reader=%r evse=%d card presented uid=%s", self.name, self.evse_id, shorten_uid(token))
        sink(CardPresented(self.evse_id, token, ISO14443))
