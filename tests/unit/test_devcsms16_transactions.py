"""The 1.6 dev CSMS's transaction record (evse/devcsms/responses16.py), fed its answers directly, no socket."""

from __future__ import annotations

import asyncio
from typing import Any

from evse.clock import SystemClock
from evse.devcsms.responses16 import CsmsBehaviour16

NOW = "2026-01-01T12:00:00Z"


def answer(behaviour: CsmsBehaviour16, action: str, payload: dict[str, Any], station: str = "CS1") -> Any:
    return asyncio.run(behaviour.answer(station, action, payload))


def start(behaviour: CsmsBehaviour16, meter_start: int, station: str = "CS1") -> int:
    payload = {"connectorId": 1, "idTag": "AABBCCDD", "meterStart": meter_start, "timestamp": NOW}
    return int(answer(behaviour, "StartTransaction", payload, station).transaction_id)


def test_a_meter_that_ran_backwards_is_a_problem() -> None:
    behaviour = CsmsBehaviour16.create(SystemClock(), None, "Accepted", 60)
    transaction_id = start(behaviour, 500)
    answer(behaviour, "StopTransaction", {"transactionId": transaction_id, "meterStop": 499, "timestamp": NOW})
    assert behaviour.transactions[transaction_id].problems() == [
        f"transaction {transaction_id}: meterStop 499 < meterStart 500"
    ]


def test_an_id_quoted_by_another_station_is_a_stray() -> None:
    """transactionIds are the Central System's: CS2 quoting CS1's id is not CS1's transaction."""
    behaviour = CsmsBehaviour16.create(SystemClock(), None, "Accepted", 60)
    transaction_id = start(behaviour, 0, station="CS1")
    stop = {"transactionId": transaction_id, "meterStop": 10, "timestamp": NOW}
    answer(behaviour, "StopTransaction", stop, station="CS2")
    assert behaviour.strays == [("CS2", "StopTransaction", stop)]
    assert behaviour.transactions[transaction_id].stops == []


def test_ids_increase_across_stations() -> None:
    behaviour = CsmsBehaviour16.create(SystemClock(), None, "Accepted", 60)
    ids = [start(behaviour, 0, station) for station in ("CS1", "CS2", "CS1")]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert [behaviour.transactions[i].station for i in ids] == ["CS1", "CS2", "CS1"]
