"""Pin numbers in the board YAML: which exist, and that one driver never uses a pin twice.

Every GPIO driver's ``Params`` uses :data:`BcmPin` for its pin keys and :func:`distinct_pins` over
them, so a typo in the board YAML fails ``evse check-config`` with one line naming the key instead
of energizing the wrong output on the first session.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import AfterValidator, Strict, ValidationInfo, field_validator

#: BCM GPIO numbers brought out on the 40-pin Raspberry Pi header (GPIO0..GPIO27). Numbers are BCM,
#: not physical header positions: ``pin: 17`` is GPIO17 on header pin 11.
BCM_HEADER_PINS: Final = range(0, 28)


def check_bcm_pin(value: int) -> int:
    """Refuse a number that is not a GPIO on the Raspberry Pi header (ValueError, one line)."""
    if value not in BCM_HEADER_PINS:
        first, last = BCM_HEADER_PINS[0], BCM_HEADER_PINS[-1]
        raise ValueError(f"BCM pin {value} is not on the Raspberry Pi header ({first}-{last})")
    return value


#: A pin key of a Params model. Strict: YAML ``true`` must not silently become GPIO1.
BcmPin = Annotated[int, Strict(), AfterValidator(check_bcm_pin)]


def _pin_used_once(keys: tuple[str, ...], value: int | None, info: ValidationInfo) -> int | None:
    if value is None:
        return None
    for key in keys:
        if key == info.field_name:
            break  # only keys declared earlier are validated yet: the later duplicate gets the error
        if info.data.get(key) == value:
            raise ValueError(f"BCM pin {value} is already used by {key!r}")
    return value


def distinct_pins(*keys: str) -> Any:
    """A field validator for a Params model: none of the pin ``keys`` repeats an earlier one.

    Assign it to a public class attribute, listing the keys in declaration order::

        class Params(DriverParams):
            pin: BcmPin
            feedback_pin: BcmPin | None = None
            check_pins = distinct_pins("pin", "feedback_pin")

    The error lands on the later key (``parameter 'feedback_pin': BCM pin 17 is already used by 'pin'``).
    Returns pydantic's decorator proxy, hence ``Any``.
    """

    def check(cls: type, value: int | None, info: ValidationInfo) -> int | None:
        return _pin_used_once(keys, value, info)

    return field_validator(*keys)(check)
