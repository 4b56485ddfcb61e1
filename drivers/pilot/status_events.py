"""Which driver events a new STATUS from the safety MCU means, given the previous one.

Pure so the rules are testable without a port: the driver keeps the previous STATUS and reports
only differences (everything it watches on the first STATUS of a run). Faults that appear are
reported before the pilot state changes they come with, and faults that disappear after, so the
station core never sees a charging state without the fault that should block it.
"""

from __future__ import annotations

from typing import Final

from drivers.interfaces import (
    CableCapacityChanged,
    DriverEvent,
    FaultCleared,
    FaultName,
    FaultRaised,
    PilotStateChanged,
)
from drivers.pilot.messages import McuFault, Status, StatusFlag

#: Fault names for the MCU's own fault bits. HEARTBEAT_LOST is absent: it is the driver's own link
#: trouble, reported as pilot_failure while the driver re-handshakes.
MCU_FAULT_NAMES: Final[dict[McuFault, tuple[str, str]]] = {
    McuFault.DIODE_MISSING: ("pilot_diode_missing", "safety MCU: the EV's control-pilot diode is missing"),
    McuFault.RELAY_WELDED: (FaultName.CONTACTOR_WELDED, "safety MCU: relay feedback closed with enable off"),
    McuFault.OVER_TEMPERATURE: (FaultName.OVER_TEMPERATURE, "safety MCU: temperature above its limit"),
    McuFault.SELF_TEST_FAILED: ("safety_mcu_self_test", "safety MCU: power-on self-test failed"),
}
_RCD_DETAIL: Final = "safety MCU: residual current device tripped"


def active_faults(status: Status) -> dict[str, str]:
    """Fault name -> detail for every fault the STATUS shows."""
    faults: dict[str, str] = {}
    if StatusFlag.RCD_TRIPPED in status.flags:
        faults[FaultName.RCD_TRIP] = _RCD_DETAIL
    for bit, (name, detail) in MCU_FAULT_NAMES.items():
        if bit in status.faults:
            faults[name] = detail
    return faults


def status_events(evse_id: int, previous: Status | None, current: Status) -> list[DriverEvent]:
    """The events that report ``current`` to someone who last saw ``previous`` (None: saw nothing)."""
    before = active_faults(previous) if previous is not None else {}
    after = active_faults(current)
    events: list[DriverEvent] = [
        FaultRaised(evse_id, name, detail) for name, detail in after.items() if name not in before
    ]
    if previous is None or previous.cp_state != current.cp_state:
        events.append(PilotStateChanged(evse_id, current.cp_state))
    if previous is None or previous.pp_current_a != current.pp_current_a:
        capacity = float(current.pp_current_a) if current.pp_current_a is not None else None
        events.append(CableCapacityChanged(evse_id, capacity))
    events += [FaultCleared(evse_id, name) for name in before if name not in after]
    return events
