"""The station shell: feeds driver events to each EVSE's state machine and performs its actions.

It owns the per-EVSE state, turns actions into hardware commands and OCPP messages, and sends
queued messages through the durable outbox in order once the CSMS has accepted the boot. The
contactor is opened first whenever anything goes wrong: a failed command is treated as a fault.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from drivers.errors import DriverError
from drivers.interfaces import (
    CableCapacityChanged,
    CardPresented,
    DriverEvent,
    EvseDrivers,
    FaultCleared,
    FaultRaised,
    InputChanged,
    Iso15118CertificateRequested,
    Iso15118ChargingNeeds,
    Iso15118ContractPresented,
    Iso15118SessionStarted,
    Iso15118SessionStopped,
    Iso15118StopReason,
    Iso15118V2gCsrPresented,
    PilotStateChanged,
)
from evse.clock import Clock
from evse.config import Settings
from evse.devicemodel.model import DeviceModel
from evse.ocpp.calls import CallError, CallSender, CallTimeout, NotConnected, OcppMessage, Resp
from evse.ocpp.outbox import Outbox, OutboxEntry
from evse.smartcharging.external_limits import ExternalLimits
from evse.smartcharging.load_balancer import LoadBalancer
from evse.smartcharging.profile_store import ProfileStore
from evse.station.core import evse_fsm as fsm
from evse.station.core.faults import fault_variable
from evse.station.core.reservation_book import EvseView
from evse.station.shell.authorization_flow import AuthorizationFlow
from evse.station.shell.authorizer import Authorizer
from evse.station.shell.availability import Availability
from evse.station.shell.driver_screen import DriverScreen
from evse.station.shell.ev_charging_needs import EvChargingNeeds
from evse.station.shell.fine_status import FineStatus
from evse.station.shell.journal import Journal
from evse.station.shell.metering import Metering
from evse.station.shell.plug_and_charge import PlugAndCharge
from evse.station.shell.power_path import PowerPath
from evse.station.shell.registration import Registrar, Registration
from evse.station.shell.remote_control import RemoteControl
from evse.station.shell.reservations import Reservations
from evse.station.shell.runtime import EvseRuntime
from evse.station.shell.smart_charging import SmartCharging
from evse.station.shell.storage_fault import StorageFault
from evse.station.shell.tx_journal import TxJournal
from evse.station.shell.tx_messages import TransactionMessages
from evse.station.shell.wire import Wire
from evse.station.shell.wire_events import EventReport
from evse.station.shell.wire_tx import NeedsAnswer, TxAnswer, Undeliverable

log = logging.getLogger(__name__)


#: The token type of every idTag under OCPP 1.6 (cards, remote starts, local list entries, cache).
ID_TAG_TYPE_16 = "ISO14443"


def _points16(stop_on_disconnect: bool) -> tuple[frozenset[fsm.TxPoint], frozenset[fsm.TxPoint]]:
    """(start, stop) points under OCPP 1.6, which has one meaning of a transaction: it starts when the EV is
    plugged in and authorized (either order) and ends when either goes. Without
    StopTransactionOnEVSideDisconnect the EV's leaving suspends it (1.6 section 3.6.2): only a stop point
    the EV's presence does not hold can end it then. TxCtrlr's start and stop points are 2.0.1's, not read."""
    stop = {fsm.TxPoint.Authorized} | ({fsm.TxPoint.EVConnected} if stop_on_disconnect else set())
    return frozenset({fsm.TxPoint.PowerPathClosed}), frozenset(stop)


