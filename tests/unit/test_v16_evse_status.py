"""The finer 1.6 connector status from the state machine's state (evse/station/core/evse_status.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from drivers.interfaces import PilotState
from evse.station.core.evse_fsm import EvseState, Transaction
from evse.station.core.evse_status import EvseStatus, error_code, evse_status

IDLE = EvseState(evse_id=1)


def tx() -> Transaction:
    return Transaction(transaction_id="t", id_token=("AABBCCDD", "ISO14443"), charging_state="EVConnected")


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (IDLE, EvseStatus.Available),
        (replace(IDLE, reserved=True), EvseStatus.Reserved),
        (replace(IDLE, pilot=PilotState.B), EvseStatus.Preparing),
        (replace(IDLE, token=("AABBCCDD", "ISO14443")), EvseStatus.Preparing),
        (replace(IDLE, pilot=PilotState.B, session_done=True), EvseStatus.Finishing),
        (replace(IDLE, operative=False), EvseStatus.Unavailable),
        (replace(IDLE, faults=frozenset({"rcd_trip"})), EvseStatus.Faulted),
    ],
)
def test_status_without_a_transaction(state: EvseState, expected: EvseStatus) -> None:
    assert evse_status(state) is expected


def test_status_with_a_transaction() -> None:
    """1.6 section 4.9: Charging when the EV draws through the closed contactor; SuspendedEV when offered and
    not taken; SuspendedEVSE when the station holds the power back."""
    running = replace(IDLE, pilot=PilotState.B, token=("AABBCCDD", "ISO14443"), tx=tx())
    assert evse_status(replace(running, offering=True)) is EvseStatus.SuspendedEV
    assert evse_status(replace(running, pilot=PilotState.C, contactor_closed=True)) is EvseStatus.Charging
    assert evse_status(running) is EvseStatus.SuspendedEVSE
    assert evse_status(replace(running, operative=False)) is EvseStatus.SuspendedEVSE  # inoperative after it ends


def test_error_code_names_the_fault() -> None:
    assert error_code(frozenset()) == ("NoError", None)
    assert error_code(frozenset({"contactor_welded"})) == ("PowerSwitchFailure", "contactor_welded")
    assert error_code(frozenset({"emergency_stop"})) == ("OtherError", "emergency_stop")
