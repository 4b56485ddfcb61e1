"""Block D, the local authorization list over the wire: SendLocalList (D01) and GetLocalListVersion (D02).

The stations here pre-authorize from the list and trust it (LocalPreAuthorize, DisablePostAuthorize), so
whether a listed card charges without an Authorize shows that the list the CSMS sent is the one in use.
The dev CSMS accepts every token below, so a card the list blocks is refused by the list alone.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.integration.conftest import STATION_ID, StationUnderTest

TOKENS = ("11110001", "11110002", "11110003")
LIST_TRUSTED = {"AuthCtrlr.LocalPreAuthorize": True, "LocalAuthListCtrlr.DisablePostAuthorize": True}


def entry(token: str, status: str | None = "Accepted") -> dict[str, Any]:
    data: dict[str, Any] = {"id_token": {"id_token": token, "type": "ISO14443"}}
    if status is not None:
        data["id_token_info"] = {"status": status}
    return data


async def send_list(csms: DevCsms, version: int, update: str, *entries: dict[str, Any]) -> Any:
    return await csms.call(
        STATION_ID,
        call.SendLocalList(version_number=version, update_type=update, local_authorization_list=list(entries)),
    )


async def list_version(csms: DevCsms) -> int:
    return int((await csms.call(STATION_ID, call.GetLocalListVersion())).version_number)


async def entries(csms: DevCsms) -> int:
    got = await csms.call(
        STATION_ID,
        call.GetVariables(
            get_variable_data=[{"component": {"name": "LocalAuthListCtrlr"}, "variable": {"name": "Entries"}}]
        ),
    )
    return int(got.get_variable_result[0]["attribute_value"])


async def trusted_station(csms: DevCsms, make_station: Any) -> StationUnderTest:
    csms.tokens.update(TOKENS)
    sut: StationUnderTest = await make_station(device_model=LIST_TRUSTED)
    await csms.wait_for("StatusNotification", timeout=10)
    return sut


async def charges_on_the_list(csms: DevCsms, sut: StationUnderTest, token: str) -> bool:
    """Plug in, show the card, the EV asks for power: True if a transaction runs with that card, the
    contactor closed, and no Authorize was asked."""
    sut.d.board.plug(1)
    sut.d.board.swipe(1, token)
    sut.d.board.set_ev_state(1, "C")
    await asyncio.sleep(0.5)
    tx = sut.d.station.evses[1].state.tx
    authorized = tx is not None and tx.id_token is not None and tx.id_token[0] == token
    asked = [a for a in csms.received("Authorize") if a["idToken"]["idToken"] == token]
    return authorized and sut.d.board.contactor(1).is_closed and not asked


async def test_TC_D_01_CS_send_local_list_full(csms: DevCsms, make_station: Any) -> None:
    """D01: a Full list is Accepted, its version is reported by GetLocalListVersion, its entries are
    counted in LocalAuthListCtrlr.Entries, and a listed card is accepted from the list."""
    sut = await trusted_station(csms, make_station)
    result = await send_list(csms, 1, "Full", entry("11110001"), entry("11110002", "Blocked"))
    assert result.status == "Accepted"
    assert await list_version(csms) == 1
    assert await entries(csms) == 2
    assert await charges_on_the_list(csms, sut, "11110001")
    csms.assert_no_failures()


async def test_TC_D_02_CS_send_local_list_differential_update(csms: DevCsms, make_station: Any) -> None:
    """D01: a Differential update with a higher version changes and adds entries and sets the version:
    the card it blocks no longer charges, the card it adds does."""
    sut = await trusted_station(csms, make_station)
    assert (await send_list(csms, 1, "Full", entry("11110001"))).status == "Accepted"
    result = await send_list(csms, 2, "Differential", entry("11110001", "Blocked"), entry("11110003"))
    assert result.status == "Accepted"
    assert await list_version(csms) == 2
    assert await entries(csms) == 2
    assert not await charges_on_the_list(csms, sut, "11110001")
    assert csms.received("Authorize") == []  # refused by the list itself, the CSMS would have accepted it
    assert not sut.d.board.contactor(1).is_closed
    sut.d.board.unplug(1)
    await asyncio.sleep(0.2)
    assert await charges_on_the_list(csms, sut, "11110003")
    csms.assert_no_failures()


async def test_TC_D_03_CS_send_local_list_differential_remove(csms: DevCsms, make_station: Any) -> None:
    """D01: an entry without idTokenInfo in a Differential update removes that token from the list."""
    sut = await trusted_station(csms, make_station)
    await send_list(csms, 1, "Full", entry("11110001"), entry("11110002"))
    result = await send_list(csms, 2, "Differential", entry("11110001", None))
    assert result.status == "Accepted"
    assert (await list_version(csms), await entries(csms)) == (2, 1)
    sut.d.board.plug(1)
    sut.d.board.swipe(1, "11110001")  # no longer listed: the CSMS is asked
    authorize = await csms.wait_for("Authorize")
    assert authorize["idToken"]["idToken"] == "11110001"
    csms.assert_no_failures()


async def test_TC_D_04_CS_send_local_list_full_with_empty_list(csms: DevCsms, station: StationUnderTest) -> None:
    """D01: a Full update without entries empties the list and sets the version."""
    await send_list(csms, 1, "Full", entry("11110001"), entry("11110002"))
    result = await csms.call(STATION_ID, call.SendLocalList(version_number=2, update_type="Full"))
    assert result.status == "Accepted"
    assert (await list_version(csms), await entries(csms)) == (2, 0)
    csms.assert_no_failures()


async def test_TC_D_05_CS_send_local_list_differential_with_empty_list(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """D01: a Differential update without entries only sets the version; the entries stay."""
    await send_list(csms, 1, "Full", entry("11110001"))
    result = await csms.call(STATION_ID, call.SendLocalList(version_number=3, update_type="Differential"))
    assert result.status == "Accepted"
    assert (await list_version(csms), await entries(csms)) == (3, 1)
    csms.assert_no_failures()


async def test_TC_D_06_CS_send_local_list_version_mismatch(csms: DevCsms, station: StationUnderTest) -> None:
    """D01: a Differential update whose version is not above the installed one is VersionMismatch and
    changes nothing."""
    await send_list(csms, 5, "Full", entry("11110001"))
    for version in (5, 4):
        result = await send_list(csms, version, "Differential", entry("11110002"))
        assert result.status == "VersionMismatch"
    assert (await list_version(csms), await entries(csms)) == (5, 1)
    csms.assert_no_failures()


async def test_TC_D_07_CS_send_local_list_persistent_over_reboot(csms: DevCsms, make_station: Any) -> None:
    """D01: the list and its version survive a reboot, and the rebooted station still charges a listed
    card from it."""
    sut = await trusted_station(csms, make_station)
    await send_list(csms, 4, "Full", entry("11110001"), entry("11110002"))
    await sut.stop()
    await sut.start()
    await csms.wait_for("BootNotification", predicate=lambda p: True, timeout=10)
    await csms.wait_connected(STATION_ID)
    assert (await list_version(csms), await entries(csms)) == (4, 2)
    assert await charges_on_the_list(csms, sut, "11110002")
    csms.assert_no_failures()


async def test_TC_D_08_CS_get_local_list_version_success(csms: DevCsms, station: StationUnderTest) -> None:
    """D02: versionNumber is 0 while no list was ever sent, then the version of the installed list."""
    assert await list_version(csms) == 0
    await send_list(csms, 7, "Full", entry("11110001"))
    assert await list_version(csms) == 7
    csms.assert_no_failures()


async def test_TC_D_10_CS_get_local_list_version_function_disabled(csms: DevCsms, station: StationUnderTest) -> None:
    """D02: with LocalAuthListCtrlr.Enabled set to false by the CSMS, GetLocalListVersion answers 0."""
    await send_list(csms, 7, "Full", entry("11110001"))
    result = await csms.call(
        STATION_ID,
        call.SetVariables(
            set_variable_data=[
                {
                    "component": {"name": "LocalAuthListCtrlr"},
                    "variable": {"name": "Enabled"},
                    "attribute_value": "false",
                }
            ]
        ),
    )
    assert result.set_variable_result[0]["attribute_status"] == "Accepted"
    assert await list_version(csms) == 0
    csms.assert_no_failures()
