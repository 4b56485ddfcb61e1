"""What the development CSMS records: OCPP-J frames, finished inbound exchanges, handshakes.

The records are plain frozen data so a test can assert on them directly; the raw text of every
frame is kept because malformed-frame tests care about bytes the parser could not make sense of.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from evse.errors import EvseError


class MessageType(enum.IntEnum):
    """The OCPP-J MessageTypeId, the first element of every frame."""

    CALL = 2
    CALLRESULT = 3
    CALLERROR = 4


class Direction(enum.Enum):
    """Seen from the CSMS: the value is the arrow used in the one-line message log."""

    RECEIVED = "<-"
    SENT = "->"


@dataclass(frozen=True)
class ParsedFrame:
    """The OCPP-J envelope of a text frame, as far as it could be read.

    For a CALLERROR, ``payload`` holds the errorDetails object. ``action`` is only in the frame
    for a CALL; for the answers the journal fills it in from the CALL they answer.
    """

    message_type: MessageType
    unique_id: str
    action: str | None
    payload: dict[str, Any]
    error_code: str | None = None
    error_description: str | None = None


@dataclass(frozen=True)
class Frame:
    """One websocket text frame received from or sent to a station, in the order it happened.

    ``message_type`` is None when the text is not an OCPP-J frame (not JSON, not a list, unknown
    MessageTypeId); ``raw`` always holds exactly what went over the wire.
    """

    seq: int
    station: str
    direction: Direction
    raw: str
    at: datetime
    monotonic: float
    message_type: MessageType | None
    unique_id: str | None
    action: str | None
    payload: dict[str, Any]
    error_code: str | None = None
    error_description: str | None = None

    def summary(self) -> str:
        """The log line body, e.g. ``<- TransactionEvent {...}`` or ``-> HeartbeatResponse {...}``."""
        body = json.dumps(self.payload, separators=(",", ":"), sort_keys=False)
        action = self.action or "?"
        if self.message_type is MessageType.CALL:
            return f"{self.direction.value} {action} {body}"
        if self.message_type is MessageType.CALLRESULT:
            return f"{self.direction.value} {action}Response {body}"
        if self.message_type is MessageType.CALLERROR:
            return f"{self.direction.value} {action} CALLERROR {self.error_code} {self.error_description!r} {body}"
        return f"{self.direction.value} <not OCPP-J> {self.raw!r}"


@dataclass
class InboundCall:
    """A CALL the station sent, together with the answer the CSMS gave it.

    ``consumed`` is the cursor of ``DevCsms.wait_for``: a call is returned by at most one
    ``wait_for``, so successive waits for the same action see successive messages.
    ``scripted_error`` marks a CALLERROR a test asked for through ``respond``: the station's
    message was fine.
    """

    request: Frame
    response: Frame | None
    scripted_error: bool = False
    consumed: bool = False

    @property
    def rejected(self) -> bool:
        """True when the CSMS did not answer with a CALLRESULT."""
        return self.response is None or self.response.message_type is not MessageType.CALLRESULT

    @property
    def invalid(self) -> bool:
        """True when the station is to blame for the rejection (schema, unknown action ...)."""
        return self.rejected and not self.scripted_error

    def describe(self) -> str:
        """One line for failure and timeout messages."""
        mark = " (consumed)" if self.consumed else ""
        if self.rejected and self.response is not None:
            details = json.dumps(self.response.payload, separators=(",", ":"))
            mark += f" answered {self.response.error_code}: {self.response.error_description} {details}"
        return f"#{self.request.seq} {self.request.station} {self.request.action}{mark}"


@dataclass(frozen=True)
class AuthAttempt:
    """One HTTP Basic authentication check (security profile 1) and its outcome."""

    station: str
    username: str | None
    accepted: bool


@dataclass(frozen=True)
class ConnectionRecord:
    """One websocket connection that completed its handshake."""

    station: str
    path: str
    subprotocol: str | None
    offered_subprotocols: tuple[str, ...]
    username: str | None
    at: datetime
    #: The client certificate the station presented (DER), under mutual TLS (profile 3).
    peer_certificate: bytes | None = None


class DevCsmsError(EvseError):
    """Base of the errors the development CSMS raises on purpose."""


class StationNotConnected(DevCsmsError, LookupError):
    """A test addressed a station that has no open connection to the CSMS."""


class StationDisconnected(DevCsmsError, ConnectionError):
    """The station's connection closed while the CSMS was waiting for its answer."""


class InvalidStationMessage(DevCsmsError, AssertionError):
    """The station sent something the official schemas reject.

    An AssertionError too, so pytest reports it as a test failure rather than an error in the
    test itself: a schema violation by the station is exactly what the test is there to catch.
    """


def parse_frame(raw: str) -> ParsedFrame | None:
    """Read the OCPP-J envelope of ``raw``; None when it is not a well-formed frame."""
    try:
        message = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(message, list) or len(message) < 3 or not isinstance(message[1], str):
        return None
    kind, unique_id = message[0], message[1]
    if kind == MessageType.CALL and len(message) == 4 and isinstance(message[2], str):
        return ParsedFrame(MessageType.CALL, unique_id, message[2], _as_object(message[3]))
    if kind == MessageType.CALLRESULT and len(message) == 3:
        return ParsedFrame(MessageType.CALLRESULT, unique_id, None, _as_object(message[2]))
    if kind == MessageType.CALLERROR and len(message) == 5:
        return ParsedFrame(
            MessageType.CALLERROR,
            unique_id,
            None,
            _as_object(message[4]),
            error_code=str(message[2]),
            error_description=str(message[3]),
        )
    return None


def _as_object(value: Any) -> dict[str, Any]:
    # A payload that is not a JSON object is still recorded (the schema check will reject it),
    # wrapped so that the record's type stays a dict for tests.
    if isinstance(value, dict):
        return value
    return {"_invalid_payload": value}
