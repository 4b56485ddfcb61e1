"""Block B, registration: what a station that is not (yet) accepted may send (B02/B03)."""

from __future__ import annotations

import asyncio
from typing import Any

from evse.devcsms.frames import Direction
from evse.devcsms.server import DevCsms


def calls_from_station(csms: DevCsms) -> list[str]:
    return [str(f.action) for f in csms.log if f.direction is Direction.RECEIVED and f.message_type == 2]


def call_errors_to_station(csms: DevCsms) -> list[str]:
    return [f.raw for f in csms.log if f.direction is Direction.SENT and f.message_type == 4]


async def test_TC_B_30_CS_pending_and_rejected_send_nothing_that_earns_a_security_error(
    csms: DevCsms, make_station: Any
) -> None:
    """B02.FR.09 / B03.FR.07 let the CSMS answer SecurityError to any CALL but BootNotification from a
    station it has not accepted (the dev CSMS does so while Rejected). So while Rejected, then Pending, the
    station sends BootNotification only, even when a driver plugs in and shows a card; once Accepted it
    reports its connector."""
    csms.boot_status = "Rejected"
    csms.boot_interval = 1
    sut = await make_station()
    await csms.wait_for("BootNotification", timeout=10)
    sut.d.board.plug(1)
    sut.d.board.swipe(1, "AABBCCDD")
    await csms.wait_for("BootNotification", timeout=5)  # retried after the interval, nothing else
    csms.boot_status = "Pending"
    await csms.wait_for("BootNotification", timeout=5)
    await csms.wait_for("BootNotification", timeout=5)
    assert set(calls_from_station(csms)) == {"BootNotification"}
    assert call_errors_to_station(csms) == []
    assert not sut.d.board.contactor(1).is_closed and sut.d.station.evses[1].state.tx is None
    csms.boot_status = "Accepted"
    await csms.wait_for("BootNotification", timeout=5)
    status = await csms.wait_for("StatusNotification", timeout=5)
    assert (status["evseId"], status["connectorStatus"]) == (1, "Occupied")
    await asyncio.sleep(0.2)
    assert call_errors_to_station(csms) == []
    csms.assert_no_failures()
