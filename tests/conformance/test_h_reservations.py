"""OCTT block H, reservations (H01 ReserveNow, H02 CancelReservation, H03 use, H04 expiry): TC_H_01-24.

Reservations of an unspecified EVSE need ReservationCtrlr.NonEvseSpecific, which this station implements
but leaves off by default (a technician sets it in the station YAML); the cases that need it set it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp.v201 import call

from evse.devcsms.frames import MessageType
from evse.devcsms.server import DevCsms
from tests.conformance.octt import (
    GROUP,
    VALID,
    VALID2,
    assert_sequences_complete,
    authorize_answers,
    contactor_closed,
    first_from_station,
    info,
    nothing_more,
    status_is,
    tx,
    until,
    wire_checked,  # noqa: F401 - autouse: the wire is schema-valid
)
from tests.integration.conftest import STATION_ID, StationUnderTest

ANY_EVSE = {"ReservationCtrlr.NonEvseSpecific": True}


def snake_token(value: str, kind: str = "ISO14443") -> dict[str, str]:
    return {"id_token": value, "type": kind}


async def reserve(
    csms: DevCsms,
    rid: int,
    evse_id: int | None = 1,
    value: str = VALID,
    seconds: float = 60,
    **extra: Any,
) -> str:
    expiry = (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()
    request = call.ReserveNow(id=rid, expiry_date_time=expiry, id_token=snake_token(value), evse_id=evse_id, **extra)
    return str((await csms.call(STATION_ID, request)).status)


async def booted(make_station: Any, csms: DevCsms, evses: int = 1, **device_model: Any) -> StationUnderTest:
    sut: StationUnderTest = await make_station(evses=evses, device_model=device_model)
    for _ in range(evses):
        await csms.wait_for("StatusNotification", timeout=10)
    return sut


async def uses_reservation(csms: DevCsms, sut: StationUnderTest, value: str, rid: int, evse_id: int = 1) -> None:
    """H03.FR.02/H03.FR.04: the reserved token starts a transaction whose Started carries reservationId,
    and the EV charges there."""
    sut.d.board.swipe(evse_id, value)
    started = await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=5)
    assert (started["reservationId"], started["evse"]["id"], started["idToken"]["idToken"]) == (rid, evse_id, value)
    sut.d.board.plug(evse_id)
    sut.d.board.set_ev_state(evse_id, "C")
    await until(contactor_closed(sut, evse_id))
    assert sut.d.board.lock(evse_id).is_locked
    await csms.wait_for("StatusNotification", predicate=status_is("Occupied", evse_id), timeout=5)


async def free_for_anyone(csms: DevCsms, sut: StationUnderTest, evse_id: int = 1) -> None:
    """The reservation is gone: another driver starts there, and no reservationId is reported."""
    sut.d.board.swipe(evse_id, VALID2)
    started = await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=5)
    assert started["idToken"]["idToken"] == VALID2
    assert "reservationId" not in started


# ---- a specific EVSE ---------------------------------------------------------------------------------
async def test_TC_H_01_CS_reserve_specific_evse_accepted_valid_id_token(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """H01 (Accepted; the EVSE is shown Reserved after the answer) and H03: the reserved token uses it."""
    assert await reserve(csms, 1) == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Reserved"), timeout=5)
    answered = first_from_station(csms, MessageType.CALLRESULT, "ReserveNow")
    assert answered < first_from_station(csms, MessageType.CALL, "StatusNotification", status_is("Reserved"))
    await uses_reservation(csms, station, VALID, 1)
    assert csms.received("ReservationStatusUpdate") == []  # used, not expired nor removed
    assert_sequences_complete(csms)
    csms.assert_no_failures()


async def test_TC_H_02_CS_reserve_specific_evse_different_id_token(csms: DevCsms, station: StationUnderTest) -> None:
    """H03: another (valid) token may not charge at the reserved EVSE; the reserved one may."""
    assert await reserve(csms, 2) == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Reserved"), timeout=5)
    station.d.board.swipe(1, VALID2)
    await csms.wait_for("Authorize", timeout=5)
    await nothing_more(csms, "TransactionEvent", 0)
    await uses_reservation(csms, station, VALID, 2)


async def test_TC_H_03_CS_reserve_specific_evse_already_reserved(csms: DevCsms, station: StationUnderTest) -> None:
    """H01.FR.11: a second reservation (another id) of a reserved EVSE is answered Occupied."""
    assert await reserve(csms, 3) == "Accepted"
    assert await reserve(csms, 4, value=VALID2) == "Occupied"


async def test_TC_H_04_CS_reserve_specific_evse_occupied(csms: DevCsms, station: StationUnderTest) -> None:
    """H01.FR.11: an EVSE with an EV plugged in is Occupied, and so is the answer."""
    station.d.board.plug(1)
    await csms.wait_for("StatusNotification", predicate=status_is("Occupied"), timeout=5)
    assert await reserve(csms, 5) == "Occupied"


async def test_TC_H_06_CS_reserve_specific_evse_unavailable(csms: DevCsms, station: StationUnderTest) -> None:
    """H01: an Inoperative EVSE answers Unavailable."""
    await csms.call(STATION_ID, call.ChangeAvailability(operational_status="Inoperative", evse={"id": 1}))
    await csms.wait_for("StatusNotification", predicate=status_is("Unavailable"), timeout=5)
    assert await reserve(csms, 6) == "Unavailable"


async def test_TC_H_07_CS_reservation_ended_not_used(csms: DevCsms, station: StationUnderTest) -> None:
    """H04.FR.01: a reservation not used before its expiryDateTime is reported Expired and the
    EVSE is Available again, for anyone."""
    assert await reserve(csms, 7, seconds=1.5) == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Reserved"), timeout=5)
    update = await csms.wait_for("ReservationStatusUpdate", timeout=5)
    assert (update["reservationId"], update["reservationUpdateStatus"]) == (7, "Expired")
    await csms.wait_for("StatusNotification", predicate=status_is("Available"), timeout=5)
    await free_for_anyone(csms, station)


async def test_TC_H_22_CS_reserve_specific_evse_configured_to_reject(csms: DevCsms, make_station: Any) -> None:
    """H01.FR.01: with ReservationCtrlr.Enabled false every ReserveNow is Rejected."""
    await booted(make_station, csms, **{"ReservationCtrlr.Enabled": False})
    assert await reserve(csms, 22) == "Rejected"


async def test_TC_H_23_CS_reserve_specific_evse_replace_reservation(csms: DevCsms, station: StationUnderTest) -> None:
    """H01.FR.02: a ReserveNow with the id of a held reservation replaces it: the new token holds it, the
    old one no longer does."""
    assert await reserve(csms, 23) == "Accepted"
    assert await reserve(csms, 23, value=VALID2) == "Accepted"
    station.d.board.swipe(1, VALID)
    await csms.wait_for("Authorize", timeout=5)
    await nothing_more(csms, "TransactionEvent", 0)
    await uses_reservation(csms, station, VALID2, 23)


async def test_TC_H_19_CS_use_reserved_evse_with_group_id(csms: DevCsms, station: StationUnderTest) -> None:
    """H03.FR.09: a reservation with groupIdToken may be used by another token of that group."""
    authorize_answers(csms, {VALID2: info("Accepted", GROUP)})
    assert await reserve(csms, 19, group_id_token={"id_token": GROUP, "type": "Central"}) == "Accepted"
    await uses_reservation(csms, station, VALID2, 19)


# ---- cancelling, and the station cancelling itself ---------------------------------------------------
async def test_TC_H_17_CS_cancel_reservation_success(csms: DevCsms, station: StationUnderTest) -> None:
    """H02.FR.01/H02.FR.02: CancelReservation of a held reservation is Accepted and the EVSE is Available for anyone."""
    assert await reserve(csms, 17) == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Reserved"), timeout=5)
    assert (await csms.call(STATION_ID, call.CancelReservation(reservation_id=17))).status == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Available"), timeout=5)
    assert csms.received("ReservationStatusUpdate") == []  # the CSMS knows: no Removed for its own cancel
    await free_for_anyone(csms, station)


async def test_TC_H_18_CS_cancel_reservation_rejected(csms: DevCsms, station: StationUnderTest) -> None:
    """H02: CancelReservation of an unknown reservationId is Rejected."""
    assert (await csms.call(STATION_ID, call.CancelReservation(reservation_id=18))).status == "Rejected"


async def test_TC_H_21_CS_station_cancels_reservation_when_unavailable(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """H01.FR.16/H01.FR.17: a reserved EVSE that becomes Unavailable loses the reservation, reported as Removed."""
    assert await reserve(csms, 21) == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Reserved"), timeout=5)
    await csms.call(STATION_ID, call.ChangeAvailability(operational_status="Inoperative", evse={"id": 1}))
    update = await csms.wait_for("ReservationStatusUpdate", timeout=5)
    assert (update["reservationId"], update["reservationUpdateStatus"]) == (21, "Removed")
    await csms.wait_for("StatusNotification", predicate=status_is("Unavailable"), timeout=5)


# ---- an unspecified EVSE (ReservationCtrlr.NonEvseSpecific) -------------------------------------------
async def test_TC_H_08_CS_reserve_unspecified_evse_accepted(csms: DevCsms, make_station: Any) -> None:
    """H01.FR.18: without evseId the reservation is Accepted while an EVSE is Available; the token uses it
    at any EVSE."""
    sut = await booted(make_station, csms, evses=2, **ANY_EVSE)
    assert await reserve(csms, 8, evse_id=None) == "Accepted"
    await uses_reservation(csms, sut, VALID, 8, evse_id=2)


async def test_TC_H_09_CS_reserve_unspecified_evse_all_reserved(csms: DevCsms, make_station: Any) -> None:
    """H01.FR.11 for a reservation without evseId: every EVSE already reserved: Occupied."""
    await booted(make_station, csms, **ANY_EVSE)
    assert await reserve(csms, 90) == "Accepted"
    assert await reserve(csms, 91, evse_id=None, value=VALID2) == "Occupied"


async def test_TC_H_10_CS_reserve_unspecified_evse_all_occupied(csms: DevCsms, make_station: Any) -> None:
    """H01.FR.11 for a reservation without evseId: every EVSE occupied: Occupied."""
    sut = await booted(make_station, csms, **ANY_EVSE)
    sut.d.board.plug(1)
    await csms.wait_for("StatusNotification", predicate=status_is("Occupied"), timeout=5)
    assert await reserve(csms, 10, evse_id=None) == "Occupied"


async def test_TC_H_12_CS_reserve_unspecified_evse_unavailable(csms: DevCsms, make_station: Any) -> None:
    """H01 for a reservation without evseId: every EVSE Inoperative: Unavailable."""
    await booted(make_station, csms, **ANY_EVSE)
    await csms.call(STATION_ID, call.ChangeAvailability(operational_status="Inoperative"))
    await csms.wait_for("StatusNotification", predicate=status_is("Unavailable"), timeout=5)
    assert await reserve(csms, 12, evse_id=None) == "Unavailable"


async def test_TC_H_13_CS_reserve_unspecified_evse_rejected(csms: DevCsms, station: StationUnderTest) -> None:
    """H01.FR.19: without ReservationCtrlr.NonEvseSpecific a reservation without evseId is Rejected."""
    assert await reserve(csms, 13, evse_id=None) == "Rejected"


async def test_TC_H_14_CS_reserve_unspecified_evse_available_equals_reservations(
    csms: DevCsms, make_station: Any
) -> None:
    """H01.FR.18: once the Available EVSEs are exactly as many as the reservations, all of them are shown
    Reserved, and one reservation more is Occupied."""
    await booted(make_station, csms, evses=2, **ANY_EVSE)
    assert await reserve(csms, 141, evse_id=1) == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Reserved", 1), timeout=5)
    assert await reserve(csms, 142, evse_id=None, value=VALID2) == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Reserved", 2), timeout=5)
    assert await reserve(csms, 143, evse_id=None, value="12345678") == "Occupied"


async def test_TC_H_24_CS_reserve_unspecified_evse_group_id_token(csms: DevCsms, make_station: Any) -> None:
    """H03.FR.09: an unspecified reservation with groupIdToken is used by another token of the group."""
    sut = await booted(make_station, csms, **ANY_EVSE)
    authorize_answers(csms, {VALID2: info("Accepted", GROUP)})
    assert await reserve(csms, 24, evse_id=None, group_id_token={"id_token": GROUP, "type": "Central"}) == "Accepted"
    await uses_reservation(csms, sut, VALID2, 24)


# ---- a connector type --------------------------------------------------------------------------------
async def typed_station(make_station: Any, csms: DevCsms) -> StationUnderTest:
    """Two EVSEs: 1 with a cType2 socket, 2 with a cCCS2 connector."""
    sut: StationUnderTest = await make_station(start=False, evses=2, device_model=ANY_EVSE)
    evses = [
        e.model_copy(update={"connectors": [c.model_copy(update={"type": kind}) for c in e.connectors]})
        for e, kind in zip(sut.settings.evses, ("cType2", "cCCS2"), strict=True)
    ]
    sut.settings = sut.settings.model_copy(update={"evses": evses})
    await sut.start()
    for _ in range(2):
        await csms.wait_for("StatusNotification", timeout=10)
    return sut


async def test_TC_H_15_CS_reserve_connector_type_success(csms: DevCsms, make_station: Any) -> None:
    """H01 (connectorType): a reservation for a connectorType holds the one EVSE that has it (shown Reserved), where
    the token then charges."""
    sut = await typed_station(make_station, csms)
    assert await reserve(csms, 15, evse_id=None, connector_type="cCCS2") == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Reserved", 2), timeout=5)
    await uses_reservation(csms, sut, VALID, 15, evse_id=2)


async def test_TC_H_16_CS_reserve_connector_type_available_equals_reservations(
    csms: DevCsms, make_station: Any
) -> None:
    """H01 (connectorType): as many reservations of a type as Available connectors of it: one more is Occupied, while
    another type can still be reserved."""
    await typed_station(make_station, csms)
    assert await reserve(csms, 161, evse_id=None, connector_type="cType2") == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Reserved", 1), timeout=5)
    assert await reserve(csms, 162, evse_id=None, value=VALID2, connector_type="cType2") == "Occupied"
    assert await reserve(csms, 163, evse_id=None, value=VALID2, connector_type="cCCS2") == "Accepted"
