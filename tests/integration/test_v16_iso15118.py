"""An ISO 15118 EV under OCPP 1.6J, on the simulated board: what the 2.0.1 E15 rule becomes in 1.6."""

from __future__ import annotations

from evse.devcsms.server16 import DevCsms16
from tests.conformance.wire import until
from tests.integration.conftest import StationUnderTest

TAG = "DE8EOCAET5E43X1"  # a contract the dev CSMS knows (Plug & Charge whitepaper Authorize)


async def test_E15_under_16_the_ev_ending_its_session_stops_the_transaction(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """E15 in 1.6 terms: authorization and transaction end together in 1.6, so the EV's SessionStop
    Terminate gives StopTransaction; 1.6's Reason has no StoppedByEV, so it says Other. The power path opens
    while the cable is still in."""
    board = station16.d.board
    board.iso15118_session(1, TAG)
    start = await csms16.wait_for("StartTransaction", timeout=5)
    assert start["idTag"] == TAG
    board.set_ev_state(1, "C")
    await until(lambda: board.contactor(1).is_closed, "charging")
    board.iso15118_stop(1)
    stop = await csms16.wait_for("StopTransaction", timeout=5)
    assert stop["reason"] == "Other" and stop["meterStop"] >= start["meterStart"]
    assert not board.contactor(1).is_closed and board.evse_state(1).ev_state.value == "B"
    csms16.assert_transactions_complete()
    csms16.assert_no_failures()
