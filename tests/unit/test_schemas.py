"""Validation against the official schemas: the OCPP-J error codes, and validators kept small."""

from __future__ import annotations

from typing import Any

import pytest

from evse.ocpp.v201 import schemas

LARGEST = ["TransactionEventRequest", "RequestStartTransactionRequest", "SetChargingProfileRequest"]


def transaction_event(**sampled: Any) -> dict[str, Any]:
    value = {"value": 1.0, "measurand": "Energy.Active.Import.Register", **sampled}
    return {
        "eventType": "Updated",
        "timestamp": "2026-01-01T00:00:00Z",
        "triggerReason": "MeterValuePeriodic",
        "seqNo": 1,
        "transactionInfo": {"transactionId": "t1"},
        "meterValue": [{"timestamp": "2026-01-01T00:00:00Z", "sampledValue": [value]}],
    }


@pytest.mark.parametrize("name", LARGEST)
def test_generated_validators_carry_no_copy_of_the_schema(name: str) -> None:
    """fastjsonschema repeats the expanded schema in every raise; that copy is what made compiling
    TransactionEventRequest the daemon's largest allocation, so it must stay out of the source."""
    source = schemas.validator_source(name)
    assert "definition=" not in source and "rule='required'" in source


def test_every_schema_compiles_function_by_function_and_checks_its_payload() -> None:
    """The validators are compiled one generated function at a time (lower peak memory): every one of the
    128 schemas must come out whole, answering a payload with a field it does not define."""
    for action in sorted(schemas.known_actions()):
        for validate in (schemas.validate_request, schemas.validate_response):
            with pytest.raises(schemas.PayloadViolation) as caught:
                validate(action, {"noSuchField": 1})
            assert caught.value.code in ("FormatViolation", "OccurrenceConstraintViolation"), action


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (transaction_event(), None),
        (transaction_event(value="1"), "TypeConstraintViolation"),
        (transaction_event(unitOfMeasure={"unit": "x" * 21}), "PropertyConstraintViolation"),
        (transaction_event(measurand="Energy.Sideways"), "PropertyConstraintViolation"),
        (transaction_event(bogus=1), "FormatViolation"),
        ({"eventType": "Updated"}, "OccurrenceConstraintViolation"),
        ({**transaction_event(), "meterValue": []}, "OccurrenceConstraintViolation"),
        ({**transaction_event(), "timestamp": "yesterday"}, "PropertyConstraintViolation"),
    ],
)
def test_violations_deep_in_a_payload_map_to_their_ocpp_j_error_code(payload: dict[str, Any], code: str | None) -> None:
    """OCPP-J 4.3: the CALLERROR code names the kind of violation, wherever it sits in the payload."""
    if code is None:
        schemas.validate_request("TransactionEvent", payload)
        return
    with pytest.raises(schemas.PayloadViolation) as caught:
        schemas.validate_request("TransactionEvent", payload)
    assert caught.value.code == code and caught.value.description.startswith("TransactionEventRequest: data")
