"""Validation of wire-string values against characteristics (used by SetVariables and the YAML alike)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evse.devicemodel.definitions import Characteristics, DataType
from evse.devicemodel.validation import (
    ReasonCode,
    check_value_size,
    to_wire,
    truncate_for_report,
    validate_value,
)

INTEGER = Characteristics(DataType.INTEGER, min_limit=1, max_limit=3600)
DECIMAL = Characteristics(DataType.DECIMAL, min_limit=0, max_limit=100)
BOOLEAN = Characteristics(DataType.BOOLEAN)
DATETIME = Characteristics(DataType.DATETIME)
STRING = Characteristics(DataType.STRING, max_limit=5)
OPTIONS = Characteristics(DataType.OPTION_LIST, values_list=("A", "B"))
MEMBERS = Characteristics(DataType.MEMBER_LIST, values_list=("A", "B", "C"))
SEQUENCE = Characteristics(DataType.SEQUENCE_LIST, values_list=("1", "2", "3"))


@pytest.mark.parametrize(
    ("value", "characteristics"),
    [
        ("1", INTEGER),
        ("3600", INTEGER),
        ("0", DECIMAL),
        ("99.5", DECIMAL),
        ("true", BOOLEAN),
        ("false", BOOLEAN),
        ("2024-03-01T12:00:00Z", DATETIME),
        ("2024-03-01T12:00:00.123+01:00", DATETIME),
        ("", STRING),
        ("abcde", STRING),
        ("B", OPTIONS),
        ("", MEMBERS),
        ("C,A", MEMBERS),
        ("3,1,2", SEQUENCE),
    ],
)
def test_valid_values_pass(value: str, characteristics: Characteristics) -> None:
    assert validate_value(value, characteristics) is None


@pytest.mark.parametrize(
    ("value", "characteristics", "reason", "message"),
    [
        ("abc", INTEGER, ReasonCode.INVALID_VALUE, "'abc' is not an integer"),
        ("1.5", INTEGER, ReasonCode.INVALID_VALUE, "'1.5' is not an integer"),
        (" 5", INTEGER, ReasonCode.INVALID_VALUE, "is not an integer"),
        ("+5", INTEGER, ReasonCode.INVALID_VALUE, "is not an integer"),
        ("1e3", DECIMAL, ReasonCode.INVALID_VALUE, "is not a decimal number"),
        ("0", INTEGER, ReasonCode.VALUE_TOO_LOW, "'0' is below the minimum 1"),
        ("3601", INTEGER, ReasonCode.VALUE_TOO_HIGH, "'3601' is above the maximum 3600"),
        ("100.01", DECIMAL, ReasonCode.VALUE_TOO_HIGH, "above the maximum 100"),
        ("True", BOOLEAN, ReasonCode.INVALID_VALUE, "is not a boolean (true or false)"),
        ("1", BOOLEAN, ReasonCode.INVALID_VALUE, "is not a boolean"),
        ("2024-03-01T12:00:00", DATETIME, ReasonCode.INVALID_VALUE, "is not an RFC 3339 date-time"),
        ("2024-02-30T12:00:00Z", DATETIME, ReasonCode.INVALID_VALUE, "is not an RFC 3339 date-time"),
        ("yesterday", DATETIME, ReasonCode.INVALID_VALUE, "is not an RFC 3339 date-time"),
        ("abcdef", STRING, ReasonCode.INVALID_VALUE, "is longer than 5 characters"),
        ("C", OPTIONS, ReasonCode.INVALID_VALUE, "'C' is not one of: A, B"),
        ("A,B", OPTIONS, ReasonCode.INVALID_VALUE, "is not one of"),
        ("A,D", MEMBERS, ReasonCode.INVALID_VALUE, "contains 'D', which is not one of: A, B, C"),
        ("A, B", MEMBERS, ReasonCode.INVALID_VALUE, "contains ' B'"),
        ("A,A", MEMBERS, ReasonCode.INVALID_VALUE, "lists 'A' more than once"),
        ("1,1", SEQUENCE, ReasonCode.INVALID_VALUE, "lists '1' more than once"),
    ],
)
def test_invalid_values_are_rejected_with_reason_and_message(
    value: str, characteristics: Characteristics, reason: ReasonCode, message: str
) -> None:
    rejection = validate_value(value, characteristics)
    assert rejection is not None
    assert rejection.reason_code is reason
    assert message in rejection.message


def test_a_secret_value_never_appears_in_the_message() -> None:
    rejection = validate_value("hunter2hunter2", STRING, secret=True)
    assert rejection is not None
    assert "hunter2" not in rejection.message


def test_value_size_limits() -> None:
    assert check_value_size("x" * 10, 10) is None
    rejection = check_value_size("x" * 11, 10)
    assert rejection is not None and rejection.reason_code is ReasonCode.TOO_LARGE_ELEMENT
    assert check_value_size("x" * 5000, None) is None
    assert truncate_for_report("abcdef", 4) == "abcd"
    assert truncate_for_report("abc", 4) == "abc"
    assert truncate_for_report("abc", None) == "abc"


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (True, "true"),
        (False, "false"),
        (300, "300"),
        (1.5, "1.5"),
        (30.0, "30"),
        (["EVConnected", "Authorized"], "EVConnected,Authorized"),
        ("x", "x"),
        (datetime(2024, 1, 1, tzinfo=UTC), "2024-01-01T00:00:00+00:00"),
    ],
)
def test_yaml_scalars_become_wire_strings(value: object, wire: str) -> None:
    assert to_wire(value) == wire


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_every_integer_in_range_is_accepted_and_outside_is_not(number: int) -> None:
    rejection = validate_value(str(number), INTEGER)
    assert (rejection is None) == (1 <= number <= 3600)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2147483648", ReasonCode.VALUE_TOO_HIGH),
        ("9" * 40, ReasonCode.VALUE_TOO_HIGH),
        ("-2147483649", ReasonCode.VALUE_TOO_LOW),
    ],
)
def test_an_integer_without_limits_is_still_32_bits(value: str, reason: ReasonCode) -> None:
    """OCPP's integer is 32 bits (Part 2, primitive datatypes): AlignedDataCtrlr.Interval has no maxLimit,
    took 2147483648 from a SetVariables and the metering loop's timedelta overflowed, ending the daemon."""
    unlimited = Characteristics(DataType.INTEGER, min_limit=0)
    rejection = validate_value(value, unlimited)
    assert rejection is not None and rejection.reason_code is reason
    assert validate_value("2147483647", unlimited) is None


@given(st.text(max_size=12))
def test_boolean_accepts_exactly_two_spellings(text: str) -> None:
    assert (validate_value(text, BOOLEAN) is None) == (text in ("true", "false"))
