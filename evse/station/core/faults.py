"""Driver fault names -> the device-model variable that reports them (NotifyEvent, component state).

A fault the table does not know is still a fault: it opens the contactor (the state machine treats
every active fault alike) and is reported against ChargingStation.Problem, so nothing goes unseen.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FaultVariable:
    component: str
    variable: str
    scope: str  # "station", "evse" or "connector": how the component is addressed


FAULTS: dict[str, FaultVariable] = {
    "rcd_trip": FaultVariable("RCD", "Tripped", "evse"),
    "emergency_stop": FaultVariable("EmergencyStopSensor", "Active", "station"),
    "lock_failure": FaultVariable("ConnectorPlugRetentionLock", "Problem", "connector"),
    "unlock_failure": FaultVariable("ConnectorPlugRetentionLock", "Problem", "connector"),
    "contactor_welded": FaultVariable("PowerContactor", "Problem", "evse"),
    "contactor_stuck_open": FaultVariable("PowerContactor", "Problem", "evse"),
    "meter_lost": FaultVariable("ControlMetering", "Problem", "evse"),
    "over_temperature": FaultVariable("TemperatureSensor", "Problem", "evse"),
    "pilot_failure": FaultVariable("ControlPilot", "Problem", "evse"),
    "rfid_failure": FaultVariable("TokenReader", "Problem", "evse"),
    "iso15118_failure": FaultVariable("ISO15118Ctrlr", "Problem", "evse"),
    # The state database refuses writes (evse/station/storage_fault.py): the station as a whole.
    "storage_failure": FaultVariable("ChargingStation", "Problem", "station"),
}
UNKNOWN = FaultVariable("ChargingStation", "Problem", "station")


def fault_variable(name: str) -> FaultVariable:
    return FAULTS.get(name, UNKNOWN)
