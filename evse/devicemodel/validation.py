"""Pure validation of device-model values against their characteristics.

OCPP carries every variable value as a string, whatever its dataType, so validation is "does this string
read as a value of that type within those limits". The same functions judge a CSMS SetVariables, a
technician's YAML override and the defaults in the definition files, so the three can never disagree.

A failure is a `Rejection`: the OCPP reason code (Part 2, Appendix "Reason codes") that goes into
statusInfo.reasonCode, and a one-line human message for statusInfo.additionalInfo and ConfigError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from evse.devicemodel.definitions import LIST_TYPES, Characteristics, DataType


class ReasonCode(StrEnum):
    """The standardized reason codes the device model answers with."""

    INVALID_VALUE = "InvalidValue"
    VALUE_TOO_LOW = "ValueTooLow"
    VALUE_TOO_HIGH = "ValueTooHigh"
    TOO_LARGE_ELEMENT = "TooLargeElement"
    READ_ONLY = "ReadOnly"
    WRITE_ONLY = "WriteOnly"
    NO_SECURITY_DOWNGRADE = "NoSecurityDowngrade"
    INVALID_CERTIFICATE = "InvalidCertificate"


@dataclass(frozen=True)
class Rejection:
    """Why a value is not acceptable."""

    reason_code: ReasonCode
    message: str

    def __str__(self) -> str:
        return self.message


_INTEGER = re.compile(r"-?[0-9]+")
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_QUOTE_MAX = 40


def _quote(value: str, secret: bool) -> str:
    if secret:
        return "the value"
    if len(value) > _QUOTE_MAX:
        value = value[: _QUOTE_MAX - 3] + "..."
    return repr(value)


def _limit(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def parse_integer(value: str) -> int | None:
    """The integer a wire value denotes, or None. Stricter than int(): no spaces, '+', '_' or exponent."""
    return int(value) if _INTEGER.fullmatch(value) else None


def parse_decimal(value: str) -> Decimal | None:
    """The decimal a wire value denotes, or None (plain notation only, as OCPP examples use)."""
    if not _DECIMAL.fullmatch(value):
        return None
    try:
        return Decimal(value)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes this
        return None


def parse_boolean(value: str) -> bool | None:
    """OCPP booleans are exactly "true" or "false"."""
    return {"true": True, "false": False}.get(value)


def parse_datetime(value: str) -> datetime | None:
    """An RFC 3339 date-time with a mandatory offset (Z or +hh:mm), or None."""
    if not _RFC3339.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value.upper())
    except ValueError:
        return None


def split_list(value: str) -> list[str]:
    """Members of a comma-separated list value; the empty string is the empty list."""
    return value.split(",") if value else []


def _check_number(number: Decimal, text: str, characteristics: Characteristics, secret: bool) -> Rejection | None:
    low, high = characteristics.min_limit, characteristics.max_limit
    if low is not None and number < Decimal(str(low)):
        return Rejection(ReasonCode.VALUE_TOO_LOW, f"{_quote(text, secret)} is below the minimum {_limit(low)}")
    if high is not None and number > Decimal(str(high)):
        return Rejection(ReasonCode.VALUE_TOO_HIGH, f"{_quote(text, secret)} is above the maximum {_limit(high)}")
    return None


def _check_length(value: str, characteristics: Characteristics, secret: bool) -> Rejection | None:
    low, high = characteristics.min_limit, characteristics.max_limit
    if low is not None and len(value) < low:
        return Rejection(ReasonCode.INVALID_VALUE, f"{_quote(value, secret)} is shorter than {_limit(low)} characters")
    if high is not None and len(value) > high:
        return Rejection(ReasonCode.INVALID_VALUE, f"{_quote(value, secret)} is longer than {_limit(high)} characters")
    return None


def _check_members(value: str, characteristics: Characteristics, secret: bool) -> Rejection | None:
    allowed = characteristics.values_list
    choices = ", ".join(allowed)
    if characteristics.data_type is DataType.OPTION_LIST:
        if value not in allowed:
            return Rejection(ReasonCode.INVALID_VALUE, f"{_quote(value, secret)} is not one of: {choices}")
        return None
    seen: set[str] = set()
    for member in split_list(value):
        if member not in allowed:
            return Rejection(
                ReasonCode.INVALID_VALUE,
                f"{_quote(value, secret)} contains {member!r}, which is not one of: {choices}",
            )
        if member in seen:
            return Rejection(ReasonCode.INVALID_VALUE, f"{_quote(value, secret)} lists {member!r} more than once")
        seen.add(member)
    return None


def validate_value(value: str, characteristics: Characteristics, *, secret: bool = False) -> Rejection | None:
    """None if `value` is acceptable for a variable with these characteristics, else why not.

    `secret` keeps the value itself out of the message (WriteOnly variables such as passwords).
    """
    data_type = characteristics.data_type
    if data_type is DataType.INTEGER:
        integer = parse_integer(value)
        if integer is None:
            return Rejection(ReasonCode.INVALID_VALUE, f"{_quote(value, secret)} is not an integer")
        if not INT32_MIN <= integer <= INT32_MAX:
            # OCPP's integer is 32 bits (Part 2, primitive datatypes). A variable without a maxLimit took
            # any size, and AlignedDataCtrlr.Interval = 2147483648 then crashed the metering loop (found
            # by `make fuzz`).
            reason = ReasonCode.VALUE_TOO_HIGH if integer > 0 else ReasonCode.VALUE_TOO_LOW
            return Rejection(reason, f"{_quote(value, secret)} is not a 32-bit integer")
        return _check_number(Decimal(integer), value, characteristics, secret)
    if data_type is DataType.DECIMAL:
        decimal = parse_decimal(value)
        if decimal is None:
            return Rejection(ReasonCode.INVALID_VALUE, f"{_quote(value, secret)} is not a decimal number")
        return _check_number(decimal, value, characteristics, secret)
    if data_type is DataType.BOOLEAN:
        if parse_boolean(value) is None:
            return Rejection(ReasonCode.INVALID_VALUE, f"{_quote(value, secret)} is not a boolean (true or false)")
        return None
    if data_type is DataType.DATETIME:
        if parse_datetime(value) is None:
            return Rejection(ReasonCode.INVALID_VALUE, f"{_quote(value, secret)} is not an RFC 3339 date-time")
        return None
    if data_type in LIST_TYPES:
        return _check_length(value, characteristics, secret) or _check_members(value, characteristics, secret)
    return _check_length(value, characteristics, secret)


def check_value_size(value: str, limit: int | None, *, secret: bool = False) -> Rejection | None:
    """Enforce DeviceDataCtrlr.ConfigurationValueSize / ValueSize on a value being set."""
    if limit is not None and len(value) > limit:
        return Rejection(
            ReasonCode.TOO_LARGE_ELEMENT,
            f"{_quote(value, secret)} is longer than the configuration value size {limit}",
        )
    return None


def truncate_for_report(value: str, limit: int | None) -> str:
    """Enforce DeviceDataCtrlr.ReportingValueSize / ValueSize on a value being reported."""
    return value if limit is None or len(value) <= limit else value[:limit]


def to_wire(value: object) -> str:
    """The OCPP string form of a scalar written in YAML or passed by station code.

    YAML gives bools, ints, floats and lists; OCPP wants "true", "300", "1.5" and "A,B".
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(to_wire(item) for item in value)
    if isinstance(value, float):
        return _limit(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
