"""The CSMS's transactionIds under 1.6 (evse/ocpp/v16/tx_ids.py) in a real SQLite file, and the sender's use
of them: a StartTransaction or StopTransaction met again after a crash is not sent twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evse.ocpp.calls import CallError, OcppMessage, Resp
from evse.ocpp.v16.sender import V16Sender
from evse.ocpp.v16.tx_ids import TxIds
from evse.ocpp.v201 import messages as m
from evse.storage import open_database


class CsmsLine:
    """Stands in for the websocket: answers as a 1.6 CSMS would and records what was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.next_id = 500

    async def call(self, request: OcppMessage, response_type: type[Resp]) -> Resp:
        self.sent.append((request.ACTION, request.model_dump(mode="json", exclude_none=True)))
        if request.ACTION == "StartTransaction":
            self.next_id += 1
            return response_type.model_validate({"transactionId": self.next_id, "idTagInfo": {"status": "Accepted"}})
        return response_type.model_validate({})


def event(kind: str, **extra: Any) -> m.TransactionEventRequest:
    body: dict[str, Any] = {
        "eventType": kind,
        "timestamp": "2026-12-01T10:00:00Z",
        "triggerReason": "Authorized",
        "seqNo": 0,
        "transactionInfo": {"transactionId": "local-1"},
        **extra,
    }
    return m.TransactionEventRequest.model_validate(body)


def open_ids(path: Path) -> TxIds:
    return TxIds(open_database(path))


async def test_start_and_stop_are_sent_once_across_a_restart(tmp_path: Path) -> None:
    line = CsmsLine()
    sender = V16Sender(line, open_ids(tmp_path), start_energy_wh=lambda _tx: 1234.4)
    started = event("Started", evse={"id": 1, "connectorId": 1}, idToken={"idToken": "AABB", "type": "ISO14443"})
    answer = await sender.call(started, m.TransactionEventResponse)
    assert answer.idTokenInfo is not None and answer.idTokenInfo.status.value == "Accepted"
    # The process dies before the outbox entry is removed; the next process meets the same entry again.
    again = V16Sender(line, open_ids(tmp_path), start_energy_wh=lambda _tx: None)
    await again.call(started, m.TransactionEventResponse)
    ended = event("Ended", transactionInfo={"transactionId": "local-1", "stoppedReason": "Local"})
    await again.call(ended, m.TransactionEventResponse)
    await V16Sender(line, open_ids(tmp_path), start_energy_wh=lambda _tx: None).call(ended, m.TransactionEventResponse)
    actions = [action for action, _ in line.sent]
    assert actions == ["StartTransaction", "StopTransaction"]
    start, stop = line.sent[0][1], line.sent[1][1]
    assert start["meterStart"] == 1234  # no Transaction.Begin sample: the journal's start energy
    assert stop["transactionId"] == 501 and stop["meterStop"] == 1234  # no end sample: no energy claimed


async def test_messages_of_a_transaction_without_a_csms_id_are_not_sent(tmp_path: Path) -> None:
    line = CsmsLine()
    sender = V16Sender(line, open_ids(tmp_path), start_energy_wh=lambda _tx: None)
    sample = {"timestamp": "2026-12-01T10:00:00Z", "sampledValue": [{"value": 1.0}]}
    await sender.call(event("Updated", meterValue=[sample]), m.TransactionEventResponse)
    await sender.call(event("Ended"), m.TransactionEventResponse)
    assert line.sent == []


async def test_a_message_1_6_lacks_gets_an_empty_answer_or_not_supported(tmp_path: Path) -> None:
    line = CsmsLine()
    sender = V16Sender(line, open_ids(tmp_path), start_energy_wh=lambda _tx: None)
    notify = m.NotifyEventRequest.model_validate(
        {
            "generatedAt": "2026-12-01T10:00:00Z",
            "seqNo": 0,
            "eventData": [
                {
                    "eventId": 1,
                    "timestamp": "2026-12-01T10:00:00Z",
                    "trigger": "Alerting",
                    "actualValue": "x",
                    "eventNotificationType": "HardWiredNotification",
                    "component": {"name": "ChargingStation"},
                    "variable": {"name": "Problem"},
                }
            ],
        }
    )
    assert await sender.call(notify, m.NotifyEventResponse) == m.NotifyEventResponse()
    assert line.sent == []
    needs = m.NotifyEVChargingNeedsRequest.model_validate(
        {"evseId": 1, "chargingNeeds": {"requestedEnergyTransfer": "AC_three_phase"}}
    )
    with pytest.raises(CallError) as refused:  # its answer needs a status 1.6 cannot give
        await sender.call(needs, m.NotifyEVChargingNeedsResponse)
    assert refused.value.code == "NotSupported" and line.sent == []
