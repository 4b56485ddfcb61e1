"""Simulated control pilot: reports the simulated EV's state, records the offered current."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers.interfaces import (
    MAX_OFFERED_CURRENT_A,
    MIN_OFFERED_CURRENT_A,
    CableCapacityChanged,
    DriverParams,
    EventSink,
    PilotState,
    PilotStateChanged,
)
from drivers.sim.state import evse_state

if TYPE_CHECKING:
    from drivers.sim.board import SimBoard


class SimPilot:
    """Pilot of a simulated EVSE. The EV's state is set by the board's hooks (plug, set_ev_state)."""

    class Params(DriverParams):
        """The simulated pilot takes no keys in the board YAML."""

    def __init__(self, *, evse_id: int, sim_board: SimBoard | None = None) -> None:
        self._state = evse_state(evse_id, sim_board)
        self.name = f"sim pilot evse={evse_id}"

    @property
    def state(self) -> PilotState:
        return self._state.ev_state

    @property
    def offered_current_a(self) -> float | None:
        """The current last offered by PWM, None when no PWM."""
        return self._state.offered_current_a

    async def run(self, sink: EventSink) -> None:
        await self._state.bus.serve(sink, report_initial=self._report_initial)

    def _report_initial(self, sink: EventSink) -> None:
        evse_id = self._state.evse_id
        if self._state.cable_capacity_a is not None:
            sink(CableCapacityChanged(evse_id, self._state.cable_capacity_a))
        sink(PilotStateChanged(evse_id, self._state.ev_state))

    async def set_current_limit(self, amps: float | None) -> None:
        if amps is not None and not MIN_OFFERED_CURRENT_A <= amps <= MAX_OFFERED_CURRENT_A:
            raise ValueError(f"{self.name}: cannot offer {amps} A (6..80 A, or None for no PWM)")
        self._state.set_offered_current(amps)
