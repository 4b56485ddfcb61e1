"""The transactions part of the wire in 2.0.1 (evse/ocpp/v201/wire/tx.py): the station's TxEvent, status, meter
values and boot go out as the 2.0.1 payloads the shell used to build itself, and what an outbox entry's
delivery brings back reaches the station in its own terms (TxAnswer, NeedsAnswer) or not at all."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from evse.config import StationSection
from evse.ocpp.calls import OcppMessage, Resp
from evse.ocpp.v201.schemas import validate_request
from evse.ocpp.v201.wire.tx import REASON_VENDOR, Tx201
from evse.station.core.samples import Location, Measurand, MeterSample, Reading, ReadingContext, Unit
from evse.station.core.tokens_neutral import MessageFormat, PersonalMessage, TokenStatus
from evse.station.shell.wire_tx import NeedsAnswer, TxAnswer, TxEvent, Undeliverable

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BEGIN = MeterSample(
    AT,
    (
        Reading(
            Measurand.ENERGY_ACTIVE_IMPORT_REGISTER,
            1000.5,
            ReadingContext.TRANSACTION_BEGIN,
            Unit.WH,
            location=Location.OUTLET,
        ),
    ),
)


class Csms:
    """A CallSender that keeps each request's payload and answers with a fixed payload per action."""

    def __init__(self, answers: dict[str, dict[str, Any]] | None = None) -> None:
        self.answers = answers or {}
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def call(self, request: OcppMessage, response_type: type[Resp]) -> Resp:
        self.sent.append((request.ACTION, request.model_dump(mode="json", exclude_none=True)))
        return response_type.model_validate(self.answers.get(request.ACTION, {}))


def payload(message: OcppMessage) -> dict[str, Any]:
    """What the outbox stores of a message, checked against the official schema (on a copy: the validator
    fills in the schema's defaults)."""
    body = message.model_dump(mode="json", exclude_none=True)
    validate_request(message.ACTION, copy.deepcopy(body))
    return body


def test_a_started_event_names_its_token_outlet_phases_cable_and_begin_value() -> None:
    event = TxEvent(
        event_type="Started",
        at=AT,
        trigger="Authorized",
        transaction_id="tx-1",
        charging_state="EVConnected",
        offline=True,
        samples=(BEGIN,),
        remote_start_id=7,
        token=("CARD", "ISO14443"),
        reservation_id=3,
        phases=3,
        cable_max_a=32,
        outlet=(2, 1),
    )
    message = Tx201(Csms()).transaction_event(event, seq_no=0)
    assert message.ACTION == "TransactionEvent"
    assert payload(message) == {
        "eventType": "Started",
        "timestamp": "2026-12-01T12:00:00Z",
        "triggerReason": "Authorized",
        "seqNo": 0,
        "transactionInfo": {"transactionId": "tx-1", "chargingState": "EVConnected", "remoteStartId": 7},
        "offline": True,
        "numberOfPhasesUsed": 3,
        "cableMaxCurrent": 32,
        "reservationId": 3,
        "idToken": {"idToken": "CARD", "type": "ISO14443"},
        "evse": {"id": 2, "connectorId": 1},
        "meterValue": [
            {
                "timestamp": "2026-12-01T12:00:00Z",
                "sampledValue": [
                    {
                        "value": 1000.5,
                        "context": "Transaction.Begin",
                        "measurand": "Energy.Active.Import.Register",
                        "location": "Outlet",
                        "unitOfMeasure": {"unit": "Wh"},
                    }
                ],
            }
        ],
    }


def test_a_stop_reason_2_0_1_lacks_is_other_with_the_reason_in_custom_data() -> None:
    """1.6's SoftReset has no 2.0.1 ReasonEnumType value: the event says Other, the 1.6 adapter reads it back."""
    event = TxEvent("Ended", AT, "ResetCommand", "tx-1", "Idle", False, stopped_reason="SoftReset")
    body = payload(Tx201(Csms()).transaction_event(event, seq_no=4))
    assert body["transactionInfo"]["stoppedReason"] == "Other"
    assert body["customData"] == {"vendorId": REASON_VENDOR, "stoppedReason": "SoftReset"}
    known = TxEvent("Ended", AT, "StopAuthorized", "tx-1", "Idle", False, stopped_reason="Local")
    body = payload(Tx201(Csms()).transaction_event(known, seq_no=5))
    assert body["transactionInfo"]["stoppedReason"] == "Local" and "customData" not in body


