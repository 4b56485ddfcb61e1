"""The shell-side data of one EVSE: its state-machine state and what the shell measured and holds."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from drivers.interfaces import EvseDrivers, MeterReading
from evse.smartcharging.model import Profile
from evse.station.core import evse_fsm as fsm
from evse.station.core.tx_ended import TxEndedSampler


@dataclass
class EvseRuntime:
    """Mutable shell-side data of one EVSE: its FSM state and what the shell measured."""

    drivers: EvseDrivers
    state: fsm.EvseState
    connector_id: int = 1
    reading: MeterReading | None = None
    last_periodic: float = 0.0
    pending_operative: bool | None = None  # ChangeAvailability Scheduled until the transaction ends
    pending_reset: bool = False  # a Reset of this EVSE alone waits for its transaction to end (B12)
    tx_start_energy_wh: float | None = None
    energy_cap_wh: float | None = None  # MaxEnergyOnInvalidId after the CSMS refused the token
    cable_max_a: float | None = None  # the plugged cable's rating (PP): never offer more
    pending_profile: Profile | None = None  # RequestStartTransaction's, until its tx has an id
    pending_remote_start_id: int | None = None  # the remote start that brought pending_profile
    tx_started_at: datetime | None = None
    offered_a: float | None = None  # what the pilot offers now (after every limit)
    limited_by: str | None = None  # the source of the limit in force (cable, evse_max, TxProfile, EMS ...)
    reported_limit_a: float | None = None  # the limit the CSMS last heard of (ChargingRateChanged)
    sampler: TxEndedSampler | None = None  # samples kept for the Ended event (TxEndedInterval)
    last_aligned: datetime | None = None  # the clock-aligned slot last reported
    group_id: str | None = None  # groupIdToken of the token that authorized the session (C09)
    check_after_reconnect: bool = False  # started offline: the CSMS's answer to Started decides (C15)
    authorizations: int = 0  # counts authorizations, so an EVConnectionTimeOut only expires its own
    power_path: asyncio.Lock = field(default_factory=asyncio.Lock)  # contactor and plug lock jobs, in order
