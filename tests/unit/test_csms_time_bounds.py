"""A CSMS's currentTime the station cannot keep time from is not taken (evse/security/clock_adjustment.py, the
clock every CSMS time goes through); the message counts otherwise: the boot is accepted, the heartbeat answered,
the clock keeps its time.

Found by the OCPP 1.6 fuzz (`python -m tests.fuzz.run --ocpp 1.6 --frames 0 --websocket-frames 20000 --seed 14`,
frames 11684 and 11911): a schema-valid Heartbeat.conf currentTime of 9999-12-31T23:59:59Z became the clock's
offset, the clock raised OverflowError a second later, and a valid GetCompositeSchedule was an InternalError.
The same wire serves both versions (the 1.6 sender hands it 2.0.1 answers).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from evse.clock import SystemClock
from evse.ocpp.calls import OcppMessage, Resp
from evse.ocpp.v201.wire.tx import Tx201
from evse.security.clock_adjustment import ReportingClock
from evse.station.shell.registration import Registrar, Registration
from tests.integration.conftest import station_settings


class Csms:
    """A CallSender answering BootNotification and Heartbeat with `current_time`."""

    def __init__(self, current_time: str) -> None:
        self.answers: dict[str, dict[str, Any]] = {
            "BootNotification": {"currentTime": current_time, "interval": 300, "status": "Accepted"},
            "Heartbeat": {"currentTime": current_time},
        }

    async def call(self, request: OcppMessage, response_type: type[Resp]) -> Resp:
        return response_type.model_validate(self.answers[request.ACTION])


async def boot_and_heartbeat(tmp_path: Path, current_time: str) -> tuple[Registrar, SystemClock]:
    """The daemon's registrar and clock (a ReportingClock over the system clock) against `Csms`."""
    clock = SystemClock()
    registrar = Registrar(
        station_settings(tmp_path, 9),
        Tx201(Csms(current_time)),
        ReportingClock(clock, lambda: 20, lambda _kind, _info: None),
        boot_reason="PowerUp",
        heartbeat_interval=lambda: 300,
        set_heartbeat_interval=lambda _seconds: None,
    )
    await registrar.send_boot()
    await registrar.heartbeat()
    return registrar, clock


@pytest.mark.parametrize("current_time", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "9000-01-01T00:00:00Z"])
async def test_the_boot_is_accepted_and_the_clock_keeps_its_time(tmp_path: Path, current_time: str) -> None:
    registrar, clock = await boot_and_heartbeat(tmp_path, current_time)
    assert registrar.state is Registration.Accepted
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(minutes=1)
    assert clock.now() + timedelta(days=1) > clock.now()  # no OverflowError


@pytest.mark.parametrize("current_time", ["1970-01-01T00:00:00Z", "2026-12-01T12:00:00+14:00", "8999-12-31T23:59:59Z"])
async def test_a_csms_time_the_clock_can_count_from_is_taken_as_it_is(tmp_path: Path, current_time: str) -> None:
    registrar, clock = await boot_and_heartbeat(tmp_path, current_time)
    assert registrar.state is Registration.Accepted
    assert abs(clock.now() - datetime.fromisoformat(current_time.replace("Z", "+00:00"))) < timedelta(minutes=1)
    assert clock.now() + timedelta(days=365 * 68) > clock.now() - timedelta(days=365 * 68)  # room both ways


def test_the_clock_set_to_the_last_second_of_the_calendar_overflows_a_second_later() -> None:
    """Why the bound exists: adopting such a time breaks the clock itself, not just one handler."""
    clock = SystemClock()
    clock.set_now(datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC))
    with pytest.raises(OverflowError):
        clock.now() + timedelta(seconds=1)
