"""Smart charging as the station performs it: installs, reports and clears charging profiles (K01, K05,
K09, K10), answers GetCompositeSchedule (K08) and applies the limit in force to each EVSE's pilot offer.

The maths is evse.smartcharging.composite (pure); the rules are evse.smartcharging.profile_rules (pure).
This keeps the limit applied: at every period boundary (a timer), on every change (a profile set or cleared,
an external limit set or lifted, a transaction started or ended, a cable plugged) and, as a backstop, at the
meter sample. Under 6 A the EVSE's state machine is told (LimitBelowMinimum: no offer, SuspendedEVSE); a
change of the limit by more than LimitChangeSignificance is reported (TransactionEvent ChargingRateChanged).
Profiles apply whether the CSMS is reachable or not (K06): nothing here waits for the connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from evse.devicemodel.definitions import ComponentKey, VariableDef, VariableKey
from evse.smartcharging.composite import EvseFacts, Limit, Sources, composite_schedule, limit_at, next_change
from evse.smartcharging.external_limits import ExternalLimit
from evse.smartcharging.model import (
    CSO,
    ClearCriteria,
    CompositeSchedule,
    InstalledProfile,
    Profile,
    Purpose,
    RateUnit,
    ReportCriteria,
)
from evse.smartcharging.profile_rules import (
    StationView,
    Verdict,
    check_remote_start_profile,
    check_set_profile,
    cleared,
    reported,
)
from evse.smartcharging.profile_store import ProfileStore
from evse.station.core import evse_fsm as fsm
from evse.station.shell.runtime import EvseRuntime

if TYPE_CHECKING:
    from evse.station.shell.station import Station

log = logging.getLogger(__name__)

#: IEC 61851-1: no PWM offer below 6 A.
MIN_OFFER_A = 6.0
#: The longest the limit goes unchecked when no period boundary is near (a clock set by the CSMS moves them).
RECHECK_S = 60.0


@dataclass(frozen=True)
class ProfileReport:
    """One ReportChargingProfiles' worth: profiles of one EVSE and one source (K09)."""

    evse_id: int
    source: str  # a charging limit source: CSO for every profile the CSMS installed
    profiles: list[Profile]


