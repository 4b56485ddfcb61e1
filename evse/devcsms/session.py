"""One station's connection to the development CSMS, on the mobilityhouse ``ocpp`` library.

The library does the OCPP-J work we want an independent opinion on: schema validation of every
CALL the station sends and every answer it gives, CALLERRORs for violations, one CALL in flight.
This module adds what a test double needs around it: each frame goes through the journal, and the
read loop is ours so that a CALL is only handed to ``wait_for`` once it has been answered.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from collections.abc import Callable
from typing import Any, TypeVar, cast

from ocpp.exceptions import OCPPError, UnknownCallErrorCodeError
from ocpp.routing import on
from ocpp.v201 import ChargePoint
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from evse.devcsms.frames import (
    Direction,
    Frame,
    InvalidStationMessage,
    MessageType,
    StationDisconnected,
)
from evse.devcsms.journal import Journal
from evse.devcsms.responses import CsmsBehaviour


class _QuietProtocolErrors(logging.Filter):
    """Drop the library's tracebacks for OCPP errors: the journal logs the CALLERROR with its
    cause in one line, the traceback would add a dump of the whole JSON schema. Tracebacks of
    other exceptions (a broken ``respond`` function) are kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], OCPPError))


# The library logs every frame at INFO too; the journal already does, one line each.
_library_log = logging.getLogger("evse.devcsms.ocpp")
_library_log.setLevel(logging.WARNING)
_library_log.addFilter(_QuietProtocolErrors())


_F = TypeVar("_F", bound=Callable[..., Any])


def _handles(action: str) -> Callable[[_F], _F]:
    """``ocpp.routing.on`` with a signature mypy can see (the library has no type hints)."""
    return cast(Callable[[_F], _F], on(action))


class _RecordingConnection:
    """The connection object the library sends through: journals each frame, then sends it."""

    def __init__(self, session: StationSession) -> None:
        self._session = session

    async def send(self, message: str) -> None:
        frame = self._session.journal.record(self._session.id, Direction.SENT, message)
        if frame.message_type in (MessageType.CALLRESULT, MessageType.CALLERROR) and frame.unique_id:
            self._session.answers[frame.unique_id] = frame
        await self._session.websocket.send(message)

    async def recv(self) -> str:
        # The library only reads in ChargePoint.start(), which StationSession replaces.
        raise NotImplementedError("StationSession.serve() owns the read loop")


