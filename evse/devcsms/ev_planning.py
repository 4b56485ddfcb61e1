"""The dev CSMS's side of K15/K17: it answers NotifyEVChargingNeeds Accepted and sends the transaction a
TxProfile planned from the needs, so a demo shows the EV's needs reaching the CSMS and a schedule coming back.

The plan is deliberately plain: an AC EV that gives its energy and departure time gets the constant current
that delivers the energy by then (never under 6 A or its minimum, never over its maximum); any other EV gets
its maximum current. A real CSMS would weigh tariffs and the grid; this one only has to be plausible.
"""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ocpp.v201 import call

if TYPE_CHECKING:
    from evse.devcsms.server import DevCsms

log = logging.getLogger(__name__)

NOMINAL_VOLTAGE_V = 230.0
PHASES = {"AC_single_phase": 1, "AC_two_phase": 2, "AC_three_phase": 3}
#: The id of every planned profile is this plus the EVSE id, so a new plan replaces the last one.
PROFILE_ID_BASE = 150_000


def planned_current(needs: dict[str, Any], now: datetime) -> float:
    """The constant current (A per phase, or DC A) the plan offers for NotifyEVChargingNeeds' chargingNeeds."""
    mode = needs["requestedEnergyTransfer"]
    if mode not in PHASES:
        return float(needs["dcChargingParameters"]["evMaxCurrent"])
    ac = needs["acChargingParameters"]
    most, least = float(ac["evMaxCurrent"]), max(6.0, float(ac["evMinCurrent"]))
    departure = needs.get("departureTime")
    if departure is None or not ac["energyAmount"]:
        return most
    hours = (datetime.fromisoformat(departure) - now).total_seconds() / 3600
    if hours <= 0:
        return most
    amps = ac["energyAmount"] / (NOMINAL_VOLTAGE_V * PHASES[mode] * hours)
    return float(min(most, max(least, math.ceil(amps * 10) / 10)))


def tx_profile(evse_id: int, transaction_id: str, amps: float, now: datetime) -> dict[str, Any]:
    """The planned TxProfile, in the snake_case the ``ocpp`` library's call classes take."""
    return {
        "id": PROFILE_ID_BASE + evse_id,
        "stack_level": 0,
        "charging_profile_purpose": "TxProfile",
        "charging_profile_kind": "Absolute",
        "transaction_id": transaction_id,
        "charging_schedule": [
            {
                "id": 1,
                "start_schedule": now.isoformat(),
                "charging_rate_unit": "A",
                "charging_schedule_period": [{"start_period": 0, "limit": amps}],
            }
        ],
    }


class EvSchedulePlanner:
    """Answers NotifyEVChargingNeeds for the dev CSMS and sends the planned TxProfile (one per CSMS)."""

    def __init__(self, csms: DevCsms) -> None:
        self._csms = csms
        self._tasks: set[asyncio.Task[None]] = set()
        csms.respond("NotifyEVChargingNeeds", self._answer)

    def _answer(self, payload: dict[str, Any]) -> dict[str, Any]:
        # The override gets the payload only; the journal recorded its frame (the same object) before the
        # CSMS answered, which names the station.
        station = next(f.station for f in reversed(self._csms.log) if f.payload is payload)
        transaction_id = self._running_transaction(station, payload["evseId"])
        if transaction_id is None:
            return {"status": "Rejected", "statusInfo": {"reasonCode": "NoTransaction"}}
        now = self._csms.behaviour.clock.now()
        amps = planned_current(payload["chargingNeeds"], now)
        request = call.SetChargingProfile(
            evse_id=payload["evseId"], charging_profile=tx_profile(payload["evseId"], transaction_id, amps, now)
        )
        # Sent once this answer is out: the CSMS cannot read the station's answer from inside a handler.
        task = asyncio.get_running_loop().create_task(self._send(station, request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return {"status": "Accepted"}

    def _running_transaction(self, station: str, evse_id: int) -> str | None:
        running: dict[str, int] = {}
        for event in self._csms.received("TransactionEvent", station=station):
            tx_id = event["transactionInfo"]["transactionId"]
            if event["eventType"] == "Ended":
                running.pop(tx_id, None)
            elif "evse" in event:
                running[tx_id] = event["evse"]["id"]
        return next((tx for tx, evse in reversed(running.items()) if evse == evse_id), None)

    async def _send(self, station: str, request: call.SetChargingProfile) -> None:
        try:
            answer = await self._csms.call(station, request)
        except Exception as exc:  # whatever the station did, a demo CSMS logs it and goes on
            log.warning("planned TxProfile for %s not set: %s", station, exc)
            return
        log.info("planned TxProfile for %s evse=%s: %s", station, request.evse_id, answer.status)
