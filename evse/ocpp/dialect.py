"""What differs between the OCPP-J versions at the RPC level: schemas, known actions, CALLERROR codes.

The RPC session (evse/ocpp/rpc.py) is the same for 1.6 and 2.0.1: framing, correlation, one CALL in
flight. It asks its dialect which actions exist, how to validate a payload and how to spell a
CALLERROR code. The session's own codes are the 2.0.1 ones; a 1.6 session translates them on the way
out (FormatViolation -> FormationViolation ...), so no caller needs to know which version it serves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evse.ocpp.v16 import schemas as v16_schemas
from evse.ocpp.v201 import schemas as v201_schemas


@dataclass(frozen=True)
class Dialect:
    """One OCPP-J version as the RPC session sees it."""

    version: str
    #: The websocket subprotocol the station offers and requires.
    subprotocol: str
    known_actions: Callable[[], frozenset[str]]
    #: Both raise evse.ocpp.v201.schemas.PayloadViolation, whose code is already in this version's spelling.
    validate_request: Callable[[str, Any], None]
    validate_response: Callable[[str, Any], None]
    #: The session's (2.0.1) CALLERROR code in this version's spelling.
    error_code: Callable[[str], str]


def _same(code: str) -> str:
    return code


V201 = Dialect(
    version="2.0.1",
    subprotocol="ocpp2.0.1",
    known_actions=v201_schemas.known_actions,
    validate_request=v201_schemas.validate_request,
    validate_response=v201_schemas.validate_response,
    error_code=_same,
)

V16 = Dialect(
    version="1.6",
    subprotocol="ocpp1.6",
    known_actions=v16_schemas.known_actions,
    validate_request=v16_schemas.validate_request,
    validate_response=v16_schemas.validate_response,
    error_code=v16_schemas.from_v201_code,
)


def message_models(version: str) -> Any:
    """The generated message module of an OCPP version (REQUESTS/RESPONSES by action), loaded on first use:
    what an outbox entry written in that version is revived with."""
    if version == "1.6":
        from evse.ocpp.v16 import messages as m16

        return m16
    from evse.ocpp.v201 import messages as m201

    return m201
