"""Simulated display: keeps the text it was asked to show, for `evse sim status` and tests."""

from __future__ import annotations

import asyncio

from drivers.interfaces import DriverParams, EventSink
from drivers.sim.state import SimEvseState


class SimDisplay:
    """Display of a simulated EVSE (personal messages from the CSMS land here)."""

    class Params(DriverParams):
        """The simulated display takes no keys in the board YAML."""

    def __init__(self, *, state: SimEvseState) -> None:
        self._state = state
        self.name = f"sim display evse={state.evse_id}"
        self.text: str | None = None
        self.language: str | None = None

    async def run(self, sink: EventSink) -> None:
        await asyncio.Event().wait()  # nothing to poll: it only shows what it is told

    async def show(self, text: str, language: str | None) -> None:
        self.text, self.language = text, language
