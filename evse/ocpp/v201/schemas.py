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

import json
import re
from collections.abc import Callable
from functools import cache
from importlib.resources import files
from typing import Any

import fastjsonschema

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


INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


class PayloadViolation(Exception):
    """A payload broke its schema; `code` is the OCPP-J CALLERROR code to answer with."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


@cache
def _schema_names() -> frozenset[str]:
    root = files("ocpp") / "v201" / "schemas"
    return frozenset(entry.name.removesuffix(".json") for entry in root.iterdir() if entry.name.endswith(".json"))


@cache
def known_actions() -> frozenset[str]:
    """Every action OCPP 2.0.1 defines (both directions)."""
    return frozenset(n.removesuffix("Request") for n in _schema_names() if n.endswith("Request"))


# fastjsonschema writes the whole schema node, every $ref expanded, into each raise statement it generates,
# only to fill JsonSchemaValueException.definition, which nothing here reads. For TransactionEventRequest
# that is 196 kB of source whose compile() peaks at 13 MiB, the daemon's largest allocation. Each raise is
# one line ending in `definition=<repr>, rule='<keyword>')`: dropping the definition keeps the message and
# the rule (which the CALLERROR code comes from) and leaves a quarter of the source.
_DEFINITION = re.compile(r", definition=.*, rule=('\w+')\)$", re.MULTILINE)


def validator_source(name: str) -> str:
    """The Python source fastjsonschema generates for schema `name`, without the schema copies."""
    text = (files("ocpp") / "v201" / "schemas" / f"{name}.json").read_text(encoding="utf-8")
    return _DEFINITION.sub(r", rule=\1)", fastjsonschema.compile_to_code(json.loads(text)))


# compile() holds the syntax tree of everything it is given at once: for a whole validator module (up to
# 49 kB of source) that peak was 1.5-4 MiB which the process kept. The generated module is a few lines of
# imports and constants followed by top-level functions (messages are one-line strings), so it is compiled
# one function at a time, into one namespace: a tenth of the peak.
_TOP_LEVEL_DEF = re.compile(r"^(?=def )", re.MULTILINE)


@cache
def _validator(name: str) -> Callable[[Any], Any]:
    # Compiled on first use of each schema (most actions never occur), to Python code: about 20x faster
    # than interpreting the schema per message, which matters for 50-item GetVariables on a small board.
    namespace: dict[str, Any] = {}
    for chunk in _TOP_LEVEL_DEF.split(validator_source(name)):
        exec(compile(chunk, f"<schema {name}>", "exec"), namespace)  # as fastjsonschema.compile does
    validate: Callable[[Any], Any] = namespace["validate"]
    return validate


def _check(name: str, payload: Any) -> None:
    if not isinstance(payload, dict):
        raise PayloadViolation("FormatViolation", f"{name}: payload must be a JSON object")
    try:
        _validator(name)(payload)
    except fastjsonschema.JsonSchemaValueException as error:
        code = _CODES.get(str(error.rule), "FormatViolation")
        raise PayloadViolation(code, f"{name}: {error.message}"[:255]) from None
    where = _wide_integer(payload, "data")
    if where is not None:
        raise PayloadViolation("TypeConstraintViolation", f"{name}: {where[:200]} is not a 32-bit integer")


def _wide_integer(value: Any, path: str) -> str | None:
    """The path of the first integer outside 32 bits, or None. Schema-valid payloads are shallow."""
    if isinstance(value, int) and not isinstance(value, bool):
        return path if not INT32_MIN <= value <= INT32_MAX else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _wide_integer(item, f"{path}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _wide_integer(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def validate_request(action: str, payload: Any) -> None:
    """Raise PayloadViolation if `payload` is not a valid <action>Request."""
    _check(f"{action}Request", payload)


def validate_response(action: str, payload: Any) -> None:
    """Raise PayloadViolation if `payload` is not a valid <action>Response."""
    _check(f"{action}Response", payload)