class StationSession(ChargePoint):  # type: ignore[misc]  # the ocpp package ships no type hints
    """The CSMS side of one websocket connection from a charging station."""

    def __init__(
        self,
        station_id: str,
        websocket: ServerConnection,
        journal: Journal,
        behaviour: CsmsBehaviour,
    ) -> None:
        # No library timeout: DevCsms.call() bounds each call with the caller's own timeout, which
        # may be longer than any default the library would impose.
        super().__init__(station_id, _RecordingConnection(self), response_timeout=math.inf, logger=_library_log)
        self.id: str = station_id
        self.websocket = websocket
        self.journal = journal
        self.behaviour = behaviour
        self.answers: dict[str, Frame] = {}
        self.closed = asyncio.Event()
        self._inbound_payload: dict[str, Any] = {}
        self._scripted_error = False

    async def serve(self) -> None:
        """Read frames until the connection closes; returns normally on any close."""
        try:
            async for message in self.websocket:
                if isinstance(message, bytes):
                    # OCPP-J is text only; a binary frame is a station bug worth a failure.
                    self.journal.fail(self.id, f"sent a binary frame of {len(message)} bytes")
                    continue
                await self._route(message)
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()

    async def _route(self, message: str) -> None:
        frame = self.journal.record(self.id, Direction.RECEIVED, message)
        if frame.message_type is None:
            # The library would only log it; the journal has already recorded the failure.
            return
        if frame.message_type is not MessageType.CALL:
            await self.route_message(message)
            return
        # The library calls handlers serially from here, so the handler can read the payload as
        # it came over the wire (camelCase) instead of the library's snake_case translation.
        self._inbound_payload = frame.payload
        self._scripted_error = False
        await self.route_message(message)
        response = self.answers.pop(frame.unique_id or "", None)
        self.journal.complete_call(frame, response, scripted_error=self._scripted_error)

    async def call_station(self, payload: Any) -> Any:
        """Send a CALL built from an ``ocpp.v201.call`` instance and return the call_result.

        A CALLERROR raises the matching ``ocpp.exceptions.OCPPError``; an answer that violates the
        schema raises InvalidStationMessage (and is a journal failure); a closed connection raises
        StationDisconnected at once rather than after the timeout. The caller bounds the wait
        with asyncio.timeout.
        """
        action = type(payload).__name__
        unique_id = str(uuid.uuid4())
        request = asyncio.ensure_future(self.call(payload, suppress=False, unique_id=unique_id))
        closed = asyncio.ensure_future(self.closed.wait())
        try:
            await asyncio.wait({request, closed}, return_when=asyncio.FIRST_COMPLETED)
            if not request.done() and self._received_answer(unique_id) is not None:
                # The answer arrived just before the close (a station that resets right after
                # replying): let the library hand it over instead of reporting a disconnect.
                await asyncio.wait({request}, timeout=1.0)
        finally:
            closed.cancel()
            answered = request.done()
            if not answered:
                request.cancel()
        if not answered:
            raise StationDisconnected(f"{self.id} disconnected before answering {action}")
        try:
            return request.result()
        except (OCPPError, UnknownCallErrorCodeError) as exc:
            answer = self._received_answer(unique_id)
            if answer is None:
                # Our own request failed validation before it was sent: the test's mistake.
                raise
            if answer.message_type is MessageType.CALLERROR and isinstance(exc, OCPPError):
                raise  # a well-formed CALLERROR is a legitimate answer
            self.journal.fail(self.id, f"invalid answer to {action}: {exc}: {answer.raw}")
            raise InvalidStationMessage(f"{self.id} answered {action} invalidly: {exc}") from exc

    def _received_answer(self, unique_id: str) -> Frame | None:
        for frame in reversed(self.journal.frames):
            if (
                frame.station == self.id
                and frame.direction is Direction.RECEIVED
                and frame.unique_id == unique_id
                and frame.message_type is not MessageType.CALL
            ):
                return frame
        return None

    async def _answer(self, action: str) -> Any:
        self.behaviour.check_registration(self.id, action)
        try:
            return await self.behaviour.answer(self.id, action, self._inbound_payload)
        except OCPPError:
            # A test scripted this CALLERROR with respond(); the station did nothing wrong.
            self._scripted_error = True
            raise

    # One handler per request a station may send (responses.STATION_ACTIONS); all answers are
    # decided in CsmsBehaviour so that they can be unit-tested and overridden by tests.

    @_handles("Authorize")
    async def on_authorize(self, **_: Any) -> Any:
        return await self._answer("Authorize")

    @_handles("BootNotification")
    async def on_boot_notification(self, **_: Any) -> Any:
        return await self._answer("BootNotification")

    @_handles("ClearedChargingLimit")
    async def on_cleared_charging_limit(self, **_: Any) -> Any:
        return await self._answer("ClearedChargingLimit")

    @_handles("DataTransfer")
    async def on_data_transfer(self, **_: Any) -> Any:
        return await self._answer("DataTransfer")

    @_handles("FirmwareStatusNotification")
    async def on_firmware_status_notification(self, **_: Any) -> Any:
        return await self._answer("FirmwareStatusNotification")

    @_handles("Get15118EVCertificate")
    async def on_get_15118_ev_certificate(self, **_: Any) -> Any:
        return await self._answer("Get15118EVCertificate")

    @_handles("GetCertificateStatus")
    async def on_get_certificate_status(self, **_: Any) -> Any:
        return await self._answer("GetCertificateStatus")

    @_handles("Heartbeat")
    async def on_heartbeat(self, **_: Any) -> Any:
        return await self._answer("Heartbeat")

    @_handles("LogStatusNotification")
    async def on_log_status_notification(self, **_: Any) -> Any:
        return await self._answer("LogStatusNotification")

    @_handles("MeterValues")
    async def on_meter_values(self, **_: Any) -> Any:
        return await self._answer("MeterValues")

    @_handles("NotifyChargingLimit")
    async def on_notify_charging_limit(self, **_: Any) -> Any:
        return await self._answer("NotifyChargingLimit")

    @_handles("NotifyCustomerInformation")
    async def on_notify_customer_information(self, **_: Any) -> Any:
        return await self._answer("NotifyCustomerInformation")

    @_handles("NotifyDisplayMessages")
    async def on_notify_display_messages(self, **_: Any) -> Any:
        return await self._answer("NotifyDisplayMessages")

    @_handles("NotifyEVChargingNeeds")
    async def on_notify_ev_charging_needs(self, **_: Any) -> Any:
        return await self._answer("NotifyEVChargingNeeds")

    @_handles("NotifyEVChargingSchedule")
    async def on_notify_ev_charging_schedule(self, **_: Any) -> Any:
        return await self._answer("NotifyEVChargingSchedule")

    @_handles("NotifyEvent")
    async def on_notify_event(self, **_: Any) -> Any:
        return await self._answer("NotifyEvent")

    @_handles("NotifyMonitoringReport")
    async def on_notify_monitoring_report(self, **_: Any) -> Any:
        return await self._answer("NotifyMonitoringReport")

    @_handles("NotifyReport")
    async def on_notify_report(self, **_: Any) -> Any:
        return await self._answer("NotifyReport")

    @_handles("PublishFirmwareStatusNotification")
    async def on_publish_firmware_status_notification(self, **_: Any) -> Any:
        return await self._answer("PublishFirmwareStatusNotification")

    @_handles("ReportChargingProfiles")
    async def on_report_charging_profiles(self, **_: Any) -> Any:
        return await self._answer("ReportChargingProfiles")

    @_handles("ReservationStatusUpdate")
    async def on_reservation_status_update(self, **_: Any) -> Any:
        return await self._answer("ReservationStatusUpdate")

    @_handles("SecurityEventNotification")
    async def on_security_event_notification(self, **_: Any) -> Any:
        return await self._answer("SecurityEventNotification")

    @_handles("SignCertificate")
    async def on_sign_certificate(self, **_: Any) -> Any:
        return await self._answer("SignCertificate")

    @_handles("StatusNotification")
    async def on_status_notification(self, **_: Any) -> Any:
        return await self._answer("StatusNotification")

    @_handles("TransactionEvent")
    async def on_transaction_event(self, **_: Any) -> Any:
        return await self._answer("TransactionEvent")
