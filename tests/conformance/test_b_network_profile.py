"""Block B, network connection profiles over the wire: SetNetworkProfile (B09) and migrating to a new
profile with its fallback (B10), between two dev CSMSs on loopback."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from ocpp.v201 import call

from evse.daemon import Exit
from evse.devcsms.server import DevCsms
from tests.integration.conftest import PASSWORD, STATION_ID, StationUnderTest

FAST_FALLBACK = {"OCPPCommCtrlr.NetworkProfileConnectionAttempts": 2}


@pytest.fixture
async def new_csms() -> AsyncIterator[DevCsms]:
    """The CSMS the station migrates to."""
    server = DevCsms(basic_auth={STATION_ID: PASSWORD})
    await server.start()
    yield server
    await server.stop()


def profile(url: str, security_profile: int = 1) -> dict[str, Any]:
    return {
        "ocpp_version": "OCPP20",
        "ocpp_transport": "JSON",
        "ocpp_csms_url": url,
        "message_timeout": 5,
        "security_profile": security_profile,
        "ocpp_interface": "Wired0",
    }


async def set_profile(csms: DevCsms, slot: int, data: dict[str, Any]) -> Any:
    return await csms.call(STATION_ID, call.SetNetworkProfile(configuration_slot=slot, connection_data=data))


async def prefer_slot_2_and_reset(csms: DevCsms, sut: StationUnderTest) -> None:
    """B10: NetworkConfigurationPriority puts slot 2 first (RebootRequired), then a Reset activates it."""
    result = await csms.call(
        STATION_ID,
        call.SetVariables(
            set_variable_data=[
                {
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "NetworkConfigurationPriority"},
                    "attribute_value": "2,1",
                }
            ]
        ),
    )
    assert result.set_variable_result[0]["attribute_status"] == "RebootRequired"
    assert (await csms.call(STATION_ID, call.Reset(type="OnIdle"))).status == "Accepted"
    assert await sut.wait_exit() is Exit.RESET
    csms.skip()
    await sut.start()


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_TC_B_43_CS_set_network_profile_rejected(csms: DevCsms, station: StationUnderTest) -> None:
    """B09: a profile is validated before it is stored: a slot the station does not offer, a security
    profile below the one in use, a URL that does not fit the security profile and an OCPP version it does
    not speak (1.5; 1.6 is a slot it can move to, test_v16_version_switch.py) are
    Rejected with a reason; none is stored, so putting slot 2 first leaves the station on its CSMS."""
    bad = {
        9: profile(csms.url),
        2: profile(csms.url, security_profile=0),
    }
    reasons = []
    for slot, data in bad.items():
        result = await set_profile(csms, slot, data)
        assert result.status == "Rejected"
        reasons.append(result.status_info["reason_code"])
    for data in (profile(csms.url.replace("ws://", "wss://")), {**profile(csms.url), "ocpp_version": "OCPP15"}):
        result = await set_profile(csms, 2, data)
        assert result.status == "Rejected"
        reasons.append(result.status_info["reason_code"])
    assert reasons == ["InvalidConfSlot", "NoSecurityDowngrade", "InvalidURL", "UnsupportedProtocol"]
    await prefer_slot_2_and_reset(csms, station)
    boot = await csms.wait_for("BootNotification", timeout=10)
    assert boot["reason"] == "RemoteReset"
    csms.assert_no_failures()


async def test_TC_B_45_CS_migrate_to_new_connection_profile(
    csms: DevCsms, new_csms: DevCsms, make_station: Any
) -> None:
    """B09 + B10: SetNetworkProfile for slot 2 is Accepted and stored; with slot 2 first in
    NetworkConfigurationPriority the station boots after the Reset at the new CSMS and reports there."""
    sut = await make_station()
    await csms.wait_for("StatusNotification", timeout=10)
    result = await set_profile(csms, 2, profile(new_csms.url))
    assert result.status == "Accepted"
    await prefer_slot_2_and_reset(csms, sut)
    boot = await new_csms.wait_for("BootNotification", timeout=10)
    assert boot["reason"] == "RemoteReset"
    await new_csms.wait_for("StatusNotification", timeout=5)
    assert [b for b in csms.received("BootNotification") if b["reason"] == "RemoteReset"] == []
    assert not csms.connected(STATION_ID)
    new_csms.assert_no_failures()
    csms.assert_no_failures()


async def test_TC_B_46_CS_migrate_falls_back_when_the_new_csms_refuses(csms: DevCsms, make_station: Any) -> None:
    """B10 fallback: the new profile's CSMS refuses the station (HTTP 401 at the handshake); after
    NetworkProfileConnectionAttempts failed attempts the station connects with slot 1 again and boots there."""
    refusing = DevCsms(basic_auth={STATION_ID: "not-the-station-password"})
    await refusing.start()
    try:
        sut = await make_station(device_model=FAST_FALLBACK)
        await csms.wait_for("StatusNotification", timeout=10)
        assert (await set_profile(csms, 2, profile(refusing.url))).status == "Accepted"
        await prefer_slot_2_and_reset(csms, sut)
        boot = await csms.wait_for("BootNotification", timeout=15)
        assert boot["reason"] == "RemoteReset"
        assert len(refusing.auth_attempts) == 2  # NetworkProfileConnectionAttempts, then slot 1
        assert refusing.received("BootNotification") == []
    finally:
        await refusing.stop()
    csms.assert_no_failures()


async def test_TC_B_49_CS_fallback_after_network_profile_connection_attempts(csms: DevCsms, make_station: Any) -> None:
    """B10 fallback: nothing listens at the new profile's address; after NetworkProfileConnectionAttempts
    failed attempts the station is back on slot 1 and boots there, its connector reported again."""
    sut = await make_station(device_model=FAST_FALLBACK)
    await csms.wait_for("StatusNotification", timeout=10)
    assert (await set_profile(csms, 2, profile(f"ws://127.0.0.1:{unused_port()}/ocpp"))).status == "Accepted"
    await prefer_slot_2_and_reset(csms, sut)
    boot = await csms.wait_for("BootNotification", timeout=15)
    assert boot["reason"] == "RemoteReset"
    await csms.wait_for("StatusNotification", timeout=5)
    assert sut.d.connection.attempts == 3  # two on slot 2, the third on slot 1
    csms.assert_no_failures()
