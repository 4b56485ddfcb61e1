"""Simulated RFID reader: the board's ``swipe`` hook presents a card through it."""

from __future__ import annotations

from drivers.interfaces import DriverParams, EventSink
from drivers.sim.state import SimEvseState


class SimRfidReader:
    """RfidReader of a simulated EVSE; its CardPresented events come from ``SimBoard.swipe``."""

    class Params(DriverParams):
        """The simulated reader takes no keys in the board YAML."""

    def __init__(self, *, state: SimEvseState) -> None:
        self._state = state
        self.name = f"sim rfid evse={state.evse_id}"

    async def run(self, sink: EventSink) -> None:
        await self._state.bus.serve(sink)
