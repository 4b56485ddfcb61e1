"""Simulated power contactor with feedback."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers.errors import DriverError
from drivers.interfaces import DriverParams, EventSink, FaultName
from drivers.sim.state import evse_state

if TYPE_CHECKING:
    from drivers.sim.board import SimBoard


class SimContactor:
    """Contactor of a simulated EVSE.

    ``contactor_welded``: open() raises DriverError and the contactor stays closed.
    ``contactor_stuck_open``: close() raises DriverError and the contactor stays open.
    """

    class Params(DriverParams):
        """The simulated contactor takes no keys in the board YAML."""

    def __init__(self, *, evse_id: int, sim_board: SimBoard | None = None) -> None:
        self._state = evse_state(evse_id, sim_board)
        self.name = f"sim contactor evse={evse_id}"

    @property
    def is_closed(self) -> bool:
        return self._state.contactor_closed

    async def run(self, sink: EventSink) -> None:
        await self._state.bus.serve(sink)

    async def close(self) -> None:
        if self._state.contactor_closed:
            return
        if FaultName.CONTACTOR_STUCK_OPEN in self._state.faults:
            raise DriverError(self.name, "feedback still open after close (fault contactor_stuck_open)")
        self._state.set_contactor(True)

    async def open(self) -> None:
        if not self._state.contactor_closed:
            return
        if FaultName.CONTACTOR_WELDED in self._state.faults:
            raise DriverError(self.name, "feedback still closed after open (fault contactor_welded)")
        self._state.set_contactor(False)
