"""External limits that change while the CSMS is unreachable reach it afterwards, in order: NotifyChargingLimit
and ClearedChargingLimit go through the durable outbox (the choice is explained in
evse/smartcharging/limit_reports.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from evse.devcsms.frames import MessageType
from evse.devcsms.server import DevCsms
from tests.integration.conftest import StationUnderTest


async def test_a_grid_limit_set_and_lifted_during_an_outage_is_reported_in_order_after_it(
    csms: DevCsms, make_station: Any
) -> None:
    sut: StationUnderTest = await make_station()
    await csms.wait_for("StatusNotification", timeout=10)
    board = sut.d.board
    assert board is not None
    port = csms.port
    await csms.stop()
    board.set_input(1, "grid_limit", True)
    board.set_input(1, "grid_limit", False)
    board.set_input(1, "grid_limit", True)
    assert len(sut.d.station.outbox) >= 3  # held on disk while offline
    await asyncio.sleep(0.3)
    await csms.start(port=port)
    await csms.wait_for("BootNotification", timeout=15)
    await csms.wait_for("NotifyChargingLimit", timeout=10)
    await csms.wait_for("ClearedChargingLimit", timeout=10)
    await csms.wait_for("NotifyChargingLimit", timeout=10)
    limit_calls = [
        f.action
        for f in csms.log
        if f.message_type is MessageType.CALL and f.action in ("NotifyChargingLimit", "ClearedChargingLimit")
    ]
    # Set, lifted, set again: as it happened, each once.
    assert limit_calls == ["NotifyChargingLimit", "ClearedChargingLimit", "NotifyChargingLimit"]
    assert sut.d.station.external_limits.in_force() != []
    csms.assert_no_failures()
