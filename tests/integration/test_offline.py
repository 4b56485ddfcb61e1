"""Offline behaviour: status reports after an outage (B04), queueing, start button authorization."""

from __future__ import annotations

import asyncio
from typing import Any

from drivers.interfaces import InputChanged
from evse.devcsms.server import DevCsms
from tests.integration.conftest import StationUnderTest


async def outage(csms: DevCsms, seconds: float, during: Any) -> None:
    port = csms.port
    await csms.stop()
    await asyncio.sleep(0.3)
    during()
    await asyncio.sleep(seconds)
    csms.skip("StatusNotification")
    await csms.start(port=port)


async def test_TC_B_52_CS_short_outage_reports_only_changed_connectors(csms: DevCsms, make_station: Any) -> None:
    sut: StationUnderTest = await make_station(evses=2, device_model={"OCPPCommCtrlr.OfflineThreshold": 60})
    await csms.wait_for("BootNotification", timeout=10)
    await asyncio.sleep(0.5)
    await outage(csms, 0.2, lambda: sut.d.board.set_ev_state(1, "B"))
    first = await csms.wait_for("StatusNotification", timeout=15)
    await asyncio.sleep(0.5)
    later = [p for p in csms.received("StatusNotification") if p["timestamp"] >= first["timestamp"]]
    assert {p["evseId"] for p in later} == {1} and first["connectorStatus"] == "Occupied"


async def test_TC_B_51_CS_long_outage_reports_every_connector(csms: DevCsms, make_station: Any) -> None:
    sut: StationUnderTest = await make_station(evses=2, device_model={"OCPPCommCtrlr.OfflineThreshold": 1})
    await csms.wait_for("BootNotification", timeout=10)
    await asyncio.sleep(0.5)
    await outage(csms, 1.5, lambda: sut.d.board.set_ev_state(1, "B"))
    first = await csms.wait_for("StatusNotification", timeout=15)
    await asyncio.sleep(0.5)
    later = [p for p in csms.received("StatusNotification") if p["timestamp"] >= first["timestamp"]]
    assert {p["evseId"] for p in later} == {1, 2}


async def test_C01_start_button_authorizes_without_a_card(csms: DevCsms, station: StationUnderTest) -> None:
    station.d.board.plug(1)
    station.d.station.on_driver_event(InputChanged(1, "start_button", True))
    update = await csms.wait_for("TransactionEvent", predicate=lambda p: p["triggerReason"] == "Authorized", timeout=5)
    assert update["idToken"] == {"idToken": "", "type": "NoAuthorization"}
    assert csms.received("Authorize") == []  # NoAuthorization needs no Authorize
    station.d.board.set_ev_state(1, "C")  # the EV asks for power: only now the supply closes
    await asyncio.sleep(0.2)
    assert station.d.board.contactor(1).is_closed
