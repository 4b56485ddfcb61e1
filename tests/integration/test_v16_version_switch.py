"""Switching OCPP version (issue 13 section 1): the old CSMS gets the rest of its transactions, the new one none.

A transaction is reported to one CSMS in one version from start to end. A station restarted with another
`csms.ocpp_version` (and URL) while a transaction of the old version is open first speaks the old version
to the old CSMS until it has everything (here the PowerLoss end of the interrupted transaction), then
restarts into the new one.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ocpp.v16 import call as call16

from evse.daemon import Exit
from evse.devcsms.server import DevCsms
from evse.devcsms.server16 import DevCsms16
from tests.integration.conftest import StationUnderTest, station_settings


async def test_switch_from_201_to_16_delivers_the_open_transaction_to_the_old_csms_first(
    tmp_path: Any, csms: DevCsms, csms16: DevCsms16
) -> None:
    old = StationUnderTest(station_settings(tmp_path, csms.port))
    await old.start()
    await csms.wait_for("StatusNotification", timeout=10)
    old.d.board.swipe(1, "AABBCCDD")
    old.d.board.plug(1)
    started = await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Started", timeout=10)
    tx_id = started["transactionInfo"]["transactionId"]
    await old.stop()  # power goes while charging: the transaction is open in the journal

    switched = StationUnderTest(station_settings(tmp_path, csms16.port, ocpp_version="1.6"))
    await switched.start()
    ended = await csms.wait_for(
        "TransactionEvent", predicate=lambda p: p["eventType"] == "Ended", timeout=10
    )  # the old CSMS, in the old version
    assert ended["transactionInfo"]["transactionId"] == tx_id
    assert ended["transactionInfo"]["stoppedReason"] == "PowerLoss"
    assert await switched.wait_exit(15) is Exit.RESET  # drained: restart into the new version
    assert not csms16.connected("CS001")

    new = StationUnderTest(switched.settings)
    await new.start()
    try:
        await csms16.wait_for("BootNotification", timeout=10)
        await csms16.wait_for("StatusNotification", timeout=10)
        await asyncio.sleep(0.5)
        assert csms16.received("StopTransaction") == [] and csms16.received("StartTransaction") == []
        assert len([p for p in csms.received("TransactionEvent") if p["eventType"] == "Ended"]) == 1
    finally:
        await new.stop()


async def test_nothing_pending_switches_at_once(tmp_path: Any, csms: DevCsms, csms16: DevCsms16) -> None:
    old = StationUnderTest(station_settings(tmp_path, csms.port))
    await old.start()
    await csms.wait_for("StatusNotification", timeout=10)
    await asyncio.sleep(0.5)  # the boot's StatusNotifications delivered: the outbox is empty
    await old.stop()
    new = StationUnderTest(station_settings(tmp_path, csms16.port, ocpp_version="1.6"))
    await new.start()
    try:
        boot = await csms16.wait_for("BootNotification", timeout=10)
        assert boot["chargePointVendor"] == "TestVendor"
    finally:
        await new.stop()


async def test_a_network_profile_slot_of_ocpp_16_moves_the_station_to_16_after_the_reset(
    tmp_path: Any, csms: DevCsms, csms16: DevCsms16
) -> None:
    """Issue 13 (per network-profile slot): SetNetworkProfile may store an OCPP16 connection (B09); listed
    first in NetworkConfigurationPriority (RebootRequired), the station boots into OCPP 1.6J with that CSMS."""
    from ocpp.v201 import call

    from tests.conformance.test_a_security_profile import set_variable
    from tests.conformance.test_b_network_profile import profile, set_profile

    sut = StationUnderTest(station_settings(tmp_path, csms.port))
    await sut.start()
    try:
        await csms.wait_for("StatusNotification", timeout=10)
        stored = await set_profile(csms, 2, {**profile(csms16.url), "ocpp_version": "OCPP16"})
        assert stored.status == "Accepted"
        result = await csms.call("CS001", set_variable("OCPPCommCtrlr", "NetworkConfigurationPriority", "2,1"))
        assert result.set_variable_result[0]["attribute_status"] == "RebootRequired"
        assert not csms16.connected("CS001")  # nothing changes before the reboot
        assert (await csms.call("CS001", call.Reset(type="Immediate"))).status == "Accepted"
        assert await sut.wait_exit() is Exit.RESET
        await sut.start()
        boot = await csms16.wait_for("BootNotification", timeout=15)
        assert boot["chargePointModel"] == "TestModel"
        await csms16.wait_for("StatusNotification", timeout=10)
        answer = await csms16.call("CS001", call16.GetConfiguration(key=["HeartbeatInterval"]))
        assert answer.configuration_key[0]["key"] == "HeartbeatInterval"
    finally:
        await sut.stop()
