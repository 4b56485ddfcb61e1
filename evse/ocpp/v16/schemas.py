"""Validation against the official OCPP 1.6 JSON schemas, with the OCPP-J 1.6 error mapping.

The schemas are read from the installed `ocpp` package (ocpp/v16/schemas), never copied or edited. Their
files are named <Action>.json for the request and <Action>Response.json for the answer.

OCPP-J 1.6 (4.2.3) has its own CALLERROR code set, and the 1.6 errata sheet keeps two of its spellings
("known issues that will not be fixed"): FormationViolation, where 2.0.1 says FormatViolation, and
OccurenceConstraintViolation, where 2.0.1 says OccurrenceConstraintViolation. A 1.6 CSMS must see those.
1.6 also has no RpcFrameworkError or MessageTypeNotSupported: a message that is not a CALL, CALLRESULT
or CALLERROR frame does not conform to the RPC framework and is a FormationViolation.

A violation maps as in 2.0.1: type mismatch (and an integer wider than 32 bits) -> TypeConstraintViolation;
a missing required field or too few/many array items -> OccurenceConstraintViolation; a value out of range,
too long, not in the enumeration or not a multiple of 0.1 (the charging-rate limits) ->
PropertyConstraintViolation; anything structurally wrong (unknown field, payload not an object) ->
FormationViolation. The `ocpp` library answers a missing field with ProtocolError ("payload incomplete");
this station keeps the occurrence reading, as its 2.0.1 side does.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, Final

import fastjsonschema

from evse.ocpp.jsonschema_compile import compile_validator, schema_names, validator_source, wide_integer
from evse.ocpp.v201.schemas import PayloadViolation

__all__ = [
    "CALLERROR_CODES",
    "PayloadViolation",
    "from_v201_code",
    "known_actions",
    "validate_request",
    "validate_response",
]

VERSION_DIR: Final = "v16"

FORMATION_VIOLATION: Final = "FormationViolation"
OCCURENCE_CONSTRAINT_VIOLATION: Final = "OccurenceConstraintViolation"

#: Every CALLERROR code OCPP-J 1.6 defines (4.2.3), spelled as the errata sheet keeps them.
CALLERROR_CODES: Final = frozenset(
    {
        "NotImplemented",
        "NotSupported",
        "InternalError",
        "ProtocolError",
        "SecurityError",
        FORMATION_VIOLATION,
        "PropertyConstraintViolation",
        OCCURENCE_CONSTRAINT_VIOLATION,
        "TypeConstraintViolation",
        "GenericError",
    }
)

_CODES: Final = {
    "type": "TypeConstraintViolation",
    "required": OCCURENCE_CONSTRAINT_VIOLATION,
    "minItems": OCCURENCE_CONSTRAINT_VIOLATION,
    "maxItems": OCCURENCE_CONSTRAINT_VIOLATION,
    "maxLength": "PropertyConstraintViolation",
    "minLength": "PropertyConstraintViolation",
    "minimum": "PropertyConstraintViolation",
    "maximum": "PropertyConstraintViolation",
    "multipleOf": "PropertyConstraintViolation",
    "enum": "PropertyConstraintViolation",
    "pattern": "PropertyConstraintViolation",
    "format": "PropertyConstraintViolation",
    "additionalProperties": FORMATION_VIOLATION,
}

# The shared RPC session speaks 2.0.1 codes; a 1.6 connection translates what it sends with this table.
_FROM_V201: Final = {
    "FormatViolation": FORMATION_VIOLATION,
    "OccurrenceConstraintViolation": OCCURENCE_CONSTRAINT_VIOLATION,
    "RpcFrameworkError": FORMATION_VIOLATION,
    "MessageTypeNotSupported": FORMATION_VIOLATION,
}


def from_v201_code(code: str) -> str:
    """The 1.6 CALLERROR code for a 2.0.1 one; a code 1.6 lacks becomes GenericError."""
    translated = _FROM_V201.get(code, code)
    return translated if translated in CALLERROR_CODES else "GenericError"


@cache
def known_actions() -> frozenset[str]:
    """Every action OCPP 1.6 (with the security whitepaper) defines, both directions."""
    return frozenset(n for n in schema_names(VERSION_DIR) if not n.endswith("Response"))


def schema_source(stem: str) -> str:
    """The validator source for one 1.6 schema file (for tests: it must hold no schema copies)."""
    return validator_source(VERSION_DIR, stem)


@cache
def _validator(stem: str) -> Callable[[Any], Any]:
    # Compiled on first use of each schema: most actions never occur on a given station.
    return compile_validator(VERSION_DIR, stem)


def _check(stem: str, label: str, payload: Any) -> None:
    if not isinstance(payload, dict):
        raise PayloadViolation(FORMATION_VIOLATION, f"{label}: payload must be a JSON object")
    try:
        _validator(stem)(payload)
    except fastjsonschema.JsonSchemaValueException as error:
        code = _CODES.get(str(error.rule), FORMATION_VIOLATION)
        raise PayloadViolation(code, f"{label}: {error.message}"[:255]) from None
    where = wide_integer(payload, "data")
    if where is not None:
        raise PayloadViolation("TypeConstraintViolation", f"{label}: {where[:200]} is not a 32-bit integer")


def validate_request(action: str, payload: Any) -> None:
    """Raise PayloadViolation (with a 1.6 code) if `payload` is not a valid <action>.req."""
    if action not in known_actions():
        raise PayloadViolation("NotImplemented", f"unknown action {action}")
    _check(action, f"{action}.req", payload)  # 1.6 names the request file <Action>.json


def validate_response(action: str, payload: Any) -> None:
    """Raise PayloadViolation (with a 1.6 code) if `payload` is not a valid <action>.conf."""
    if action not in known_actions():
        raise PayloadViolation("NotImplemented", f"unknown action {action}")
    _check(f"{action}Response", f"{action}.conf", payload)
