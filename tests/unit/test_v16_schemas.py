"""The OCPP 1.6 message layer: official 1.6 schemas, generated models and the 1.6 CALLERROR codes.

The examples come from an independent source, the `ocpp` library's 1.6 call / call_result dataclasses,
filled field by field from their type hints and serialised by the library itself, so a schema file our
generator or validator misreads shows up as a disagreement between the two.
"""

from __future__ import annotations

import dataclasses
import enum
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest
from ocpp.charge_point import remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.exceptions import OCPPError
from ocpp.exceptions import ValidationError as LibraryValidationError
from ocpp.messages import Call, validate_payload
from ocpp.v16 import call, call_result, datatypes

from evse.ocpp.v16 import messages, schemas

ROOT = Path(__file__).resolve().parents[2]
TIMESTAMP = "2026-01-01T12:00:00Z"

# The library types these fields as a bare Dict; a schema-valid value for each.
DICT_FIELDS: dict[str, Any] = {
    "certificate_hash_data": {
        "hashAlgorithm": "SHA256",
        "issuerNameHash": "a1",
        "issuerKeyHash": "b2",
        "serialNumber": "3",
    },
    "log": {"remoteLocation": "ftp://127.0.0.1/log", "oldestTimestamp": TIMESTAMP},
    "firmware": {
        "location": "https://127.0.0.1/fw.bin",
        "retrieveDateTime": TIMESTAMP,
        "signingCertificate": "-----BEGIN CERTIFICATE-----",
        "signature": "c2ln",
    },
    "charging_schedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]},
    "charging_profile": None,  # filled from the ChargingProfile dataclass below
    "cs_charging_profiles": None,
}
# The library types these fields as a bare List; the item type each one holds.
LIST_ITEMS: dict[str, Any] = {
    "key": str,
    "unknown_key": str,
    "meter_value": datatypes.MeterValue,
    "transaction_data": datatypes.MeterValue,
    "local_authorization_list": datatypes.AuthorizationData,
    "configuration_key": datatypes.KeyValue,
    "certificate_hash_data": dict,
}
# Strings the schemas constrain by format rather than type.
TIME_FIELDS = {"timestamp", "expiry_date", "retrieve_date", "start_time", "stop_time", "current_time", "schedule_start",
               "valid_from", "valid_to", "start_schedule", "install_date_time", "retrieve_date_time",
               "oldest_timestamp", "latest_timestamp"}  # fmt: skip
URI_FIELDS = {"location", "remote_location"}


