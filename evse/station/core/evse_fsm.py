"""The per-EVSE transaction state machine: a pure function `(state, event, ctx) -> (state, actions)`.

No I/O here: the shell (evse/station/shell/station.py) performs the returned actions. The rules follow OCPP
2.0.1 E01-E07: a transaction starts when the first of the TxStartPoint conditions becomes true and ends
when any TxStopPoint condition stops being true. Conditions this station can observe:
EVConnected (pilot not A), Authorized (a token accepted), PowerPathClosed (both, so the contactor closes),
EnergyTransfer (the EV draws: pilot C/D, authorized, nothing holding the power back), ParkingBayOccupancy
(a bay sensor, input "parking_bay"). DataSigned needs a signing meter, which no shipped driver is: it counts
as "not reached" for start and is ignored for stop.

A stop by the driver, the CSMS or an invalid token is a deauthorization (E06/E07): the power goes off at
once; the transaction ends then only if a stop point is no longer true (Authorized, PowerPathClosed,
EnergyTransfer), otherwise an Updated reports the deauthorization and the transaction ends when its
remaining stop point does (EVConnected: the EV unplugs; ParkingBayOccupancy: the bay empties).

Safety invariant (checked by tests): the contactor is closed only while a transaction is running,
authorized, the EV is connected, the EVSE is operative and no fault is active.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum

from drivers.interfaces import PilotState


class TxPoint(StrEnum):
    """TxStartPoint / TxStopPoint values (TxCtrlr)."""

    ParkingBayOccupancy = "ParkingBayOccupancy"
    EVConnected = "EVConnected"
    Authorized = "Authorized"
    DataSigned = "DataSigned"
    PowerPathClosed = "PowerPathClosed"
    EnergyTransfer = "EnergyTransfer"


class ConnectorStatus(StrEnum):
    """ConnectorStatusEnumType of StatusNotification."""

    Available = "Available"
    Occupied = "Occupied"
    Reserved = "Reserved"
    Unavailable = "Unavailable"
    Faulted = "Faulted"


# --- events -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PilotChanged:
    state: PilotState


@dataclass(frozen=True)
class Authorized:
    """A token the station accepted (after Authorize, cache or local list)."""

    id_token: str
    token_type: str
    remote_start_id: int | None = None
    trigger: str = "Authorized"  # RemoteStart for RequestStartTransaction (F01/F02)
    reservation_id: int | None = None  # the reservation this token consumed (H03)


@dataclass(frozen=True)
class StopRequested:
    """Deauthorize (driver's token, CSMS, invalid token) or, with `force`, end (reset, EVConnectionTimeOut).

    `reason` is a ReasonEnumType value; `id_token` is the token that asked, reported in the event when it is
    not the one that started the transaction (a group member, a master pass).
    """

    trigger: str
    reason: str
    id_token: tuple[str, str] | None = None
    force: bool = False


@dataclass(frozen=True)
class EnergyCapReached:
    """MaxEnergyOnInvalidId delivered for a transaction whose token the CSMS refused (C15, E05.FR.?):
    energy is suspended (SuspendedEVSE); the transaction goes on until a stop point ends it."""


@dataclass(frozen=True)
class LimitBelowMinimum:
    """The smart-charging limit in force fell below (or rose back to) the IEC 61851-1 minimum of 6 A: no
    PWM may be offered below it, so energy is suspended (SuspendedEVSE) and resumes when the limit rises."""

    below: bool


@dataclass(frozen=True)
class FaultChanged:
    name: str
    active: bool


@dataclass(frozen=True)
class OperativeChanged:
    operative: bool


@dataclass(frozen=True)
class BayChanged:
    """The parking-bay sensor saw a vehicle arrive or leave (TxStart/StopPoint ParkingBayOccupancy)."""

    occupied: bool


@dataclass(frozen=True)
class ReservedChanged:
    """A reservation now holds (or no longer holds) this EVSE for someone (H01)."""

    reserved: bool


Event = (
    PilotChanged
    | Authorized
    | StopRequested
    | EnergyCapReached
    | LimitBelowMinimum
    | FaultChanged
    | OperativeChanged
    | ReservedChanged
    | BayChanged
)


# --- actions ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SetContactor:
    closed: bool


@dataclass(frozen=True)
class SetPilotCurrent:
    amps: float | None


@dataclass(frozen=True)
class SendStatus:
    status: ConnectorStatus


@dataclass(frozen=True)
class SendTransactionEvent:
    """A TransactionEvent to build and queue; the shell adds timestamp, seqNo and meter values."""

    event_type: str  # Started / Updated / Ended
    trigger_reason: str
    transaction_id: str
    charging_state: str
    id_token: tuple[str, str] | None = None
    stopped_reason: str | None = None
    remote_start_id: int | None = None
    reservation_id: int | None = None
    # The token that stopped or deauthorized the transaction when it is not the one that started it.
    stopped_by: tuple[str, str] | None = None


Action = SetContactor | SetPilotCurrent | SendStatus | SendTransactionEvent


# --- state ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Transaction:
    transaction_id: str
    id_token: tuple[str, str] | None
    charging_state: str
    remote_start_id: int | None = None
    reservation_id: int | None = None
    # Stop points end a transaction only once reached: "Authorized" must not end a session that
    # was started by plugging in and is still waiting for its card.
    reached: frozenset[TxPoint] = frozenset()
    # (triggerReason, stoppedReason) of a deauthorization the transaction outlived (its stop point holds).
    deauthorized: tuple[str, str] | None = None
    stopped_by: tuple[str, str] | None = None
    capped: bool = False  # MaxEnergyOnInvalidId reached: no more energy in this transaction


@dataclass(frozen=True)
class EvseState:
    evse_id: int
    pilot: PilotState = PilotState.A
    token: tuple[str, str] | None = None
    remote_start_id: int | None = None
    tx: Transaction | None = None
    contactor_closed: bool = False
    offering: bool = False  # PWM on the control pilot: the EV may ask for power (state C)
    operative: bool = True
    faults: frozenset[str] = field(default_factory=frozenset)
    status: ConnectorStatus | None = None  # last reported
    # A transaction ended with the EV still plugged: plugging alone must not start another one.
    session_done: bool = False
    reserved: bool = False
    reservation_id: int | None = None  # consumed by the authorization, reported in Started
    bay_occupied: bool = False  # a parking-bay sensor (input "parking_bay") sees a vehicle
    limit_below_minimum: bool = False  # the charging limit in force is under 6 A: no offer (K, IEC 61851-1)

    @property
    def ev_connected(self) -> bool:
        return self.pilot not in (PilotState.A, PilotState.E, PilotState.F)


@dataclass(frozen=True)
class TxConfig:
    start_points: frozenset[TxPoint]
    stop_points: frozenset[TxPoint]
    max_current_a: float
    # StopTxOnEVSideDisconnect: false keeps an authorized transaction (suspended) when the EV unplugs.
    stop_on_ev_disconnect: bool = True
    # False before the boot is Accepted unless TxCtrlr.TxBeforeAcceptedEnabled (B02/E).
    may_start: bool = True


@dataclass(frozen=True)
class Context:
    config: TxConfig
    new_transaction_id: Callable[[], str]


# The points this station observes (DataSigned needs a signing meter), in the order a start checks them.
_OBSERVED_POINTS = (
    TxPoint.ParkingBayOccupancy,
    TxPoint.EVConnected,
    TxPoint.Authorized,
    TxPoint.PowerPathClosed,
    TxPoint.EnergyTransfer,
)


def _reached(state: EvseState, point: TxPoint) -> bool:
    authorized = state.token is not None
    if point is TxPoint.ParkingBayOccupancy:
        return state.bay_occupied
    if point is TxPoint.EVConnected:
        return state.ev_connected
    if point is TxPoint.Authorized:
        return authorized
    if point is TxPoint.PowerPathClosed:
        return state.ev_connected and authorized
    if point is TxPoint.EnergyTransfer:
        return authorized and state.pilot in (PilotState.C, PilotState.D) and not _held_back(state)
    return False


def _held_back(state: EvseState) -> bool:
    """Something on the station's side keeps the power off although the EV asks for it."""
    return bool(state.faults) or not state.operative or (state.tx is not None and state.tx.capped)


def charging_state(state: EvseState) -> str:
    """ChargingStateEnumType from what the station observes: SuspendedEV when the EV does not take the
    offer, SuspendedEVSE when the station holds an authorized session's power back (fault, energy cap, a
    charging limit under 6 A), EVConnected when nobody is authorized (yet, or any more)."""
    if not state.ev_connected:
        return "Idle"
    if state.contactor_closed:
        return "Charging"
    if state.offering:
        return "SuspendedEV"
    return "SuspendedEVSE" if state.token is not None and state.tx is not None else "EVConnected"


def connector_status(state: EvseState) -> ConnectorStatus:
    """ConnectorStatusEnumType: Occupied follows the cable (E03: a transaction started by a card alone
    leaves the connector Available until the EV is plugged in; E10: so does a suspended one)."""
    if state.faults:
        return ConnectorStatus.Faulted
    if not state.operative and state.tx is None:
        return ConnectorStatus.Unavailable  # G03/G04: inoperative, even with a cable left in (B12 per EVSE)
    if state.ev_connected:
        return ConnectorStatus.Occupied
    if state.reserved:
        return ConnectorStatus.Reserved
    return ConnectorStatus.Available


def may_offer(state: EvseState, config: TxConfig | None = None) -> bool:
    """When the pilot may offer current (PWM): an authorized transaction, the EV there, no fault. With
    TxStartPoint EnergyTransfer the offer comes before the transaction: an EV only draws (state C) once
    offered current, and that draw is what starts the transaction (E01.FR.06)."""
    before_start = (
        state.tx is None
        and config is not None
        and config.may_start
        and TxPoint.EnergyTransfer in config.start_points
        and not state.session_done
    )
    return (
        (state.tx is not None or before_start)
        and state.token is not None
        and state.ev_connected
        and state.operative
        and not state.faults
        and not (state.tx is not None and state.tx.capped)
        and not state.limit_below_minimum
    )


def wants_power(state: EvseState, config: TxConfig | None = None) -> bool:
    """Whether the EVSE would offer if the charging limit allowed it: who asks load balancing for a share
    (offering itself cannot tell, since a share under 6 A withdraws the offer)."""
    return may_offer(replace(state, limit_below_minimum=False), config)


def may_energize(state: EvseState) -> bool:
    """The safety rule, the only condition under which the contactor may be closed: inside a transaction,
    as for the offer, and the EV asks for power (IEC 61851-1: the supply is switched on in state C/D, after
    the PWM offer)."""
    return state.tx is not None and may_offer(state) and state.pilot in (PilotState.C, PilotState.D)


def transition(state: EvseState, event: Event, ctx: Context) -> tuple[EvseState, list[Action]]:
    """Apply one event; returns the new state and the actions the shell must perform, in order."""
    actions: list[Action] = []
    stop: tuple[str, str] | None = None  # (triggerReason, stoppedReason) when the event ends the tx
    deauth_update: SendTransactionEvent | None = None  # a deauthorization the transaction outlives
    was_connected = state.ev_connected
    if isinstance(event, PilotChanged):
        state = replace(state, pilot=event.state)
        keep = not ctx.config.stop_on_ev_disconnect and state.tx is not None and state.token is not None
        if was_connected and not state.ev_connected and not keep:
            # StopTxOnEVSideDisconnect: unplugging deauthorizes the session (E06/E10); whether that ends the
            # transaction is up to its stop points (EVConnected, Authorized ...), as for any deauthorization.
            if state.tx is not None and state.tx.deauthorized is None:
                state = replace(state, tx=replace(state.tx, deauthorized=("EVCommunicationLost", "EVDisconnected")))
            state = replace(state, token=None, remote_start_id=None, session_done=False)
    elif isinstance(event, Authorized):
        if state.tx is not None and (state.tx.deauthorized is not None or state.token is not None):
            return state, []  # a running session: stopping it is a StopRequested decided by the shell
        state = replace(
            state,
            token=(event.id_token, event.token_type),
            remote_start_id=event.remote_start_id,
            reservation_id=event.reservation_id,
        )
        if state.tx is not None and state.tx.id_token is None:
            tx = replace(
                state.tx,
                id_token=state.token,
                remote_start_id=event.remote_start_id,
                reservation_id=event.reservation_id,
            )
            state = replace(state, tx=tx)
            update = _tx_event(state, "Updated", event.trigger)
            actions.append(replace(update, reservation_id=event.reservation_id))
    elif isinstance(event, StopRequested):
        if state.tx is None:
            state = replace(state, token=None, remote_start_id=None)
        elif state.tx.deauthorized is None or event.force:
            stopper = event.id_token if event.id_token not in (None, state.tx.id_token) else None
            tx = replace(state.tx, deauthorized=(event.trigger, event.reason), stopped_by=stopper)
            state = replace(state, tx=tx, token=None, remote_start_id=None)
            if event.force or _ends_on_deauthorization(state, ctx.config):
                stop = (event.trigger, event.reason)
            else:
                deauth_update = replace(_tx_event(state, "Updated", event.trigger), stopped_by=stopper)
    elif isinstance(event, EnergyCapReached):
        if state.tx is not None and not state.tx.capped:
            state = replace(state, tx=replace(state.tx, capped=True))
    elif isinstance(event, LimitBelowMinimum):
        state = replace(state, limit_below_minimum=event.below)
    elif isinstance(event, FaultChanged):
        faults = state.faults | {event.name} if event.active else state.faults - {event.name}
        state = replace(state, faults=frozenset(faults))
    elif isinstance(event, OperativeChanged):
        state = replace(state, operative=event.operative)
    elif isinstance(event, ReservedChanged):
        state = replace(state, reserved=event.reserved)
    elif isinstance(event, BayChanged):
        state = replace(state, bay_occupied=event.occupied)

    # Stop points: any configured condition that held during the transaction and no longer does ends it.
    if state.tx is not None and stop is None:
        stop = _stop_point_lost(state, ctx.config)
    if stop is not None and state.tx is not None:
        tx = state.tx
        actions.extend(_open_power(state))
        state = replace(state, contactor_closed=False, offering=False)
        actions.append(
            SendTransactionEvent(
                "Ended",
                stop[0],
                tx.transaction_id,
                charging_state(replace(state, tx=None, token=None)),  # nothing authorized any more
                id_token=tx.id_token,
                stopped_reason=stop[1],
                remote_start_id=tx.remote_start_id,
                stopped_by=tx.stopped_by,
            )
        )
        state = replace(
            state, tx=None, token=None, remote_start_id=None, reservation_id=None, session_done=state.ev_connected
        )

    # Start points: the first condition reached starts a transaction.
    if state.tx is None and state.operative and not state.faults and ctx.config.may_start:
        for point in _OBSERVED_POINTS:
            if state.session_done and point is TxPoint.EVConnected:
                continue
            if point in ctx.config.start_points and _reached(state, point):
                tx = Transaction(
                    ctx.new_transaction_id(),
                    state.token,
                    charging_state(state),
                    state.remote_start_id,
                    reservation_id=state.reservation_id,
                )
                state = replace(state, tx=tx)
                actions.append(_tx_event(state, "Started", _start_trigger(point, event, was_connected)))
                break

    if state.tx is not None:
        reached = state.tx.reached | {p for p in _OBSERVED_POINTS if _reached(state, p)}
        if reached != state.tx.reached:
            state = replace(state, tx=replace(state.tx, reached=frozenset(reached)))

    # Power path follows the safety rule: offer first, close on C/D; open first, then withdraw the offer.
    if may_offer(state, ctx.config) and not state.offering:
        state = replace(state, offering=True)
        actions.append(SetPilotCurrent(ctx.config.max_current_a))
    if may_energize(state) and not state.contactor_closed:
        state = replace(state, contactor_closed=True)
        actions.append(SetContactor(True))
    elif not may_energize(state) and state.contactor_closed:
        state = replace(state, contactor_closed=False)
        actions.append(SetContactor(False))
    if not may_offer(state, ctx.config) and state.offering:
        state = replace(state, offering=False)
        actions.append(SetPilotCurrent(None))
    if deauth_update is not None:
        actions.append(deauth_update)

    # Charging state changes are reported as Updated.
    if state.tx is not None and charging_state(state) != state.tx.charging_state:
        tx = replace(state.tx, charging_state=charging_state(state))
        state = replace(state, tx=tx)
        same_tx = [
            i
            for i, a in enumerate(actions)
            if isinstance(a, SendTransactionEvent) and a.transaction_id == tx.transaction_id
        ]
        if same_tx:  # one message per step: the event already going out carries the new state
            last = actions[same_tx[-1]]
            assert isinstance(last, SendTransactionEvent)
            actions[same_tx[-1]] = replace(last, charging_state=tx.charging_state)
        else:
            actions.append(_tx_event(state, "Updated", _update_trigger(event, was_connected, state)))

    status = connector_status(state)
    if status != state.status:
        state = replace(state, status=status)
        actions.append(SendStatus(status))
    return state, actions


def _ends_on_deauthorization(state: EvseState, config: TxConfig) -> bool:
    """E06: after a deauthorization the transaction ends unless every stop point still holds (an EV still
    plugged in with TxStopPoint EVConnected, a car still in the bay with ParkingBayOccupancy)."""
    points = config.stop_points - {TxPoint.DataSigned}
    return not points or any(not _reached(state, p) for p in points)


def _stop_point_lost(state: EvseState, config: TxConfig) -> tuple[str, str] | None:
    """(triggerReason, stoppedReason) when a stop point that held no longer does (E06.FR.01-07)."""
    assert state.tx is not None
    for point in sorted(config.stop_points & state.tx.reached):
        # StopTxOnEVSideDisconnect false does not shield these: it only keeps the authorization (E10); a
        # transaction suspended across an EV-side disconnect is one whose stop points do not need the EV.
        if not _reached(state, point):
            trigger, reason = _stop_for(point, state)
            # stoppedReason is why the transaction stopped: a deauthorization the transaction outlived (the
            # driver's card, the CSMS) is that reason; the lost stop point only triggers the Ended (E07).
            deauthorized = state.tx.deauthorized
            return (trigger, deauthorized[1] if deauthorized is not None else reason)
    return None


def _stop_for(point: TxPoint, state: EvseState) -> tuple[str, str]:
    """Why a stop point was lost, in the order the causes are checked."""
    if point is TxPoint.ParkingBayOccupancy:
        return ("EVDeparted", "EVDisconnected")
    if not state.ev_connected:
        return ("EVCommunicationLost", "EVDisconnected")
    assert state.tx is not None
    if state.tx.deauthorized is not None:
        return state.tx.deauthorized
    if point is TxPoint.EnergyTransfer:
        if state.faults:
            return ("AbnormalCondition", _fault_reason(state.faults))
        if state.tx.capped:
            return ("EnergyLimitReached", "EnergyLimitReached")
        return ("ChargingStateChanged", "StoppedByEV")  # the EV paused (state B): TC_E_22
    return ("StopAuthorized", "Local")


_FAULT_REASONS = {
    "rcd_trip": "GroundFault",
    "emergency_stop": "EmergencyStop",
    "overcurrent": "OvercurrentFault",
}


def _fault_reason(faults: frozenset[str]) -> str:
    for name in sorted(faults):
        if name in _FAULT_REASONS:
            return _FAULT_REASONS[name]
    return "Other"


def _start_trigger(point: TxPoint, event: Event, was_connected: bool) -> str:
    """triggerReason of Started: what completed the start point's condition (E01)."""
    if point is TxPoint.ParkingBayOccupancy:
        return "EVDetected"
    if point is TxPoint.EVConnected:
        return "CablePluggedIn"
    if isinstance(event, Authorized):
        return event.trigger  # Authorized, or RemoteStart (F01/F02)
    if isinstance(event, PilotChanged) and not was_connected:
        return "CablePluggedIn"
    if point is TxPoint.EnergyTransfer:
        return "ChargingStateChanged"
    return "Authorized"  # Authorized or PowerPathClosed, completed by something else (a fault cleared ...)


def _update_trigger(event: Event, was_connected: bool, state: EvseState) -> str:
    """triggerReason of an Updated that reports a new charging state: the cause, where one is named (E02-E10)."""
    if isinstance(event, PilotChanged):
        if not was_connected and state.ev_connected:
            return "CablePluggedIn"
        if was_connected and not state.ev_connected:
            return "EVCommunicationLost"  # kept across an EV-side disconnect (E10)
    if isinstance(event, FaultChanged) and event.active:
        return "AbnormalCondition"
    if isinstance(event, EnergyCapReached):
        return "EnergyLimitReached"
    if isinstance(event, LimitBelowMinimum):
        return "ChargingRateChanged"
    return "ChargingStateChanged"


def _open_power(state: EvseState) -> list[Action]:
    """Ending: the contactor opens, then the offer is withdrawn (both only if they were on)."""
    actions: list[Action] = [SetContactor(False)] if state.contactor_closed else []
    return actions + ([SetPilotCurrent(None)] if state.offering else [])


def _tx_event(state: EvseState, event_type: str, trigger: str) -> SendTransactionEvent:
    assert state.tx is not None
    return SendTransactionEvent(
        event_type,
        trigger,
        state.tx.transaction_id,
        charging_state(state),
        id_token=state.tx.id_token,
        remote_start_id=state.tx.remote_start_id,
        reservation_id=state.tx.reservation_id if event_type == "Started" else None,
    )
