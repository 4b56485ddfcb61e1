"""The shared pin-number checks every GPIO driver's Params use."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from drivers.gpio.pins import BCM_HEADER_PINS, BcmPin, check_bcm_pin, distinct_pins
from drivers.interfaces import DriverParams


class ThreePins(DriverParams):
    first: BcmPin
    second: BcmPin | None = None
    third: BcmPin | None = None
    other_number: int = 0  # not a pin: may equal one

    check_pins = distinct_pins("first", "second", "third")


def only_error(exc: ValidationError) -> tuple[tuple[int | str, ...], str]:
    assert exc.error_count() == 1
    error = exc.errors()[0]
    return error["loc"], str(error["msg"]).removeprefix("Value error, ")


def test_the_header_range_is_gpio0_to_gpio27() -> None:
    assert (BCM_HEADER_PINS[0], BCM_HEADER_PINS[-1], len(BCM_HEADER_PINS)) == (0, 27, 28)


@given(st.integers(min_value=0, max_value=27))
def test_every_header_pin_is_accepted(pin: int) -> None:
    assert check_bcm_pin(pin) == pin


@given(st.one_of(st.integers(max_value=-1), st.integers(min_value=28)))
def test_any_other_number_is_refused_in_one_line(pin: int) -> None:
    with pytest.raises(ValueError, match=rf"^BCM pin {pin} is not on the Raspberry Pi header \(0-27\)$"):
        check_bcm_pin(pin)


def test_a_pin_used_twice_is_refused_on_the_later_key() -> None:
    with pytest.raises(ValidationError) as info:
        ThreePins(first=4, second=5, third=4)
    assert only_error(info.value) == (("third",), "BCM pin 4 is already used by 'first'")


def test_a_pin_used_twice_is_refused_against_the_nearest_earlier_key() -> None:
    with pytest.raises(ValidationError) as info:
        ThreePins(first=4, second=5, third=5)
    assert only_error(info.value) == (("third",), "BCM pin 5 is already used by 'second'")


def test_absent_optional_pins_and_other_numbers_do_not_clash() -> None:
    assert ThreePins(first=4, other_number=4).first == 4
    assert ThreePins(first=4, second=None, third=6).third == 6


def test_an_impossible_pin_twice_is_two_impossible_pins_not_a_clash() -> None:
    with pytest.raises(ValidationError) as info:
        ThreePins(first=99, second=99)
    assert [(e["loc"], e["msg"]) for e in info.value.errors()] == [
        (("first",), "Value error, BCM pin 99 is not on the Raspberry Pi header (0-27)"),
        (("second",), "Value error, BCM pin 99 is not on the Raspberry Pi header (0-27)"),
    ]


def test_a_boolean_is_not_a_pin() -> None:
    with pytest.raises(ValidationError, match="Input should be a valid integer"):
        ThreePins(first=True)
