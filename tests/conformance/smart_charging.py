"""What the OCTT cases of block K share: the CSMS's smart-charging calls and the pilot offer on the board."""

from __future__ import annotations

import asyncio
from typing import Any

from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.charging_profiles import snake
from tests.integration.conftest import STATION_ID, StationUnderTest

Payload = dict[str, Any]


async def set_profile(
    csms: DevCsms, evse_id: int, profile: Payload, *, station: str = STATION_ID
) -> tuple[str, str | None]:
    """SetChargingProfile: (status, reasonCode)."""
    answer = await csms.call(station, call.SetChargingProfile(evse_id=evse_id, charging_profile=snake(profile)))
    return str(answer.status), (answer.status_info or {}).get("reason_code")


async def get_profiles(csms: DevCsms, request_id: int, criteria: Payload, evse_id: int | None = None) -> str:
    """GetChargingProfiles: its status (the reports follow as ReportChargingProfiles)."""
    request = call.GetChargingProfiles(request_id=request_id, charging_profile=snake(criteria), evse_id=evse_id)
    return str((await csms.call(STATION_ID, request)).status)


async def reports(csms: DevCsms, request_id: int) -> list[Payload]:
    """Every ReportChargingProfiles of `request_id`, up to the one without tbc."""
    found: list[Payload] = []
    while True:
        report = await csms.wait_for("ReportChargingProfiles", predicate=lambda p: p["requestId"] == request_id)
        found.append(report)
        if not report.get("tbc"):
            return found


async def reported_ids(
    csms: DevCsms, request_id: int, criteria: Payload, evse_id: int | None = None
) -> dict[int, list[int]]:
    """GetChargingProfiles answered Accepted and its reports: profile ids per EVSE."""
    assert await get_profiles(csms, request_id, criteria, evse_id) == "Accepted"
    ids: dict[int, list[int]] = {}
    for report in await reports(csms, request_id):
        assert report["chargingLimitSource"] == "CSO"
        ids.setdefault(report["evseId"], []).extend(p["id"] for p in report["chargingProfile"])
    return ids


async def clear(csms: DevCsms, profile_id: int | None = None, *, station: str = STATION_ID, **criteria: Any) -> str:
    request = call.ClearChargingProfile(charging_profile_id=profile_id, charging_profile_criteria=criteria or None)
    return str((await csms.call(station, request)).status)


async def composite(csms: DevCsms, evse_id: int, duration: int, unit: str | None = None) -> tuple[str, Payload | None]:
    """GetCompositeSchedule: (status, schedule as the `ocpp` library gives it: snake_case keys)."""
    answer = await csms.call(
        STATION_ID, call.GetCompositeSchedule(duration=duration, evse_id=evse_id, charging_rate_unit=unit)
    )
    return str(answer.status), answer.schedule


def limits(schedule: Payload | None) -> list[tuple[int, float]]:
    """(startPeriod, limit) of a composite schedule."""
    assert schedule is not None
    return [(p["start_period"], p["limit"]) for p in schedule["charging_schedule_period"]]


def offered(sut: StationUnderTest, evse_id: int = 1) -> float | None:
    """The current the simulated pilot offers (PWM), None when it offers nothing."""
    board = sut.d.board
    assert board is not None
    value = board.snapshot(evse_id)["offered_current_a"]
    return None if value is None else float(value)


async def offer_becomes(sut: StationUnderTest, amps: float | None, evse_id: int = 1, timeout: float = 5.0) -> None:
    """Wait until the pilot offers `amps` (the offer follows the answer that changed the limit)."""
    try:
        async with asyncio.timeout(timeout):
            while offered(sut, evse_id) != amps:  # noqa: ASYNC110 - the simulated pilot is state, not events
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"the pilot of EVSE {evse_id} offers {offered(sut, evse_id)} A, not {amps}") from None


def status_of(sut: StationUnderTest, evse_id: int = 1) -> Payload:
    """The EVSE as `evse status --json` shows it."""
    snapshot = sut.d.station.snapshot()
    return next(e for e in snapshot["evses"] if e["id"] == evse_id)
