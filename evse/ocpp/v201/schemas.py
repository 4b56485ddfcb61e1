"""Validation against the official OCPP 2.0.1 JSON schemas, with the OCPP-J error mapping.

The schemas are read from the installed `ocpp` package (ocpp/v201/schemas), never copied or edited.
A violation is mapped to the CALLERROR code OCPP-J (Part 4, 4.3) defines for it:
type mismatch -> TypeConstraintViolation; a missing required field or too few/many array items ->
OccurrenceConstraintViolation; a value out of range, too long or not in an enumeration ->
PropertyConstraintViolation; anything structurally wrong (unknown field, payload not an object) ->
FormatViolation.

The schemas say `"type": "integer"` without a range, but OCPP's primitive integer is 32 bits (Part 2,
primitive datatypes): a larger number is a data type violation (TypeConstraintViolation), caught here
rather than as an overflow in SQLite or a driver.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import fastjsonschema

from evse.ocpp import jsonschema_compile
from evse.ocpp.jsonschema_compile import INT32_MAX, INT32_MIN, wide_integer

__all__ = ["INT32_MAX", "INT32_MIN", "PayloadViolation", "known_actions", "validate_request", "validate_response"]

_VERSION_DIR = "v201"

_CODES = {
    "type": "TypeConstraintViolation",
    "required": "OccurrenceConstraintViolation",
    "minItems": "OccurrenceConstraintViolation",
    "maxItems": "OccurrenceConstraintViolation",
    "maxLength": "PropertyConstraintViolation",
    "minLength": "PropertyConstraintViolation",
    "minimum": "PropertyConstraintViolation",
    "maximum": "PropertyConstraintViolation",
    "enum": "PropertyConstraintViolation",
    "pattern": "PropertyConstraintViolation",
    "format": "PropertyConstraintViolation",
    "additionalProperties": "FormatViolation",
}


class PayloadViolation(Exception):
    """A payload broke its schema; `code` is the OCPP-J CALLERROR code to answer with."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


@cache
def known_actions() -> frozenset[str]:
    """Every action OCPP 2.0.1 defines (both directions)."""
    names = jsonschema_compile.schema_names(_VERSION_DIR)
    return frozenset(n.removesuffix("Request") for n in names if n.endswith("Request"))


def validator_source(name: str) -> str:
    """The Python source fastjsonschema generates for schema `name`, without the schema copies.

    fastjsonschema writes the whole schema node, every $ref expanded, into each raise statement it
    generates; for TransactionEventRequest that was 196 kB of source whose compile() peaked at 13 MiB, the
    daemon's largest allocation. evse/ocpp/jsonschema_compile.py drops those copies.
    """
    return jsonschema_compile.validator_source(_VERSION_DIR, name)


@cache
def _validator(name: str) -> Callable[[Any], Any]:
    # Compiled on first use of each schema (most actions never occur), to Python code: about 20x faster
    # than interpreting the schema per message, which matters for 50-item GetVariables on a small board.
    # Compiled one generated function at a time: a tenth of the peak memory of compiling the module whole.
    return jsonschema_compile.compile_validator(_VERSION_DIR, name)


def _check(name: str, payload: Any) -> None:
    if not isinstance(payload, dict):
        raise PayloadViolation("FormatViolation", f"{name}: payload must be a JSON object")
    try:
        _validator(name)(payload)
    except fastjsonschema.JsonSchemaValueException as error:
        code = _CODES.get(str(error.rule), "FormatViolation")
        raise PayloadViolation(code, f"{name}: {error.message}"[:255]) from None
    where = wide_integer(payload, "data")
    if where is not None:
        raise PayloadViolation("TypeConstraintViolation", f"{name}: {where[:200]} is not a 32-bit integer")


def validate_request(action: str, payload: Any) -> None:
    """Raise PayloadViolation if `payload` is not a valid <action>Request."""
    _check(f"{action}Request", payload)


def validate_response(action: str, payload: Any) -> None:
    """Raise PayloadViolation if `payload` is not a valid <action>Response."""
    _check(f"{action}Response", payload)
