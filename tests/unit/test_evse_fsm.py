"""The pure EVSE state machine (E01-E07 subset for the foundation), including random-sequence invariants."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.interfaces import PilotState
from evse.ocpp.v201 import messages as m
from evse.station.core import evse_fsm as fsm

TRIGGERS = {t.value for t in m.TriggerReasonEnumType}
REASONS = {r.value for r in m.ReasonEnumType}

POINTS = frozenset({fsm.TxPoint.EVConnected, fsm.TxPoint.Authorized})


def ctx(start: frozenset[fsm.TxPoint] = POINTS, stop: frozenset[fsm.TxPoint] = POINTS) -> fsm.Context:
    counter = itertools.count(1)
    return fsm.Context(fsm.TxConfig(start, stop, 32.0), lambda: f"tx-{next(counter)}")


def run(events: list[fsm.Event], context: fsm.Context | None = None) -> tuple[fsm.EvseState, list[fsm.Action]]:
    context = context or ctx()
    state = fsm.EvseState(evse_id=1)
    out: list[fsm.Action] = []
    for event in events:
        state, actions = fsm.transition(state, event, context)
        out.extend(actions)
    return state, out


def tx_events(actions: list[fsm.Action]) -> list[tuple[str, str]]:
    return [(a.event_type, a.trigger_reason) for a in actions if isinstance(a, fsm.SendTransactionEvent)]


def test_E02_plug_then_swipe_starts_on_cable_and_charges() -> None:
    state, actions = run([fsm.PilotChanged(PilotState.B), fsm.Authorized("AABBCCDD", "ISO14443")])
    assert tx_events(actions) == [("Started", "CablePluggedIn"), ("Updated", "Authorized")]
    # IEC 61851-1: authorized with the EV in B, the PWM offers current, the supply stays off.
    assert fsm.SetPilotCurrent(32.0) in actions and not state.contactor_closed
    assert state.tx is not None and state.tx.charging_state == "SuspendedEV"
    state, more = fsm.transition(state, fsm.PilotChanged(PilotState.C), ctx())
    assert more[0] == fsm.SetContactor(True)  # the EV asks (C): the contactor closes
    assert tx_events(more) == [("Updated", "ChargingStateChanged")]
    assert state.tx is not None and state.tx.charging_state == "Charging"


def test_E01_authorized_first_with_start_point_authorized() -> None:
    state, actions = run([fsm.Authorized("AABBCCDD", "ISO14443")])
    assert tx_events(actions) == [("Started", "Authorized")]
    assert not state.contactor_closed and not state.offering  # no EV yet: no offer, no power
    state, actions = fsm.transition(state, fsm.PilotChanged(PilotState.B), ctx())
    assert state.offering and not state.contactor_closed
    state, actions = fsm.transition(state, fsm.PilotChanged(PilotState.C), ctx())
    assert state.contactor_closed


def test_E07_unplug_ends_with_ev_disconnected_and_opens_first() -> None:
    state, _ = run([fsm.PilotChanged(PilotState.B), fsm.Authorized("T1", "ISO14443"), fsm.PilotChanged(PilotState.C)])
    state, actions = fsm.transition(state, fsm.PilotChanged(PilotState.A), ctx())
    ended = [a for a in actions if isinstance(a, fsm.SendTransactionEvent)]
    assert [(e.event_type, e.stopped_reason) for e in ended] == [("Ended", "EVDisconnected")]
    assert actions.index(fsm.SetContactor(False)) < actions.index(ended[0])
    assert state.tx is None and not state.contactor_closed
    assert fsm.SendStatus(fsm.ConnectorStatus.Available) in actions


def test_stop_by_token_does_not_restart_while_the_ev_stays_plugged() -> None:
    state, _ = run([fsm.PilotChanged(PilotState.B), fsm.Authorized("T1", "ISO14443")])
    state, actions = fsm.transition(state, fsm.StopRequested("StopAuthorized", "Local"), ctx())
    assert [(a.event_type, a.stopped_reason) for a in actions if isinstance(a, fsm.SendTransactionEvent)] == [
        ("Ended", "Local")
    ]
    assert state.tx is None and state.ev_connected


def test_fault_opens_the_contactor_and_reports_faulted() -> None:
    state, _ = run([fsm.PilotChanged(PilotState.B), fsm.Authorized("T1", "ISO14443"), fsm.PilotChanged(PilotState.C)])
    state, actions = fsm.transition(state, fsm.FaultChanged("rcd_trip", True), ctx())
    assert fsm.SetContactor(False) in actions
    assert fsm.SendStatus(fsm.ConnectorStatus.Faulted) in actions
    state, actions = fsm.transition(state, fsm.FaultChanged("rcd_trip", False), ctx())
    assert state.contactor_closed  # still authorized and plugged: power may return


def test_inoperative_evse_is_unavailable_and_does_not_start() -> None:
    state, actions = run([fsm.OperativeChanged(False), fsm.PilotChanged(PilotState.B)])
    assert state.tx is None
    assert fsm.SendStatus(fsm.ConnectorStatus.Unavailable) in actions


events = st.one_of(
    st.builds(fsm.PilotChanged, st.sampled_from(list(PilotState))),
    st.builds(fsm.Authorized, st.sampled_from(["T1", "T2"]), st.just("ISO14443")),
    st.builds(fsm.StopRequested, st.just("StopAuthorized"), st.just("Local")),
    st.builds(fsm.StopRequested, st.just("RemoteStop"), st.just("Remote"), st.none(), st.booleans()),
    st.just(fsm.EnergyCapReached()),
    st.builds(fsm.FaultChanged, st.sampled_from(["rcd_trip", "meter_lost"]), st.booleans()),
    st.builds(fsm.OperativeChanged, st.booleans()),
    st.builds(fsm.BayChanged, st.booleans()),
)
point_sets = st.frozensets(st.sampled_from(list(fsm.TxPoint)), min_size=1)


@settings(max_examples=400, deadline=None)
@given(st.lists(events, max_size=40), point_sets, point_sets)
def test_invariants_over_random_event_sequences(
    sequence: list[fsm.Event], start: frozenset[fsm.TxPoint], stop: frozenset[fsm.TxPoint]
) -> None:
    context = ctx(start, stop)
    state = fsm.EvseState(evse_id=1)
    contactor = False
    started: list[str] = []
    ended: list[str] = []
    for event in sequence:
        state, actions = fsm.transition(state, event, context)
        for action in actions:
            if isinstance(action, fsm.SetContactor):
                contactor = action.closed
            if isinstance(action, fsm.SendTransactionEvent):
                # Every reason the machine emits is one the schema knows (E01-E15 vocabulary).
                assert action.trigger_reason in TRIGGERS
                assert action.stopped_reason is None or action.stopped_reason in REASONS
                assert (action.stopped_reason is not None) == (action.event_type == "Ended")
                if action.event_type == "Started":
                    assert action.transaction_id not in started
                    started.append(action.transaction_id)
                elif action.event_type == "Ended":
                    assert action.transaction_id in started and action.transaction_id not in ended
                    ended.append(action.transaction_id)
                else:
                    assert action.transaction_id in started and action.transaction_id not in ended
        # The contactor is closed only inside an authorized transaction with the EV there and no fault.
        assert contactor == state.contactor_closed
        if contactor:
            assert fsm.may_energize(state)
            assert state.offering and state.pilot in (PilotState.C, PilotState.D)
        if state.tx is not None and (state.tx.deauthorized is not None or state.tx.capped):
            assert not state.offering and not contactor  # deauthorized or capped: no energy, no offer
        assert (state.tx is None) == (len(started) == len(ended))


def test_authorized_stop_point_does_not_end_a_session_still_waiting_for_its_card() -> None:
    # Started by plugging in; the EV asks for power before the card is read: nothing ends.
    state, actions = run([fsm.PilotChanged(PilotState.B), fsm.PilotChanged(PilotState.C)])
    assert [e for e, _ in tx_events(actions)] == ["Started"]
    state, actions = fsm.transition(state, fsm.Authorized("T1", "ISO14443"), ctx())
    assert tx_events(actions) == [("Updated", "Authorized")]
    assert state.contactor_closed  # the EV was already in C: offer and power together


def test_E_stop_tx_on_ev_side_disconnect_false_suspends_instead_of_ending() -> None:
    # E10: only a transaction whose stop points do not need the EV (Authorized) can outlive the unplug.
    authorized = frozenset({fsm.TxPoint.Authorized})
    keep = fsm.Context(fsm.TxConfig(POINTS, authorized, 32.0, stop_on_ev_disconnect=False), lambda: "tx-1")
    state = fsm.EvseState(evse_id=1)
    for e in (fsm.PilotChanged(PilotState.B), fsm.Authorized("T1", "ISO14443"), fsm.PilotChanged(PilotState.C)):
        state, _ = fsm.transition(state, e, keep)
    state, actions = fsm.transition(state, fsm.PilotChanged(PilotState.A), keep)
    assert state.tx is not None and not state.contactor_closed  # suspended, power off
    assert [e for e, _ in tx_events(actions)] == ["Updated"]
    state, actions = fsm.transition(state, fsm.PilotChanged(PilotState.C), keep)
    assert state.contactor_closed and state.tx.transaction_id == "tx-1"  # resumed, same transaction


def test_TC_E_12_CS_and_TC_E_19_CS_parking_bay_starts_and_ends_the_transaction() -> None:
    bay = frozenset({fsm.TxPoint.ParkingBayOccupancy})
    context = ctx(bay, bay)
    state, actions = fsm.transition(fsm.EvseState(evse_id=1), fsm.BayChanged(True), context)
    assert tx_events(actions) == [("Started", "EVDetected")]
    state, actions = fsm.transition(state, fsm.BayChanged(False), context)
    ended = [a for a in actions if isinstance(a, fsm.SendTransactionEvent)]
    assert [(e.event_type, e.trigger_reason, e.stopped_reason) for e in ended] == [
        ("Ended", "EVDeparted", "EVDisconnected")
    ]


EV_ONLY = frozenset({fsm.TxPoint.EVConnected})


def test_E07_card_stop_with_ev_connected_stop_point_deauthorizes_until_unplug() -> None:
    """E06.FR.02 / E07: TxStopPoint EVConnected only: a stop deauthorizes (Updated StopAuthorized, power off),
    Ended follows the unplug."""
    context = ctx(POINTS, EV_ONLY)
    steps = [fsm.PilotChanged(PilotState.B), fsm.Authorized("T1", "ISO14443"), fsm.PilotChanged(PilotState.C)]
    state, _ = run(steps, context)
    state, actions = fsm.transition(state, fsm.StopRequested("StopAuthorized", "Local", ("T1", "ISO14443")), context)
    assert actions[:2] == [fsm.SetContactor(False), fsm.SetPilotCurrent(None)]  # open first, then withdraw
    assert tx_events(actions) == [("Updated", "StopAuthorized")]
    assert state.tx is not None and state.tx.charging_state == "EVConnected"
    state, actions = fsm.transition(state, fsm.Authorized("T1", "ISO14443"), context)
    assert actions == [] and not state.offering  # a deauthorized transaction is not authorized again
    state, actions = fsm.transition(state, fsm.PilotChanged(PilotState.A), context)
    ended = [a for a in actions if isinstance(a, fsm.SendTransactionEvent)]
    # The unplug triggers the Ended; the driver's card is why the transaction stopped.
    assert [(a.event_type, a.trigger_reason, a.stopped_reason) for a in ended] == [
        ("Ended", "EVCommunicationLost", "Local")
    ]


def test_E06_energy_transfer_stop_point_ends_when_the_ev_pauses() -> None:
    """E06.FR.07: the EV going back to B ends a transaction whose stop point is EnergyTransfer."""
    context = ctx(POINTS, frozenset({fsm.TxPoint.EnergyTransfer}))
    steps = [fsm.PilotChanged(PilotState.B), fsm.Authorized("T1", "ISO14443"), fsm.PilotChanged(PilotState.B)]
    state, actions = run(steps, context)
    assert state.tx is not None  # never transferred energy yet: B before C does not end it
    state, _ = fsm.transition(state, fsm.PilotChanged(PilotState.C), context)
    state, actions = fsm.transition(state, fsm.PilotChanged(PilotState.B), context)
    ended = [a for a in actions if isinstance(a, fsm.SendTransactionEvent)]
    assert [(a.event_type, a.stopped_reason) for a in ended] == [("Ended", "StoppedByEV")]


def test_C15_energy_cap_suspends_and_keeps_the_transaction() -> None:
    steps = [fsm.PilotChanged(PilotState.B), fsm.Authorized("T1", "ISO14443"), fsm.PilotChanged(PilotState.C)]
    state, _ = run(steps)
    state, actions = fsm.transition(state, fsm.EnergyCapReached(), ctx())
    assert fsm.SetContactor(False) in actions
    assert tx_events(actions) == [("Updated", "EnergyLimitReached")]
    assert state.tx is not None and state.tx.charging_state == "SuspendedEVSE"


def test_stop_by_another_token_is_reported_in_ended() -> None:
    steps = [fsm.PilotChanged(PilotState.B), fsm.Authorized("T1", "ISO14443")]
    state, _ = run(steps)
    state, actions = fsm.transition(state, fsm.StopRequested("StopAuthorized", "MasterPass", ("M", "Central")), ctx())
    ended = [a for a in actions if isinstance(a, fsm.SendTransactionEvent)]
    assert [(a.stopped_reason, a.stopped_by) for a in ended] == [("MasterPass", ("M", "Central"))]
