"""OCPP 1.6 Local Auth List Management over loopback: SendLocalList and GetLocalListVersion against the 1.6
dev CSMS, on the station's own list (the AuthStore the 2.0.1 handlers use). OCPP 1.6 sections 3.5, 5.10, 5.15;
test ids from the OCA 1.6 test case document."""

from __future__ import annotations

from typing import Any

import pytest
from ocpp.exceptions import OccurenceConstraintViolationError
from ocpp.v16 import call

from evse.devcsms.server16 import DevCsms16
from tests.integration.conftest import STATION_ID, Factory, StationUnderTest


def entry(id_tag: str, status: str | None = "Accepted", **info: Any) -> dict[str, Any]:
    """One AuthorizationData; status None: no idTagInfo (a Differential removal)."""
    return {"idTag": id_tag} if status is None else {"idTag": id_tag, "idTagInfo": {"status": status, **info}}


async def send(csms16: DevCsms16, version: int, update: str, entries: list[dict[str, Any]] | None = None) -> str:
    request = call.SendLocalList(list_version=version, update_type=update, local_authorization_list=entries or [])
    return str((await csms16.call(STATION_ID, request)).status)


async def version(csms16: DevCsms16) -> int:
    return int((await csms16.call(STATION_ID, call.GetLocalListVersion())).list_version)


async def test_TC_042_2_CS_get_local_list_version_empty(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """1.6 section 5.10: version 0 stands for an empty list, even one installed with version 1."""
    assert await version(csms16) == 0
    assert await send(csms16, 1, "Full") == "Accepted"
    assert await version(csms16) == 0


async def test_TC_042_1_CS_and_TC_043_1_CS_local_list_disabled(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """LocalAuthListEnabled false: GetLocalListVersion -1 and SendLocalList NotSupported (1.6 section 5.10);
    the list installed before is kept and counts again once it is enabled."""
    assert await send(csms16, 4, "Full", [entry("AABBCCDD")]) == "Accepted"
    answer = await csms16.call(STATION_ID, call.ChangeConfiguration(key="LocalAuthListEnabled", value="false"))
    assert answer.status == "Accepted"
    assert await version(csms16) == -1
    assert await send(csms16, 5, "Full", [entry("DEADBEEF")]) == "NotSupported"
    await csms16.call(STATION_ID, call.ChangeConfiguration(key="LocalAuthListEnabled", value="true"))
    assert await version(csms16) == 4


async def test_TC_043_CS_full_then_differential(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """A Full list, then a Differential that adds one idTag, updates another and removes a third."""
    authorizer = station16.d.station.authorizer
    full = [entry("AABBCCDD"), entry("DEADBEEF"), entry("12345678", "Blocked")]
    assert await send(csms16, 2, "Full", full) == "Accepted"
    assert (await version(csms16), authorizer.local_list_size()) == (2, 3)
    differential = [entry("04A2B3C4D5E6F7"), entry("DEADBEEF", "Expired"), entry("12345678", None)]
    assert await send(csms16, 3, "Differential", differential) == "Accepted"
    assert (await version(csms16), authorizer.local_list_size()) == (3, 3)


async def test_TC_043_2_CS_version_mismatch(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """A Differential update whose version is not above the list's is refused whole (1.6 UpdateStatus)."""
    assert await send(csms16, 2, "Full", [entry("AABBCCDD")]) == "Accepted"
    assert await version(csms16) == 2
    assert await send(csms16, 5, "Differential", [entry("DEADBEEF")]) == "Accepted"
    assert await version(csms16) == 5
    assert await send(csms16, 4, "Differential", [entry("12345678")]) == "VersionMismatch"
    assert await version(csms16) == 5
    assert station16.d.station.authorizer.local_list_size() == 2


async def test_TC_043_3_CS_failed_list_changes_nothing(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """Lists the station cannot take are Failed and leave the installed list as it was: an idTag twice
    (idTags are case-insensitive), a Full entry without idTagInfo (1.6 AuthorizationData)."""
    assert await send(csms16, 1, "Full", [entry("AABBCCDD")]) == "Accepted"
    assert await send(csms16, 2, "Full", [entry("DEADBEEF"), entry("deadbeef", "Blocked")]) == "Failed"
    assert await send(csms16, 2, "Full", [entry("DEADBEEF"), entry("12345678", None)]) == "Failed"
    assert await version(csms16) == 1
    assert station16.d.station.authorizer.local_list_size() == 1


async def test_send_local_list_over_send_local_list_max_length(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """More entries than SendLocalListMaxLength: a CALLERROR, spelled as 1.6 spells it."""
    answer = await csms16.call(STATION_ID, call.GetConfiguration(key=["SendLocalListMaxLength"]))
    most = int(answer.configuration_key[0]["value"])
    with pytest.raises(OccurenceConstraintViolationError):
        await send(csms16, 1, "Full", [entry(f"TAG{i:05d}") for i in range(most + 1)])
    assert await version(csms16) == 0


async def test_TC_008_CS_start_with_id_in_local_list(make_station16: Factory, csms16: DevCsms16) -> None:
    """LocalPreAuthorize: an idTag on the list starts a transaction without an Authorize.req; the list
    entry is typed as every idTag presented under 1.6, so the card reader's tag finds it."""
    sut = await make_station16(device_model={"AuthCtrlr.LocalPreAuthorize": True, "AuthCacheCtrlr.Enabled": False})
    await csms16.wait_for("StatusNotification", timeout=10)
    assert await send(csms16, 1, "Full", [entry("DEADBEEF")]) == "Accepted"
    sut.d.board.swipe(1, "DEADBEEF")
    await csms16.wait_for("StatusNotification", predicate=lambda p: p["status"] == "Preparing", timeout=5)
    sut.d.board.plug(1)
    sut.d.board.set_ev_state(1, "C")
    start = await csms16.wait_for("StartTransaction", timeout=5)
    assert (start["idTag"], start["connectorId"]) == ("DEADBEEF", 1)
    assert csms16.received("Authorize") == []
    csms16.assert_no_failures()
