"""ISO 15118 charging needs and schedules as the station performs them (K15 to K17).

The EV's needs arrive from the EVSE's ISO 15118 bridge (CHARGING_NEEDS, again whenever the EV changes them)
and go to the CSMS as NotifyEVChargingNeeds while a transaction runs: held until its TransactionEvent Started
is queued, and sent through the outbox behind it, so the CSMS hears of the transaction before of its needs.
The CSMS answers, then sends a TxProfile (SetChargingProfile); the limit in force is handed to the module by
the power path as it is for every limit (CURRENT_LIMIT: bridge message set v1 carries no schedule), and
NotifyEVChargingSchedule tells the CSMS the schedule the EV accepted with it.

What the CSMS answers decides what the station waits for:

- Accepted / Processing: a TxProfile will follow (Processing: later; K15.FR.05, the station need not wait
  for it). Until it arrives the EV charges with the limits the station has (the module always has the limit
  in force, so nobody waits on the wire).
- Rejected (or a CALLERROR): the CSMS will send no schedule; the EV charges with the station's own limits and
  no NotifyEVChargingSchedule follows, since the CSMS declined to plan this session.

Renegotiation: a new TxProfile of the running transaction (by the CSMS, K16) re-sends the schedule to the
module and NotifyEVChargingSchedule again; new needs from the EV (K17) are a new NotifyEVChargingNeeds.
Offline, needs are not queued (they would be stale on reconnect): the EV charges with the local limits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from drivers.interfaces import Iso15118ChargingNeeds, Iso15118SessionStarted, Iso15118SessionStopped
from evse.smartcharging.ev_needs import accepted_schedule, horizon_s, same_needs
from evse.smartcharging.model import Profile, Purpose, RateUnit
from evse.station.core import evse_fsm as fsm
from evse.station.shell.wire_tx import NeedsAnswer

if TYPE_CHECKING:
    from evse.station.shell.runtime import EvseRuntime
    from evse.station.shell.station import Station

log = logging.getLogger(__name__)


@dataclass
class _HlcSession:
    """One EVSE's ISO 15118 session as far as schedules go."""

    needs: Iso15118ChargingNeeds | None = None
    sent: Iso15118ChargingNeeds | None = None  # the needs the CSMS last heard of (this transaction)
    answer: str | None = None  # the CSMS's answer (Accepted, Rejected, Processing) to them; None while unanswered
    schedules: int = 0  # NotifyEVChargingSchedule sent in this session


class EvChargingNeeds:
    """NotifyEVChargingNeeds and NotifyEVChargingSchedule of every EVSE; one per station."""

    def __init__(self, station: Station) -> None:
        self._station = station
        self._sessions: dict[int, _HlcSession] = {}

    def answer(self, evse_id: int) -> str | None:
        """The CSMS's answer to the EVSE's last NotifyEVChargingNeeds (None: not sent or not yet answered)."""
        session = self._sessions.get(evse_id)
        return session.answer if session is not None else None

    # ---- from the bridge ---------------------------------------------------------------------------
    def on_session_started(self, event: Iso15118SessionStarted) -> None:
        self._sessions[event.evse_id] = _HlcSession()

    def on_session_stopped(self, event: Iso15118SessionStopped) -> None:
        self._sessions.pop(event.evse_id, None)

    def on_needs(self, event: Iso15118ChargingNeeds) -> None:
        """The EV stated (or restated, or changed) its needs: tell the CSMS when it is new to it (K15, K17)."""
        session = self._sessions.setdefault(event.evse_id, _HlcSession())
        session.needs = event
        self._notify_needs(self._station.evses[event.evse_id])

    # ---- from the station --------------------------------------------------------------------------
    def on_transaction_event(self, runtime: EvseRuntime, action: fsm.SendTransactionEvent) -> None:
        """Needs that came before the transaction go out once its Started is queued; its end ends them."""
        session = self._sessions.get(runtime.state.evse_id)
        if session is None:
            return
        if action.event_type == "Started":
            self._notify_needs(runtime)
        elif action.event_type == "Ended":
            session.sent, session.answer = None, None

    def on_answer(self, answer: NeedsAnswer) -> None:
        """The CSMS's answer to NotifyEVChargingNeeds (from the sender, once delivered)."""
        session = self._sessions.get(answer.evse_id)
        log.info("NotifyEVChargingNeeds evse=%s -> %s", answer.evse_id, answer.status)
        if session is None or session.sent is None:
            return  # the session or transaction ended meanwhile
        session.answer = answer.status
        if answer.status == "Rejected":
            log.info("CSMS sends no schedule evse=%s: the EV charges with the station's limits", answer.evse_id)

    def on_profile_installed(self, evse_id: int, profile: Profile) -> None:
        """A TxProfile of the running transaction is installed (K15 reply, K16 renegotiation): the module
        gets the limit in force from the power path; the CSMS hears which schedule the EV accepted."""
        runtime = self._station.evses.get(evse_id)
        session = self._sessions.get(evse_id)
        if runtime is None or session is None or session.needs is None or runtime.state.tx is None:
            return
        if profile.purpose is not Purpose.TxProfile:
            return
        if profile.transaction_id != runtime.state.tx.transaction_id:
            return
        self._notify_schedule(runtime, session, session.needs)

    # ---- out ---------------------------------------------------------------------------------------
    def _notify_needs(self, runtime: EvseRuntime) -> None:
        session = self._sessions.get(runtime.state.evse_id)
        if session is None or session.needs is None or runtime.state.tx is None:
            return  # before the transaction: held until Started
        if same_needs(session.sent, session.needs):
            return  # a module's replay after a reconnect, not a renegotiation
        if not self._station.is_online():
            log.info("offline: charging needs evse=%s not sent, the local limits apply", runtime.state.evse_id)
            return
        session.sent, session.answer = session.needs, None
        self._station.messages.enqueue(self._station.wire.ev_charging_needs(runtime.state.evse_id, session.needs))

    def _notify_schedule(self, runtime: EvseRuntime, session: _HlcSession, needs: Iso15118ChargingNeeds) -> None:
        smart = self._station.smart_charging
        now = self._station.clock.now()
        composite = smart.composite(runtime.state.evse_id, horizon_s(needs, now), RateUnit.A)
        session.schedules += 1
        schedule = accepted_schedule(
            composite, needs, session.schedules, self._station.dm.get_int("SmartChargingCtrlr", "PeriodsPerSchedule")
        )
        self._station.messages.enqueue(
            self._station.wire.ev_charging_schedule(runtime.state.evse_id, composite.start, schedule)
        )
