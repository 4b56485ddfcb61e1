"""The charging part of the station's port (evse/station/shell/wire_charging.py), said in OCPP 2.0.1."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from drivers.interfaces import EnergyTransferMode, Iso15118ChargingNeeds
from evse.ocpp.calls import OcppMessage
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.profiles import schedule_to_201
from evse.ocpp.v201.wire.base import WireBase
from evse.smartcharging.external_limits import ExternalLimit
from evse.smartcharging.model import Schedule


def needs_request(evse_id: int, needs: Iso15118ChargingNeeds) -> m.NotifyEVChargingNeedsRequest:
    """NotifyEVChargingNeeds with what the EV sent (K15.FR.01): AC or DC parameters by the requested mode.

    The schema's integers are whole amperes and volts, rounded down so the CSMS never plans with more than
    the EV allows. ACChargingParametersType requires every field: what the EV did not say is 0.
    maxScheduleTuples is left out: bridge message set v1 does not carry the EV's MaxEntriesSAScheduleTuple.
    """
    if needs.energy_mode is EnergyTransferMode.DC:
        dc = m.DCChargingParametersType(
            evMaxCurrent=math.floor(needs.max_current_a),
            evMaxVoltage=math.floor(needs.max_voltage_v),
            energyAmount=needs.requested_energy_wh,
            evMaxPower=needs.max_power_w,
        )
        ac = None
    else:
        ac = m.ACChargingParametersType(
            energyAmount=needs.requested_energy_wh or 0,
            evMinCurrent=math.ceil(needs.min_current_a or 0),
            evMaxCurrent=math.floor(needs.max_current_a),
            evMaxVoltage=math.floor(needs.max_voltage_v),
        )
        dc = None
    return m.NotifyEVChargingNeedsRequest(
        evseId=evse_id,
        chargingNeeds=m.ChargingNeedsType(
            requestedEnergyTransfer=m.EnergyTransferModeEnumType(needs.energy_mode.value),
            departureTime=needs.departure_time,
            acChargingParameters=ac,
            dcChargingParameters=dc,
        ),
    )


class Charging201(WireBase):
    """evse.station.shell.wire_charging.ChargingWire in 2.0.1."""

    def ev_charging_needs(self, evse_id: int, needs: Iso15118ChargingNeeds) -> OcppMessage:
        return needs_request(evse_id, needs)

    def ev_charging_schedule(self, evse_id: int, time_base: datetime, schedule: Schedule) -> OcppMessage:
        return m.NotifyEVChargingScheduleRequest(
            timeBase=time_base, evseId=evse_id, chargingSchedule=schedule_to_201(schedule)
        )

    def charging_limit(self, limit: ExternalLimit, schedules: Sequence[Schedule]) -> OcppMessage:
        return m.NotifyChargingLimitRequest(
            chargingLimit=m.ChargingLimitType(
                chargingLimitSource=m.ChargingLimitSourceEnumType(limit.source),
                isGridCritical=limit.is_grid_critical,
            ),
            # evseId must be > 0: a station-wide limit goes without one.
            evseId=limit.evse_id or None,
            chargingSchedule=[schedule_to_201(s) for s in schedules] or None,
        )

    def charging_limit_cleared(self, limit: ExternalLimit) -> OcppMessage:
        return m.ClearedChargingLimitRequest(
            chargingLimitSource=m.ChargingLimitSourceEnumType(limit.source), evseId=limit.evse_id or None
        )
