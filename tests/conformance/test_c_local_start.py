"""OCTT block C, local start and stop with an idToken checked by the CSMS (C01, E07): TC_C_02, 04, 06, 07, 56.

The station is in EVConnectedPreSession (TxStartPoint EVConnected: a transaction without idToken is
running) and the EV asks for power (state C), so a refused token that still closed the contactor would
be seen.
"""

from __future__ import annotations

import pytest

from evse.devcsms.server import DevCsms
from tests.conformance.octt import (
    UNKNOWN,
    VALID,
    VALID2,
    authorize_answers,
    energy_transfer_started,
    ev_connected,
    info,
    nothing_more,
    token,
    tx,
    until,
    wire_checked,  # noqa: F401 - autouse: the wire is schema-valid
)
from tests.integration.conftest import StationUnderTest


async def refused_by_csms(csms: DevCsms, station: StationUnderTest, status: str) -> None:
    """Present a token the CSMS answers with `status`: no TransactionEvent follows, no power (C01.FR.07)."""
    authorize_answers(csms, {UNKNOWN: info(status)})
    await ev_connected(station, csms)
    station.d.board.set_ev_state(1, "C")
    station.d.board.swipe(1, UNKNOWN)
    request = await csms.wait_for("Authorize", timeout=5)
    assert request["idToken"] == token(UNKNOWN)
    await nothing_more(csms, "TransactionEvent", len(csms.received("TransactionEvent")))
    assert not station.d.board.contactor(1).is_closed
    assert station.d.board.pilot(1).offered_current_a is None  # not even a PWM offer
    csms.assert_no_failures()


@pytest.mark.parametrize("status", ["Invalid", "Unknown"])
async def test_TC_C_02_CS_local_start_authorization_invalid_or_unknown(
    csms: DevCsms, station: StationUnderTest, status: str
) -> None:
    """C01.FR.02/C01.FR.07: an idToken the CSMS does not accept starts nothing."""
    await refused_by_csms(csms, station, status)


async def test_TC_C_06_CS_local_start_authorization_blocked(csms: DevCsms, station: StationUnderTest) -> None:
    """C01.FR.07: Blocked is not Accepted."""
    await refused_by_csms(csms, station, "Blocked")


async def test_TC_C_07_CS_local_start_authorization_expired(csms: DevCsms, station: StationUnderTest) -> None:
    """C01.FR.07: Expired is not Accepted."""
    await refused_by_csms(csms, station, "Expired")


async def test_TC_C_56_CS_local_start_authorization_unknown(csms: DevCsms, station: StationUnderTest) -> None:
    """C01.FR.02: the CSMS answers Unknown; the station has no lock that keeps the cable out before
    authorization, which is this case's prerequisite."""
    await refused_by_csms(csms, station, "Unknown")


async def test_TC_C_04_CS_local_stop_with_a_different_id_token(csms: DevCsms, station: StationUnderTest) -> None:
    """C01/E07: a different (valid, group-less) idToken presented during the session does not stop it;
    the station may ask the CSMS about it but sends no TransactionEvent."""
    await energy_transfer_started(station, csms, VALID)
    before = len(csms.received("TransactionEvent"))
    station.d.board.swipe(1, VALID2)
    await nothing_more(csms, "TransactionEvent", before)
    assert [p for p in csms.received("TransactionEvent") if tx("Ended")(p)] == []
    assert station.d.board.contactor(1).is_closed
    csms.assert_no_failures()


async def test_personal_message_of_the_authorize_response_is_shown(csms: DevCsms, station: StationUnderTest) -> None:
    """C01 (IdTokenInfoType.personalMessage): the message the CSMS sends for the driver reaches the EVSE's
    display, in the language given."""
    message = {"format": "UTF8", "language": "nl", "content": "Welkom, Anna"}
    authorize_answers(csms, {VALID: info("Accepted", personalMessage=message)})
    station.d.board.swipe(1, VALID)
    await csms.wait_for("Authorize", timeout=5)
    display = station.d.drivers[1].display
    assert display is not None
    await until(lambda: "Welkom, Anna" in (getattr(display, "text", None) or "").split("\n"))
    assert getattr(display, "language", None) == "nl"
