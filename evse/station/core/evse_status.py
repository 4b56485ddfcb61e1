"""What an EVSE is doing, in the finer status set OCPP 1.6 reports (the 2.0.1 set is a projection of it).

2.0.1's StatusNotification says only Available/Occupied/Reserved/Unavailable/Faulted and puts the rest in
TransactionEvent's chargingState; 1.6 has one StatusNotification for both. Computed from the state
machine's `EvseState`, with no I/O and no message class, so either protocol adapter can report it.
"""

from __future__ import annotations

from enum import StrEnum

from drivers.interfaces import PilotState
from evse.station.core.evse_fsm import EvseState


class EvseStatus(StrEnum):
    Available = "Available"
    Preparing = "Preparing"
    Charging = "Charging"
    SuspendedEVSE = "SuspendedEVSE"
    SuspendedEV = "SuspendedEV"
    Finishing = "Finishing"
    Reserved = "Reserved"
    Unavailable = "Unavailable"
    Faulted = "Faulted"


def evse_status(state: EvseState) -> EvseStatus:
    if state.faults:
        return EvseStatus.Faulted
    if not state.operative and state.tx is None:
        return EvseStatus.Unavailable
    if state.tx is not None:
        if state.contactor_closed and state.pilot in (PilotState.C, PilotState.D):
            return EvseStatus.Charging
        if state.offering or state.contactor_closed or not state.ev_connected:
            # Offered and not taken, or suspended across an EV-side disconnect (the EV may come back).
            return EvseStatus.SuspendedEV
        return EvseStatus.SuspendedEVSE  # the station holds the power back (limit, energy cap, invalid id)
    if state.session_done and state.ev_connected:
        return EvseStatus.Finishing  # ended, the cable still in: plugging alone starts nothing
    if state.ev_connected or state.token is not None:
        return EvseStatus.Preparing  # plugged and waiting for a token, or authorized and waiting for the EV
    if state.reserved:
        return EvseStatus.Reserved
    return EvseStatus.Available


#: The driver's fault names (drivers/interfaces.py) as OCPP 1.6 ChargePointErrorCode values.
FAULT_ERROR_CODES = {
    "rcd_trip": "GroundFailure",
    "lock_failure": "ConnectorLockFailure",
    "unlock_failure": "ConnectorLockFailure",
    "contactor_welded": "PowerSwitchFailure",
    "contactor_stuck_open": "PowerSwitchFailure",
    "meter_lost": "PowerMeterFailure",
    "over_temperature": "HighTemperature",
    "pilot_failure": "EVCommunicationError",
    "iso15118_failure": "EVCommunicationError",
    "rfid_failure": "ReaderFailure",
}


def error_code(faults: frozenset[str]) -> tuple[str, str | None]:
    """(errorCode, vendorErrorCode) for a set of active faults: the first known one, else OtherError."""
    if not faults:
        return "NoError", None
    for name in sorted(faults):
        if name in FAULT_ERROR_CODES:
            return FAULT_ERROR_CODES[name], name
    return "OtherError", sorted(faults)[0]