class Station:
    """The station core's shell; one per daemon."""

    def __init__(
        self,
        settings: Settings,
        dm: DeviceModel,
        boards: dict[int, EvseDrivers],
        sender: CallSender,
        registrar: Registrar,
        outbox: Outbox,
        journal: Journal,
        tx_journal: TxJournal,
        clock: Clock,
        *,
        is_connected: Callable[[], bool],
        authorizer: Authorizer,
        reservations: Reservations | None = None,
        profiles: ProfileStore,
        wire: Wire,
    ) -> None:
        self.settings = settings
        self.wire = wire  # what the station says to the CSMS, in the adapter's protocol
        self.dm = dm
        self._sender = sender
        self.registrar = registrar
        self.outbox = outbox
        self.journal = journal
        self.tx_journal = tx_journal
        self.reservations = reservations
        self.authorizer = authorizer
        self.clock = clock
        self._is_connected = is_connected
        self._wake = asyncio.Event()
        self.messages = TransactionMessages(
            settings, dm, outbox, tx_journal, clock, wire, is_connected=is_connected, wake=self._wake.set
        )
        self.reset_requested: asyncio.Event = asyncio.Event()
        self.reset_reason = "RemoteReset"
        self.evses: dict[int, EvseRuntime] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._offline_since: float | None = None
        self._status_changed_offline: set[int] = set()
        # NotifyEvent eventIds: unique per boot, and the start keeps them apart from earlier boots.
        self._event_ids = itertools.count(int(time.time()) % 100_000 * 1000)
        for evse in settings.evses:
            operative = journal.operative(0, 0) and journal.operative(evse.id, 0) and journal.operative(evse.id, 1)
            state = fsm.EvseState(evse_id=evse.id, operative=operative)
            # The boot report (on_connected) tells the CSMS the initial status; no message for it here.
            state = replace(state, status=fsm.connector_status(state))
            self.evses[evse.id] = EvseRuntime(boards[evse.id], state)
        self.tokens = AuthorizationFlow(self)
        self.pnc = PlugAndCharge(self)  # issue 12: ISO 15118 contracts (C07, M06) and EIM sessions (C08)
        self.power = PowerPath(self)
        # Limits from the EMS, the grid operator and load balancing (issue 11), read by the offer.
        self.external_limits = ExternalLimits()
        self.smart_charging = SmartCharging(self, profiles)
        # K15-K17: the ISO 15118 EV's needs to the CSMS, the schedule it accepted back.
        self.ev_needs = EvChargingNeeds(self)
        self.smart_charging.installed.append(self.ev_needs.on_profile_installed)
        self.availability = Availability(self)
        self.remote = RemoteControl(self)
        self.storage_fault: StorageFault | None = None  # wired by the daemon
        # OCPP 1.6: the finer connector status, reported on every change (wired by the daemon to the 1.6 adapter).
        self.fine_status: FineStatus | None = None
        self.screen: DriverScreen | None = None  # the driver's screens (O, I): wired by the daemon
        # ISO 15118 certificate work (M01/M02, V2G certificate): wired by the daemon to V2gCertificates.
        self.iso15118_certificates: Callable[[Iso15118CertificateRequested | Iso15118V2gCsrPresented], None] | None = (
            None
        )
        # The hard-wired monitor watching a fault's variable (component, variable, evse, connector), if any:
        # wired by the daemon to the variable monitors, so a fault's event names the monitor (N07).
        self.hard_wired_monitor: Callable[[str, str, int | None, int | None], int | None] = lambda *_: None
        self.metering = Metering(
            self.evses, dm, clock, self.messages, tx_journal, apply=self.apply, recheck_offer=self.power.recheck_offer
        )
        # K04: the site limit shared between the EVSEs, re-shared on each state change and meter sample.
        self.load_balancer = LoadBalancer(
            settings.site.max_current_a if settings.site else None,
            self.evses,
            {e.id: e.max_current_a for e in settings.evses},
            self.external_limits,
            clock.monotonic,
            wants=lambda evse_id: fsm.wants_power(self.evses[evse_id].state, self._tx_config(evse_id)),
        )
        self.metering.sampled.append(lambda _runtime: self.load_balancer.wake())

    # ---- configuration read through the device model ---------------------------------------------
    def _tx_config(self, evse_id: int) -> fsm.TxConfig:
        max_a = next(e.max_current_a for e in self.settings.evses if e.id == evse_id)
        stop_on_disconnect = self.dm.get_bool("TxCtrlr", "StopTxOnEVSideDisconnect")
        may_start = self.registrar.state is Registration.Accepted or self.dm.get_bool(
            "TxCtrlr", "TxBeforeAcceptedEnabled"
        )
        if self.settings.csms.ocpp_version == "1.6":
            start, stop = _points16(stop_on_disconnect)
        else:
            start, stop = self._points("TxStartPoint"), self._points("TxStopPoint")
        return fsm.TxConfig(start, stop, max_a, stop_on_disconnect, may_start)

    def _points(self, variable: str) -> frozenset[fsm.TxPoint]:
        values = self.dm.get_list("TxCtrlr", variable)
        return frozenset(fsm.TxPoint(v) for v in values if v in fsm.TxPoint.__members__)

    def _context(self, evse_id: int) -> fsm.Context:
        return fsm.Context(self._tx_config(evse_id), lambda: str(uuid.uuid4()))

    # ---- events in -------------------------------------------------------------------------------
    def on_driver_event(self, event: DriverEvent) -> None:
        """EventSink for every driver: runs on the loop thread, must not block."""
        runtime = self.evses.get(event.evse_id)
        if runtime is None:
            log.warning("event for unknown evse=%s: %s", event.evse_id, event)
            return
        if isinstance(event, PilotStateChanged):
            self.apply(event.evse_id, fsm.PilotChanged(event.state))
        elif isinstance(event, CableCapacityChanged):
            runtime.cable_max_a = event.max_current_a
            self.smart_charging.changed()
        elif isinstance(
            event, Iso15118SessionStarted | Iso15118ContractPresented | Iso15118ChargingNeeds | Iso15118SessionStopped
        ):
            self._on_iso15118(event)
        elif isinstance(event, CardPresented):
            # 1.6 knows an idTag by its value alone: one type for every token, whatever the reader says.
            token_type = event.token_type if self.settings.csms.ocpp_version != "1.6" else ID_TAG_TYPE_16
            self.spawn(self.tokens.presented(event.evse_id, event.id_token, token_type))
        elif isinstance(event, InputChanged) and event.name == "parking_bay":
            self.apply(event.evse_id, fsm.BayChanged(event.active))
        elif isinstance(event, InputChanged) and event.name == "start_button" and event.active:
            # C01 with the NoAuthorization token type: a start button instead of a card.
            self.spawn(self.tokens.presented(event.evse_id, "", "NoAuthorization"))
        elif isinstance(event, FaultRaised):
            log.warning("fault evse=%s name=%s %s", event.evse_id, event.name, event.detail)
            self.apply(event.evse_id, fsm.FaultChanged(event.name, True))
            self._report_fault(event.evse_id, event.name, True, event.detail)
        elif isinstance(event, FaultCleared):
            log.info("fault cleared evse=%s name=%s", event.evse_id, event.name)
            self.apply(event.evse_id, fsm.FaultChanged(event.name, False))
            self._report_fault(event.evse_id, event.name, False, None)
        elif (
            isinstance(event, Iso15118CertificateRequested | Iso15118V2gCsrPresented)
            and self.iso15118_certificates is not None
        ):
            self.iso15118_certificates(event)

    def _on_iso15118(
        self,
        event: Iso15118SessionStarted | Iso15118ContractPresented | Iso15118ChargingNeeds | Iso15118SessionStopped,
    ) -> None:
        """An ISO 15118 session's events: authorization (Plug & Charge, C07/C08) and charging needs (K15-K17)
        each follow the session."""
        if not isinstance(event, Iso15118ChargingNeeds):
            self.pnc.on_event(event)
        if isinstance(event, Iso15118SessionStarted):
            self.ev_needs.on_session_started(event)
        elif isinstance(event, Iso15118ChargingNeeds):
            self.ev_needs.on_needs(event)
        elif isinstance(event, Iso15118SessionStopped):
            self.ev_needs.on_session_stopped(event)
            if event.reason is Iso15118StopReason.STOPPED_BY_EV:
                self._ev_ended_authorization(event.evse_id)

    def _ev_ended_authorization(self, evse_id: int) -> None:
        """E15: the EV ended its ISO 15118 session (SessionStopReq Terminate): its authorization ends as when
        the driver presents the token again (StopAuthorized, stoppedReason StoppedByEV); TxStopPoint decides
        whether that ends the transaction. A session that was never authorized only drops a waiting token."""
        runtime = self.evses.get(evse_id)
        if runtime is None:
            return
        tx, token = runtime.state.tx, runtime.state.token
        running = tx is not None and tx.deauthorized is None and tx.id_token is not None
        if running or (tx is None and token is not None):
            self.spawn(self.stop_with_fresh_reading(runtime, fsm.StopRequested("StopAuthorized", "StoppedByEV")))

    def _report_fault(self, evse_id: int, name: str, active: bool, detail: str | None) -> None:
        """Set the component's variable and tell the CSMS (NotifyEvent, HardWiredNotification)."""
        where = fault_variable(name)
        runtime = self.evses[evse_id]
        evse = None if where.scope == "station" else evse_id
        connector = runtime.connector_id if where.scope == "connector" else None
        self.dm.set_station_value(where.component, where.variable, active, evse_id=evse, connector_id=connector)
        # The station-wide Problem flag follows whether any EVSE still has a fault.
        any_fault = any(r.state.faults for r in self.evses.values())
        self.dm.set_station_value("ChargingStation", "Problem", any_fault)
        self.messages.enqueue(self.fault_event(name, active, detail, evse_id=evse, connector_id=connector))

    def fault_event(
        self,
        name: str,
        active: bool,
        detail: str | None,
        *,
        evse_id: int | None = None,
        connector_id: int | None = None,
    ) -> OcppMessage:
        """The NotifyEvent (Delta) of a fault raised or cleared, from the hard-wired monitor of its variable
        (HardWiredNotification where none watches it); eventIds from one sequence per boot, whoever reports."""
        where = fault_variable(name)
        now = self.clock.now()
        monitor_id = self.hard_wired_monitor(where.component, where.variable, evse_id, connector_id)
        event = EventReport(
            event_id=self.next_event_id(),
            at=now,
            trigger="Delta",
            actual_value="true" if active else "false",
            component=where.component,
            variable=where.variable,
            notification="HardWiredNotification" if monitor_id is None else "HardWiredMonitor",
            evse_id=evse_id,
            connector_id=connector_id,
            cleared=None if active else True,
            monitor_id=monitor_id,
            tech_info=(f"{name}: {detail}" if detail else name)[:500],
        )
        return self.wire.notify_event(now, [event])

    # ---- deliberate stops ------------------------------------------------------------------------
    async def stop_with_fresh_reading(self, runtime: EvseRuntime, stop: fsm.StopRequested) -> None:
        """Read the meter once more before a deliberate stop, so Transaction.End is the register at the
        moment the power path opens rather than the last once-a-second sample."""
        try:
            async with asyncio.timeout(0.5):
                runtime.reading = await runtime.drivers.meter.read()
        except (DriverError, TimeoutError):
            pass  # the last sample it is; the stop must not wait for a meter in trouble
        self.apply(runtime.state.evse_id, stop)

    # ---- reservations (H01-H04) ------------------------------------------------------------------
    def evse_views(self) -> dict[int, EvseView]:
        types = {e.id: tuple(c.type for c in e.connectors) for e in self.settings.evses}
        return {
            i: EvseView((r.state.status or fsm.connector_status(r.state)).value, types[i])
            for i, r in self.evses.items()
        }

    def refresh_reservations(self) -> None:
        """Show Reserved where a reservation holds an EVSE, and nowhere else."""
        if self.reservations is None:
            return
        reserved = self.reservations.reserved_evses(self.evse_views())
        for evse_id, runtime in self.evses.items():
            if runtime.state.reserved != (evse_id in reserved):
                self.apply(evse_id, fsm.ReservedChanged(evse_id in reserved))

    def expire_reservations(self) -> None:
        if self.reservations is None:
            return
        for reservation_id in self.reservations.expire():
            self.messages.enqueue(self.wire.reservation_update(reservation_id, "Expired"))
        self.refresh_reservations()

    def _status_changed(self, evse_id: int) -> None:
        if self.reservations is None:
            return
        for reservation_id in self.reservations.on_evse_status(evse_id, self.evse_views()):
            self.messages.enqueue(self.wire.reservation_update(reservation_id, "Removed"))
        self.refresh_reservations()

    def apply(self, evse_id: int, event: fsm.Event) -> None:
        """Run one event through the EVSE's state machine and perform the resulting actions."""
        runtime = self.evses[evse_id]
        before = runtime.state
        runtime.state, actions = fsm.transition(runtime.state, event, self._context(evse_id))
        for action in actions:
            self._perform(runtime, action)
        if self.storage_fault is not None:
            self.storage_fault.check()  # a write refused in this step opens the power path before it closes
        after = runtime.state
        if before.tx is not None and after.tx is None and fsm.SetContactor(False) not in actions:
            # Ended with the contactor already open (the EV had paused): the plug is released all the same.
            self.spawn(self.power.release_plug_after_session(runtime))
        if before.ev_connected and not after.ev_connected and after.tx is not None and after.token is not None:
            # E10: suspended across an EV-side disconnect; the EV has EVConnectionTimeOut to come back.
            self.spawn(self.tokens.ev_connection_timeout(evse_id, runtime.authorizations))
        if runtime.state.tx is None:
            self.availability.after_transaction(runtime)
        if any(isinstance(a, fsm.SendStatus) for a in actions):
            self._status_changed(evse_id)
        if self.fine_status is not None:
            self.fine_status.check(evse_id)
        self.load_balancer.wake()

    def _perform(self, runtime: EvseRuntime, action: fsm.Action) -> None:
        if isinstance(action, fsm.SetContactor):
            self.spawn(self.power.drive_contactor(runtime, action.closed))
        elif isinstance(action, fsm.SetPilotCurrent):
            self.spawn(self.power.drive_pilot(runtime, action.amps))
        elif isinstance(action, fsm.SendStatus):
            self.queue_status(runtime.state.evse_id, runtime.connector_id, action.status)
        elif isinstance(action, fsm.SendTransactionEvent):
            self.messages.transaction_event(runtime, action)
            self.smart_charging.on_transaction_event(runtime, action)
            self.ev_needs.on_transaction_event(runtime, action)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        # Short hardware/authorization jobs started from the synchronous event sink; failures are logged
        # here because nobody awaits them, and the contactor logic already treats them as faults.
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("station job failed", exc_info=task.exception())

    # ---- outgoing messages -----------------------------------------------------------------------
    def may_report_status(self) -> bool:
        """Connected, or QueueAllMessages: otherwise only the latest status matters, reported on reconnect."""
        return self._is_connected() or self.dm.get_bool("OCPPCommCtrlr", "QueueAllMessages")

    def queue_status(self, evse_id: int, connector_id: int, status: fsm.ConnectorStatus) -> None:
        self._record_availability(evse_id, connector_id, status)
        if self.fine_status is not None:
            self.fine_status.check(evse_id)  # 1.6 says the finer status, from the same state
            return
        if not self._is_connected() and not self.dm.get_bool("OCPPCommCtrlr", "QueueAllMessages"):
            # Offline without QueueAllMessages: only the latest status matters; it is reported on reconnect.
            self._status_changed_offline.add(evse_id)
            return
        self.messages.enqueue(self.wire.status(self.clock.now(), evse_id, connector_id, status.value))

    def _record_availability(self, evse_id: int, connector_id: int, status: fsm.ConnectorStatus) -> None:
        # AvailabilityState of Connector, EVSE and the station, as GetVariables / SummaryInventory report.
        self.dm.set_station_value(
            "Connector", "AvailabilityState", status.value, evse_id=evse_id, connector_id=connector_id
        )
        self.dm.set_station_value("EVSE", "AvailabilityState", status.value, evse_id=evse_id)
        states = {r.state.status for r in self.evses.values()}
        station = (
            "Unavailable"
            if not self.journal.operative(0, 0)
            else ("Faulted" if states == {fsm.ConnectorStatus.Faulted} else "Available")
        )
        self.dm.set_station_value("ChargingStation", "AvailabilityState", station)

    def is_online(self) -> bool:
        """Connected and the boot Accepted: the CSMS may be asked now."""
        return self._is_connected() and self.registrar.state is Registration.Accepted

    async def call_direct(self, request: OcppMessage, response_type: type[Resp]) -> Resp:
        """Send now, not through the outbox (triggered messages that only matter while online)."""
        return await self._sender.call(request, response_type)

    async def run_sender(self) -> None:
        """Send outbox entries in order while connected and accepted; never returns."""
        while True:
            entry = self.outbox.peek()
            if entry is None or not self.is_online():
                self._wake.clear()
                waiter = asyncio.ensure_future(self._wake.wait())
                try:
                    await asyncio.wait([waiter], timeout=1.0)
                finally:
                    waiter.cancel()
                continue
            if entry.protocol != "2.0.1" and entry.protocol != self.settings.csms.ocpp_version:
                # Said in a version this connection does not speak (the station switched version): the few
                # such messages (1.6 statuses) are reported afresh on every connection anyway.
                log.warning("outbox entry %s (%s) is OCPP %s: not sent", entry.id, entry.action, entry.protocol)
                self.outbox.remove(entry.id)
                continue
            try:
                answer = await self.wire.deliver(entry.protocol, entry.action, entry.payload)
            except Undeliverable as exc:
                # Never sendable (a queue written by another version?): kept, it would block the queue, and
                # crashing on it would only restart into the same message.
                log.error("outbox entry %s (%s) is not a valid message, dropped: %s", entry.id, entry.action, exc)
                self.outbox.remove(entry.id)
                continue
            except NotConnected:
                await asyncio.sleep(0.2)  # the link went down mid-send: on_connected wakes us sooner or later
                continue
            except (CallTimeout, CallError) as exc:
                if entry.action != "TransactionEvent":
                    await self._retry_other(entry, exc)
                    continue
                # E12: retried with backoff; a message the CSMS rejects forever would block the queue, so
                # give up after MessageAttempts (OCPPCommCtrlr, TransactionEvent instance).
                attempts = self.dm.get_int("OCPPCommCtrlr", "MessageAttempts", variable_instance="TransactionEvent")
                if entry.attempts + 1 >= max(1, attempts):
                    log.error("dropping %s after %s attempts: %s", entry.action, entry.attempts + 1, exc)
                    self.outbox.remove(entry.id)
                    continue
                # Only failures are counted on disk: a delivered message costs one write (its removal).
                self.outbox.record_attempt(entry.id)
                interval = self.dm.get_int(
                    "OCPPCommCtrlr", "MessageAttemptInterval", variable_instance="TransactionEvent"
                )
                await asyncio.sleep(interval * (entry.attempts + 1))
                continue
            self.outbox.remove(entry.id)
            if isinstance(answer, TxAnswer):
                self.tokens.on_transaction_answer(answer)
                if self.screen is not None:
                    self.screen.on_transaction_answer(answer)
            elif isinstance(answer, NeedsAnswer):
                self.ev_needs.on_answer(answer)

    async def _retry_other(self, entry: OutboxEntry, exc: CallTimeout | CallError) -> None:
        """Messages other than TransactionEvent are not under E12's MessageAttempts. A timeout is retried
        until answered (the link may be half dead: reconnecting is the connection's job), so no
        StatusNotification or NotifyEvent is lost; a CALLERROR is the CSMS's answer, which an identical
        copy would only get again, so that message is dropped and the queue moves on."""
        if isinstance(exc, CallError):
            log.error("%s refused by the CSMS (%s): not resent", entry.action, exc)
            self.outbox.remove(entry.id)
            return
        self.outbox.record_attempt(entry.id)
        await asyncio.sleep(min(2.0**entry.attempts, 60.0))

    async def on_connected(self) -> None:
        """New websocket: register, then report every connector (B01.FR.05 / after an offline period)."""
        first = self.registrar.state is not Registration.Accepted
        await self.registrar.register()
        offline_for = self.clock.monotonic() - self._offline_since if self._offline_since is not None else 0.0
        long_offline = offline_for > self.dm.get_int("OCPPCommCtrlr", "OfflineThreshold")
        # At boot, or after more than OfflineThreshold offline, every connector is reported; after a
        # short outage only those whose status changed meanwhile (B04, TC_B_51/52).
        report = set(self.evses) if first or long_offline else set(self._status_changed_offline)
        if self.fine_status is not None:  # 1.6: the connectors and the charge point itself, on every connection
            self.fine_status.check_station(force=True)
            report = set(self.evses)
        self._status_changed_offline.clear()
        self._offline_since = None
        for evse_id in sorted(report):
            runtime = self.evses[evse_id]
            status = fsm.connector_status(runtime.state)
            runtime.state = replace(runtime.state, status=status)
            if self.fine_status is not None:
                self._record_availability(evse_id, runtime.connector_id, status)
                self.fine_status.check(evse_id, force=True)
            else:
                self.queue_status(evse_id, runtime.connector_id, status)
        self._wake.set()

    def on_disconnected(self) -> None:
        if self._offline_since is None:
            self._offline_since = self.clock.monotonic()

    # ---- meter sampling --------------------------------------------------------------------------
    async def run_timers(self) -> None:
        """Once a second: reservations that expired (H04); once a minute: stale cache entries (C10)."""
        for tick in itertools.count():
            self.expire_reservations()
            if tick % 60 == 0:
                self.authorizer.prune_cache()
            await asyncio.sleep(1.0)

    def has_transaction(self, evse_id: int | None = None) -> bool:
        return any(r.state.tx is not None for i, r in self.evses.items() if evse_id in (None, i))

    def transaction_id_on(self, evse_id: int | None = None) -> str | None:
        """The transaction running on the EVSE (None: on any EVSE), if one runs."""
        running = (r.state.tx for i, r in self.evses.items() if evse_id in (None, i) and r.state.tx is not None)
        tx = next(running, None)
        return tx.transaction_id if tx is not None else None

    def next_event_id(self) -> int:
        """A NotifyEvent eventId from the station's one sequence (faults and monitors share it)."""
        return next(self._event_ids)

    async def flush(self, timeout: float) -> None:
        """Give the sender a moment to deliver what is queued (before a reset or shutdown)."""
        try:
            async with asyncio.timeout(timeout):
                # The outbox is a table, not an event source: poll it.
                while len(self.outbox) and self._is_connected():  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        except TimeoutError:
            log.warning("%s messages still queued; they are kept for the next boot", len(self.outbox))

    async def open_all(self) -> None:
        """Open every contactor, then withdraw every offer (shutdown, reset): the safe state. Each step
        on its own, so a pilot that no longer answers cannot keep a contactor closed."""
        for runtime in self.evses.values():
            try:
                await runtime.drivers.contactor.open()
            except DriverError as exc:
                log.error("could not open contactor evse=%s: %s", runtime.state.evse_id, exc)
            try:
                await runtime.drivers.pilot.set_current_limit(None)
            except DriverError as exc:
                log.warning("could not withdraw the pilot offer evse=%s: %s", runtime.state.evse_id, exc)

    def snapshot(self) -> dict[str, Any]:
        """What `evse status` shows."""
        return {
            "registration": self.registrar.state.value,
            "connected": self._is_connected(),
            "queued_messages": len(self.outbox),
            "evses": [
                {
                    "id": evse_id,
                    "status": (r.state.status or fsm.connector_status(r.state)).value,
                    "pilot": r.state.pilot.value,
                    "charging_state": fsm.charging_state(r.state),
                    "transaction_id": r.state.tx.transaction_id if r.state.tx else None,
                    "contactor_closed": r.state.contactor_closed,
                    "operative": r.state.operative,
                    "faults": sorted(r.state.faults),
                    "power_w": r.reading.power_w if r.reading else 0.0,
                    "energy_wh": r.reading.energy_import_wh if r.reading else 0.0,
                    "offered_current_a": r.offered_a,
                    "limited_by": r.limited_by,
                    "load_balancing_share_a": self.load_balancer.share(evse_id),
                    "display": list(self.screen.shown[evse_id].lines)
                    if self.screen is not None and evse_id in self.screen.shown
                    else None,
                }
                for evse_id, r in self.evses.items()
            ],
        }