class SmartCharging:
    """Charging profiles and the limit they put on each EVSE's offer; one per station."""

    def __init__(self, station: Station, store: ProfileStore) -> None:
        self._station = station
        self._store = store
        self._wake = asyncio.Event()
        self._pending_check = False
        #: Told of every profile SetChargingProfile installed (evse id, profile), e.g. ISO 15118 schedules.
        self.installed: list[Callable[[int, Profile], None]] = []
        station.external_limits.subscribe(self._external_changed)
        self._record_entries()

    # ---- inputs ----------------------------------------------------------------------------------
    def view(self) -> StationView:
        dm, station = self._station.dm, self._station
        entries = dm.find(ComponentKey("SmartChargingCtrlr"), VariableKey("Entries", "ChargingProfiles"))
        max_entries = entries.characteristics.max_limit if isinstance(entries, VariableDef) else None
        return StationView(
            evse_ids=frozenset(station.evses),
            transactions={i: r.state.tx.transaction_id for i, r in station.evses.items() if r.state.tx is not None},
            rate_units=frozenset(dm.get_list("SmartChargingCtrlr", "RateUnit")),
            periods_per_schedule=dm.get_int("SmartChargingCtrlr", "PeriodsPerSchedule"),
            max_entries=int(max_entries) if max_entries is not None else 64,
            max_stack_level=dm.get_int("SmartChargingCtrlr", "ProfileStackLevel"),
            phase_switching=dm.get_bool("SmartChargingCtrlr", "ACPhaseSwitchingSupported"),
            phases={e.id: e.phases for e in station.settings.evses},
        )

    def sources(self) -> Sources:
        facts = {}
        for evse in self._station.settings.evses:
            runtime = self._station.evses[evse.id]
            tx = runtime.state.tx
            facts[evse.id] = EvseFacts(
                evse_id=evse.id,
                max_current_a=evse.max_current_a,
                phases=evse.phases,
                cable_max_a=runtime.cable_max_a,
                transaction_id=tx.transaction_id if tx is not None else None,
                session_start=runtime.tx_started_at if tx is not None else None,
            )
        # Disabled, the CSMS's profiles rest (kept, not applied); local limits apply all the same.
        enabled = self._station.dm.get_bool("SmartChargingCtrlr", "Enabled")
        return Sources(self._store.all() if enabled else [], self._station.external_limits.in_force(), facts)

    def _now(self) -> datetime:
        return self._station.clock.now()

    # ---- K01 / K05 / K09 / K10 -------------------------------------------------------------------
    def set_profile(self, evse_id: int, profile: Profile) -> Verdict:
        verdict = check_set_profile(evse_id, profile, self._store.all(), self.view())
        log.info(
            "SetChargingProfile evse=%s id=%s purpose=%s stack=%s -> %s %s",
            evse_id,
            profile.id,
            profile.purpose.value,
            profile.stack_level,
            "Accepted" if verdict.accepted else "Rejected",
            verdict.detail or "",
        )
        if verdict.accepted:
            self._store.put(InstalledProfile(evse_id, profile))
            self._changed()
            for listener in self.installed:
                listener(evse_id, profile)
        return verdict

    def check_remote_start(self, evse_id: int | None, profile: Profile) -> Verdict:
        """RequestStartTransaction's chargingProfile (F01, K05): may it be used? It is installed as a
        TxProfile once the transaction has an id (`on_transaction_event`)."""
        return check_remote_start_profile(evse_id or 0, profile, self.view())

    def report(self, evse_id: int | None, criteria: ReportCriteria, per_message: int) -> list[ProfileReport]:
        """GetChargingProfiles: the matching profiles, grouped by EVSE (one message names one EVSE and one
        source) and cut into messages of at most `per_message` profiles."""
        found = reported(self._store.all(), evse_id, criteria)
        reports: list[ProfileReport] = []
        for evse in sorted({p.evse_id for p in found}):
            mine = [p.profile for p in found if p.evse_id == evse]
            for start in range(0, len(mine), max(1, per_message)):
                chunk = mine[start : start + max(1, per_message)]
                reports.append(ProfileReport(evse, CSO, chunk))
        return reports

    def clear(self, criteria: ClearCriteria) -> bool:
        """ClearChargingProfile: True when something was cleared (Accepted), False for Unknown."""
        gone = self._store.remove(p.profile.id for p in cleared(self._store.all(), criteria))
        log.info("ClearChargingProfile cleared=%s", [p.profile.id for p in gone])
        if gone:
            self._changed()
        return bool(gone)

    def composite(self, evse_id: int, duration: int, unit: RateUnit | None) -> CompositeSchedule:
        """GetCompositeSchedule (K08) from now; in A unless W is asked for."""
        now = self._now()
        # From the next whole second: periods count whole seconds, and what began a moment ago (a session
        # started this second) must not look as if it had not begun.
        start = now.replace(microsecond=0) + (timedelta(seconds=1) if now.microsecond else timedelta(0))
        rate_unit = unit or RateUnit.A
        periods = composite_schedule(self.sources(), evse_id, start, duration, rate_unit)
        return CompositeSchedule(evse_id, duration, start, rate_unit, tuple(periods))

    def on_transaction_event(self, runtime: EvseRuntime, action: fsm.SendTransactionEvent) -> None:
        """A remote start's profile becomes the TxProfile of its transaction; a transaction's TxProfiles end
        with it (K01: a TxProfile lives as long as its transaction)."""
        if action.event_type == "Ended":
            runtime.pending_profile = None
            runtime.reported_limit_a = None
            ended = [p.profile.id for p in self._store.all() if p.profile.transaction_id == action.transaction_id]
            self._store.remove(ended)
            self._changed()
            return
        if runtime.pending_profile is not None and action.remote_start_id == runtime.pending_remote_start_id:
            # Only the transaction of that remote start: one the driver starts after it lapsed is not its.
            profile = replace(runtime.pending_profile, transaction_id=action.transaction_id)
            runtime.pending_profile = None
            # The remote start was accepted with it: the same id or stack level of an older TxProfile of
            # this transaction gives way to it.
            clashing = [
                p.profile.id
                for p in self._store.all()
                if p.profile.transaction_id == action.transaction_id and p.profile.stack_level == profile.stack_level
            ]
            self._store.remove(clashing)
            self._store.put(InstalledProfile(runtime.state.evse_id, profile))
            self._changed()
        if action.event_type == "Started":
            # The limit the transaction starts with: later changes are measured against it.
            runtime.reported_limit_a = self.limit_now(runtime.state.evse_id).amps

    # ---- applying --------------------------------------------------------------------------------
    def limit_now(self, evse_id: int) -> Limit:
        return limit_at(self.sources(), evse_id, self._now())

    def reevaluate(self) -> None:
        """Bring every EVSE's offer, its below-6-A state and the reported limit up to the limit in force."""
        self._pending_check = False
        self._drop_expired()
        sources, now = self.sources(), self._now()
        for evse_id, runtime in self._station.evses.items():
            limit = limit_at(sources, evse_id, now)
            runtime.limited_by = limit.source
            below = limit.amps < MIN_OFFER_A
            changed_state = below != runtime.state.limit_below_minimum
            if changed_state:
                log.info(
                    "limit evse=%s %.1f A (%s): %s",
                    evse_id,
                    limit.amps,
                    limit.source,
                    "no offer" if below else "offer again",
                )
                self._station.apply(evse_id, fsm.LimitBelowMinimum(below))
            if runtime.state.offering:
                self._station.power.recheck_offer(runtime)
            self._report_rate(runtime, limit.amps, already_reported=changed_state)

    def _report_rate(self, runtime: EvseRuntime, amps: float, *, already_reported: bool) -> None:
        """K01/E: TransactionEvent(ChargingRateChanged) when the limit moves by more than LimitChangeSignificance
        (percent of the limit reported before)."""
        if runtime.state.tx is None:
            runtime.reported_limit_a = None
            return
        before = runtime.reported_limit_a
        runtime.reported_limit_a = amps if before is None or already_reported else before
        if before is None or already_reported:
            return
        significance = float(self._station.dm.get_decimal("SmartChargingCtrlr", "LimitChangeSignificance"))
        if abs(amps - before) <= max(before, 0.1) * significance / 100:
            return
        runtime.reported_limit_a = amps
        log.info("charging rate changed evse=%s %.1f A -> %.1f A", runtime.state.evse_id, before, amps)
        self._station.messages.update(runtime, "ChargingRateChanged", [])

    async def run(self) -> None:
        """Re-evaluate at every period boundary and on every change; never returns."""
        self._drop_orphans()
        while True:
            self.reevaluate()
            wait = RECHECK_S
            sources, now = self.sources(), self._now()
            for evse_id in self._station.evses:
                upcoming = next_change(sources, evse_id, now)
                if upcoming is not None:
                    # A hair after the boundary, so the new period is the one in force when we look.
                    wait = min(wait, (upcoming - now).total_seconds() + 0.01)
            self._wake.clear()
            if self._pending_check:
                continue
            try:
                async with asyncio.timeout(max(wait, 0.0)):
                    await self._wake.wait()
            except TimeoutError:
                pass

    def _changed(self) -> None:
        self._record_entries()
        self._pending_check = True
        self._wake.set()

    def _external_changed(self, _old: ExternalLimit | None, _new: ExternalLimit | None) -> None:
        self._pending_check = True
        self._wake.set()

    def changed(self) -> None:
        """Something the limit depends on changed outside this class (a cable's rating): look again."""
        self._pending_check = True
        self._wake.set()

    def _drop_expired(self) -> None:
        expired = self._store.expired(self._now())
        if expired:
            log.info("charging profiles expired: %s", expired)
            self._store.remove(expired)
            self._record_entries()

    def _drop_orphans(self) -> None:
        """At start: TxProfiles whose transaction is not running (it was ended by the restart)."""
        running = {r.state.tx.transaction_id for r in self._station.evses.values() if r.state.tx is not None}
        orphans = [
            p.profile.id
            for p in self._store.all()
            if p.profile.purpose is Purpose.TxProfile and p.profile.transaction_id not in running
        ]
        if orphans:
            log.info("TxProfiles of transactions no longer running removed: %s", orphans)
            self._store.remove(orphans)
            self._record_entries()

    def _record_entries(self) -> None:
        self._station.dm.set_station_value(
            "SmartChargingCtrlr", "Entries", len(self._store), variable_instance="ChargingProfiles"
        )
