"""NXP PN532 RFID readers on I2C and on HSU (UART): one poller, two transports.

At every (re)start the poller configures the chip: SAMConfiguration to normal mode first (a PN532
C106 powers up in LowVbat mode, which that command ends; the first command after a wake-up may be
lost, which the link's retries absorb), GetFirmwareVersion to check it is a PN532 at all, and
RFConfiguration MaxRetries so that InListPassiveTarget answers "no card" instead of waiting for one
forever. Then it polls InListPassiveTarget (one target, 106 kbps type A) and reports each
presentation once (:class:`drivers.rfid.cards.PolledPresence`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import Field
from smbus2 import SMBus

from drivers.errors import DriverError, device_errors
from drivers.interfaces import ISO14443, CardPresented, DriverParams, EventSink, iso14443_id_token
from drivers.rfid import pn532_commands as cmd
from drivers.rfid.cards import PolledPresence, shorten_uid
from drivers.rfid.pn532_link import Pn532Link
from drivers.rfid.pn532_transport import I2cBusFactory, I2cTransport, UartTransport
from drivers.rfid.supervision import supervise

log = logging.getLogger(__name__)

#: Rates the PN532 HSU can run at (SetSerialBaudRate); 115200 Bd is its power-up rate.
HsuBaudrate = Literal[9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1288000]


class Pn532PollParams(DriverParams):
    """Board-YAML keys both PN532 readers share."""

    poll_interval_ms: int = Field(default=200, ge=10, le=5000, description="pause between two card polls")
    absent_polls: int = Field(
        default=2, ge=1, le=50, description="polls without the card before the same card counts as presented again"
    )
    timeout_ms: int = Field(default=500, ge=20, le=5000, description="time the chip gets to answer one command")
    retry_interval_ms: int = Field(
        default=5000, ge=50, le=600_000, description="pause before reopening a reader that failed"
    )


@dataclass(frozen=True, slots=True)
class _PollSettings:
    poll_interval_s: float
    absent_polls: int
    retry_interval_s: float


class Pn532Poller:
    """The transport-independent part of a PN532 reader: configure, poll, report."""

    def __init__(self, link: Pn532Link, evse_id: int, settings: _PollSettings) -> None:
        self._link = link
        self._evse_id = evse_id
        self._settings = settings
        self._presence = PolledPresence(settings.absent_polls)

    async def run(self, sink: EventSink) -> None:
        await supervise(
            lambda ready: self._session(sink, ready),
            sink=sink,
            evse_id=self._evse_id,
            name=self._link.device,
            close=self._link.close,
            retry_interval_s=self._settings.retry_interval_s,
        )

    async def _call(self, command: int, params: bytes = b"") -> bytes:
        with device_errors(self._link.device):
            return await asyncio.to_thread(self._link.call, command, params)

    async def _start(self) -> cmd.FirmwareVersion:
        with device_errors(self._link.device):
            await asyncio.to_thread(self._link.open)
        await self._call(cmd.SAM_CONFIGURATION, cmd.SAM_PARAMS)
        try:
            firmware = cmd.parse_firmware_version(await self._call(cmd.GET_FIRMWARE_VERSION))
        except cmd.ResponseError as exc:
            raise DriverError(self._link.device, str(exc)) from None
        if not firmware.is_pn532:
            raise DriverError(self._link.device, f"not a PN532: GetFirmwareVersion says {firmware}")
        await self._call(cmd.RF_CONFIGURATION, cmd.MAX_RETRIES_PARAMS)
        return firmware

    async def _session(self, sink: EventSink, ready: Callable[[], None]) -> None:
        firmware = await self._start()
        log.info("reader=%r evse=%d ready %s", self._link.device, self._evse_id, firmware)
        ready()
        while True:
            data = await self._call(cmd.IN_LIST_PASSIVE_TARGET, cmd.LIST_ONE_TYPE_A_PARAMS)
            try:
                targets = cmd.parse_type_a_targets(data)
            except cmd.ResponseError as exc:
                raise DriverError(self._link.device, str(exc)) from None
            uid = self._presence.observe(targets[0].uid if targets else None)
            if uid is not None:
                self._report(sink, uid)
            await asyncio.sleep(self._settings.poll_interval_s)

    def _report(self, sink: EventSink, uid: bytes) -> None:
        try:
            token = iso14443_id_token(uid)
        except ValueError:
            # A triple-size (10-byte) UID has no ISO14443 idToken form in OCPP 2.0.1.
            log.warning("reader=%r evse=%d ignored card with a %d-byte UID", self._link.device, self._evse_id, len(uid))
            return
        log.info("reader=%r evse=%d card presented uid=%s", self._link.device, self._evse_id, shorten_uid(token))
        sink(CardPresented(self._evse_id, token, ISO14443))


def _settings(poll_interval_ms: int, absent_polls: int, retry_interval_ms: int) -> _PollSettings:
    return _PollSettings(poll_interval_ms / 1000, absent_polls, retry_interval_ms / 1000)


class Pn532I2cReader:
    """RfidReader: a PN532 on an I2C bus (``/dev/i2c-<bus>``, 7-bit address 0x24 by default).

    ``bus_factory`` opens the bus (``smbus2.SMBus``); tests pass an emulated bus instead.
    """

    class Params(Pn532PollParams):
        """Board-YAML keys of ``rfid.pn532_i2c``."""

        bus: int = Field(default=1, ge=0, le=255, description="I2C bus number, /dev/i2c-<bus>")
        address: int = Field(default=0x24, ge=0x08, le=0x77, description="7-bit I2C address")

    def __init__(
        self,
        evse_id: int,
        *,
        bus: int = 1,
        address: int = 0x24,
        poll_interval_ms: int = 200,
        absent_polls: int = 2,
        timeout_ms: int = 500,
        retry_interval_ms: int = 5000,
        bus_factory: I2cBusFactory = SMBus,
    ) -> None:
        self.evse_id = evse_id
        self.name = f"rfid.pn532_i2c i2c-{bus} 0x{address:02X}"
        link = Pn532Link(I2cTransport(bus, address, bus_factory), self.name, timeout_ms / 1000)
        self._poller = Pn532Poller(link, evse_id, _settings(poll_interval_ms, absent_polls, retry_interval_ms))

    async def run(self, sink: EventSink) -> None:
        """Poll for cards until cancelled; reader trouble becomes ``rfid_failure`` fault events."""
        await self._poller.run(sink)


class Pn532UartReader:
    """RfidReader: a PN532 on a serial port in HSU mode (115200 Bd 8N1 at power-up)."""

    class Params(Pn532PollParams):
        """Board-YAML keys of ``rfid.pn532_uart``."""

        port: str = Field(min_length=1, description="serial device, e.g. /dev/ttyUSB0 or /dev/serial/by-id/...")
        baudrate: HsuBaudrate = Field(default=115200, description="HSU rate the chip is set to")

    def __init__(
        self,
        evse_id: int,
        *,
        port: str,
        baudrate: int = 115200,
        poll_interval_ms: int = 200,
        absent_polls: int = 2,
        timeout_ms: int = 500,
        retry_interval_ms: int = 5000,
    ) -> None:
        self.evse_id = evse_id
        self.name = f"rfid.pn532_uart {port}"
        link = Pn532Link(UartTransport(port, baudrate), self.name, timeout_ms / 1000)
        self._poller = Pn532Poller(link, evse_id, _settings(poll_interval_ms, absent_polls, retry_interval_ms))

    async def run(self, sink: EventSink) -> None:
        """Poll for cards until cancelled; reader trouble becomes ``rfid_failure`` fault events."""
        await self._poller.run(sink)
