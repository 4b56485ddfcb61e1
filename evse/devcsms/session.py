"""One station's connection to the development CSMS, on the mobilityhouse ``ocpp`` library.

This is the part every OCPP version shares; ``session201`` and ``session16`` add the handlers of
their version's station requests on top of the library's ChargePoint of that version.

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

from ocpp.charge_point import ChargePoint
from ocpp.exceptions import OCPPError, UnknownCallErrorCodeError
from ocpp.routing import on
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
from evse.devcsms.responses import ScriptedAnswers


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


def handles(action: str) -> Callable[[_F], _F]:
    """``ocpp.routing.on`` with a signature mypy can see (the library has no type hints)."""
    return cast(Callable[[_F], _F], on(action))


class _RecordingConnection:
    """The connection object the library sends through: journals each frame, then sends it."""

    def __init__(self, session: StationSession) -> None:
        self._session = session

    async def send(self, message: str) -> None:
        message = self._session.wire_text(message)
        frame = self._session.journal.record(self._session.id, Direction.SENT, message)
        if frame.message_type in (MessageType.CALLRESULT, MessageType.CALLERROR) and frame.unique_id:
            self._session.answers[frame.unique_id] = frame
        await self._session.websocket.send(message)

    async def recv(self) -> str:
        # The library only reads in ChargePoint.start(), which StationSession replaces.
        raise NotImplementedError("StationSession.serve() owns the read loop")


class StationSession(ChargePoint):  # type: ignore[misc]  # the ocpp package ships no type hints
    """The CSMS side of one websocket connection from a charging station, for any OCPP version.

    A subclass also derives from the library's ChargePoint of its version (``ocpp.v201.ChargePoint``
    ...), which names the schemas and call_result classes, and adds one handler per station request.
    """

    def __init__(
        self,
        station_id: str,
        websocket: ServerConnection,
        journal: Journal,
        behaviour: ScriptedAnswers,
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
                try:
                    await self._route(message)
                except ConnectionClosed:
                    # Our answer to this frame could not be sent: the station closed meanwhile. Frames it sent
                    # before closing (an answer to our CALL, then a reconnect) are still queued: read them.
                    continue
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
        """Send a CALL built from an ``ocpp.<version>.call`` instance and return the call_result.

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

    def wire_text(self, message: str) -> str:
        """The frame as it goes out; a version whose CALLERROR codes differ from the library's rewrites it."""
        return message

    async def _answer(self, action: str) -> Any:
        self.behaviour.check_registration(self.id, action)
        try:
            return await self.behaviour.answer(self.id, action, self._inbound_payload)
        except OCPPError:
            # A test scripted this CALLERROR with respond(); the station did nothing wrong.
            self._scripted_error = True
            raise
