"""The Plug & Charge whitepaper's DataTransfer wrapping (evse/ocpp/v16/pnc.py) on its own: what a CSMS answer
that breaks the whitepaper becomes. The wire behaviour is tests/integration/test_v16_plug_and_charge.py's."""

from __future__ import annotations

import json

import pytest

from evse.ocpp.calls import CallError
from evse.ocpp.v16.pnc import VENDOR_ID, unwrap, wrap


def _nested(depth: int) -> object:
    value: object = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def test_wrap_carries_the_201_payload_as_json_text() -> None:
    payload = {"idToken": {"idToken": "DE8EOCAET5E43X1", "type": "eMAID"}}
    wrapped = wrap("Authorize", payload)
    assert (wrapped["vendorId"], wrapped["messageId"]) == (VENDOR_ID, "Authorize")
    assert json.loads(wrapped["data"]) == payload


@pytest.mark.parametrize("status", ["UnknownVendorId", "UnknownMessageId", "Rejected"])
def test_a_csms_that_does_not_take_the_message_gives_none(status: str) -> None:
    assert unwrap("Authorize", {"status": status, "data": '{"idTokenInfo":{"status":"Accepted"}}'}) is None


def test_an_accepted_answer_gives_the_201_response() -> None:
    answer = {"status": "Accepted", "data": '{"status":"Accepted","exiResponse":"AAAA"}'}
    assert unwrap("Get15118EVCertificate", answer) == {"status": "Accepted", "exiResponse": "AAAA"}


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (None, "Expecting value"),  # Accepted with no data
        ("{not json", "Expecting property name"),
        ('{"idTokenInfo":{}}', "status"),  # a required field missing
        ('{"idTokenInfo":{"status":"Maybe"}}', "must be one of"),
        ("[1, 2]", "JSON object"),
        ("[" * 100_000 + "]" * 100_000, "nested too deep"),  # past the JSON decoder's recursion
        (json.dumps({"idTokenInfo": {"status": "Accepted", "x": _nested(40)}}), "deeper than 32"),
    ],
)
def test_an_accepted_answer_that_is_no_201_response_is_a_call_error(data: str | None, why: str) -> None:
    """Nothing can be made of it: the station treats it as an unanswered CALL (the offline rules apply)."""
    with pytest.raises(CallError) as raised:
        unwrap("Authorize", {"status": "Accepted", "data": data})
    assert raised.value.code == "FormatViolation" and why in raised.value.description
