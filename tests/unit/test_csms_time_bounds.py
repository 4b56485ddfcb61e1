"""A CSMS's currentTime the station cannot keep time from is refused, not adopted (evse/ocpp/v201/wire/tx.py).

Found by the OCPP 1.6 fuzz (`python -m tests.fuzz.run --ocpp 1.6 --frames 0 --websocket-frames 20000 --seed 14`,
frames 11684 and 11911): a schema-valid Heartbeat.conf currentTime of 9999-12-31T23:59:59Z became the clock's
offset, the clock raised OverflowError a second later, and a valid GetCompositeSchedule was an InternalError.
The same wire serves both versions (the 1.6 sender hands it 2.0.1 answers).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from evse.clock import SystemClock
from evse.config import StationSection
from evse.ocpp.calls import CallError, OcppMessage, Resp
from evse.ocpp.v201.wire.tx import Tx201

STATION = StationSection(id="CS1", vendor="Acme", model="M1", serial="S-1")


class Csms:
    """A CallSender answering BootNotification and Heartbeat with `current_time`."""

    def __init__(self, current_time: str) -> None:
        self.answers: dict[str, dict[str, Any]] = {
            "BootNotification": {"currentTime": current_time, "interval": 300, "status": "Accepted"},
            "Heartbeat": {"currentTime": current_time},
        }

    async def call(self, request: OcppMessage, response_type: type[Resp]) -> Resp:
        return response_type.model_validate(self.answers[request.ACTION])


@pytest.mark.parametrize("current_time", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "9000-01-01T00:00:00Z"])
async def test_a_boot_or_heartbeat_dated_at_an_end_of_the_calendar_is_refused(current_time: str) -> None:
    wire = Tx201(Csms(current_time))
    with pytest.raises(CallError, match="outside the years"):
        await wire.boot(STATION, "PowerUp")
    with pytest.raises(CallError, match="outside the years"):
        await wire.heartbeat()


@pytest.mark.parametrize("current_time", ["1970-01-01T00:00:00Z", "2026-12-01T12:00:00+14:00", "8999-12-31T23:59:59Z"])
async def test_a_csms_time_the_clock_can_count_from_is_taken_as_it_is(current_time: str) -> None:
    wire = Tx201(Csms(current_time))
    taken = await wire.heartbeat()
    assert taken == datetime.fromisoformat(current_time)
    assert (await wire.boot(STATION, "PowerUp")).current_time == taken
    clock = SystemClock()
    clock.set_now(taken)
    assert clock.now() + timedelta(days=365 * 68) > clock.now() - timedelta(days=365 * 68)  # room both ways


def test_the_clock_set_to_the_last_second_of_the_calendar_overflows_a_second_later() -> None:
    """Why the bound exists: adopting such a time breaks the clock itself, not just one handler."""
    clock = SystemClock()
    clock.set_now(datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC))
    with pytest.raises(OverflowError):
        clock.now() + timedelta(seconds=1)
