"""The OCPP 1.6J station session of the development CSMS: one handler per request a Charge Point may send.

The library validates every 1.6 frame against the official 1.6 schemas. Its CALLERRORs use some
2.0.1 codes whatever the version (``FormatViolation``); they are rewritten to their 1.6 spelling
(OCPP-J 1.6 section 4.2.3: ``FormationViolation``, ``OccurenceConstraintViolation``) so that a station
under test only ever sees 1.6 codes.
"""

from __future__ import annotations

import json
from typing import Any

from ocpp.v16 import ChargePoint as ChargePoint16

from evse.devcsms.frames import MessageType
from evse.devcsms.session import StationSession, handles
from evse.ocpp.v16.schemas import from_v201_code


class StationSession16(StationSession, ChargePoint16):  # type: ignore[misc]  # ocpp ships no type hints
    """The Central System side of a 1.6J connection."""

    def wire_text(self, message: str) -> str:
        frame = json.loads(message)
        if frame[0] != MessageType.CALLERROR:
            return message
        code = from_v201_code(frame[2])
        if code == frame[2]:
            return message
        frame[2] = code
        return json.dumps(frame, separators=(",", ":"))

    # One handler per request (responses16.STATION_ACTIONS_16); the answers are CsmsBehaviour16's.

    @handles("Authorize")
    async def on_authorize(self, **_: Any) -> Any:
        return await self._answer("Authorize")

    @handles("BootNotification")
    async def on_boot_notification(self, **_: Any) -> Any:
        return await self._answer("BootNotification")

    @handles("DataTransfer")
    async def on_data_transfer(self, **_: Any) -> Any:
        return await self._answer("DataTransfer")

    @handles("DiagnosticsStatusNotification")
    async def on_diagnostics_status_notification(self, **_: Any) -> Any:
        return await self._answer("DiagnosticsStatusNotification")

    @handles("FirmwareStatusNotification")
    async def on_firmware_status_notification(self, **_: Any) -> Any:
        return await self._answer("FirmwareStatusNotification")

    @handles("Heartbeat")
    async def on_heartbeat(self, **_: Any) -> Any:
        return await self._answer("Heartbeat")

    @handles("LogStatusNotification")
    async def on_log_status_notification(self, **_: Any) -> Any:
        return await self._answer("LogStatusNotification")

    @handles("MeterValues")
    async def on_meter_values(self, **_: Any) -> Any:
        return await self._answer("MeterValues")

    @handles("SecurityEventNotification")
    async def on_security_event_notification(self, **_: Any) -> Any:
        return await self._answer("SecurityEventNotification")

    @handles("SignCertificate")
    async def on_sign_certificate(self, **_: Any) -> Any:
        return await self._answer("SignCertificate")

    @handles("SignedFirmwareStatusNotification")
    async def on_signed_firmware_status_notification(self, **_: Any) -> Any:
        return await self._answer("SignedFirmwareStatusNotification")

    @handles("StartTransaction")
    async def on_start_transaction(self, **_: Any) -> Any:
        return await self._answer("StartTransaction")

    @handles("StatusNotification")
    async def on_status_notification(self, **_: Any) -> Any:
        return await self._answer("StatusNotification")

    @handles("StopTransaction")
    async def on_stop_transaction(self, **_: Any) -> Any:
        return await self._answer("StopTransaction")
