"""The 1.6 kill soak's judgement (hil/kill_soak.py check16): a StartTransaction resent byte for byte after a
SIGKILL (the CSMS answered, the station died before recording the id) is a counted resend, as an identical
StopTransaction is; a transaction that truly never stops stays a problem."""

from __future__ import annotations

from typing import Any

from evse.devcsms.responses16 import Transaction16
from evse.devcsms.server16 import DevCsms16
from hil.kill_soak import STATION, SoakResult, check16

START: dict[str, Any] = {"connectorId": 1, "idTag": "AABBCCDD", "meterStart": 5, "timestamp": "2026-01-01T00:00:00Z"}


def judged(*records: Transaction16) -> SoakResult:
    csms = DevCsms16()
    for record in records:
        csms.behaviour.transactions[record.transaction_id] = record
    result = SoakResult(rounds=1, kills=1)
    check16(csms, result)
    return result


def test_an_identical_start_whose_id_nothing_names_is_a_resend() -> None:
    result = judged(
        Transaction16(1001, STATION, dict(START)),
        Transaction16(1002, STATION, dict(START), stops=[{"transactionId": 1002, "meterStop": 9}]),
    )
    assert (result.transactions, result.resends, result.resent_starts, result.problems) == (1, 1, [1001], [])


def test_a_start_that_differs_and_never_stops_is_a_problem() -> None:
    result = judged(
        Transaction16(1001, STATION, {**START, "timestamp": "2026-01-01T00:00:01Z"}),
        Transaction16(1002, STATION, dict(START), stops=[{"transactionId": 1002, "meterStop": 9}]),
    )
    assert result.resent_starts == []
    assert result.problems == ["transaction 1001 has 0 StopTransaction(s), expected 1"]


def test_identical_starts_that_both_carry_messages_are_not_folded() -> None:
    """Two sessions cannot share a start byte for byte; if both ids are used, each must be complete."""
    result = judged(
        Transaction16(1001, STATION, dict(START), meter_values=[{"transactionId": 1001}]),
        Transaction16(1002, STATION, dict(START), stops=[{"transactionId": 1002, "meterStop": 9}]),
    )
    assert result.resent_starts == []
    assert result.problems == ["transaction 1001 has 0 StopTransaction(s), expected 1"]
