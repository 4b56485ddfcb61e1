"""The pure side of applying a limit: the state machine under a limit below 6 A, and the purity of
evse/smartcharging's maths and rules."""

from __future__ import annotations

import ast
from pathlib import Path

from drivers.interfaces import PilotState
from evse.station.core import evse_fsm as fsm

CONFIG = fsm.TxConfig(
    frozenset({fsm.TxPoint.EVConnected, fsm.TxPoint.Authorized}),
    frozenset({fsm.TxPoint.EVConnected, fsm.TxPoint.Authorized}),
    32.0,
)
CTX = fsm.Context(CONFIG, lambda: "tx-1")


def charging() -> fsm.EvseState:
    state = fsm.EvseState(evse_id=1)
    for event in (
        fsm.PilotChanged(PilotState.B),
        fsm.Authorized("AABBCCDD", "ISO14443"),
        fsm.PilotChanged(PilotState.C),
    ):
        state, _ = fsm.transition(state, event, CTX)
    assert state.contactor_closed and state.offering
    return state


def test_a_limit_below_6_A_opens_the_contactor_withdraws_the_offer_and_suspends() -> None:
    """IEC 61851-1: no PWM below 6 A. The contactor opens first, then the offer goes; the transaction goes on
    as SuspendedEVSE, reported with triggerReason ChargingRateChanged."""
    state, actions = fsm.transition(charging(), fsm.LimitBelowMinimum(True), CTX)
    assert actions[:2] == [fsm.SetContactor(False), fsm.SetPilotCurrent(None)]
    update = actions[2]
    assert isinstance(update, fsm.SendTransactionEvent)
    assert (update.event_type, update.trigger_reason, update.charging_state) == (
        "Updated",
        "ChargingRateChanged",
        "SuspendedEVSE",
    )
    assert state.tx is not None and not state.contactor_closed and not state.offering


def test_the_limit_rising_again_offers_and_charges() -> None:
    state, _ = fsm.transition(charging(), fsm.LimitBelowMinimum(True), CTX)
    state, actions = fsm.transition(state, fsm.LimitBelowMinimum(False), CTX)
    assert actions[:2] == [fsm.SetPilotCurrent(32.0), fsm.SetContactor(True)]
    assert state.tx is not None and state.tx.charging_state == "Charging"


def test_a_session_that_starts_under_a_low_limit_is_never_offered_current() -> None:
    state, _ = fsm.transition(fsm.EvseState(evse_id=1), fsm.LimitBelowMinimum(True), CTX)
    for event in (
        fsm.PilotChanged(PilotState.B),
        fsm.Authorized("AABBCCDD", "ISO14443"),
        fsm.PilotChanged(PilotState.C),
    ):
        state, actions = fsm.transition(state, event, CTX)
        assert not any(isinstance(a, fsm.SetPilotCurrent | fsm.SetContactor) for a in actions)
    assert state.tx is not None and state.tx.charging_state == "SuspendedEVSE"


PURE = ("schedule.py", "composite.py", "profile_rules.py")
FORBIDDEN = ("asyncio", "sqlite3", "socket", "time", "logging", "os", "evse.storage", "evse.station", "evse.clock")


def test_the_composite_and_the_profile_rules_do_no_io() -> None:
    package = Path(__file__).resolve().parents[2] / "evse" / "smartcharging"
    offenders = []
    for name in PURE:
        for node in ast.walk(ast.parse((package / name).read_text())):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            offenders += [f"{name}: {m}" for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
    assert offenders == []
