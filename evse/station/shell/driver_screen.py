"""The driver's screen of each EVSE: gathers what the pure composer needs and puts its text on the display.

What is shown is decided in evse/station/core/screen.py (from the EVSE's phase, session, cost and personal
message) and evse/station/core/display_rules.py (the CSMS's messages due now). This shell keeps the per-EVSE
session facts the CSMS tells (personalMessage at authorization I01, running cost I02 by CostUpdated or a
TransactionEventResponse, total cost and updatedPersonalMessage at the end I03/I06, the fallback messages of
TariffCostCtrlr I04/I05), removes display messages that expired or whose transaction ended, and redraws
once a second (the cycle of InFront/NormalCycle pages turns every :data:`PAGE_SECONDS`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from drivers.errors import DriverError
from evse.devicemodel.definitions import ComponentKey, VariableDef, VariableKey
from evse.station.core import display_rules
from evse.station.core.display_rules import Capabilities, MessageState
from evse.station.core.screen import Phase, Screen, Situation, compose
from evse.station.core.tokens_neutral import TokenVerdict
from evse.station.shell.display_messages import DisplayMessageStore
from evse.station.shell.runtime import EvseRuntime
from evse.station.shell.wire_tx import TxAnswer

if TYPE_CHECKING:
    from evse.station.shell.station import Station

log = logging.getLogger(__name__)

PAGE_SECONDS = 4.0  # how long one page of the cycle stays: long enough to read four lines
SUMMARY_SECONDS = 90.0  # how long a session's summary (or an unanswered personal message) stays


@dataclass
class _Session:
    """What the driver of one EVSE has been told, for the session running or just ended."""

    tx_id: str | None = None
    personal: str | None = None
    personal_language: str | None = None
    told_at: float = 0.0  # monotonic: when the personal message came
    cost: float | None = None
    cost_final: bool = False
    cost_note: str | None = None
    energy_wh: float | None = None
    seconds: int | None = None
    ended_at: float | None = None  # monotonic


class DriverScreen:
    """Every EVSE's screen; one per station. ``shown`` holds the text last put on each display."""

    def __init__(self, station: Station, store: DisplayMessageStore) -> None:
        self._station = station
        self.dm = station.dm
        self.store = store
        self._sessions: dict[int, _Session] = {evse_id: _Session() for evse_id in station.evses}
        self._authorizing: set[int] = set()
        self._failing: set[int] = set()  # displays whose last show failed
        self.shown: dict[int, Screen] = {}
        self.page_seconds = PAGE_SECONDS  # a demo or a test may turn the pages faster
        self._wake = asyncio.Event()

    # ---- what the CSMS and the station tell ---------------------------------------------------------------
    def capabilities(self) -> Capabilities:
        dm = self._station.dm
        definition = dm.find(ComponentKey("DisplayMessageCtrlr"), VariableKey("DisplayMessages"))
        limit = definition.characteristics.max_limit if isinstance(definition, VariableDef) else None
        states = dm.get_list("DisplayMessageCtrlr", "SupportedStates")
        return Capabilities(
            max_messages=int(limit) if limit is not None else 0,
            formats=frozenset(dm.get_list("DisplayMessageCtrlr", "SupportedFormats")),
            priorities=frozenset(dm.get_list("DisplayMessageCtrlr", "SupportedPriorities")),
            states=frozenset(states),
        )

    def running_transactions(self) -> set[str]:
        return {r.state.tx.transaction_id for r in self._station.evses.values() if r.state.tx is not None}

    def authorizing(self, evse_id: int, busy: bool) -> None:
        """A token is being judged at ``evse_id`` (the driver should see that something happens)."""
        (self._authorizing.add if busy else self._authorizing.discard)(evse_id)
        self.refresh()

    def authorized(self, evse_id: int, verdict: TokenVerdict, accepted: bool) -> None:
        """I01: the verdict's personal message (idTokenInfo.personalMessage, the tariff) is shown; I04: an
        accepted token without one gets TariffFallbackMessage (the CSMS was not asked, or told nothing)."""
        session = self._sessions[evse_id]
        if self._station.evses[evse_id].state.tx is None:
            self._sessions[evse_id] = session = _Session()  # a new driver: the last one's summary goes
        message = verdict.personal_message
        if message is not None:
            session.personal, session.personal_language = message.content, message.language
        elif accepted and self._enabled("Tariff"):
            session.personal = self._station.dm.get_str("TariffCostCtrlr", "TariffFallbackMessage")
            session.personal_language = None
        session.told_at = self._station.clock.monotonic()
        self.refresh()

    def cost_updated(self, transaction_id: str, total: float) -> None:
        """I02: CostUpdated, the running cost of a transaction."""
        session = self._session_of(transaction_id)
        if session is not None and not session.cost_final:
            session.cost = total
        self.refresh()

    def _session_of(self, transaction_id: str) -> _Session | None:
        """The session of a transaction, adopted at once if it runs and the loop has not seen it yet (the
        CSMS may answer Started before the next redraw)."""
        for session in self._sessions.values():
            if session.tx_id == transaction_id:
                return session
        for evse_id, runtime in self._station.evses.items():
            tx = runtime.state.tx
            if tx is not None and tx.transaction_id == transaction_id:
                return self._adopt(evse_id, transaction_id)
        return None

    def _adopt(self, evse_id: int, transaction_id: str) -> _Session:
        """A new transaction on ``evse_id``: the cost starts afresh; a personal message told before this
        transaction's own authorization (during the last one's summary) is the last driver's and goes."""
        old = self._sessions[evse_id]
        session = _Session(tx_id=transaction_id)
        if old.tx_id is None or old.ended_at is None or old.told_at > old.ended_at:
            session.personal, session.personal_language, session.told_at = (
                old.personal,
                old.personal_language,
                old.told_at,
            )
        self._sessions[evse_id] = session
        return session

    def on_transaction_answer(self, answer: TxAnswer) -> None:
        """I02 (TC_I_07) running cost in the answer to Started/Updated; I03 total cost at Ended;
        updatedPersonalMessage (I03, I06: a tariff change during the transaction) replaces the personal one."""
        ended = answer.ended
        session = self._session_of(answer.transaction_id)
        changed = ended
        if session is not None:
            if answer.total_cost is not None:
                session.cost, session.cost_final = answer.total_cost, ended
                session.cost_note = None
                changed = True
            elif ended and not session.cost_final and self._enabled("Cost"):
                # I05: the CSMS told no total cost.
                session.cost_note = self._station.dm.get_str("TariffCostCtrlr", "TotalCostFallbackMessage")
            updated = answer.updated_message
            verdict = answer.verdict
            if updated is None and verdict is not None and verdict.personal_message is not None:
                updated = verdict.personal_message  # the tariff of a token the CSMS only heard of now (offline start)
            if updated is not None:
                session.personal, session.personal_language = updated.content, updated.language
                changed = True
        if changed:  # an answer that tells the driver nothing new waits for the once-a-second redraw
            self.refresh()

    def refresh(self) -> None:
        """Redraw soon (something changed); the loop also redraws once a second. DisplayMessages' Actual
        counts the stored messages at once, so a GetVariables right after a SetDisplayMessage sees it."""
        self.dm.set_station_value("DisplayMessageCtrlr", "DisplayMessages", len(self.store))
        self._wake.set()

    # ---- the loop --------------------------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            self._wake.clear()
            await self.redraw()
            try:
                async with asyncio.timeout(min(1.0, self.page_seconds)):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def redraw(self) -> None:
        station = self._station
        now, mono = station.clock.now(), station.clock.monotonic()
        running = self.running_transactions()
        gone = self.store.remove(display_rules.expired(self.store.rules(), now, running))
        if gone:
            log.info("display messages removed (expired or transaction ended): %s", gone)
            self.refresh()
        messages = self.store.rules()
        page = int(mono // self.page_seconds)
        for evse_id, runtime in station.evses.items():
            display = runtime.drivers.display
            situation = self._situation(runtime, mono)
            due = display_rules.due(
                messages, now=now, evse_id=evse_id, state=_message_state(runtime), transaction_id=_tx_id(runtime)
            )
            columns, rows = (display.columns, display.rows) if display is not None else (20, 4)
            screen = compose(situation, due, page, columns, rows)
            if self.shown.get(evse_id) == screen and evse_id not in self._failing:
                continue
            self.shown[evse_id] = screen
            if display is None:
                continue
            try:
                await display.show(screen.text, screen.language)
            except DriverError as exc:
                # Tried again at every redraw (an LCD plugged back in shows the text); logged once.
                if evse_id not in self._failing:
                    log.warning("display evse=%s: %s", evse_id, exc)
                self._failing.add(evse_id)
            else:
                self._failing.discard(evse_id)

    def _situation(self, runtime: EvseRuntime, mono: float) -> Situation:
        state, evse_id = runtime.state, runtime.state.evse_id
        session = self._sessions[evse_id]
        tx = state.tx
        if tx is not None:
            if session.tx_id != tx.transaction_id:
                session = self._adopt(evse_id, tx.transaction_id)
            if runtime.reading is not None and runtime.tx_start_energy_wh is not None:
                session.energy_wh = runtime.reading.energy_import_wh - runtime.tx_start_energy_wh
            if runtime.tx_started_at is not None:
                session.seconds = max(0, int((self._station.clock.now() - runtime.tx_started_at).total_seconds()))
        elif session.tx_id is not None and session.ended_at is None:
            session.ended_at = mono
            if not self._station.is_online() and not session.cost_final and self._enabled("Cost"):
                session.cost_note = self._station.dm.get_str("TariffCostCtrlr", "TotalCostFallbackMessage")
        if tx is None and mono - max(session.ended_at or 0.0, session.told_at) > SUMMARY_SECONDS:
            self._sessions[evse_id] = session = _Session()
        show_cost = self._enabled("Cost")
        cost = session.cost if show_cost else None
        currency = self._station.dm.get_str("TariffCostCtrlr", "Currency")
        if state.faults:
            return Situation(Phase.Faulted, fault=sorted(state.faults)[0])
        if not state.operative and tx is None:
            return Situation(Phase.Unavailable)
        if evse_id in self._authorizing:
            return Situation(Phase.Authorizing)
        if tx is not None:
            phase = Phase.Charging
        elif session.ended_at is not None:
            phase = Phase.Finished
        else:
            return Situation(Phase.Idle, personal=session.personal, personal_language=session.personal_language)
        return Situation(
            phase,
            energy_wh=session.energy_wh,
            seconds=session.seconds,
            cost=cost,
            currency=currency,
            cost_note=session.cost_note if show_cost and phase is Phase.Finished else None,
            personal=session.personal,
            personal_language=session.personal_language,
        )

    def _enabled(self, instance: str) -> bool:
        dm = self._station.dm
        return dm.get_bool("TariffCostCtrlr", "Available", variable_instance=instance) and dm.get_bool(
            "TariffCostCtrlr", "Enabled", variable_instance=instance
        )


def _tx_id(runtime: EvseRuntime) -> str | None:
    return runtime.state.tx.transaction_id if runtime.state.tx is not None else None


def _message_state(runtime: EvseRuntime) -> MessageState:
    """The MessageStateEnumType the EVSE is in, for messages bound to a state (TC_O_36-39)."""
    state = runtime.state
    if state.faults:
        return MessageState.Faulted
    if not state.operative and state.tx is None:
        return MessageState.Unavailable
    if state.tx is not None:
        return MessageState.Charging
    return MessageState.Idle
