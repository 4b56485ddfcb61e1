"""Simulated RFID reader: the board's ``swipe`` hook presents a card through it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers.interfaces import DriverParams, EventSink
from drivers.sim.state import evse_state

if TYPE_CHECKING:
    from drivers.sim.board import SimBoard


class SimRfidReader:
    """RfidReader of a simulated EVSE; its CardPresented events come from ``SimBoard.swipe``."""

    class Params(DriverParams):
        """The simulated reader takes no keys in the board YAML."""

    def __init__(self, *, evse_id: int, sim_board: SimBoard | None = None) -> None:
        self._state = evse_state(evse_id, sim_board)
        self.name = f"sim rfid evse={evse_id}"

    async def run(self, sink: EventSink) -> None:
        await self._state.bus.serve(sink)
