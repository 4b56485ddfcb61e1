"""Simulated display: keeps the text it was asked to show, for `evse sim status` and tests."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pydantic import Field

from drivers.interfaces import DriverParams, EventSink
from drivers.sim.state import evse_state

if TYPE_CHECKING:
    from drivers.sim.board import SimBoard


class SimDisplay:
    """Display of a simulated EVSE (personal messages from the CSMS land here)."""

    class Params(DriverParams):
        """Board-YAML keys of ``display.sim``: the size of the character screen it stands for."""

        columns: int = Field(default=20, ge=8, le=80)
        rows: int = Field(default=4, ge=1, le=8)

    def __init__(self, *, evse_id: int, sim_board: SimBoard | None = None, columns: int = 20, rows: int = 4) -> None:
        self._state = evse_state(evse_id, sim_board)
        self.columns, self.rows = columns, rows
        self.name = f"sim display evse={evse_id}"

    async def run(self, sink: EventSink) -> None:
        await asyncio.Event().wait()  # nothing to poll: it only shows what it is told

    @property
    def text(self) -> str | None:
        """What the screen shows now (None before the first message)."""
        return self._state.display_text

    @property
    def language(self) -> str | None:
        return self._state.display_language

    async def show(self, text: str, language: str | None) -> None:
        # Kept with the EVSE's simulated hardware, so `evse sim status` sees it whichever instance showed it.
        self._state.display_text, self._state.display_language = text, language