def test_status_and_meter_values_outside_a_transaction() -> None:
    wire = Tx201(Csms())
    assert payload(wire.status(AT, 1, 1, "Occupied")) == {
        "timestamp": "2026-12-01T12:00:00Z",
        "connectorStatus": "Occupied",
        "evseId": 1,
        "connectorId": 1,
    }
    body = payload(wire.meter_values(2, [BEGIN]))
    assert body["evseId"] == 2 and body["meterValue"][0]["sampledValue"][0]["value"] == 1000.5


async def test_boot_says_the_station_and_reason_and_returns_the_answer() -> None:
    csms = Csms({"BootNotification": {"currentTime": "2026-12-01T12:00:00Z", "interval": 300, "status": "Pending"}})
    station = StationSection(id="CS1", vendor="Acme", model="M1", serial="S-1", firmware_version="1.2")
    answer = await Tx201(csms).boot(station, "FirmwareUpdate")
    assert csms.sent == [
        (
            "BootNotification",
            {
                "chargingStation": {
                    "model": "M1",
                    "vendorName": "Acme",
                    "serialNumber": "S-1",
                    "firmwareVersion": "1.2",
                },
                "reason": "FirmwareUpdate",
            },
        )
    ]
    assert (answer.status, answer.interval, answer.current_time) == ("Pending", 300, AT)


async def test_heartbeat_returns_the_csms_time() -> None:
    csms = Csms({"Heartbeat": {"currentTime": "2026-12-01T12:00:00Z"}})
    assert await Tx201(csms).heartbeat() == AT
    assert csms.sent == [("Heartbeat", {})]


async def test_delivering_a_transaction_event_returns_the_verdict_cost_and_message() -> None:
    entry = payload(
        Tx201(Csms()).transaction_event(
            TxEvent("Ended", AT, "StopAuthorized", "tx-9", "Idle", False, token=("CARD", "ISO14443")), seq_no=3
        )
    )
    csms = Csms(
        {
            "TransactionEvent": {
                "totalCost": 4.5,
                "idTokenInfo": {"status": "Blocked"},
                "updatedPersonalMessage": {"format": "UTF8", "content": "Thanks", "language": "en"},
            }
        }
    )
    answer = await Tx201(csms).deliver("2.0.1", "TransactionEvent", entry)
    assert csms.sent == [("TransactionEvent", entry)]
    assert isinstance(answer, TxAnswer)
    assert (answer.transaction_id, answer.ended, answer.token, answer.total_cost) == (
        "tx-9",
        True,
        ("CARD", "ISO14443"),
        4.5,
    )
    assert answer.verdict is not None and answer.verdict.status is TokenStatus.Blocked
    assert answer.updated_message == PersonalMessage("Thanks", MessageFormat.UTF8, "en")


async def test_delivering_other_messages_returns_the_needs_answer_or_nothing() -> None:
    needs = {"evseId": 2, "chargingNeeds": {"requestedEnergyTransfer": "AC_three_phase"}}
    csms = Csms({"NotifyEVChargingNeeds": {"status": "Rejected"}})
    assert await Tx201(csms).deliver("2.0.1", "NotifyEVChargingNeeds", needs) == NeedsAnswer(2, "Rejected")
    status = payload(Tx201(Csms()).status(AT, 1, 1, "Available"))
    assert await Tx201(Csms()).deliver("2.0.1", "StatusNotification", status) is None


async def test_an_entry_written_in_1_6_is_read_with_the_1_6_models() -> None:
    """The finer StatusNotification the 1.6 adapter queues itself (the outbox's protocol column)."""
    csms = Csms()
    entry = {"connectorId": 1, "errorCode": "NoError", "status": "SuspendedEV"}
    assert await Tx201(csms).deliver("1.6", "StatusNotification", entry) is None
    assert csms.sent == [("StatusNotification", entry)]


@pytest.mark.parametrize(
    ("action", "entry"),
    [
        ("NoSuchAction", {}),
        ("StatusNotification", {"evseId": 1}),  # 2.0.1 wants timestamp, connectorStatus, connectorId
    ],
)
async def test_an_entry_that_is_no_message_of_its_protocol_is_undeliverable(action: str, entry: dict[str, Any]) -> None:
    csms = Csms()
    with pytest.raises(Undeliverable):
        await Tx201(csms).deliver("2.0.1", action, entry)
    assert csms.sent == []
