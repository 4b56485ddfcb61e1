"""Block C over loopback: local list and cache decide offline, group stop, StopTxOnInvalidId after reconnect."""

from __future__ import annotations

import asyncio
from typing import Any

from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.integration.conftest import STATION_ID, StationUnderTest


def ended(p: dict[str, Any]) -> bool:
    return p["eventType"] == "Ended"


async def go_offline(csms: DevCsms) -> int:
    port = csms.port
    await csms.stop()
    await asyncio.sleep(0.3)
    return port


async def test_C13_local_list_authorizes_while_offline(csms: DevCsms, make_station: Any) -> None:
    sut: StationUnderTest = await make_station(
        device_model={"LocalAuthListCtrlr.Enabled": True, "AuthCtrlr.LocalAuthorizeOffline": True}
    )
    await csms.wait_for("StatusNotification", timeout=10)
    entry = {"id_token": {"id_token": "CAFEBABE", "type": "ISO14443"}, "id_token_info": {"status": "Accepted"}}
    result = await csms.call(
        STATION_ID, call.SendLocalList(version_number=1, update_type="Full", local_authorization_list=[entry])
    )
    assert result.status == "Accepted"
    assert (await csms.call(STATION_ID, call.GetLocalListVersion())).version_number == 1
    port = await go_offline(csms)
    sut.d.board.plug(1)
    sut.d.board.swipe(1, "CAFEBABE")
    sut.d.board.set_ev_state(1, "C")  # the EV asks for power: only now the supply closes
    await asyncio.sleep(0.5)
    assert sut.d.board.contactor(1).is_closed  # charging although the CSMS is unreachable
    await csms.start(port=port)
    started = await csms.wait_for("TransactionEvent", timeout=15)
    assert started["offline"] is True


async def test_C12_unknown_card_offline_is_refused_by_default(csms: DevCsms, station: StationUnderTest) -> None:
    await go_offline(csms)
    station.d.board.plug(1)
    station.d.board.set_ev_state(1, "C")  # the EV asks for power: only an authorization is missing
    station.d.board.swipe(1, "0BADCAFE")
    await asyncio.sleep(0.5)
    assert not station.d.board.contactor(1).is_closed
    assert station.d.board.snapshot(1)["offered_current_a"] is None  # no PWM offer either


async def test_C15_offline_unknown_id_started_then_stopped_when_the_csms_refuses_it(
    csms: DevCsms, make_station: Any
) -> None:
    sut: StationUnderTest = await make_station(
        device_model={"AuthCtrlr.OfflineTxForUnknownIdEnabled": True, "TxCtrlr.StopTxOnInvalidId": True}
    )
    await csms.wait_for("StatusNotification", timeout=10)
    port = await go_offline(csms)
    sut.d.board.plug(1)
    sut.d.board.swipe(1, "0BADCAFE")  # not known to the CSMS
    sut.d.board.set_ev_state(1, "C")  # the EV asks for power: only now the supply closes
    await asyncio.sleep(0.5)
    assert sut.d.board.contactor(1).is_closed
    await csms.start(port=port)
    end = await csms.wait_for("TransactionEvent", predicate=ended, timeout=15)
    assert (end["triggerReason"], end["transactionInfo"]["stoppedReason"]) == ("Deauthorized", "DeAuthorized")
    await asyncio.sleep(0.2)
    assert not sut.d.board.contactor(1).is_closed


async def test_C09_another_card_of_the_same_group_stops_the_session(csms: DevCsms, station: StationUnderTest) -> None:
    def authorize(payload: dict[str, Any]) -> dict[str, Any]:
        return {"idTokenInfo": {"status": "Accepted", "groupIdToken": {"idToken": "FLEET-1", "type": "Central"}}}

    csms.respond("Authorize", authorize)
    station.d.board.plug(1)
    station.d.board.swipe(1, "AABBCCDD")
    await csms.wait_for("TransactionEvent", predicate=lambda p: p["triggerReason"] == "Authorized", timeout=5)
    station.d.board.swipe(1, "04A2B3C4D5E6F7")
    end = await csms.wait_for("TransactionEvent", predicate=ended, timeout=5)
    assert end["transactionInfo"]["stoppedReason"] == "Local"


async def test_C11_clear_cache(csms: DevCsms, station: StationUnderTest) -> None:
    assert (await csms.call(STATION_ID, call.ClearCache())).status == "Accepted"


async def test_C15_refused_token_without_stop_is_capped_by_max_energy_on_invalid_id(
    csms: DevCsms, make_station: Any
) -> None:
    sut: StationUnderTest = await make_station(
        device_model={
            "AuthCtrlr.OfflineTxForUnknownIdEnabled": True,
            "TxCtrlr.StopTxOnInvalidId": False,
            "TxCtrlr.MaxEnergyOnInvalidId": 5,
        }
    )
    await csms.wait_for("StatusNotification", timeout=10)
    port = await go_offline(csms)
    sut.d.board.plug(1)
    sut.d.board.swipe(1, "0BADCAFE")
    sut.d.board.set_ev_state(1, "C")
    await asyncio.sleep(0.3)
    await csms.start(port=port)
    capped = await csms.wait_for(
        "TransactionEvent", predicate=lambda p: p["triggerReason"] == "EnergyLimitReached", timeout=20
    )
    assert (capped["eventType"], capped["transactionInfo"]["chargingState"]) == ("Updated", "SuspendedEVSE")