def example(hint: Any, name: str) -> Any:
    """A value of type `hint` for field `name`, every optional field filled as well."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union:
        chosen = [a for a in args if a is not type(None) and a is not dict]
        return example(chosen[0] if chosen else dict, name)
    if origin is list or hint is typing.List:  # noqa: UP006 (the library's annotations)
        return [example(args[0] if args else LIST_ITEMS[name], name)]
    if hint in (dict, typing.Dict) or origin is dict:  # noqa: UP006
        return DICT_FIELDS[name]
    if dataclasses.is_dataclass(hint):
        return fill(hint)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return next(iter(hint))
    if hint is bool:
        return True
    if hint is int:
        return 1
    if hint is float:
        return 16.0
    if name in TIME_FIELDS:
        return TIMESTAMP
    if name in URI_FIELDS:
        return "https://127.0.0.1/file"
    return "abc"


def fill(cls: Any) -> Any:
    hints = typing.get_type_hints(cls)
    return cls(**{f.name: example(hints[f.name], f.name) for f in dataclasses.fields(cls)})


def wire(instance: Any) -> dict[str, Any]:
    """The payload the `ocpp` library would send for `instance`."""
    payload: dict[str, Any] = snake_to_camel_case(remove_nones(serialize_as_dict(instance)))
    return payload


def library_classes(module: Any) -> list[Any]:
    return [c for c in vars(module).values() if dataclasses.is_dataclass(c) and c.__module__ == module.__name__]


def action_of(cls: Any) -> str:
    return str(cls.__name__).removesuffix("Payload")


REQUESTS = library_classes(call)
RESPONSES = library_classes(call_result)


def test_every_1_6_action_has_a_request_and_a_response_schema_and_model() -> None:
    """Core, the five feature profiles and the security whitepaper: 28 + 11 actions, none missing."""
    actions = schemas.known_actions()
    assert {action_of(c) for c in REQUESTS} == actions == {action_of(c) for c in RESPONSES}
    assert set(messages.REQUESTS) == actions == set(messages.RESPONSES)
    assert {"StartTransaction", "SignedUpdateFirmware", "ExtendedTriggerMessage"} <= actions


@pytest.mark.parametrize("action", sorted(schemas.known_actions()))
def test_every_schema_loads_and_refuses_an_unknown_field(action: str) -> None:
    """Each of the 78 validators compiles; an unknown field is a FormationViolation, unless a missing
    required field is reported first (OccurenceConstraintViolation)."""
    for validate in (schemas.validate_request, schemas.validate_response):
        with pytest.raises(schemas.PayloadViolation) as caught:
            validate(action, {"noSuchField": 1})
        assert caught.value.code in ("FormationViolation", "OccurenceConstraintViolation"), action
    assert "definition=" not in schemas.schema_source(action)


@pytest.mark.parametrize("cls", REQUESTS + RESPONSES, ids=lambda c: f"{c.__module__.rsplit('.', 1)[1]}.{c.__name__}")
def test_library_examples_validate_and_round_trip_through_the_models(cls: Any) -> None:
    """A payload built by the `ocpp` library, every field filled, passes our validator and parses into our
    generated model, which dumps it back unchanged."""
    action = action_of(cls)
    payload = wire(fill(cls))
    is_request = cls in REQUESTS
    (schemas.validate_request if is_request else schemas.validate_response)(action, payload)
    model = (messages.REQUESTS if is_request else messages.RESPONSES)[action].model_validate(payload)
    dumped = model.model_dump(mode="json", exclude_none=True)
    assert dumped == payload


def stop_transaction(**extra: Any) -> dict[str, Any]:
    sampled = {"value": "1200", "measurand": "Energy.Active.Import.Register", "unit": "Wh", **extra}
    return {
        "transactionId": 7,
        "timestamp": TIMESTAMP,
        "meterStop": 1200,
        "reason": "EVDisconnected",
        "transactionData": [{"timestamp": TIMESTAMP, "sampledValue": [sampled]}],
    }


def charging_profile(limit: Any) -> dict[str, Any]:
    schedule = {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]}
    profile = {
        "chargingProfileId": 1,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Relative",
        "chargingSchedule": schedule,
    }
    return {"connectorId": 1, "csChargingProfiles": profile}


# Valid payloads (code None) and broken ones with the 1.6 CALLERROR code they get.
PAYLOADS = [
    ("StopTransaction", stop_transaction(), None),
    ("StopTransaction", {**stop_transaction(), "transactionId": "7"}, "TypeConstraintViolation"),
    ("StopTransaction", {**stop_transaction(), "meterStop": 2**31}, "TypeConstraintViolation"),
    ("StopTransaction", stop_transaction(value=1200), "TypeConstraintViolation"),
    ("StopTransaction", {"transactionId": 7, "timestamp": TIMESTAMP}, "OccurenceConstraintViolation"),
    ("StopTransaction", stop_transaction(measurand="Energy.Sideways"), "PropertyConstraintViolation"),
    ("StopTransaction", {**stop_transaction(), "reason": "Bored"}, "PropertyConstraintViolation"),
    ("StopTransaction", {**stop_transaction(), "idTag": "x" * 21}, "PropertyConstraintViolation"),
    ("StopTransaction", {**stop_transaction(), "timestamp": "yesterday"}, "PropertyConstraintViolation"),
    ("StopTransaction", stop_transaction(bogus=1), "FormationViolation"),
    ("StopTransaction", [], "FormationViolation"),
    # 1.6's charging-rate limits have one decimal (multipleOf 0.1); 21.4 is not exact in binary.
    ("SetChargingProfile", charging_profile(21.4), None),
    ("SetChargingProfile", charging_profile(4.11), "PropertyConstraintViolation"),
    ("GetConfiguration", {"key": ["x" * 51]}, "PropertyConstraintViolation"),
    ("ChangeConfiguration", {"key": "HeartbeatInterval"}, "OccurenceConstraintViolation"),
    ("Reset", {"type": "Hard"}, None),
    ("Reset", {"type": "hard"}, "PropertyConstraintViolation"),
    ("TransactionEvent", {}, "NotImplemented"),  # a 2.0.1 action is unknown to 1.6
]
# Where this station is stricter than the `ocpp` library's validator (jsonschema Draft 4 without a format
# checker, no 32-bit bound): OCPP integers are 32 bits, and a dateTime that is no date is no dateTime.
STRICTER_THAN_LIBRARY = {"meterStop": 2**31, "timestamp": "yesterday"}


@pytest.mark.parametrize(("action", "payload", "code"), PAYLOADS)
def test_broken_payloads_get_the_1_6_callerror_code(action: str, payload: Any, code: str | None) -> None:
    """OCPP-J 1.6 4.2.3 with the errata spellings: the code names the kind of violation."""
    if code is None:
        schemas.validate_request(action, payload)
        return
    with pytest.raises(schemas.PayloadViolation) as caught:
        schemas.validate_request(action, payload)
    assert caught.value.code == code
    assert caught.value.code in schemas.CALLERROR_CODES


@pytest.mark.parametrize(("action", "payload", "code"), PAYLOADS)
async def test_the_ocpp_library_agrees_on_what_is_valid(action: str, payload: Any, code: str | None) -> None:
    """An independent validator (the `ocpp` library's, on its own copy of the schemas) accepts exactly the
    payloads ours accepts, except where ours is stricter by design (STRICTER_THAN_LIBRARY)."""
    stricter = isinstance(payload, dict) and any(payload.get(k) == v for k, v in STRICTER_THAN_LIBRARY.items())
    try:
        await validate_payload(Call(unique_id="1", action=action, payload=payload), "1.6")
    except (OCPPError, LibraryValidationError):
        library_accepts = False
    else:
        library_accepts = True
    assert library_accepts == (code is None or stricter)


def test_a_broken_answer_from_the_csms_is_checked_against_the_conf_schema() -> None:
    with pytest.raises(schemas.PayloadViolation) as caught:
        schemas.validate_response("StartTransaction", {"idTagInfo": {"status": "Accepted"}})
    assert caught.value.code == "OccurenceConstraintViolation" and "StartTransaction.conf" in caught.value.description
    schemas.validate_response("StartTransaction", {"transactionId": 3, "idTagInfo": {"status": "ConcurrentTx"}})


@pytest.mark.parametrize(
    ("v201", "v16"),
    [
        ("FormatViolation", "FormationViolation"),
        ("OccurrenceConstraintViolation", "OccurenceConstraintViolation"),
        ("RpcFrameworkError", "FormationViolation"),
        ("MessageTypeNotSupported", "FormationViolation"),
        ("PropertyConstraintViolation", "PropertyConstraintViolation"),
        ("NotSupported", "NotSupported"),
        ("SomethingNew", "GenericError"),
    ],
)
def test_2_0_1_codes_translate_to_the_1_6_set(v201: str, v16: str) -> None:
    """The RPC session's codes reach a 1.6 CSMS only in the spellings 1.6 defines."""
    assert schemas.from_v201_code(v201) == v16


def test_models_carry_the_1_6_datatype_names() -> None:
    """Inline schema structures get the 1.6 specification's names; StopTransaction's own unit list (it lacks
    Hertz) keeps it apart from MeterValues'."""
    request = messages.StopTransactionRequest.model_validate(stop_transaction())
    assert request.reason == messages.Reason.EVDisconnected
    assert request.transactionData is not None
    assert type(request.transactionData[0]).__name__ == "StopTransactionMeterValue"
    assert "Hertz" in {u.value for u in messages.UnitOfMeasure}
    assert "Hertz" not in {u.value for u in messages.StopTransactionUnitOfMeasure}
    status = messages.StatusNotificationRequest(
        connectorId=1, errorCode=messages.ChargePointErrorCode.NoError, status=messages.ChargePointStatus.SuspendedEV
    )
    schemas.validate_request("StatusNotification", status.model_dump(mode="json", exclude_none=True))
    assert {s.value for s in messages.ChargePointStatus} == {
        "Available", "Preparing", "Charging", "SuspendedEVSE", "SuspendedEV", "Finishing", "Reserved",
        "Unavailable", "Faulted",
    }  # fmt: skip


def test_message_models_match_the_official_1_6_schemas() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_models_v16.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
